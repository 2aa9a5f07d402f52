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

/// A flag the signal handler sets and the run listens to; and, for a hard stop, a way to save the checkpoint as the
/// run holds it right now.
public final class StopSignal: Sendable {
    private let state = Mutex<(set: Bool, listeners: [@Sendable () -> Void])>((false, []))
    private let saver = Mutex<(@Sendable () async -> Void)?>(nil)
    public init() {}

    /// Asks for a stop: every listener hears it once.
    public func set() {
        let listeners = state.withLock { state -> [@Sendable () -> Void] in
            guard !state.set else { return [] }
            state.set = true
            return state.listeners
        }
        for listener in listeners { listener() }
    }

    public var isSet: Bool { state.withLock { $0.set } }

    /// Calls `listener` when a stop is asked for (at once when it already was).
    func onSet(_ listener: @escaping @Sendable () -> Void) {
        let already = state.withLock { state -> Bool in
            if !state.set { state.listeners.append(listener) }
            return state.set
        }
        if already { listener() }
    }

    /// Saves the checkpoint with every file and window completed so far (it already is after each one: this makes
    /// sure no save is half-way when the process exits). Does nothing before the run has a checkpoint.
    public func saveCheckpointNow() async {
        await saver.withLock { $0 }?()
    }

    /// The run registers how to save its checkpoint, once it holds one.
    func onSaveCheckpoint(_ save: @escaping @Sendable () async -> Void) { saver.withLock { $0 = save } }
}

/// What the readers and writers of one run share; none of it is the run's position (that is the state machine's).
struct ApplyContext: Sendable {
    let gate: CapacityGate
    let rejects: RejectsWriter
    let keyRules: KeyRules
    /// What each write costs the table in its local secondary indexes.
    let localIndexes: LocalIndexCosts
    let spool: SpoolDirectory
}
