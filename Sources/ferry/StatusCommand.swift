import ArgumentParser
import FerryCore
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a plan's progress: windows done, items applied, rejects, lag."
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(help: "Checkpoint file (default: next to the plan, <plan>.checkpoint.json).") var checkpoint: String?
    @Flag(help: "Print the status as JSON on stdout.") var json = false
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        try await runReportingErrors {
            let progress = try PlanProgress(planPath: plan, checkpoint: checkpoint)
            let (loaded, checkpointPath, saved) = (progress.plan, progress.checkpointPath, progress.checkpoint)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var status = PlanStatus.make(loaded, checkpoint: saved, path: checkpointPath, now: now)
            if status.rejects > 0 {
                // Where apply writes them: next to the plan (ApplyCommand).
                status.rejectsFile = (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".rejects.jsonl"
            }
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
