import ArgumentParser

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a plan to the target table, throttled, checkpointed and resumable."
    )

    @Argument(help: "The plan file.") var plan: String
    @Flag(help: "After the plan, keep applying new incremental exports.") var follow = false
    @Option(help: "Checkpoint file (default: next to the plan).") var checkpoint: String?
    @Option(name: .customLong("write-percent"), help: "Share of the target's write capacity to use, 0 < P <= 100.") var writePercent: Percent?
    @Option(name: .customLong("max-write-units"), help: "Write-unit ceiling for on-demand tables.") var maxWriteUnits: Int?
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions

    func validate() throws {
        try writePercent?.validate("--write-percent")
    }

    func run() async throws { try refuseNotBuilt("apply", issue: 5) }
}
