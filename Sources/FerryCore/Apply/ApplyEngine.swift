import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation

/// Applies a plan to the target table: each window's files concurrently (their writes interleave across source
/// partitions), batches within the capacity budget, UnprocessedItems and throttles retried, item-level rejects
/// isolated into the rejects file, a checkpoint after each file and each window, resumed from it.
public struct ApplyEngine: Sendable {
    public let plan: Plan
    public let source: any ExportSource
    public let dynamo: DynamoDBClient
    public let store: CheckpointStore
    public let rejectsPath: String
    public var writePercent: Double
    public var maxWriteUnits: Int?
    /// Files of one window read at once.
    public var fileConcurrency = 8
    public var progress: @Sendable (ApplyProgress) -> Void = { _ in }
    /// Set (by SIGINT/SIGTERM) to stop: no new batch or file starts, batches in flight finish, the checkpoint is
    /// written, and `run` throws `ApplyError.interrupted`.
    public let stop = StopSignal()

    public init(plan: Plan, source: any ExportSource, dynamo: DynamoDBClient, store: CheckpointStore, rejectsPath: String,
                writePercent: Double, maxWriteUnits: Int? = nil) {
        self.plan = plan
        self.source = source
        self.dynamo = dynamo
        self.store = store
        self.rejectsPath = rejectsPath
        self.writePercent = writePercent
        self.maxWriteUnits = maxWriteUnits
    }

    public struct Report: Sendable {
        public var windowsApplied: Int
        public var itemsApplied: Int64
        public var rejects: Int64
        public var throttles: Int
        public var unprocessedRetries: Int
    }

    public func run() async throws -> Report {
        let lock = try store.lock()
        defer { withExtendedLifetime(lock) {} }
        let exports = try await ExportDiscovery.verify(plan, against: source)
        let table = try await preflight(exports)
        let gate = CapacityGate(try controller(for: table))
        let keeper = CheckpointKeeper(store: store, checkpoint: try store.load(for: plan.planId) ?? Checkpoint(planId: plan.planId))
        let rejects = RejectsWriter(path: rejectsPath)
        let counters = Counters()
        let keyNames = table.keyNames
        var windowsApplied = 0
        let started = ContinuousClock.now
        let itemsTotal = plan.totals.items
        @Sendable func report(_ event: ApplyProgress.Event, _ window: Plan.Window, file: String? = nil, checkpoint: Checkpoint) {
            let elapsed = ContinuousClock.now - started
            progress(ApplyProgress(
                event: event, window: window.index + 1, windows: plan.windows.count, exportId: window.exportId, file: file,
                itemsApplied: checkpoint.itemsApplied, itemsTotal: itemsTotal, rejects: checkpoint.rejects,
                elapsedSeconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18))
        }
        for window in plan.windows where window.index >= (await keeper.checkpoint.windowsDone) {
            let export = exports[window.index]
            let done = Set(await keeper.checkpoint.filesDone)
            let files = export.files.filter { !done.contains($0.dataFileS3Key) }
            report(.windowStarted, window, checkpoint: await keeper.checkpoint)
            try await withThrowingTaskGroup(of: (String, Int64).self) { group in
                var pending = files[...]
                func startNext() {
                    guard let file = pending.popFirst() else { return }
                    group.addTask {
                        let items = try await applyFile(file, of: export, keyNames: keyNames, gate: gate, rejects: rejects, counters: counters)
                        return (file.dataFileS3Key, items)
                    }
                }
                for _ in 0..<fileConcurrency { startNext() }
                do {
                    for try await (key, items) in group {
                        try await keeper.fileDone(key, items: items, rejects: await rejects.count)
                        report(.fileDone, window, file: key, checkpoint: await keeper.checkpoint)
                        if !stop.isSet { startNext() }
                    }
                } catch is StopRequested {
                    // Let the other files' in-flight batches finish; their files are re-applied on resume.
                    while true {
                        do {
                            guard let (key, items) = try await group.next() else { break }
                            try await keeper.fileDone(key, items: items, rejects: await rejects.count)
                        } catch is StopRequested {
                            continue
                        }
                    }
                }
            }
            if stop.isSet {
                try await rejects.close()
                throw ApplyError.interrupted(checkpoint: store.path)
            }
            try await keeper.windowDone(through: window.to)
            report(.windowDone, window, checkpoint: await keeper.checkpoint)
            windowsApplied += 1
        }
        try await rejects.close()
        let checkpoint = await keeper.checkpoint
        return Report(windowsApplied: windowsApplied, itemsApplied: checkpoint.itemsApplied, rejects: await rejects.count,
                      throttles: await gate.throttleCount, unprocessedRetries: await counters.unprocessedRetries)
    }

    /// Before the first write: the target exists, is ACTIVE, and its key schema is the export's.
    func preflight(_ exports: [Export]) async throws -> TableDescription {
        let table = try await dynamo.describeTable(plan.target.table)
        guard table.TableStatus == nil || table.TableStatus == "ACTIVE" else {
            throw ApplyError.targetNotReady(table: plan.target.table, status: table.TableStatus ?? "?")
        }
        // The export's keys: an incremental record's Keys, or the key attributes of a full export's first item.
        let reader = ExportReader(source: source)
        for export in exports {
            for file in export.files where file.itemCount > 0 {
                var first: ExportRecord?
                do {
                    _ = try await reader.readRecords(of: file, in: export, verify: false) { records in
                        first = records.first
                        throw FirstRecordFound()
                    }
                } catch is FirstRecordFound {}
                guard let record = first else { continue }
                try KeySchemaCheck.check(record, table: table)
                return table
            }
        }
        return table
    }

    func controller(for table: TableDescription) throws -> CapacityController {
        if table.isOnDemand {
            let tableMax = table.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil }
            guard let ceiling = tableMax ?? maxWriteUnits.map(Double.init) else { throw ApplyError.onDemandNeedsCeiling(table: plan.target.table) }
            var limits = [CapacityController.Limit(resource: "table", capacity: ceiling)]
            for index in table.GlobalSecondaryIndexes ?? [] {
                let max = index.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil } ?? ceiling
                limits.append(.init(resource: index.IndexName, capacity: max))
            }
            let warm = table.WarmThroughput?.WriteUnitsPerSecond.map(Double.init) ?? 4000
            return CapacityController(percent: writePercent, limits: limits, mode: .onDemand(warm: warm))
        }
        var limits = [CapacityController.Limit(resource: "table", capacity: Double(table.ProvisionedThroughput?.WriteCapacityUnits ?? 0))]
        for index in table.GlobalSecondaryIndexes ?? [] {
            limits.append(.init(resource: index.IndexName, capacity: Double(index.ProvisionedThroughput?.WriteCapacityUnits ?? 0)))
        }
        guard limits.allSatisfy({ $0.capacity > 0 }) else { throw ApplyError.noWriteCapacity(table: plan.target.table) }
        return CapacityController(percent: writePercent, limits: limits)
    }
}

struct FirstRecordFound: Error {}

/// Thrown inside a file's task when a stop was requested, after its in-flight batch finished.
struct StopRequested: Error {}

/// A flag the signal handler sets and the writers read.
public final class StopSignal: Sendable {
    private let flag = Mutex(false)
    public init() {}
    public func set() { flag.withLock { $0 = true } }
    public var isSet: Bool { flag.withLock { $0 } }
}

import Synchronization

/// Counters shared by the file tasks.
actor Counters {
    var unprocessedRetries = 0
    func unprocessed() { unprocessedRetries += 1 }
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

    func windowDone(through time: String) throws {
        checkpoint.windowsDone += 1
        checkpoint.filesDone = []
        checkpoint.currentWindowItems = 0
        checkpoint.appliedThrough = time
        try store.save(checkpoint)
    }
}

public enum ApplyError: Error, Sendable, Hashable, CustomStringConvertible {
    case targetNotReady(table: String, status: String)
    case keySchemaMismatch(table: String, tableKeys: String, exportKeys: String, at: String)
    case onDemandNeedsCeiling(table: String)
    case noWriteCapacity(table: String)
    case interrupted(checkpoint: String)

    public var description: String {
        switch self {
        case let .targetNotReady(table, status): "target table \(table) is \(status), not ACTIVE; wait for it and apply again"
        case let .keySchemaMismatch(table, tableKeys, exportKeys, at):
            "target table \(table) has the key (\(tableKeys)) but the export's records have (\(exportKeys)), e.g. at \(at); nothing was written"
        case .onDemandNeedsCeiling(let table):
            "target table \(table) is on-demand with no maximum throughput: pass --max-write-units N, the write units per second Ferry may use at 100 %"
        case .noWriteCapacity(let table): "target table \(table) reports no write capacity; check DescribeTable"
        case .interrupted(let checkpoint): "interrupted: the batches in flight were finished and the checkpoint saved at \(checkpoint); run the same command again to resume"
        }
    }
}
