import AWSClient
import ArgumentParser
import ExportReader
import FerryCore
import Foundation

struct PlanCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Discover an export chain, validate it and pin it in a plan file.",
        discussion: """
            Reads every export under --source, picks the newest FULL export that starts a gap-free chain (or \
            --full-export), adds every INCREMENTAL window after it in order (cut at --until), and writes the plan \
            (deterministic JSON, no secrets) to --out. A gap between windows is refused: changes in it would be lost.
            """
    )

    @Option(help: "Exports to read: s3://bucket/prefix or a local directory copy.") var source: String
    @Option(name: .customLong("target-table"), help: "Table to migrate into.") var targetTable: String
    @Option(
        name: .customLong("source-table"),
        help: "The table whose exports to plan, by name or ARN, when the source holds several tables' exports."
    ) var sourceTable: String?
    @Option(help: "Stop the chain at this time (ISO 8601): the target reaches the last window ending by then.")
    var until: String?
    @Option(
        name: .customLong("full-export"),
        help: "Start from this FULL export (id or ARN) instead of the newest one."
    ) var fullExport: String?
    @Option(name: .customLong("write-percent"), help: "Share of the target's write capacity to use, 0 < P <= 100.")
    var writePercent: Percent?
    @Option(name: .customLong("read-percent"), help: "Share of the target's read capacity for diff, 0 < P <= 100.")
    var readPercent: Percent?
    @Option(name: .customLong("max-write-units"), help: "Write-unit ceiling for on-demand targets.") var maxWriteUnits:
        Int?
    @Option(help: "Write the plan here (default: ferry-plan-<target-table>.json).") var out: String?
    @Flag(
        name: .customLong("accept-manifest-checksum-mismatch"),
        help:
            "Accept manifests whose manifest-*.md5 does not match (each is named on stderr and recorded in the plan; data files are still checked)."
    )
    var acceptManifestChecksumMismatch = false
    @Flag(help: "Print the plan as JSON on stdout.") var json = false
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func validate() throws {
        try writePercent?.validate("--write-percent")
        try readPercent?.validate("--read-percent")
        if let until, ExportTime(until) == nil { throw ValidationError(PlanError.invalidUntil(until).description) }
        if let maxWriteUnits, maxWriteUnits <= 0 {
            throw ValidationError("--max-write-units must be a positive number of write units")
        }
        do { _ = try SourceLocation(source) } catch { throw ValidationError(error.description) }
    }

    func run() async throws {
        try logging.bootstrap()
        try await makePlan()
    }

    /// The plan, written to `--out` (also `ferry migrate`'s second step).
    func makePlan() async throws {
        let environment = ProcessInfo.processInfo.environment
        let options = PlanOptions(
            source: Plan.Source(
                location: source,
                region: sourceAWS.region,
                profile: sourceAWS.profile,
                roleArn: sourceAWS.roleArn,
                endpointUrl: sourceAWS.endpointURL,
                acceptManifestChecksumMismatch: acceptManifestChecksumMismatch
            ),
            target: Plan.Target(
                table: targetTable,
                region: targetAWS.region,
                profile: targetAWS.profile,
                roleArn: targetAWS.roleArn,
                endpointUrl: targetAWS.endpointURL
            ),
            throttle: Plan.Throttle(
                writePercent: writePercent?.value ?? 50,
                readPercent: readPercent?.value ?? 50,
                maxWriteUnits: maxWriteUnits
            ),
            until: until.flatMap(ExportTime.init),
            fullExportId: fullExport,
            sourceTable: sourceTable
        )
        try await runReportingErrors {
            try await AsyncHTTPClientTransport.withTransport { transport in
                let found: DiscoveredExports
                switch try SourceLocation(source) {
                case .directory(let path):
                    found = try await ExportDiscovery.discover(
                        LocalDirectorySource(root: path),
                        location: source,
                        manifestChecksums: options.source.manifestChecksums
                    )
                case let .s3(bucket, prefix):
                    let session = try AWSSession.make(sourceAWS.side, environment: environment, transport: transport)
                    let s3 = S3ExportSource(s3: S3Client(executor: try session.executor(.s3)), bucket: bucket)
                    found = try await ExportDiscovery.discover(
                        s3,
                        prefix: prefix,
                        location: source,
                        manifestChecksums: options.source.manifestChecksums
                    )
                }
                for id in found.inProgress {
                    printError(
                        "notice: export \(id) is still in progress (_started, no manifest-summary.json yet); skipped"
                    )
                }
                // The target is pinned: its region as resolved now, and its ARN when it can be described.
                var options = options
                let target = await describeTarget(environment: environment, transport: transport)
                options.target.region = options.target.region ?? target.region
                if let table = target.table, let arn = table.TableArn {
                    options.target.tableArn = arn
                    options.target.account = TargetPin.account(ofArn: arn)
                }
                let plan = try ChainPlanner.plan(found, options: options)
                for window in plan.windows {
                    for key in window.acceptedManifestMismatches ?? [] {
                        printError(
                            "warning: \(key) does not match its .md5 (window \(window.index), export \(window.exportId)); accepted by --accept-manifest-checksum-mismatch and recorded in the plan"
                        )
                    }
                }
                if let table = target.table { try TargetPin.check(table, plan: plan) }
                let path = out ?? "ferry-plan-\(targetTable).json"
                let data = try PlanFile.encode(plan)
                try data.write(to: URL(fileURLWithPath: path), options: .atomic)
                let sealed = try PlanFile.decode(data, path: path)
                if json {
                    FileHandle.standardOutput.write(data)
                } else {
                    var note = estimate(plan: sealed, table: target.table)
                    if let error = target.error {
                        note +=
                            " (target not described: \(error); the plan does not pin the target table's ARN, so apply cannot check it is the same table)"
                    }
                    print(PlanSummary.text(sealed, path: path, targetNote: note))
                }
            }
        }
    }

    /// The target as the target options resolve it now: its region, and its description (or why there is none).
    func describeTarget(
        environment: [String: String],
        transport: any HTTPTransport
    ) async -> (region: String?, table: TableDescription?, error: String?) {
        var region: String?
        do {
            let session = try AWSSession.make(targetAWS.side, environment: environment, transport: transport)
            region = session.region
            return (
                region, try await DynamoDBClient(executor: try session.executor(.dynamodb)).describeTable(targetTable),
                nil
            )
        } catch {
            return (region, nil, "\(error)")
        }
    }

    /// The write estimate needs the target's capacity; without a description it says what it can.
    func estimate(plan: Plan, table: TableDescription?) -> String {
        guard let table else { return PlanSummary.estimate(plan, writeCapacity: nil) }
        let capacity =
            table.isOnDemand
            ? (table.OnDemandThroughput?.MaxWriteRequestUnits.map(Double.init) ?? maxWriteUnits.map(Double.init))
            : table.ProvisionedThroughput?.WriteCapacityUnits.map(Double.init)
        return PlanSummary.estimate(plan, writeCapacity: capacity)
    }
}
