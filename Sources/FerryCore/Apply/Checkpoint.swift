import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How far `apply` got: written after each data file and each window, so a crash loses at most the files in flight
/// (re-applying them is idempotent: whole-item puts and deletes). Holds no secret.
public struct Checkpoint: Sendable, Hashable, Codable {
    /// The plan this checkpoint belongs to; a checkpoint of another plan is refused.
    public var planId: String
    /// Windows fully applied (0 … plan.windows.count). The next window to apply has this index.
    public var windowsDone: Int
    /// Data files of the current window already applied.
    public var filesDone: [String]
    /// Items written so far, all windows.
    public var itemsApplied: Int64
    /// Items of the current window written so far.
    public var currentWindowItems: Int64
    /// Of those, the deletes, and the write units DynamoDB reported for them (for the window's figures in the run
    /// record; absent when the window has no file done yet, and in checkpoints of earlier versions).
    public var currentWindowDeletes: Int64?
    public var currentWindowWriteUnits: Double?
    /// Records DynamoDB rejected (they are in the rejects file).
    public var rejects: Int64
    /// The point in time the target has reached: the `to` of the last applied window.
    public var appliedThrough: String?
    /// INCREMENTAL windows `apply --follow` found after the plan's last one, validated like the planner's, in order.
    /// They continue the plan's windows (indices go on from the plan's), and a resume finishes them too.
    public var followWindows: [Plan.Window]?
    /// The export's key attributes (name and type), from the first record pre-flight read, so a resume checks the
    /// target's key schema even when no window left to apply holds a record (or the applied exports have expired).
    public var exportKeys: [KeyAttribute]?
    /// The ARN of the table the writes went to (from DescribeTable): a resume against another table is refused.
    public var targetArn: String?
    /// A sharded run's shard (`I/N`): what this checkpoint counts is that shard's part of each window.
    public var shard: String?

    public struct KeyAttribute: Sendable, Hashable, Codable {
        public var name: String
        public var type: String
    }

    public init(planId: String) {
        self.planId = planId
        windowsDone = 0
        filesDone = []
        itemsApplied = 0
        currentWindowItems = 0
        rejects = 0
        appliedThrough = nil
    }
}

extension Plan {
    /// The chain a checkpoint has reached: the plan's windows, then the windows `apply --follow` added.
    public func chain(with checkpoint: Checkpoint?) -> Plan {
        appending(checkpoint?.followWindows ?? [])
    }

    /// The plan with `added` windows after its own, totals included.
    public func appending(_ added: [Plan.Window]) -> Plan {
        guard !added.isEmpty else { return self }
        var chain = self
        chain.windows += added
        chain.totals.windows = chain.windows.count
        chain.totals.items += added.reduce(0) { $0 + $1.itemCount }
        chain.totals.files += added.reduce(0) { $0 + $1.files.count }
        chain.totals.compressedBytes += added.reduce(0) { $0 + $1.compressedBytes }
        chain.totals.end = added.last!.to
        return chain
    }
}

public enum CheckpointError: Error, Sendable, Hashable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case otherPlan(path: String, checkpointPlan: String, plan: String)
    case locked(path: String)
    case io(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): "\(path): not a Ferry checkpoint (\(reason))"
        case let .otherPlan(path, checkpointPlan, plan):
            "\(path) belongs to plan \(checkpointPlan), not \(plan); use --checkpoint to give this plan its own checkpoint"
        case .locked(let path):
            "\(path) is in use by another `ferry apply` (its lock is held); two applies must not share a checkpoint"
        case let .io(path, reason): "\(path): \(reason)"
        }
    }
}

/// Where a run's checkpoint is kept: a local file today (`CheckpointFile`); a store shared by the workers of a
/// sharded run tomorrow. A save is atomic (the old checkpoint or the new one, never a torn one) and durable before
/// it returns; one run at a time holds the lock.
public protocol CheckpointStore: Sendable {
    /// Where it is, for messages (and the default place of the spool next to it).
    var path: String { get }
    /// The checkpoint of plan `planId`, or nil when there is none yet; another plan's checkpoint is an error.
    func load(for planId: String) throws -> Checkpoint?
    func save(_ checkpoint: Checkpoint) throws
    /// Holds the store for one run for as long as the returned lock lives; throws when another run holds it.
    func lock() throws -> CheckpointLock
}

/// Reads and writes a checkpoint atomically (temporary file, fsync, rename), and locks it for one `apply` at a time.
public struct CheckpointFile: CheckpointStore {
    public let path: String

    public init(path: String) { self.path = path }

    /// The documented default: next to the plan, `<plan without .json>.checkpoint.json`.
    public static func defaultPath(forPlan plan: String) -> String {
        (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".checkpoint.json"
    }

    /// The checkpoint for `plan`, or nil when there is none yet.
    public func load(for planId: String) throws -> Checkpoint? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        let checkpoint: Checkpoint
        do { checkpoint = try JSONDecoder().decode(Checkpoint.self, from: data) } catch {
            throw CheckpointError.unreadable(path: path, reason: "\(error)")
        }
        guard checkpoint.planId == planId else {
            throw CheckpointError.otherPlan(path: path, checkpointPlan: checkpoint.planId, plan: planId)
        }
        return checkpoint
    }

    /// Writes the checkpoint so that a crash leaves either the old one or the new one, never a torn file.
    public func save(_ checkpoint: Checkpoint) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(checkpoint)
        let temporary = path + ".tmp-\(getpid())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: temporary, reason: String(cString: strerror(errno))) }
        let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == data.count, synced == 0 else {
            unlink(temporary)
            throw CheckpointError.io(path: temporary, reason: "could not write and sync the checkpoint")
        }
        guard rename(temporary, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temporary)
            throw CheckpointError.io(path: path, reason: reason)
        }
        // Make the rename itself durable.
        let directory = open(
            (path as NSString).deletingLastPathComponent.isEmpty ? "." : (path as NSString).deletingLastPathComponent,
            O_RDONLY
        )
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }

    /// Takes the checkpoint's lock (`<path>.lock`, an exclusive `flock`) for as long as the returned lock lives.
    /// The kernel releases it when the process dies, so a crash never leaves a stale lock behind.
    public func lock() throws -> CheckpointLock {
        let lockPath = path + ".lock"
        let fd = open(lockPath, O_WRONLY | O_CREAT, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: lockPath, reason: String(cString: strerror(errno))) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw CheckpointError.locked(path: path)
        }
        // Closing the descriptor releases the flock.
        return CheckpointLock { close(fd) }
    }
}

/// Holds a checkpoint store's lock until released (or the process ends).
public final class CheckpointLock: Sendable {
    private let release: @Sendable () -> Void
    public init(release: @escaping @Sendable () -> Void) { self.release = release }
    deinit { release() }
}

/// A checkpoint store in memory: every checkpoint saved, in order (tests read the history a run left).
public final class MemoryCheckpointStore: CheckpointStore {
    public let path: String
    private let state = Mutex<(saved: [Checkpoint], locked: Bool)>(([], false))

    public init(path: String = "memory-checkpoint", initial: Checkpoint? = nil) {
        self.path = path
        if let initial { state.withLock { $0.saved = [initial] } }
    }

    public func load(for planId: String) throws -> Checkpoint? {
        guard let last = state.withLock({ $0.saved.last }) else { return nil }
        guard last.planId == planId else {
            throw CheckpointError.otherPlan(path: path, checkpointPlan: last.planId, plan: planId)
        }
        return last
    }

    public func save(_ checkpoint: Checkpoint) throws { state.withLock { $0.saved.append(checkpoint) } }

    public func lock() throws -> CheckpointLock {
        let taken = state.withLock { state -> Bool in
            defer { state.locked = true }
            return state.locked
        }
        guard !taken else { throw CheckpointError.locked(path: path) }
        return CheckpointLock { [weak self] in self?.state.withLock { $0.locked = false } }
    }

    /// Every checkpoint saved, oldest first.
    public var history: [Checkpoint] { state.withLock { $0.saved } }
}
