import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation
import Synchronization

/// Applies a plan to the target table: each window's files concurrently (their writes interleave across source
/// partitions), batches within the capacity budget, UnprocessedItems and throttles retried, item-level rejects
/// isolated into the rejects file, a checkpoint after each file and each window, resumed from it.
///
/// The run's position and every decision about it (what to read, send, save, report, when to stop) is
/// `ApplyStateMachine`'s; the engine is its driver: it carries out the machine's actions against the target, the
/// source, the checkpoint store and the clock, and feeds the results back as events, one at a time.
public struct ApplyEngine: Sendable {
    public let plan: Plan
    public let source: any ExportSource
    public let target: any TargetTable
    public let store: any CheckpointStore
    public let rejectsPath: String
    public var writePercent: Double
    public var maxWriteUnits: Int?
    /// Files of one window read at once.
    public var fileConcurrency = 8
    /// `BatchWriteItem` calls one file may have in flight (while the next batches are read and cut).
    public var batchesInFlightPerFile = 4
    /// Keep following the source after the plan's windows (`apply --follow`); nil stops at the plan's end.
    public var follow: FollowOptions?
    /// How often a `.tick` progress event is sent while writing.
    public var tickInterval: Duration = .seconds(1)
    /// How often the table's capacity is re-read (auto-scaling).
    public var describeInterval: Duration = .seconds(60)
    public var progress: @Sendable (ApplyProgress) -> Void = { _ in }
    /// The one clock every timing decision of the run reads: the capacity gate, the `--follow` poll wait, progress
    /// ticks and elapsed time, the capacity re-read interval, and the backoff of UnprocessedItems and transaction
    /// conflicts. Tests pass a clock they drive. Wall time (`Date`) is used only for the lag against real time
    /// (`FollowOptions.now`), which is compared with the exports' times.
    public var clock: any Clock<Duration> = ContinuousClock()
    /// The jitter of the write backoff, a number in 0...1 (tests fix it to see the exact sleeps).
    var random01: @Sendable () -> Double = { Double.random(in: 0...1) }
    /// Where verified copies of the data files being applied are kept (default: `<plan>.spool` beside the
    /// checkpoint); see `SpoolDirectory`.
    public var spoolDirectory: String?
    /// Keep only compressed copies in the spool (less disk; each file is then inflated twice: to verify it, then to
    /// read its records). By default a copy is kept as text when it fits `SpoolDirectory`'s text budget.
    public var spoolCompressedOnly = false
    /// The most the spool may hold (a volume's size limit that its free space does not show); nil: the free space.
    public var spoolLimit: Int64?
    /// Set (by SIGINT/SIGTERM) to stop: no new batch or file starts, batches in flight finish, the checkpoint is
    /// written, and `run` throws `ApplyError.interrupted`.
    public let stop = StopSignal()
    /// The run record this run appends to (`RunJournal`); nil keeps none.
    public var journal: RunJournal?
    /// A sharded run (`apply --shard I/N --state s3://…`): this worker applies its shard's files of each window at
    /// `writePercent / N`, holds its shard's claim, and waits at a barrier between windows (`ShardCoordinator`).
    public var coordinator: ShardCoordinator?

    public init(
        plan: Plan,
        source: any ExportSource,
        target: any TargetTable,
        store: any CheckpointStore,
        rejectsPath: String,
        writePercent: Double,
        maxWriteUnits: Int? = nil
    ) {
        self.plan = plan
        self.source = source
        self.target = target
        self.store = store
        self.rejectsPath = rejectsPath
        self.writePercent = writePercent
        self.maxWriteUnits = maxWriteUnits
    }

    /// A run against the plan's target table in DynamoDB.
    public init(
        plan: Plan,
        source: any ExportSource,
        dynamo: DynamoDBClient,
        store: any CheckpointStore,
        rejectsPath: String,
        writePercent: Double,
        maxWriteUnits: Int? = nil
    ) {
        self.init(
            plan: plan,
            source: source,
            target: DynamoTargetTable(client: dynamo, table: plan.target.table),
            store: store,
            rejectsPath: rejectsPath,
            writePercent: writePercent,
            maxWriteUnits: maxWriteUnits
        )
    }

    public struct Report: Sendable {
        public var windowsApplied: Int
        public var itemsApplied: Int64
        public var rejects: Int64
        public var throttles: Int
        public var unprocessedRetries: Int
        /// The point in time the target has reached (the end of the last window applied, this run or before).
        public var appliedThrough: String?
    }

    /// `apply --follow`: look for new incremental exports every `pollInterval`; stop once the lag (now − the end
    /// of the last window applied) is at most `untilLagSeconds`, or never (until interrupted) when nil.
    public struct FollowOptions: Sendable {
        public var pollInterval: Duration
        public var untilLagSeconds: Double?
        /// Epoch milliseconds now (a parameter so tests control the lag).
        public var now: @Sendable () -> Int64

        public init(
            pollInterval: Duration = .seconds(60),
            untilLagSeconds: Double? = nil,
            now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        ) {
            self.pollInterval = pollInterval
            self.untilLagSeconds = untilLagSeconds
            self.now = now
        }

        /// The state machine's form of these options (and of its `--until-lag` rule).
        var machine: ApplyStateMachine<[PendingWrite]>.Follow {
            .init(
                pollInterval: pollInterval,
                untilLagMilliseconds: untilLagSeconds.map { Int64(($0 * 1000).rounded()) }
            )
        }
    }

    typealias Machine = ApplyStateMachine<[PendingWrite]>

    public func run() async throws -> Report {
        let lock = try store.lock()
        defer { withExtendedLifetime(lock) {} }
        guard let coordinator else { return try await run(lease: nil) }
        try await coordinator.join()
        let lease = try await coordinator.claim()
        do {
            let report = try await run(lease: lease)
            await coordinator.release(lease)
            return report
        } catch {
            await coordinator.release(lease)
            throw error
        }
    }

    func run(lease: ShardLease?) async throws -> Report {
        var saved = try await startingCheckpoint()
        // The plan's windows, and those an earlier `--follow` run added (a resume finishes them too). Only the
        // windows not yet applied are read again: applied exports may have expired from the bucket.
        let chain = plan.chain(with: saved)
        let remaining = Array(chain.windows.dropFirst(saved.windowsDone))
        let exports = try await ExportDiscovery.verify(remaining, against: source)
        let table = try await preflight(exports, checkpoint: &saved)
        let gate = CapacityGate(try controller(for: table), clock: clock)
        var spool = SpoolDirectory(path: spoolDirectory ?? SpoolDirectory.defaultPath(forCheckpoint: store.path))
        try spool.prepare(
            need: Self.spoolNeed(remaining, filesAtOnce: fileConcurrency),
            textFilesAtOnce: spoolCompressedOnly ? nil : fileConcurrency,
            limit: spoolLimit
        )
        let rejects = RejectsWriter(
            path: rejectsPath,
            alreadyCounted: saved.rejects,
            chainFiles: chain.windows.flatMap { $0.files.map(\.key) }
        )
        let context = ApplyContext(
            gate: gate,
            rejects: rejects,
            keyRules: KeyRules(table: table),
            localIndexes: LocalIndexCosts(table: table),
            spool: spool
        )
        let machine = Machine(
            chain: chain,
            checkpoint: saved,
            rejects: await rejects.count,
            configuration: .init(
                filesAtOnce: fileConcurrency,
                batchesInFlightPerFile: batchesInFlightPerFile,
                follow: follow?.machine,
                shard: coordinator?.shard
            )
        )
        let catalog = Catalog(Dictionary(zip(remaining.map(\.index), exports), uniquingKeysWith: { a, _ in a }))
        journal?.started(command: "apply", planId: plan.planId, checkpoint: machine.checkpoint)
        let outcome = await drive(machine, context: context, catalog: catalog, lease: lease)
        try await rejects.close()
        switch outcome {
        case .completed(let report):
            try journal?.ended("completed", report: report)
            return report
        case .interrupted(let report):
            try journal?.ended("interrupted", report: report)
            throw ApplyError.interrupted(checkpoint: store.path)
        case .failed(let error, let report):
            try? journal?.ended("failed", report: report, error: error)
            throw error
        }
    }

    /// The exports of the chain's windows still to apply (by window index), and every export `--follow` has read
    /// the manifests of (completed exports never change, so each poll reads only those it has not seen).
    final class Catalog: Sendable {
        private let state: Mutex<(byWindow: [Int: Export], known: [String: Export])>

        init(_ byWindow: [Int: Export]) {
            state = Mutex(
                (byWindow, Dictionary(byWindow.values.map { ($0.summaryKey, $0) }, uniquingKeysWith: { a, _ in a }))
            )
        }

        func export(ofWindow index: Int) -> Export? { state.withLock { $0.byWindow[index] } }
        var known: [String: Export] { state.withLock { $0.known } }

        func add(found: [Export], windows: [(Int, Export)]) {
            state.withLock { state in
                for export in found { state.known[export.summaryKey] = export }
                for (index, export) in windows { state.byWindow[index] = export }
            }
        }
    }

    /// Runs the machine: carries out its actions, and hands it each event (a batch acknowledged, a file read, a
    /// tick, a stop) one at a time, until it finishes. Batches are never cancelled: the machine finishes only once
    /// none is in flight; what is left running then (readers, the monitor, a poll's wait) is cancelled.
    func drive(
        _ start: Machine,
        context: ApplyContext,
        catalog: Catalog,
        lease: ShardLease? = nil
    ) async
        -> Machine.Outcome
    {
        var machine = start
        let (events, sink) = AsyncStream<Machine.Event>.makeStream()
        let readers = Mutex<[BytewiseString: AsyncStream<Bool>.Continuation]>([:])
        let lastSaved = Mutex(machine.checkpoint)
        stop.onSaveCheckpoint { [store] in try? store.save(lastSaved.withLock { $0 }) }
        stop.onSet { sink.yield(.stopRequested) }
        let elapsed = clock.stopwatch()
        let capacity = Machine.Capacity(
            unitsPerSecond: await context.gate.recentUnits,
            budget: await context.gate.budget
        )
        return await withDiscardingTaskGroup { group in
            group.addTask { await monitor(context.gate, events: sink) }
            if let lease, let coordinator {
                group.addTask {
                    do { try await coordinator.keepRenewing(lease) } catch is CancellationError {} catch {
                        sink.yield(.failed(error))
                    }
                }
            }
            var outcome: Machine.Outcome?
            var queue = machine.handle(.started(capacity), elapsed: elapsed())
            var iterator = events.makeAsyncIterator()
            while outcome == nil {
                for action in queue {
                    switch action {
                    case let .read(file, window):
                        let (demand, go) = AsyncStream<Bool>.makeStream()
                        readers.withLock { $0[BytewiseString(file)] = go }
                        guard let export = catalog.export(ofWindow: window),
                            let entry = export.files.first(where: { $0.dataFileS3Key.bytewiseEquals(file) })
                        else {
                            sink.yield(
                                .failed(ApplyError.internalState("window \(window + 1) has no data file \(file)"))
                            )
                            continue
                        }
                        group.addTask {
                            do {
                                try await read(entry, of: export, context: context, demand: demand, events: sink)
                                sink.yield(.fileRead(file: file))
                            } catch is ReadingStopped {
                            } catch {
                                sink.yield(.failed(error))
                            }
                        }
                    case .resumeReading(let file):
                        _ = readers.withLock { $0[BytewiseString(file)] }?.yield(true)
                    case .stopReading(let file):
                        readers.withLock { $0.removeValue(forKey: BytewiseString(file)) }?.finish()
                    case .send(let batch):
                        group.addTask {
                            do {
                                // Sharded: no write once this worker's claim may have passed to another.
                                if let lease, !lease.isValid, let coordinator {
                                    throw ShardError.claimLost(
                                        shard: coordinator.shard.description,
                                        state: coordinator.store.location,
                                        why: lease.lostReason ?? "its lease ran out before it could be renewed"
                                    )
                                }
                                let done = try await write(batch.payload, context: context)
                                sink.yield(.batchDone(id: batch.id, done))
                            } catch {
                                sink.yield(.batchFailed(id: batch.id, error))
                            }
                        }
                    case .saveCheckpoint(let checkpoint):
                        do {
                            // The journal first: it always reaches at least as far as the checkpoint.
                            try journal?.checkpoint(checkpoint)
                            try store.save(checkpoint)
                            lastSaved.withLock { $0 = checkpoint }
                        } catch {
                            sink.yield(.failed(error))
                        }
                    case .report(let snapshot):
                        journal?.progress(snapshot)
                        progress(snapshot)
                    case .findExports(let chain):
                        group.addTask {
                            do {
                                sink.yield(try await findExports(after: chain, catalog: catalog))
                            } catch {
                                sink.yield(.failed(error))
                            }
                        }
                    case .sleep(let duration):
                        group.addTask {
                            do { try await clock.sleep(for: duration) } catch { return }
                            sink.yield(.wokeUp)
                        }
                    case let .barrier(window, marker):
                        group.addTask { await barrier(after: window, marker: marker, events: sink) }
                    case .finish(let result):
                        outcome = result
                    }
                }
                guard outcome == nil, let event = await iterator.next() else { break }
                queue = machine.handle(event, elapsed: elapsed())
            }
            // Nothing is in flight: end the readers, the monitor and any wait.
            for reader in readers.withLock({ Array($0.values) }) { reader.finish() }
            sink.finish()
            group.cancelAll()
            return outcome ?? .failed(CancellationError(), machine.report)
        }
    }

    /// `--follow`: the windows that continue `chain` among the exports now complete in the source.
    func findExports(after chain: [Plan.Window], catalog: Catalog) async throws -> Machine.Event {
        let prefix: String
        if case .s3(_, let path) = try SourceLocation(plan.source.location) { prefix = path } else { prefix = "" }
        let found = try await ExportDiscovery.discover(
            source,
            prefix: prefix,
            location: plan.source.location,
            known: catalog.known,
            manifestChecksums: plan.source.manifestChecksums
        )
        let step = try ChainPlanner.extend(chain, table: plan.sourceTable, with: found)
        var windows = step.exports.enumerated().map { offset, export in
            ChainPlanner.window(index: chain.count + offset, export: export, sizes: found.sizes)
        }
        catalog.add(found: found.exports, windows: Array(zip(windows.map(\.index), step.exports)))
        let now = (follow?.now ?? { Int64(Date().timeIntervalSince1970 * 1000) })()
        let waiting = step.pendingGap.map { Machine.Waiting(exports: step.waitingFor, gap: "\($0)") }
        if let coordinator {
            // Sharded: every worker applies the same windows, as the first to find them announced them.
            let end = chain.last.flatMap { ExportTime($0.to)?.epochMilliseconds } ?? 0
            let caughtUp = follow?.machine.caughtUp(chainEnd: end, now: now) ?? false
            switch try await coordinator.agree(
                followed: Array(chain.dropFirst(plan.windows.count)),
                found: windows,
                caughtUp: caughtUp && windows.isEmpty
            ) {
            case .apply(let agreed): windows = agreed
            case .closed: return .exportsFound(windows: [], nowMilliseconds: now, waiting: nil, closed: true)
            }
        }
        return .exportsFound(windows: windows, nowMilliseconds: now, waiting: waiting)
    }

    /// While the run goes: a tick every `tickInterval` with the gate's figures, and the table's capacity re-read
    /// every `describeInterval` so auto-scaling (or a changed on-demand maximum) is followed. Ends when cancelled.
    func monitor(_ gate: CapacityGate, events: AsyncStream<Machine.Event>.Continuation) async {
        var sinceDescribe = clock.stopwatch()
        while !Task.isCancelled {
            do { try await clock.sleep(for: tickInterval) } catch { return }
            events.yield(.tick(.init(unitsPerSecond: await gate.recentUnits, budget: await gate.budget)))
            guard sinceDescribe() >= describeInterval else { continue }
            sinceDescribe = clock.stopwatch()
            // A failed re-read keeps the capacity known so far; the writes themselves report real errors.
            if let table = try? await target.describe(), let limits = try? capacityLimits(for: table) {
                await gate.update(limits: limits.limits)
            }
        }
    }

}
