import DynamoModel

/// One worker's part of a sharded `apply`: index `index` (0-based, as Kubernetes' `JOB_COMPLETION_INDEX` and AWS
/// Batch's `AWS_BATCH_JOB_ARRAY_INDEX` count) of `count` workers.
public struct ShardSpec: Sendable, Hashable, Codable, CustomStringConvertible {
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1, count <= Self.maxCount else {
            throw ShardError.badSpec("the number of shards must be 1 … \(Self.maxCount) (got \(count))")
        }
        guard index >= 0, index < count else {
            throw ShardError.badSpec("the shard index must be 0 … \(count - 1) for \(count) shards (got \(index))")
        }
        self.index = index
        self.count = count
    }

    /// More workers than this gain nothing a table's partitions could absorb and make every barrier poll dearer.
    public static let maxCount = 256

    /// `I/N`, as `--shard` takes it.
    public init(argument: String) throws {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw ShardError.badSpec("--shard must be INDEX/COUNT with a 0-based index, e.g. 0/4 (got \(argument))")
        }
        try self.init(index: index, count: count)
    }

    /// The index from the engine's environment: `JOB_COMPLETION_INDEX` (Kubernetes Indexed Job) or
    /// `AWS_BATCH_JOB_ARRAY_INDEX` (AWS Batch array job), with the count from `--shards`.
    public static func fromEnvironment(_ environment: [String: String], count: Int) throws -> ShardSpec {
        for name in ["JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"] {
            guard let value = environment[name] else { continue }
            guard let index = Int(value) else {
                throw ShardError.badSpec("\(name) must be a whole number (got \(value))")
            }
            return try ShardSpec(index: index, count: count)
        }
        throw ShardError.badSpec(
            "--shards \(count) needs this worker's index: set JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job), or give --shard I/\(count)"
        )
    }

    public var description: String { "\(index)/\(count)" }

    /// The data files of `window` this shard applies. Every file goes to exactly one shard; the split is the same
    /// on every worker (it depends only on the plan). A data file holds one source partition's keys and a key is in
    /// one file per export, so two shards never write the same key within a window.
    ///
    /// Balanced by item count (the plan keeps each file's items, not its bytes; export files of one window are cut
    /// alike, so items follow bytes): largest first, each to the shard with the fewest items so far (ties: the
    /// lowest index), files of equal size in key order (by bytes).
    public func files(of window: Plan.Window) -> [String] {
        Self.split(window.files, count: count)[index]
    }

    static func split(_ files: [Plan.File], count: Int) -> [[String]] {
        let ordered = files.sorted { a, b in
            a.itemCount != b.itemCount ? a.itemCount > b.itemCount : a.key.utf8.lexicographicallyPrecedes(b.key.utf8)
        }
        var load = [Int64](repeating: 0, count: count)
        var parts = [[String]](repeating: [], count: count)
        for file in ordered {
            var lightest = 0
            for shard in 1..<count where load[shard] < load[lightest] { lightest = shard }
            load[lightest] += max(1, file.itemCount)
            parts[lightest].append(file.key)
        }
        // Within a shard, the plan's order (the order a single worker applies them in).
        let position = Dictionary(
            files.enumerated().map { (BytewiseString($0.element.key), $0.offset) },
            uniquingKeysWith: { a, _ in a }
        )
        return parts.map { part in part.sorted { position[BytewiseString($0)]! < position[BytewiseString($1)]! } }
    }
}

public enum ShardError: Error, CustomStringConvertible, Sendable {
    case badSpec(String)
    /// The state prefix belongs to another plan or another shard count.
    case otherRun(state: String, recorded: String, given: String)
    /// Another live worker holds this shard's claim.
    case claimedByAnother(shard: String, state: String, holder: String)
    /// This worker's claim was taken over (it was too slow to renew it) or could not be renewed in time.
    case claimLost(shard: String, state: String, why: String)
    case unreadable(key: String, reason: String)
    /// The checkpoint is another shard's (or a single worker's).
    case checkpointOfOtherShard(path: String, recorded: String, given: String)
    case markerMissing(shard: String, window: Int, state: String)

    public var description: String {
        switch self {
        case .badSpec(let why): why
        case let .otherRun(state, recorded, given):
            "the shared state at \(state) belongs to \(recorded), not \(given): give each plan (and each shard count) its own --state prefix"
        case let .claimedByAnother(shard, state, holder):
            "shard \(shard) is already being applied by another worker (\(holder)), which renews its claim at \(state): this worker stops and writes nothing (if that worker is gone, its claim expires and a restarted worker takes over)"
        case let .claimLost(shard, state, why):
            "this worker lost its claim on shard \(shard) at \(state) (\(why)); it stopped writing; the worker that holds the claim now goes on from the shard's checkpoint"
        case let .unreadable(key, reason): "the shared state object \(key) cannot be read: \(reason)"
        case let .checkpointOfOtherShard(path, recorded, given):
            "the checkpoint \(path) is \(recorded)'s, not shard \(given)'s: give each shard its own --checkpoint (the default is per shard)"
        case let .markerMissing(shard, window, state):
            "shard \(shard) has begun window \(window + 2) but its completion marker for window \(window + 1) is missing at \(state): the shared state was changed by hand; restore it or start a new --state prefix"
        }
    }
}
