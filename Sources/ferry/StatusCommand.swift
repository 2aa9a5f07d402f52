import ArgumentParser
import FerryCore
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a plan's progress: windows done, items applied, rejects, lag."
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(help: "Checkpoint file (default: the plan's path with .checkpoint.json).") var checkpoint: String?
    @Flag(help: "Print the status as JSON on stdout.") var json = false

    func run() async throws {
        try await runReportingErrors {
            let loaded = try PlanFile.read(plan)
            let checkpointPath = checkpoint ?? (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".checkpoint.json"
            // `apply` (issue #5) writes checkpoints; until one exists the plan has not started.
            let status = PlanStatus.notStarted(loaded, checkpoint: checkpointPath)
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(status) + Data("\n".utf8))
            } else {
                print(status.text)
            }
        }
    }
}
