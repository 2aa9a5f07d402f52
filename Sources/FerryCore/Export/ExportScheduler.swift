import Crypto
import ExportReader
import Foundation

/// What `ferry export` decides next, from what the service and the bucket say — never from the local clock, so a
/// skewed clock cannot open a gap. Pure: the driver (DynamoDB and S3 calls, waiting) feeds it a `State` and carries
/// out the `Step`; every rule is tested directly.
///
/// Rules. The chain starts at the newest complete FULL export of the table (or a FULL export is started at the PITR
/// window's latest restorable time). INCREMENTAL windows follow `[from, from + window)` with `from` the chain's end
/// exactly — windows are contiguous by construction — and a window is requested only once its end is at or before
/// `LatestRestorableDateTime`. Exports still running count as requested (their ends extend the chain), so a chain far
/// behind is caught up back to back, `maxInFlight` at a time. A chain end older than the PITR window's start cannot
/// be continued: a new FULL export is needed.
public enum ExportScheduler {
    /// A completed export of the table, as the bucket shows it (`manifest-summary.json`).
    public struct Completed: Sendable, Hashable {
        public var exportArn: String
        public var kind: ExportKind
        /// INCREMENTAL: the window's start. Nil for FULL.
        public var from: ExportTime?
        /// FULL: the export time. INCREMENTAL: the window's end (exclusive).
        public var to: ExportTime

        public init(exportArn: String, kind: ExportKind, from: ExportTime?, to: ExportTime) {
            self.exportArn = exportArn
            self.kind = kind
            self.from = from
            self.to = to
        }
    }

    /// An export the service lists for the table that the bucket does not show complete yet.
    public struct Running: Sendable, Hashable {
        public enum Status: Sendable, Hashable {
            case inProgress
            case failed(code: String, message: String)
        }

        public var exportArn: String
        public var kind: ExportKind
        public var from: ExportTime?
        public var to: ExportTime?
        public var status: Status

        public init(exportArn: String, kind: ExportKind, from: ExportTime?, to: ExportTime?, status: Status) {
            self.exportArn = exportArn
            self.kind = kind
            self.from = from
            self.to = to
            self.status = status
        }
    }

    /// Everything a decision needs. `earliest`/`latest`: the table's PITR window (`DescribeContinuousBackups`), nil
    /// when PITR is off.
    public struct State: Sendable {
        public var tableArn: String
        /// Where the exports go (`s3://bucket/prefix`), the format and the view: part of each request's identity.
        public var destination: String
        public var format: ExportFormat
        public var viewType: ExportViewType
        public var windowMilliseconds: Int64
        public var maxInFlight: Int
        public var completed: [Completed]
        public var running: [Running]
        public var earliest: ExportTime?
        public var latest: ExportTime?
        /// Failed attempts at the incremental window starting at a time (epoch ms) — or the FULL export at that
        /// time — set aside by `ferry export --retry-failed`: the next request carries a new, deterministic token.
        public var attempts: [Int64: Int] = [:]
        /// The FULL export the chain must continue (`ferry migrate`'s plan starts from it), instead of the newest.
        public var fullExportArn: String?

        public init(
            tableArn: String,
            destination: String,
            format: ExportFormat = .dynamoDBJSON,
            viewType: ExportViewType = .newAndOldImages,
            windowMilliseconds: Int64 = 15 * 60_000,
            maxInFlight: Int = 8,
            completed: [Completed] = [],
            running: [Running] = [],
            earliest: ExportTime? = nil,
            latest: ExportTime? = nil
        ) {
            self.tableArn = tableArn
            self.destination = destination
            self.format = format
            self.viewType = viewType
            self.windowMilliseconds = windowMilliseconds
            self.maxInFlight = maxInFlight
            self.completed = completed
            self.running = running
            self.earliest = earliest
            self.latest = latest
        }
    }

    public enum Step: Sendable, Hashable {
        /// PITR is off: nothing can be exported (enable it, or `--enable-pitr`).
        case pitrDisabled
        case startFull(exportTime: ExportTime, clientToken: String)
        case requestIncremental(from: ExportTime, to: ExportTime, clientToken: String)
        /// Nothing is due until these exports complete.
        case wait(for: [String])
        /// Every due window is complete; the next is due once the PITR window reaches `nextDue`.
        case caughtUp(chainEnd: ExportTime, nextDue: ExportTime)
        /// The chain ends before the PITR window starts (PITR was disabled and re-enabled, or the chain is older
        /// than the retention): a new FULL export is needed.
        case pitrGap(chainEnd: ExportTime, earliest: ExportTime)
        case failed(exportArn: String, code: String, message: String)
    }

    public static func next(_ state: State) -> Step {
        // A failed export stops the chain only where the chain needs it: the FULL export while there is none, or the
        // window at the chain's end. One that was retried since, or lies elsewhere, is history.
        func failure(_ export: Running) -> Step? {
            guard case let .failed(code, message) = export.status else { return nil }
            return .failed(exportArn: export.exportArn, code: code, message: message)
        }
        guard let full = chainStart(state) else {
            if let failed = state.running.lazy.filter({ $0.kind == .full }).compactMap(failure).first { return failed }
            guard let latest = state.latest else { return .pitrDisabled }
            let fulls = state.running.filter { $0.kind == .full }
            if !fulls.isEmpty { return .wait(for: fulls.map(\.exportArn)) }
            // On the window grid (the latest grid point in the PITR window): two runs started close together, or
            // a run again after a crash, ask for the same export time and so the same token — one FULL export.
            let grid = latest.epochMilliseconds - latest.epochMilliseconds % state.windowMilliseconds
            let time =
                state.earliest.map { grid >= $0.epochMilliseconds } ?? true
                ? ExportTime(epochMilliseconds: grid) : latest
            return .startFull(
                exportTime: time,
                clientToken: clientToken(
                    state,
                    kind: .full,
                    from: nil,
                    to: time,
                    attempt: state.attempts[time.epochMilliseconds] ?? 0
                )
            )
        }
        // The chain so far: completed windows, then those still running, each continuing the end exactly or overlapping it.
        let incrementals = state.completed.filter { $0.kind == .incremental && $0.from != nil }
            .map { (from: $0.from!, to: $0.to, running: nil as String?) }
        let inFlight = state.running.filter {
            $0.kind == .incremental && $0.from != nil && $0.to != nil && failure($0) == nil
        }
        .map { (from: $0.from!, to: $0.to!, running: Optional($0.exportArn)) }
        // The planner's own contiguity rule, so what is requested is what `ferry plan` will chain.
        let chained = ChainPlanner.contiguous(
            after: full.to,
            (incrementals + inFlight).sorted { ($0.to, $0.from) < ($1.to, $1.from) },
            from: { $0.from },
            to: { $0.to }
        ).selected
        let end = chained.last?.to ?? full.to
        if let failed = state.running.lazy.filter({ $0.kind == .incremental && $0.from == end }).compactMap(failure)
            .first
        {
            return failed
        }
        guard let latest = state.latest else { return .pitrDisabled }
        let waiting = chained.compactMap(\.running)
        if let earliest = state.earliest, end < earliest { return .pitrGap(chainEnd: end, earliest: earliest) }
        let to = ExportTime(epochMilliseconds: end.epochMilliseconds + state.windowMilliseconds)
        if to <= latest && inFlight.count < state.maxInFlight {
            return .requestIncremental(
                from: end,
                to: to,
                clientToken: clientToken(
                    state,
                    kind: .incremental,
                    from: end,
                    to: to,
                    attempt: state.attempts[end.epochMilliseconds] ?? 0
                )
            )
        }
        if !waiting.isEmpty || !inFlight.isEmpty {
            return .wait(for: waiting.isEmpty ? inFlight.compactMap(\.running) : waiting)
        }
        return .caughtUp(chainEnd: end, nextDue: to)
    }

    /// The chain starts at the pinned FULL export once complete, else at the newest one.
    static func chainStart(_ state: State) -> Completed? {
        guard let pinned = state.fullExportArn else { return newestFull(state.completed) }
        return state.completed.first { $0.kind == .full && $0.exportArn == pinned }
    }

    /// The newest FULL export (ties by ARN, so every run picks the same one).
    static func newestFull(_ completed: [Completed]) -> Completed? {
        completed.filter { $0.kind == .full }
            .max { $0.to != $1.to ? $0.to < $1.to : $0.exportArn.utf8.lexicographicallyPrecedes($1.exportArn.utf8) }
    }

    /// Where the chain of completed exports ends (nil before a FULL export completed), by the planner's rule.
    public static func chainEnd(_ completed: [Completed], fullExportArn: String? = nil) -> ExportTime? {
        var state = State(tableArn: "", destination: "", completed: completed)
        state.fullExportArn = fullExportArn
        guard let full = chainStart(state) else { return nil }
        let incrementals = completed.filter { $0.kind == .incremental && $0.from != nil }
            .sorted { ($0.to, $0.from!) < ($1.to, $1.from!) }
        return ChainPlanner.contiguous(after: full.to, incrementals, from: { $0.from! }, to: { $0.to }).selected.last?
            .to ?? full.to
    }

    /// A request's `ClientToken`: the same table, destination, format, view, kind and window give the same token, so
    /// a request issued again after a crash returns the export already started instead of a second one.
    /// `attempt` > 0: the request after that many failed ones for the window (`--retry-failed`).
    public static func clientToken(
        _ state: State,
        kind: ExportKind,
        from: ExportTime?,
        to: ExportTime,
        attempt: Int = 0
    ) -> String {
        var identity = [
            "ferry-export-v1", state.tableArn, state.destination, state.format.rawValue,
            kind == .full ? "FULL" : state.viewType.rawValue,
            kind.rawValue, from.map { String($0.epochMilliseconds) } ?? "-", String(to.epochMilliseconds),
        ].joined(separator: "\n")
        if attempt > 0 { identity += "\nattempt \(attempt)" }
        return SHA256.hash(data: Data(identity.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
    }
}
