import AWSClient
import ArgumentParser
import ExportReader
import FerryCore
import Foundation

struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract:
            "Write the run report of a plan: RTO, RPO, each window, throughput against the budget (HTML or JSON).",
        discussion: """
            Reads only the plan, its checkpoint and its run record (<plan>.journal.jsonl, which apply and diff \
            append to); needs no AWS access. The HTML is one self-contained file (no external assets, no JavaScript). \
            Verification is the last `ferry diff`'s verdict: it passes when that diff matched at the position the \
            target is applied to now and no record was rejected.
            Exit codes: 0 written (and, with --exit-code, verification passed); 1 with --exit-code when verification \
            did not pass (not verified, differs, stale, failed, or rejects); 2 usage; 3 invalid plan or checkpoint.
            """
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(help: "Checkpoint file (default: next to the plan, <plan>.checkpoint.json).") var checkpoint: String?
    @Option(help: "The run record (default: next to the checkpoint, <plan>.journal.jsonl).") var journal: String?
    @Option(help: "Where to write the HTML report (default: next to the plan, <plan>.report.html).") var out: String?
    @Option(
        name: .customLong("as-of"),
        help: "The time the RPO is measured against, ISO 8601 (default: now)."
    ) var asOf: String?
    @Flag(help: "Print the report as JSON on stdout (the HTML is written only with --out).") var json = false
    @Flag(
        name: .customLong("exit-code"),
        help: "Exit 1 when verification did not pass (the last diff did not match what is applied, or rejects)."
    ) var exitCode = false
    @Flag(
        name: .customLong("compare-settings"),
        help:
            "Describe the source and target tables (DescribeTable, DescribeTimeToLive, DescribeContinuousBackups, ListTagsOfResource on each) and report where their settings differ."
    ) var compareSettings = false
    @OptionGroup(title: "Source AWS options (with --compare-settings)") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options (with --compare-settings)") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func validate() throws {
        if let asOf, ExportTime(asOf) == nil {
            throw ValidationError("--as-of must be an ISO 8601 time such as 2026-01-14T11:03:50Z (got \(asOf))")
        }
    }

    func run() async throws {
        try logging.bootstrap()
        let passed: Bool = try await runReportingErrorsReturning {
            let progress = try PlanProgress(planPath: plan, checkpoint: checkpoint)
            let (loaded, checkpointPath, saved) = (progress.plan, progress.checkpointPath, progress.checkpoint)
            let journalPath = RunJournal.path(journal: journal, checkpoint: checkpointPath, plan: plan)
            // Only this plan's runs (a journal path reused by another plan keeps that plan's runs too), and the
            // export runs of its source table (the first one runs before the plan exists).
            let all = try RunJournal.read(journalPath)
            let ours = Set(
                all.filter { entry in
                    entry.kind == .runStarted
                        && (entry.planId == loaded.planId
                            || (entry.command == "export" && entry.table == loaded.sourceTable.tableArn))
                }.map(\.run)
            )
            let entries = all.filter { ours.contains($0.run) }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var report = RunReport.build(
                plan: loaded,
                checkpoint: saved,
                journal: entries,
                asOf: asOf.flatMap { ExportTime($0)?.epochMilliseconds } ?? now,
                now: now,
                rejectsFile: (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".rejects.jsonl"
            )
            if compareSettings { report.settings = await settingsDrift(loaded, now: now) }
            if json {
                FileHandle.standardOutput.write(report.json + Data("\n".utf8))
            }
            if !json || out != nil {
                let path = out ?? (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".report.html"
                try Data(RunReportHTML.render(report).utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
                if !json { print("report written to \(path)") }
            }
            return report.verification.passed
        }
        if exitCode && !passed { throw ExitCode(1) }
    }

    /// Both tables' settings, read with each side's options (the plan's, overridden by the flags); a table that
    /// cannot be described makes the comparison an error, a setting that cannot be read is shown as unknown.
    func settingsDrift(_ plan: Plan, now: Int64) async -> SettingsDrift {
        let environment = ProcessInfo.processInfo.environment
        let sourceArn = plan.sourceTable.tableArn
        let sourceRegion = sourceArn.split(separator: ":").dropFirst(3).first.map(String.init)
        do {
            return try await AsyncHTTPClientTransport.withTransport { transport in
                func settings(_ side: AWSSideOptions, table: String) async throws -> TableSettings {
                    let session = try AWSSession.make(side, environment: environment, transport: transport)
                    return try await TableSettings.read(
                        DynamoDBClient(executor: try session.executor(.dynamodb)),
                        table: table
                    )
                }
                let source = try await settings(
                    sourceAWS.side.filled(
                        region: plan.source.region ?? sourceRegion,
                        profile: plan.source.profile,
                        roleArn: plan.source.roleArn,
                        endpointURL: plan.source.endpointUrl
                    ),
                    table: sourceArn
                )
                let target = try await settings(
                    targetAWS.side.filled(
                        region: plan.target.region,
                        profile: plan.target.profile,
                        roleArn: plan.target.roleArn,
                        endpointURL: plan.target.endpointUrl
                    ),
                    table: plan.target.table
                )
                return SettingsDrift.compare(source: source, target: target, at: now)
            }
        } catch {
            printError("warning: settings not compared: \(error)")
            return SettingsDrift(
                source: sourceArn,
                target: plan.target.table,
                at: now,
                compared: [],
                differences: [],
                error: "\(error)"
            )
        }
    }
}
