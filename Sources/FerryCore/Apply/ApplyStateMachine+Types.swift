import DynamoModel
import ExportReader

/// The state machine's vocabulary: its configuration, the batches it hands out and what became of them, the events
/// it takes and the actions it returns.
extension ApplyStateMachine {
    public struct Configuration: Sendable {
        /// Data files of one window read at once.
        public var filesAtOnce: Int
        /// Batches one file may have in flight.
        public var batchesInFlightPerFile: Int
        /// `apply --follow`: look for new incremental exports once the chain is applied; nil ends the run there.
        public var follow: Follow?
        /// A sharded run: this worker applies only its shard's files of each window, and passes a barrier (every
        /// shard done with the window) before the next one and before it finishes.
        public var shard: ShardSpec?

        public init(
            filesAtOnce: Int = 8,
            batchesInFlightPerFile: Int = 4,
            follow: Follow? = nil,
            shard: ShardSpec? = nil
        ) {
            self.filesAtOnce = max(1, filesAtOnce)
            self.batchesInFlightPerFile = max(1, batchesInFlightPerFile)
            self.follow = follow
            self.shard = shard
        }
    }

    public struct Follow: Sendable {
        public var pollInterval: Duration
        /// Finish once the lag (now − the end of the last window applied) is at most this; nil: never.
        public var untilLagMilliseconds: Int64?

        public init(pollInterval: Duration, untilLagMilliseconds: Int64?) {
            self.pollInterval = pollInterval
            self.untilLagMilliseconds = untilLagMilliseconds
        }

        /// The `--until-lag` rule, the one place it is written: a chain ending at `chainEnd` is caught up at `now`.
        public func caughtUp(chainEnd: Int64, now: Int64) -> Bool {
            untilLagMilliseconds.map { now - chainEnd <= $0 } ?? false
        }
    }

    /// A batch of writes cut from one data file.
    public struct Batch: Sendable {
        public let id: Int
        public let file: String
        public let keys: [KeyBytes]
        public let payload: Payload
    }

    /// What became of a batch once every write in it was applied or rejected.
    public struct BatchOutcome: Sendable, Hashable {
        public var written: Int64
        public var rejected: Int64
        /// `UnprocessedItems` (and transaction-conflict) rounds retried, and whole calls throttled.
        public var retries: Int
        public var throttles: Int
        /// Of `written`, the deletes; and the write units DynamoDB reported consumed (table and indexes).
        public var deletes: Int64
        public var writeUnits: Double
        /// Of `throttles`, how many of each reason the target gave (DynamoDB's `ThrottlingReasons`, or its code).
        public var throttleReasons: [String: Int]

        public init(
            written: Int64,
            rejected: Int64 = 0,
            retries: Int = 0,
            throttles: Int = 0,
            deletes: Int64 = 0,
            writeUnits: Double = 0,
            throttleReasons: [String: Int] = [:]
        ) {
            self.written = written
            self.rejected = rejected
            self.retries = retries
            self.throttles = throttles
            self.deletes = deletes
            self.writeUnits = writeUnits
            self.throttleReasons = throttleReasons
        }
    }

    /// Write capacity as the capacity gate sees it, sampled by the driver at each tick.
    public struct Capacity: Sendable, Hashable {
        public var unitsPerSecond: Double
        public var budget: Double

        public init(unitsPerSecond: Double, budget: Double) {
            self.unitsPerSecond = unitsPerSecond
            self.budget = budget
        }
    }

    public enum Event: Sendable {
        /// Pre-flight passed: begin (or resume) applying, with the capacity the gate starts with.
        case started(Capacity)
        /// The reader of `file` cut its next batch (records DynamoDB would refuse are not in it: see
        /// `readerRejected`). It reads on only after `resumeReading`.
        case batchReady(file: String, keys: [KeyBytes], payload: Payload)
        /// The reader of `file` has its verified copy (MD5, gzip and count checked): its records come next.
        case fileVerified(file: String)
        /// The reader of `file` wrote `count` records to the rejects file instead of sending them.
        case readerRejected(file: String, count: Int64)
        /// The reader of `file` verified and read all of it: every batch of it was announced.
        case fileRead(file: String)
        case batchDone(id: Int, BatchOutcome)
        /// A batch met a failure no retry can fix: its file is never claimed done; the run fails once the other
        /// batches in flight are done.
        case batchFailed(id: Int, any Error)
        /// Something failed that no retry can fix (a file failed verification, a fatal write error, a gap found
        /// while following): in-flight batches finish, the checkpoint is saved, the run fails with it.
        case failed(any Error)
        /// `--follow`: the windows found after the chain's end (none: caught up, or `waiting` for exports still in
        /// progress that may fill a gap), and the wall time they were looked for at.
        /// `closed`: a sharded run's workers agreed that the run ends here (one found the lag within `--until-lag`).
        case exportsFound(windows: [Plan.Window], nowMilliseconds: Int64, waiting: Waiting?, closed: Bool = false)
        case stopRequested
        /// A progress tick, with the capacity figures of this moment.
        case tick(Capacity)
        /// The wait of a `sleep` action is over.
        case wokeUp
        /// Sharded: at the barrier after `window`, these shards are not done with it yet.
        case barrierWaiting(window: Int, missing: [Int])
        /// Sharded: every shard is done with `window`.
        case barrierPassed(window: Int)
    }

    public struct Waiting: Sendable, Hashable {
        public var exports: [String]
        public var gap: String

        public init(exports: [String], gap: String) {
            self.exports = exports
            self.gap = gap
        }
    }

    public enum Action: Sendable {
        /// Verify and read a data file of the current window, announcing its batches one at a time.
        case read(file: String, window: Int)
        /// The reader's last batch was taken: read on.
        case resumeReading(file: String)
        /// Read no further (a stop or a failure): the reader ends without announcing anything more.
        case stopReading(file: String)
        case send(Batch)
        case saveCheckpoint(Checkpoint)
        case report(ApplyProgress)
        /// `--follow`: look for exports after the last of these windows; answer with `exportsFound` (or `failed`).
        case findExports(chain: [Plan.Window])
        /// Wait this long, then send `wokeUp`.
        case sleep(Duration)
        /// Sharded: record this shard's completion of `window` (`marker`, its checkpoint then; nil when it was
        /// recorded before this run), then wait until every shard's is there; answer with `barrierPassed`.
        case barrier(window: Int, marker: Checkpoint?)
        case finish(Outcome)
    }

    public enum Outcome: Sendable {
        case completed(ApplyEngine.Report)
        /// A stop was asked for: the checkpoint holds what is done, a resume goes on from it.
        case interrupted(ApplyEngine.Report)
        case failed(any Error, ApplyEngine.Report)
    }
}
