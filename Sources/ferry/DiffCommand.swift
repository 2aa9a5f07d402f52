import ArgumentParser

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what applying a plan would change in the target (dry run)."
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(name: .customLong("read-percent"), help: "Share of the target's read capacity to use, 0 < P <= 100.") var readPercent: Percent?
    @Flag(help: "Print the diff as JSON on stdout.") var json = false
    @Flag(name: .customLong("exit-code"), help: "Exit 1 when the target differs.") var exitCode = false
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions

    func validate() throws {
        try readPercent?.validate("--read-percent")
    }

    func run() async throws { try refuseNotBuilt("diff", issue: 6) }
}
