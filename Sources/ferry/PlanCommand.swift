import ArgumentParser

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Discover an export chain, validate it and pin it in a plan file."
    )

    @Option(help: "Exports to read: s3://bucket/prefix or a local directory copy.") var source: String
    @Option(name: .customLong("target-table"), help: "Table to migrate into.") var targetTable: String
    @Option(help: "Stop the chain at this time (ISO 8601).") var until: String?
    @Option(name: .customLong("write-percent"), help: "Share of the target's write capacity to use, 0 < P <= 100.") var writePercent: Percent?
    @Option(name: .customLong("read-percent"), help: "Share of the target's read capacity for diff, 0 < P <= 100.") var readPercent: Percent?
    @Option(help: "Write the plan here.") var out: String?
    @Flag(help: "Print the plan as JSON on stdout.") var json = false
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions

    func validate() throws {
        try writePercent?.validate("--write-percent")
        try readPercent?.validate("--read-percent")
    }

    func run() async throws { try refuseNotBuilt("plan", issue: 4) }
}
