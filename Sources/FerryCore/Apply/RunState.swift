import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation
import Synchronization

/// Runs `work` with `companion` alongside (a monitor, a signal listener) and returns `work`'s result once it is done,
/// cancelling the companion; an error from `work` is thrown after the companion is cancelled.
public func withCompanion<T: Sendable>(
    _ work: @escaping @Sendable () async throws -> T,
    companion: @escaping @Sendable () async -> Void
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await work() }
        group.addTask {
            await companion()
            return nil
        }
        while let result = try await group.next() {
            if let value = result {
                group.cancelAll()
                return value
            }
        }
        throw CancellationError()
    }
}

/// Thrown inside a file's task when a stop was requested, after its in-flight batch finished.
struct StopRequested: Error {}

/// A flag the signal handler sets and the writers read; and, for a hard stop, a way to save the checkpoint as the
/// run holds it right now.
public final class StopSignal: Sendable {
    private let flag = Mutex(false)
    private let saver = Mutex<(@Sendable () async -> Void)?>(nil)
    public init() {}
    public func set() { flag.withLock { $0 = true } }
    public var isSet: Bool { flag.withLock { $0 } }

    /// Saves the checkpoint with every file and window completed so far (it already is after each one: this makes
    /// sure no save is half-way when the process exits). Does nothing before the run has a checkpoint.
    public func saveCheckpointNow() async {
        await saver.withLock { $0 }?()
    }

    /// The run registers how to save its checkpoint, once it holds one.
    func onSaveCheckpoint(_ save: @escaping @Sendable () async -> Void) { saver.withLock { $0 = save } }
}

/// Counters shared by the file tasks.
actor Counters {
    var unprocessedRetries = 0
    /// Writes applied this run (puts and deletes DynamoDB accepted), updated batch by batch.
    var itemsWritten: Int64 = 0
    func unprocessed() { unprocessedRetries += 1 }
    func written(_ count: Int64) { itemsWritten += count }
}

/// What the concurrent parts of one run share.
final class RunState: Sendable {
    let gate: CapacityGate
    let keeper: CheckpointKeeper
    let rejects: RejectsWriter
    let counters: Counters
    let keyRules: KeyRules
    /// What each write costs the table in its local secondary indexes.
    let localIndexes: LocalIndexCosts
    let spool: SpoolDirectory
    let itemsAtStart: Int64
    /// Time since the run started, on the engine's clock.
    let elapsed: @Sendable () -> Duration
    private let position: Mutex<(chain: Plan, window: Plan.Window?)>

    init(
        gate: CapacityGate,
        keeper: CheckpointKeeper,
        rejects: RejectsWriter,
        counters: Counters,
        keyRules: KeyRules,
        localIndexes: LocalIndexCosts,
        spool: SpoolDirectory,
        itemsAtStart: Int64,
        chain: Plan,
        elapsed: @escaping @Sendable () -> Duration
    ) {
        self.gate = gate
        self.keeper = keeper
        self.rejects = rejects
        self.counters = counters
        self.keyRules = keyRules
        self.localIndexes = localIndexes
        self.spool = spool
        self.itemsAtStart = itemsAtStart
        self.elapsed = elapsed
        position = Mutex((chain, nil))
    }

    var chain: Plan { position.withLock { $0.chain } }
    var window: Plan.Window? { position.withLock { $0.window } }
    func setChain(_ chain: Plan) { position.withLock { $0.chain = chain } }
    /// The window being written (ticks are sent only then), nil between windows and while `--follow` waits.
    func setWindow(_ window: Plan.Window?) { position.withLock { $0.window = window } }
}

/// Owns the checkpoint while files complete concurrently, and saves it after each file and each window.
actor CheckpointKeeper {
    let store: CheckpointStore
    private(set) var checkpoint: Checkpoint

    init(store: CheckpointStore, checkpoint: Checkpoint) {
        self.store = store
        self.checkpoint = checkpoint
    }

    func fileDone(_ key: String, items: Int64, rejects: Int64) throws {
        checkpoint.filesDone.append(key)
        checkpoint.rejects = rejects
        checkpoint.itemsApplied += items
        checkpoint.currentWindowItems += items
        try store.save(checkpoint)
    }

    /// Records windows `--follow` found (before any of their writes), so a resume knows and finishes them.
    func follow(_ windows: [Plan.Window]) throws {
        checkpoint.followWindows = (checkpoint.followWindows ?? []) + windows
        try store.save(checkpoint)
    }

    /// Saves the checkpoint as it stands (a hard stop, before the process exits).
    func save() throws { try store.save(checkpoint) }

    func windowDone(through time: String) throws {
        checkpoint.windowsDone += 1
        checkpoint.filesDone = []
        checkpoint.currentWindowItems = 0
        checkpoint.appliedThrough = time
        try store.save(checkpoint)
    }
}
