import ArgumentParser
import Foundation

@main
struct Ferry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry",
        abstract: "Move a DynamoDB table to another account or region from its own S3 exports.",
        discussion: """
            Bootstraps the target from a FULL export, then applies the INCREMENTAL exports in order, \
            checkpointing every window, throttled to a percentage of the target's capacity.

            Exit codes:
              0   success
              1   diff --exit-code found differences
              2   usage error
              3   invalid export or plan
              4   AWS error
              5   interrupted; the run can be resumed from its checkpoint
              6   apply finished, but DynamoDB rejected some records (see the rejects file)
              7   a local file could not be written or read (checkpoint directory, diff work directory)
              70  an unexpected internal error (please report it)
            """,
        subcommands: [
            ExportCommand.self, MigrateCommand.self, PlanCommand.self, ApplyCommand.self, DiffCommand.self,
            StatusCommand.self,
            ReportCommand.self,
        ]
    )

    /// Like ArgumentParser's `main`, but usage errors exit 2 as the command-line contract says (not 64).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .validationFailure {
                var stderr = StandardError()
                print(fullMessage(for: error), to: &stderr)
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
