import ArgumentParser

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a plan's progress: windows done, items applied, rejects, lag."
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(help: "Checkpoint file (default: next to the plan).") var checkpoint: String?
    @Flag(help: "Print the status as JSON on stdout.") var json = false

    func run() async throws { try refuseNotBuilt("status", issue: 4) }
}
