import Foundation

/// What `apply` reports as it goes: window start, each data file, window end, a tick every second while writing,
/// and (with `--follow`) each time it has caught up with the source. On a terminal the CLI turns them into a live
/// status line; otherwise it writes them as JSON lines on stderr.
public struct ApplyProgress: Sendable, Codable, Hashable {
    /// `waiting`: with `--follow`, a later export is complete but exports still in progress may fill the gap
    /// before it; the run waits for them (re-checked every poll) instead of stopping.
    /// `barrier`: a sharded worker has done its part of the window and waits for the shards in `waitingFor`.
    public enum Event: String, Sendable, Codable {
        case windowStarted, fileDone, windowDone, tick, caughtUp, waiting, barrier
    }

    public var event: Event
    /// 1-based window number and the chain's window count (the plan's, plus any `--follow` found).
    public var window: Int
    public var windows: Int
    public var exportId: String
    public var file: String?
    /// Items written so far, all windows (a resumed run adds this run's writes to the checkpoint's count), and the
    /// chain's total records.
    public var itemsApplied: Int64
    public var itemsTotal: Int64
    public var rejects: Int64
    public var elapsedSeconds: Double
    /// Items written by this run (the rate's numerator).
    public var itemsThisRun: Int64
    /// Write units the table consumed in the last second, and what the budget allows per second (--write-percent
    /// of the tightest of the table and its GSIs, after any throttling cut).
    public var writeUnitsPerSecond: Double
    public var writeBudget: Double
    public var throttles: Int
    /// `UnprocessedItems` rounds retried.
    public var retries: Int
    /// With `--follow`, at `caughtUp`: seconds between now and the end of the last window applied.
    public var lagSeconds: Double?
    /// At `waiting`: the exports still in progress, and the gap they may fill (as a plan would refuse it).
    public var waitingFor: [String]?
    public var pendingGap: String?
    /// At `windowDone`: what the window's files wrote (files re-applied after a crash counted once) and the write
    /// units DynamoDB reported consumed for them (table and indexes).
    public var windowFigures: WindowFigures?
    /// At `fileDone`: what the file wrote and rejected, its write units, and how long it took from being opened —
    /// of which verifying it into the spool (download, MD5, gzip, count) before anything of it was written.
    public var fileFigures: FileFigures?
    /// The throttles so far by reason (DynamoDB's `ThrottlingReasons`, e.g. `IndexWriteProvisionedThroughputExceeded
    /// (index by-name)`, or the error code when it gives none); absent while there were none.
    public var throttleReasons: [String: Int]?

    public struct FileFigures: Sendable, Codable, Hashable {
        public var puts: Int64
        public var deletes: Int64
        public var rejects: Int64
        public var writeUnits: Double
        public var seconds: Double
        public var verifySeconds: Double?

        public init(
            puts: Int64,
            deletes: Int64,
            rejects: Int64,
            writeUnits: Double,
            seconds: Double,
            verifySeconds: Double?
        ) {
            self.puts = puts
            self.deletes = deletes
            self.rejects = rejects
            self.writeUnits = writeUnits
            self.seconds = seconds
            self.verifySeconds = verifySeconds
        }
    }

    public struct WindowFigures: Sendable, Codable, Hashable {
        public var puts: Int64
        public var deletes: Int64
        public var writeUnits: Double

        public init(puts: Int64, deletes: Int64, writeUnits: Double) {
            self.puts = puts
            self.deletes = deletes
            self.writeUnits = writeUnits
        }
    }

    public init(
        event: Event,
        window: Int,
        windows: Int,
        exportId: String,
        file: String? = nil,
        itemsApplied: Int64,
        itemsTotal: Int64,
        rejects: Int64,
        elapsedSeconds: Double,
        itemsThisRun: Int64 = 0,
        writeUnitsPerSecond: Double = 0,
        writeBudget: Double = 0,
        throttles: Int = 0,
        retries: Int = 0,
        lagSeconds: Double? = nil,
        waitingFor: [String]? = nil,
        pendingGap: String? = nil,
        windowFigures: WindowFigures? = nil,
        fileFigures: FileFigures? = nil,
        throttleReasons: [String: Int]? = nil
    ) {
        self.event = event
        self.window = window
        self.windows = windows
        self.exportId = exportId
        self.file = file
        self.itemsApplied = itemsApplied
        self.itemsTotal = itemsTotal
        self.rejects = rejects
        self.elapsedSeconds = elapsedSeconds
        self.itemsThisRun = itemsThisRun
        self.writeUnitsPerSecond = writeUnitsPerSecond
        self.writeBudget = writeBudget
        self.throttles = throttles
        self.retries = retries
        self.lagSeconds = lagSeconds
        self.waitingFor = waitingFor
        self.pendingGap = pendingGap
        self.windowFigures = windowFigures
        self.fileFigures = fileFigures
        self.throttleReasons = throttleReasons
    }

    /// Items per second this run.
    public var itemsPerSecond: Double { elapsedSeconds > 0 ? Double(itemsThisRun) / elapsedSeconds : 0 }

    /// A one-line human rendering: window k/n, items/s, WCU/s against the budget, throttles, retries, ETA (or lag).
    public var line: String {
        let rate = itemsPerSecond
        if event == .waiting {
            let ids = waitingFor ?? []
            return
                "waiting: window \(window)/\(windows) \(exportId) applied, lag \(PlanSummary.durationText(lagSeconds ?? 0)); "
                + "export\(ids.count == 1 ? "" : "s") \(ids.joined(separator: ", ")) still in progress, a later one is complete: "
                + "until they finish, \(pendingGap ?? "a gap is left")"
        }
        if event == .barrier {
            return "barrier: window \(window)/\(windows) \(exportId) done by this shard; waiting for "
                + (waitingFor ?? []).joined(separator: ", ")
                + " to finish it  \(itemsApplied) items  \(rejects) rejects"
        }
        if event == .caughtUp {
            return
                "caught up: window \(window)/\(windows) \(exportId) applied, lag \(PlanSummary.durationText(lagSeconds ?? 0)); "
                + "\(itemsApplied) items, \(throttles) throttles, \(retries) retries, \(rejects) rejects"
        }
        let remaining = rate > 0 ? PlanSummary.durationText(Double(max(0, itemsTotal - itemsApplied)) / rate) : "?"
        return "window \(window)/\(windows) \(exportId)  \(itemsApplied)/\(itemsTotal) items  \(Int(rate)) items/s  "
            + "\(Int(writeUnitsPerSecond.rounded()))/\(Int(writeBudget.rounded())) WCU/s  \(throttles) throttles  \(retries) retries  "
            + "\(rejects) rejects  ETA \(remaining)"
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}
