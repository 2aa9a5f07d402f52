import AWSClient
import ArgumentParser
import ExportReader
import FerryCore
import Foundation
import Synchronization

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Export, plan and apply in one command: the table's chain is made and applied as it grows.",
        discussion: """
            1. ferry export until a FULL export of --table is complete under --to (adopting one already there). \
            2. ferry plan from it into --plan (default ferry-plan-<target-table>.json; an existing plan for the same \
            source and target is reused, so running the same command again resumes). --plan-only stops here. \
            3. ferry apply --follow on the plan while ferry export keeps requesting INCREMENTAL windows; the run ends \
            once the target's lag — the latest restorable time the source's service reports minus the point the \
            target has reached — is at most --until-lag (the cut-over), or runs until interrupted (SIGINT/SIGTERM: \
            the batches in flight finish, the checkpoint is saved, exit 5; run the same command to resume).

            A lag below the window length plus the export's own time cannot be reached: with 15-minute windows, \
            --until-lag 30m is a realistic cut-over point. Status, diff and report work on the plan as on any plan.

            Exit codes: as ferry export, plan and apply (0 caught up; 3 PITR, a gap, a failed export or an invalid \
            plan; 4 AWS error; 5 interrupted, resumable; 6 rejects).
            """
    )

    @Option(help: "The source table, by name or ARN.") var table: String
    @Option(help: "Where the exports go: s3://bucket/prefix.") var to: String
    @Option(name: .customLong("target-table"), help: "Table to migrate into.") var targetTable: String
    @Option(help: "The plan file (default: ferry-plan-<target-table>.json).") var plan: String?
    @Option(name: .customLong("bucket-owner"), help: "The bucket's account id, when it is in another account.")
    var bucketOwner: String?
    @Option(help: "DYNAMODB_JSON (default) or ION.") var format: String = "DYNAMODB_JSON"
    @Option(help: "Each incremental window's length, 15m to 24h (default 15m).") var window: String = "15m"
    @Option(name: .customLong("write-percent"), help: "Share of the target's write capacity to use, 0 < P <= 100.")
    var writePercent: Percent?
    @Option(name: .customLong("max-write-units"), help: "Write-unit ceiling for on-demand targets.")
    var maxWriteUnits: Int?
    @Option(
        name: .customLong("until-lag"),
        help: "Stop (exit 0) once the target is at most this far behind the source (e.g. 30m); default: run on."
    ) var untilLag: String?
    @Option(name: .customLong("poll-interval"), help: "How often to look at exports (default 20s).")
    var pollInterval: String = "20s"
    @Flag(name: .customLong("enable-pitr"), help: "Turn point-in-time recovery on when it is off.") var enablePITR =
        false
    @Flag(name: .customLong("retry-failed"), help: "Request a window whose export failed again.") var retryFailed =
        false
    @Flag(name: .customLong("plan-only"), help: "Stop once the FULL export is planned.") var planOnly = false
    @OptionGroup(title: "Source AWS options (the table's account and the bucket)") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    var planPath: String { plan ?? "ferry-plan-\(targetTable).json" }

    func validate() throws {
        try writePercent?.validate("--write-percent")
        _ = try exportCommand()
        if let untilLag, DurationArgument(untilLag) == nil {
            throw ValidationError("--until-lag must be a duration such as 30m (got \(untilLag))")
        }
    }

    /// The options each step is run with, as the step's own command parses them (one meaning per flag).
    var sourceArguments: [String] {
        [
            ("--source-region", sourceAWS.region), ("--source-profile", sourceAWS.profile),
            ("--source-role-arn", sourceAWS.roleArn), ("--source-endpoint-url", sourceAWS.endpointURL),
        ].flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }
    var targetArguments: [String] {
        [
            ("--target-region", targetAWS.region), ("--target-profile", targetAWS.profile),
            ("--target-role-arn", targetAWS.roleArn), ("--target-endpoint-url", targetAWS.endpointURL),
        ].flatMap { flag, value in value.map { [flag, $0] } ?? [] }
    }

    func exportCommand() throws -> ExportCommand {
        var arguments = ["--table", table, "--to", to, "--format", format, "--window", window]
        arguments += ["--poll-interval", pollInterval] + sourceArguments
        // The exports made go to the plan's run record, beside the apply's: the report shows both.
        arguments += ["--journal", RunJournal.path(journal: nil, checkpoint: nil, plan: planPath)]
        if let bucketOwner { arguments += ["--bucket-owner", bucketOwner] }
        if enablePITR { arguments.append("--enable-pitr") }
        if retryFailed { arguments.append("--retry-failed") }
        return try ExportCommand.parse(arguments)
    }

    func run() async throws {
        try logging.bootstrap()
        let export = try exportCommand()
        try await runReportingErrors { try await migrate(export) }
    }

    func migrate(_ export: ExportCommand) async throws {
        // An existing plan is this migration's only if it reads the same place into the same table (checked before
        // anything is requested), and was made from the same source table (checked once that is described).
        let existing = FileManager.default.fileExists(atPath: planPath) ? try PlanFile.read(planPath) : nil
        if let existing {
            let same =
                (try? SourceLocation(existing.source.location)).map(Self.normalised)
                == Self.normalised(try SourceLocation(to))
            guard same, existing.target.table == targetTable else {
                throw MigrateError.otherPlan(
                    path: planPath,
                    what: "from \(existing.source.location) into \(existing.target.table)"
                )
            }
        }
        @Sendable func check(_ tableArn: String) throws {
            if let existing, existing.sourceTable.tableArn != tableArn {
                throw MigrateError.otherPlan(path: planPath, what: "of table \(existing.sourceTable.tableArn)")
            }
        }

        // 1. The FULL export the chain starts from (the plan's, when resuming).
        printError("== ferry export: a complete FULL export of \(table) under \(to)")
        var first = try export.options()
        first.untilFullExport = true
        first.fullExportArn = existing?.windows.first?.exportArn
        let (tableArn, full) = try await Interruptible.run(ExportCommand.interruptedNote) { [first] in
            try await export.runChain(first, check: check)
        }

        // 2. The plan.
        if existing != nil {
            printError("== resuming with the plan \(planPath)")
        } else {
            printError("== ferry plan → \(planPath)")
            var arguments = ["--source", to, "--target-table", targetTable, "--source-table", tableArn]
            arguments += ["--out", planPath] + sourceArguments + targetArguments
            if let writePercent { arguments += ["--write-percent", String(writePercent.value)] }
            if let maxWriteUnits { arguments += ["--max-write-units", String(maxWriteUnits)] }
            try await PlanCommand.parse(arguments).makePlan()
        }
        let planned = try PlanFile.read(planPath)
        if planOnly { return }

        // 3. Apply and follow while the chain is made; the lag is against the service's time.
        printError("== ferry apply --follow \(planPath), with ferry export alongside")
        var arguments = [planPath, "--follow", "--poll-interval", pollInterval] + sourceArguments + targetArguments
        if let untilLag { arguments += ["--until-lag", untilLag] }
        if let writePercent { arguments += ["--write-percent", String(writePercent.value)] }
        if let maxWriteUnits { arguments += ["--max-write-units", String(maxWriteUnits)] }
        let apply = try ApplyCommand.parse(arguments)
        let exportError = Mutex<(any Error)?>(nil)
        let serviceTime = Mutex<Int64?>(full.latest?.epochMilliseconds)
        let companion = ApplyCommand.Companion(
            now: { serviceTime.withLock { $0 } ?? Int64(Date().timeIntervalSince1970 * 1000) },
            work: { stop in
                do {
                    var options = try export.options()
                    options.fullExportArn = planned.windows.first?.exportArn
                    _ = try await export.runChain(
                        options,
                        onServiceTime: { latest in serviceTime.withLock { $0 = latest } }
                    )
                } catch is CancellationError {
                } catch {
                    // The chain cannot go on: stop the apply gracefully, then report why.
                    exportError.withLock { $0 = error }
                    printError("error: ferry export: \(error); stopping the apply")
                    stop.set()
                }
            }
        )
        do {
            try await apply.apply(companion: companion)
        } catch {
            if let cause = exportError.withLock({ $0 }) {
                printError(
                    "error: the migration stopped because the export chain cannot go on: \(cause). The target's "
                        + "checkpoint is saved; fix the cause and run the same command again to resume."
                )
                throw ExitCode(cause is ExportChainError || cause is PlanError || cause is ExportReaderError ? 3 : 4)
            }
            throw error
        }
    }
}

extension MigrateCommand {
    /// A location with its prefix's slashes trimmed: `s3://b/p/` and `s3://b/p` are one place.
    static func normalised(_ location: SourceLocation) -> String {
        switch location {
        case let .s3(bucket, prefix): "s3://\(bucket)/" + prefix.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        case .directory(let path): path
        }
    }
}

enum MigrateError: Error, CustomStringConvertible {
    case otherPlan(path: String, what: String)

    var description: String {
        switch self {
        case let .otherPlan(path, what):
            "\(path) is another migration's plan (\(what)): pass --plan with a new file, or remove it to start over"
        }
    }
}
