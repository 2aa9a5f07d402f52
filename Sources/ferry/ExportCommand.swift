import AWSClient
import ArgumentParser
import ExportReader
import FerryCore
import Foundation
import Synchronization

struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Make the table's export chain: a FULL export, then contiguous INCREMENTAL windows, into S3.",
        discussion: """
            Adopts the newest complete FULL export of the table under --to (or starts one at the latest restorable \
            time), then requests INCREMENTAL windows [from, from + --window) with `from` the chain's end exactly, each \
            once the table's LatestRestorableDateTime has reached its end; a chain that is behind is caught up back to \
            back. Stateless: the bucket and the service's ListExports/DescribeExport are the state, and every request \
            carries a ClientToken derived from its window, so running it again after a crash (even between a request \
            and its answer) returns the same export, never a second one. Time is the service's, never this machine's.

            Runs until interrupted, or --until-lag (caught up, the chain within that of the latest restorable time), \
            or --once (request what is due, then exit). Before anything is requested, one small object \
            (<prefix>/.ferry-write-check) is written to check the bucket is writable and owned by --bucket-owner (or, \
            without it, by the table's account). Progress goes to stderr: text on a terminal, JSON lines \
            otherwise. Endpoints: --source-endpoint-url for both services, or AWS_ENDPOINT_URL_DYNAMODB and \
            AWS_ENDPOINT_URL_S3 apart.

            SIGINT/SIGTERM stops it (a second signal at once): the exports already requested go on in DynamoDB, \
            --journal records the run as interrupted, and running the same command again continues the chain.

            Exit codes: 0 done (--once, --until-lag); 2 usage; 3 PITR off, a PITR gap (a new FULL export is needed) \
            or a failed export (with its FailureCode); 4 AWS error (table, bucket, permission); 5 interrupted.
            """
    )

    @Option(help: "The table to export, by name or ARN.") var table: String
    @Option(help: "Where the exports go: s3://bucket/prefix (the prefix ferry plan --source reads).") var to: String
    @Option(name: .customLong("bucket-owner"), help: "The bucket's account id, when it is in another account.")
    var bucketOwner: String?
    @Option(help: "DYNAMODB_JSON (default) or ION.") var format: String = "DYNAMODB_JSON"
    @Option(help: "Incremental exports' view: NEW_AND_OLD_IMAGES (default) or NEW_IMAGE.") var view: String =
        "NEW_AND_OLD_IMAGES"
    @Option(help: "Server-side encryption of the export's objects: AES256 or KMS.") var sse: String?
    @Option(name: .customLong("kms-key"), help: "With --sse KMS: the key's ARN or id.") var kmsKey: String?
    @Option(help: "Each incremental window's length, 15m to 24h (default 15m).") var window: String = "15m"
    @Option(
        name: .customLong("until-lag"),
        help: "Exit once caught up with the chain's end within this of the latest restorable time (e.g. 20m)."
    ) var untilLag: String?
    @Flag(help: "Request the exports that are due and exit without waiting for them.") var once = false
    @Flag(name: .customLong("enable-pitr"), help: "Turn point-in-time recovery on when it is off.") var enablePITR =
        false
    @Flag(
        name: .customLong("retry-failed"),
        help: "Request a window whose export failed again (with a new client token), instead of stopping."
    ) var retryFailed = false
    @Option(name: .customLong("poll-interval"), help: "How often to look at running exports (default 20s).")
    var pollInterval: String = "20s"
    @Option(name: .customLong("max-in-flight"), help: "Incremental exports running at once (default 4).")
    var maxInFlight: Int = 4
    @Option(
        help:
            "Append what was requested and completed to this run record (JSON lines; a plan's journal makes them part of its report)."
    ) var journal: String?
    @Flag(help: "Print the result as JSON on stdout.") var json = false
    @OptionGroup(title: "Source AWS options (the table's account and the bucket)") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func validate() throws {
        guard case .s3 = try? SourceLocation(to) else {
            throw ValidationError("--to must be s3://bucket/prefix (got \(to))")
        }
        guard ExportFormat(rawValue: format) != nil else {
            throw ValidationError("--format must be DYNAMODB_JSON or ION (got \(format))")
        }
        guard ExportViewType(rawValue: view) != nil else {
            throw ValidationError("--view must be NEW_AND_OLD_IMAGES or NEW_IMAGE (got \(view))")
        }
        if let sse, !["AES256", "KMS"].contains(sse) {
            throw ValidationError("--sse must be AES256 or KMS (got \(sse))")
        }
        if kmsKey != nil && sse != "KMS" { throw ValidationError("--kms-key needs --sse KMS") }
        guard let window = DurationArgument(window), (900...86_400).contains(window.seconds) else {
            throw ValidationError("--window must be 15m to 24h, an incremental export's range (got \(window))")
        }
        if let untilLag, DurationArgument(untilLag) == nil {
            throw ValidationError("--until-lag must be a duration such as 20m (got \(untilLag))")
        }
        guard let poll = DurationArgument(pollInterval), poll.seconds > 0 else {
            throw ValidationError("--poll-interval must be a positive duration such as 20s (got \(pollInterval))")
        }
        guard (1...100).contains(maxInFlight) else {
            throw ValidationError("--max-in-flight must be 1 to 100 (got \(maxInFlight))")
        }
    }

    /// The runner's options from the flags (validated).
    func options() throws -> ExportChainOptions {
        guard case let .s3(bucket, rawPrefix) = try SourceLocation(to) else {
            throw ValidationError("--to must be s3://bucket/prefix (got \(to))")
        }
        var prefix = rawPrefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        var options = ExportChainOptions(bucket: bucket, prefix: prefix)
        options.bucketOwner = bucketOwner
        options.format = ExportFormat(rawValue: format)!
        options.viewType = ExportViewType(rawValue: view)!
        options.sse = sse.map { ExportRequest.Encryption(algorithm: $0, kmsKeyId: kmsKey) }
        options.windowMilliseconds = Int64(DurationArgument(window)!.seconds * 1000)
        options.enablePITR = enablePITR
        options.retryFailed = retryFailed
        options.once = once
        options.untilLagMilliseconds = untilLag.map { Int64(DurationArgument($0)!.seconds * 1000) }
        options.pollInterval = .milliseconds(Int64(DurationArgument(pollInterval)!.seconds * 1000))
        options.maxInFlight = maxInFlight
        return options
    }

    func run() async throws {
        try logging.bootstrap()
        let options = try options()
        try await runReportingErrors {
            let (tableArn, result) = try await Interruptible.run(Self.interruptedNote) { [self] in
                try await runChain(options)
            }
            if json {
                let object: [String: Any] = [
                    "table": tableArn, "destination": options.destination, "reason": result.reason.rawValue,
                    "chainEnd": result.chainEnd?.text ?? NSNull(), "latestRestorable": result.latest?.text ?? NSNull(),
                    "requested": result.requested, "completed": result.completed,
                ]
                let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .prettyPrinted])
                print(String(decoding: data, as: UTF8.self))
            } else {
                print(
                    "\(result.reason.rawValue): the chain of \(table) under \(options.destination) ends at "
                        + "\(result.chainEnd?.text ?? "(no FULL export complete yet)"); \(result.requested) "
                        + "export\(result.requested == 1 ? "" : "s") requested, \(result.completed) completed in this run"
                )
            }
        }
    }

    /// What an interrupted export run leaves, for the message.
    static let interruptedNote =
        "the exports already requested go on in DynamoDB and the run record says interrupted; run the same command again to continue the chain"

    /// Runs the chain with `options` (also `ferry migrate`'s first and third steps): the table's ARN and how the run
    /// ended. `onServiceTime` hears every `LatestRestorableDateTime` read (epoch ms).
    func runChain(
        _ options: ExportChainOptions,
        check: (_ tableArn: String) throws -> Void = { _ in },
        onServiceTime: @escaping @Sendable (Int64) -> Void = { _ in }
    ) async throws -> (tableArn: String, result: ExportChainResult) {
        let environment = ProcessInfo.processInfo.environment
        let terminal = isatty(2) == 1
        return try await AsyncHTTPClientTransport.withTransport { transport in
            let session = try AWSSession.make(sourceAWS.side, environment: environment, transport: transport)
            let dynamo = DynamoDBClient(executor: try session.executor(.dynamodb))
            // Pre-flight: the table exists (and its ARN, which exports are requested and listed by).
            let description = try await dynamo.describeTable(table)
            let tableArn = description.TableArn ?? table
            try check(tableArn)
            let owner = ExportDestination.expectedOwner(bucketOwner: options.bucketOwner, tableArn: tableArn)
            let client = S3Client(executor: try session.executor(.s3), expectedBucketOwner: owner)
            try await ExportDestination.checkWritable(
                s3: client,
                bucket: options.bucket,
                prefix: options.prefix,
                ownerGiven: options.bucketOwner != nil
            )
            let s3 = S3ExportSource(s3: client, bucket: options.bucket)
            let control = ServiceTimeRecorder(
                DynamoExportControl(client: dynamo, tableArn: tableArn),
                onTime: onServiceTime
            )
            // What an earlier run requested and did not see complete is reported once this one sees it complete.
            var options = options
            options.awaitingCompletion =
                try journal.map { RunJournal.exportsAwaitingCompletion(try RunJournal.read($0)) } ?? []
            let record = try journal.map { try RunJournal(path: $0, label: "export") }
            record?.exportStarted(tableArn: tableArn)
            let runner = ExportChainRunner(
                table: description.TableName,
                tableArn: tableArn,
                options: options,
                control: control,
                bucket: DiscoveredExportBucket(source: s3, prefix: options.prefix),
                clock: ContinuousClock()
            )
            // The exports are the service's: a run record that cannot be synced does not stop them, but is said
            // once (the report of this run will lack what was not recorded).
            let warning = RecordWarning()
            do {
                let result = try await runner.run { event in
                    do { try record?.exported(event) } catch { warning.say(error) }
                    printError(terminal ? event.text : event.jsonLine)
                }
                do { try record?.exportEnded("completed", error: nil) } catch { warning.say(error) }
                return (tableArn, result)
            } catch {
                // Cancelled (migrate's apply stopped): whatever the cancelled call threw, the run was interrupted.
                let cancelled = error is CancellationError || Task.isCancelled
                do {
                    try record?.exportEnded(cancelled ? "interrupted" : "failed", error: cancelled ? nil : error)
                } catch let failure { warning.say(failure) }
                throw error
            }
        }
    }
}

/// Says once that the run record could not be written; the run goes on.
final class RecordWarning: Sendable {
    private let said = Atomic(false)

    func say(_ error: any Error) {
        guard !said.exchange(true, ordering: .relaxed) else { return }
        printError("warning: \(error); the exports go on, but the run record (--journal) misses what follows")
    }
}
