import AWSClient
import ExportReader
import Foundation

/// What `ferry export` asks for: where the chain goes and how it is made.
public struct ExportChainOptions: Sendable {
    public var bucket: String
    /// The key prefix without a trailing `/` (empty: exports at the bucket's root).
    public var prefix: String
    public var bucketOwner: String?
    public var format: ExportFormat = .dynamoDBJSON
    public var viewType: ExportViewType = .newAndOldImages
    public var sse: ExportRequest.Encryption?
    /// Each INCREMENTAL window's length: 15 minutes … 24 hours (the API's limits).
    public var windowMilliseconds: Int64 = 15 * 60_000
    public var maxInFlight = 4
    /// Turn PITR on when it is off (`--enable-pitr`); otherwise stop and say how.
    public var enablePITR = false
    /// Set failed exports of the window at the chain's end aside and request it again (`--retry-failed`).
    public var retryFailed = false
    /// Request what is due and return, without waiting for anything (`--once`).
    public var once = false
    /// Return as soon as the bucket holds a complete FULL export (`ferry migrate` plans from it, then applies).
    public var untilFullExport = false
    /// Continue this FULL export's chain (`ferry migrate`: the plan's), not the newest one's.
    public var fullExportArn: String?
    /// `--retry-failed`: at most this many new attempts per window in one run; past that the failure stops it.
    public var maxRetries = 3
    /// Return once everything due is complete and the chain ends within this many milliseconds of the table's
    /// `LatestRestorableDateTime` (`--until-lag`). Nil: run until cancelled.
    public var untilLagMilliseconds: Int64?
    /// How long to wait between looks at running exports and the PITR window.
    public var pollInterval: Duration = .seconds(20)
    /// Exports an earlier run requested whose completion its run record lacks (they finished while nothing ran):
    /// reported completed, with the service's times, once the bucket shows them complete.
    public var awaitingCompletion: Set<String> = []

    public init(bucket: String, prefix: String) {
        self.bucket = bucket
        self.prefix = prefix
    }

    /// `s3://bucket/prefix`, the destination as the scheduler's client tokens know it.
    public var destination: String { prefix.isEmpty ? "s3://\(bucket)" : "s3://\(bucket)/\(prefix)" }
}

/// One thing `ferry export` did or saw, for its progress output. Times are the service's.
public enum ExportEvent: Sendable, Hashable {
    case pitrEnabled
    /// An export was requested (or, for a re-issued client token, found already running).
    case requested(kind: ExportKind, from: ExportTime?, to: ExportTime, exportArn: String, status: String)
    case completed(kind: ExportKind, from: ExportTime?, to: ExportTime, export: ExportDescription)
    case waiting(exportArns: [String])
    /// Everything due is complete; the next window is due once the PITR window reaches `nextDue`.
    case caughtUp(chainEnd: ExportTime, nextDue: ExportTime, latest: ExportTime)
    /// The service would not start an export for now (`LimitExceededException`: too many exports running in the
    /// account; `ExportConflictException`); it is asked again after the poll interval.
    case deferred(code: String, message: String, attempt: Int)
}

/// How a run of the chain ended (it also ends by cancellation or an error).
public struct ExportChainResult: Sendable, Hashable {
    public enum Reason: String, Sendable, Hashable {
        /// `--once`: everything due was requested.
        case requestedDue = "requested what was due"
        /// `--until-lag` was reached.
        case caughtUp = "caught up"
        /// `untilFullExport`: the FULL export the chain starts from is complete.
        case fullExportReady = "FULL export complete"
    }

    public var reason: Reason
    /// The end of the completed chain (FULL export time or last window's end); nil before the FULL export completes.
    public var chainEnd: ExportTime?
    public var latest: ExportTime?
    public var requested: Int
    public var completed: Int
}

public enum ExportChainError: Error, Sendable, Hashable, CustomStringConvertible {
    case pitrDisabled(table: String)
    case pitrGap(table: String, chainEnd: ExportTime, earliest: ExportTime)
    case exportFailed(table: String, exportArn: String, window: String, code: String, message: String)
    case invalidWindow(Int64)

    public var description: String {
        switch self {
        case .pitrDisabled(let table):
            "point-in-time recovery is off for \(table): exports need it. Turn it on with `aws dynamodb "
                + "update-continuous-backups --table-name \(table) --point-in-time-recovery-specification "
                + "PointInTimeRecoveryEnabled=true`, or run ferry export with --enable-pitr"
        case let .pitrGap(table, chainEnd, earliest):
            "the chain of \(table) ends at \(chainEnd), before its point-in-time-recovery window starts "
                + "(\(earliest)): the changes in between cannot be exported (PITR was turned off and on again, or the "
                + "chain is older than the recovery period). A new FULL export is needed: export to a new prefix"
        case let .exportFailed(table, arn, window, code, message):
            "the export of \(table) for \(window) failed: \(code): \(message) (\(arn)). Fix the cause, then run "
                + "again with --retry-failed to request the window again"
        case .invalidWindow(let ms):
            "--window \(ms / 60_000)m: an incremental export covers 15 minutes to 24 hours"
        }
    }
}

/// The driver of `ferry export`: gathers the state the pure `ExportScheduler` decides from — the PITR window, the
/// bucket's completed exports, the service's running ones — carries out its step, and repeats. Stateless across
/// processes: everything it knows is re-read from the service and the bucket each round, so a run killed at any
/// point is resumed by running it again (a re-issued request carries the same client token and returns the same
/// export). Waiting uses the injected clock only; every time it decides by is the service's.
public struct ExportChainRunner<C: Clock<Duration>>: Sendable {
    public let table: String
    public let tableArn: String
    public let options: ExportChainOptions
    public let control: any ExportControl
    public let bucket: any ExportBucket
    public let clock: C

    public init(
        table: String,
        tableArn: String,
        options: ExportChainOptions,
        control: any ExportControl,
        bucket: any ExportBucket,
        clock: C
    ) {
        self.table = table
        self.tableArn = tableArn
        self.options = options
        self.control = control
        self.bucket = bucket
        self.clock = clock
    }

    public func run(progress: @Sendable (ExportEvent) -> Void = { _ in }) async throws -> ExportChainResult {
        guard (15 * 60_000...24 * 3_600_000).contains(options.windowMilliseconds) else {
            throw ExportChainError.invalidWindow(options.windowMilliseconds)
        }
        var descriptions: [String: ExportDescription] = [:]  // finished exports never change
        var reported = Set<String>()
        var requested = 0
        // Exports this run requested: running until the bucket shows them, even while ListExports does not list
        // them yet (it is eventually consistent), so the same window is not asked for again in a tight loop.
        var mine = Set<String>()
        // Exports this run saw running (and those an earlier run left unreported): each is reported completed once
        // the bucket shows it complete, whichever step the scheduler takes then (not only while it waits).
        var seenRunning = options.awaitingCompletion
        // Failed attempts per window when the run started: --retry-failed adds at most maxRetries to these.
        var baseline: [Int64: Int]?
        var enabled = false
        var deferrals = 0  // refusals in a row, of either kind (the attempt number reported)
        var conflicts = 0  // ExportConflictExceptions in a row: only these stop the run
        /// Starts an export, or (the service refusing for now) reports, waits the poll interval and answers nil so
        /// the loop decides again from fresh state. An `ExportConflictException` that persists stops the run.
        func start(_ request: ExportRequest) async throws -> ExportDescription? {
            do {
                let export = try await control.startExport(request)
                (deferrals, conflicts) = (0, 0)
                return export
            } catch let refused as AWSClientError {
                guard case .service(let error, _, _) = refused, Self.deferrable.contains(error.code) else {
                    throw refused
                }
                deferrals += 1
                conflicts = error.code == "ExportConflictException" ? conflicts + 1 : 0
                let persistent = conflicts > Self.maxConflicts
                if options.once || persistent { throw refused }
                progress(.deferred(code: error.code, message: error.message ?? "", attempt: deferrals))
                try await clock.sleep(for: options.pollInterval)
                return nil
            }
        }
        while true {
            try Task.checkCancellation()
            let (state, chainEnd) = try await gather(&descriptions, requested: mine, baseline: baseline)
            if baseline == nil { baseline = state.attempts }
            seenRunning.formUnion(state.running.map(\.exportArn))
            // The one place completions are reported (waiting only sleeps: the next pass reports what finished).
            let watched = seenRunning.union(mine)
            for arn in state.completed.map(\.exportArn).sorted() where watched.contains(arn) && !reported.contains(arn)
            {
                let export: ExportDescription
                if let known = descriptions[arn] {
                    export = known
                } else {
                    export = try await control.describeExport(arn)
                }
                descriptions[arn] = export
                reported.insert(arn)
                progress(Self.completedEvent(export))
            }
            let step = ExportScheduler.next(state)
            func result(_ reason: ExportChainResult.Reason) -> ExportChainResult {
                ExportChainResult(
                    reason: reason,
                    chainEnd: chainEnd,
                    latest: state.latest,
                    requested: requested,
                    completed: reported.count
                )
            }
            if options.untilFullExport && chainEnd != nil { return result(.fullExportReady) }
            switch step {
            case .pitrDisabled:
                guard options.enablePITR, !enabled else { throw ExportChainError.pitrDisabled(table: table) }
                try await control.enablePointInTimeRecovery()
                enabled = true
                progress(.pitrEnabled)
                try await clock.sleep(for: options.pollInterval)
            case let .startFull(time, token):
                guard let export = try await start(request(.full(exportTime: time.epochMilliseconds), token))
                else { continue }
                requested += 1
                mine.insert(export.ExportArn)
                progress(
                    .requested(
                        kind: .full,
                        from: nil,
                        to: time,
                        exportArn: export.ExportArn,
                        status: export.ExportStatus
                    )
                )
            case let .requestIncremental(from, to, token):
                let kind = ExportRequest.Kind.incremental(
                    from: from.epochMilliseconds,
                    to: to.epochMilliseconds,
                    viewType: options.viewType.rawValue
                )
                guard let export = try await start(request(kind, token)) else { continue }
                requested += 1
                mine.insert(export.ExportArn)
                progress(
                    .requested(
                        kind: .incremental,
                        from: from,
                        to: to,
                        exportArn: export.ExportArn,
                        status: export.ExportStatus
                    )
                )
            case .wait(let arns):
                if options.once { return result(.requestedDue) }
                progress(.waiting(exportArns: arns))
                try await clock.sleep(for: options.pollInterval)
            case let .caughtUp(end, nextDue):
                progress(.caughtUp(chainEnd: end, nextDue: nextDue, latest: state.latest ?? end))
                if options.once { return result(.requestedDue) }
                if let lag = options.untilLagMilliseconds, let latest = state.latest,
                    latest.epochMilliseconds - end.epochMilliseconds <= lag
                {
                    return result(.caughtUp)
                }
                try await clock.sleep(for: options.pollInterval)
            case let .pitrGap(end, earliest):
                throw ExportChainError.pitrGap(table: table, chainEnd: end, earliest: earliest)
            case let .failed(arn, code, message):
                let export = descriptions[arn]
                throw ExportChainError.exportFailed(
                    table: table,
                    exportArn: arn,
                    window: export.map(Self.windowText) ?? "an export",
                    code: code,
                    message: message
                )
            }
        }
    }

    /// Refusals that clear by themselves: the account's limit on exports in progress, a conflicting write.
    static var deferrable: Set<String> { ["LimitExceededException", "ExportConflictException"] }
    /// Conflicts in a row before the run stops (a limit is waited out however long it takes: exports finish).
    static var maxConflicts: Int { 10 }

    func request(_ kind: ExportRequest.Kind, _ token: String) -> ExportRequest {
        ExportRequest(
            tableArn: tableArn,
            bucket: options.bucket,
            prefix: options.prefix.isEmpty ? nil : options.prefix,
            bucketOwner: options.bucketOwner,
            format: options.format.rawValue,
            sse: options.sse,
            kind: kind,
            clientToken: token
        )
    }

    /// The scheduler's input, read afresh, and the end of the chain the bucket holds complete.
    func gather(
        _ descriptions: inout [String: ExportDescription],
        requested: Set<String> = [],
        baseline: [Int64: Int]? = nil
    ) async throws -> (ExportScheduler.State, ExportTime?) {
        let pitr = try await control.pointInTimeRecovery()
        let completed = try await bucket.completedExports(tableArn: tableArn)
        var state = ExportScheduler.State(
            tableArn: tableArn,
            destination: options.destination,
            format: options.format,
            viewType: options.viewType,
            windowMilliseconds: options.windowMilliseconds,
            maxInFlight: options.maxInFlight,
            completed: completed,
            earliest: pitr.isEnabled
                ? pitr.EarliestRestorableDateTime.map { ExportTime(epochMilliseconds: $0.value) } : nil,
            latest: pitr.isEnabled ? pitr.LatestRestorableDateTime.map { ExportTime(epochMilliseconds: $0.value) } : nil
        )
        state.fullExportArn = options.fullExportArn
        let done = Set(completed.map(\.exportArn))
        let listed = try await control.listExports().map(\.ExportArn)
        let unlisted = requested.subtracting(listed).sorted()
        for arn in listed + unlisted where !done.contains(arn) {
            let export: ExportDescription
            if let known = descriptions[arn], known.ExportStatus != "IN_PROGRESS" {
                export = known
            } else {
                export = try await control.describeExport(arn)
                if export.ExportStatus != "IN_PROGRESS" { descriptions[arn] = export }
            }
            // Only this destination's exports are part of this chain (the table may export elsewhere too).
            guard export.S3Bucket == options.bucket, (export.S3Prefix ?? "") == options.prefix else { continue }
            guard let running = running(export, state) else { continue }
            // --retry-failed: a failed attempt is set aside (the next request for its window is the next attempt,
            // with its own token), up to maxRetries new ones per window in this run. FULL exports by export time.
            if case .failed = running.status, options.retryFailed,
                let window = (running.from ?? running.to)?.epochMilliseconds,
                state.attempts[window, default: 0]
                    < (baseline.map { $0[window, default: 0] + options.maxRetries } ?? .max)
            {
                state.attempts[window, default: 0] += 1
                continue
            }
            state.running.append(running)
        }
        let end = ExportScheduler.chainEnd(completed, fullExportArn: options.fullExportArn)
        return (state, end)
    }

    /// An export the service lists that the bucket does not show complete. A COMPLETED one is still running as far
    /// as the chain is concerned (its summary is not readable yet). A failed one counts only if this chain asked for
    /// it (its client token is one the scheduler makes), so someone else's failed export cannot stop the chain.
    func running(_ export: ExportDescription, _ state: ExportScheduler.State) -> ExportScheduler.Running? {
        let kind: ExportKind = export.ExportType == "INCREMENTAL_EXPORT" ? .incremental : .full
        let from = export.IncrementalExportSpecification?.ExportFromTime.map { ExportTime(epochMilliseconds: $0.value) }
        let to =
            (kind == .full ? export.ExportTime : export.IncrementalExportSpecification?.ExportToTime)
            .map { ExportTime(epochMilliseconds: $0.value) }
        switch export.ExportStatus {
        case "FAILED":
            guard let to, let token = export.ClientToken,
                (0..<1000).contains(where: {
                    ExportScheduler.clientToken(state, kind: kind, from: from, to: to, attempt: $0) == token
                })
            else { return nil }
            return .init(
                exportArn: export.ExportArn,
                kind: kind,
                from: from,
                to: to,
                status: .failed(code: export.FailureCode ?? "UNKNOWN", message: export.FailureMessage ?? "")
            )
        default:
            return .init(exportArn: export.ExportArn, kind: kind, from: from, to: to, status: .inProgress)
        }
    }

    static func completedEvent(_ export: ExportDescription) -> ExportEvent {
        let from = export.IncrementalExportSpecification?.ExportFromTime.map { ExportTime(epochMilliseconds: $0.value) }
        if export.ExportType == "INCREMENTAL_EXPORT",
            let to = export.IncrementalExportSpecification?.ExportToTime
        {
            return .completed(
                kind: .incremental,
                from: from,
                to: ExportTime(epochMilliseconds: to.value),
                export: export
            )
        }
        return .completed(
            kind: .full,
            from: nil,
            to: ExportTime(epochMilliseconds: export.ExportTime?.value ?? 0),
            export: export
        )
    }

    static func windowText(_ export: ExportDescription) -> String {
        if let spec = export.IncrementalExportSpecification, let from = spec.ExportFromTime, let to = spec.ExportToTime
        {
            return "the window [\(ExportTime.format(from.value)), \(ExportTime.format(to.value)))"
        }
        return export.ExportTime.map { "the FULL export at \(ExportTime.format($0.value))" } ?? "the FULL export"
    }
}
