import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation
import Synchronization

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
    /// Set (by SIGINT/SIGTERM) to stop: no new batch or file starts, batches in flight finish, the checkpoint is
    /// written, and `run` throws `ApplyError.interrupted`.
    public let stop = StopSignal()

    public init(
        plan: Plan,
        source: any ExportSource,
        dynamo: DynamoDBClient,
        store: CheckpointStore,
        rejectsPath: String,
        writePercent: Double,
        maxWriteUnits: Int? = nil
    ) {
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
    }

    public func run() async throws -> Report {
        let lock = try store.lock()
        defer { withExtendedLifetime(lock) {} }
        var saved = try store.load(for: plan.planId) ?? Checkpoint(planId: plan.planId)
        // The plan's windows, and those an earlier `--follow` run added (a resume finishes them too). Only the
        // windows not yet applied are read again: applied exports may have expired from the bucket.
        let chain = plan.chain(with: saved)
        let remaining = Array(chain.windows.dropFirst(saved.windowsDone))
        let exports = try await ExportDiscovery.verify(remaining, against: source)
        let table = try await preflight(exports, checkpoint: &saved)
        let gate = CapacityGate(try controller(for: table), clock: clock)
        let spool = SpoolDirectory(path: spoolDirectory ?? SpoolDirectory.defaultPath(forCheckpoint: store.path))
        try spool.prepare(need: Self.spoolNeed(remaining, filesAtOnce: fileConcurrency))
        let run = RunState(
            gate: gate,
            keeper: CheckpointKeeper(store: store, checkpoint: saved),
            rejects: RejectsWriter(
                path: rejectsPath,
                alreadyCounted: saved.rejects,
                chainFiles: chain.windows.flatMap { $0.files.map(\.key) }
            ),
            counters: Counters(),
            keyRules: KeyRules(table: table),
            localIndexes: LocalIndexCosts(table: table),
            spool: spool,
            itemsAtStart: saved.itemsApplied,
            chain: chain,
            elapsed: clock.stopwatch()
        )
        stop.onSaveCheckpoint { [keeper = run.keeper] in try? await keeper.save() }
        return try await withCompanion(
            { try await applyAll(chain, remaining: Array(zip(remaining, exports)), run: run) },
            companion: { await monitor(run) }
        )
    }

    /// How often the `--follow` wait looks whether a stop was asked for.
    static let stopCheckInterval = Duration.milliseconds(200)

    /// The disk the spool needs at most, estimated from the plan (which keeps no per-file sizes): `filesAtOnce`
    /// files of twice a window's average file size, never more than the window itself.
    static func spoolNeed(_ windows: [Plan.Window], filesAtOnce: Int) -> Int64 {
        windows.map { window in
            guard !window.files.isEmpty else { return 0 }
            return min(
                window.compressedBytes,
                2 * Int64(filesAtOnce) * (window.compressedBytes / Int64(window.files.count) + 1)
            )
        }.max() ?? 0
    }

    /// The plan's windows, then (with `follow`) new incremental exports as they appear.
    func applyAll(_ initial: Plan, remaining: [(Plan.Window, Export)], run: RunState) async throws -> Report {
        var chain = initial
        var windowsApplied = try await applyWindows(remaining, run: run)
        if let follow {
            let prefix: String
            if case .s3(_, let path) = try SourceLocation(plan.source.location) { prefix = path } else { prefix = "" }
            // Completed exports never change: each poll reads only the manifests of exports it has not seen.
            var known = Dictionary(remaining.map { ($0.0.summaryKey, $0.1) }, uniquingKeysWith: { a, _ in a })
            while true {
                if stop.isSet { throw ApplyError.interrupted(checkpoint: store.path) }
                let found = try await ExportDiscovery.discover(
                    source,
                    prefix: prefix,
                    location: plan.source.location,
                    known: known,
                    manifestChecksums: plan.source.manifestChecksums
                )
                for export in found.exports { known[export.summaryKey] = export }
                let step = try ChainPlanner.extend(chain.windows, table: plan.sourceTable, with: found)
                let added = step.exports
                if !added.isEmpty {
                    let windows = added.enumerated().map { offset, export in
                        ChainPlanner.window(index: chain.windows.count + offset, export: export, sizes: found.sizes)
                    }
                    try await run.keeper.follow(windows)
                    chain = chain.appending(windows)
                    run.setChain(chain)
                    windowsApplied += try await applyWindows(Array(zip(windows, added)), run: run)
                }
                let end = ExportTime(chain.windows.last!.to)?.epochMilliseconds ?? 0
                let lag = Double(follow.now() - end) / 1000
                if let gap = step.pendingGap {
                    // A later export is complete but an earlier one is still being written: wait for it, and say so.
                    await report(.waiting, chain.windows.last!, run: run, lag: lag, waiting: (step.waitingFor, gap))
                } else {
                    await report(.caughtUp, chain.windows.last!, run: run, lag: lag)
                }
                if let limit = follow.untilLagSeconds, lag <= limit { break }
                // Wait for the next look, a little at a time so a stop is seen at once.
                let waited = clock.stopwatch()
                while waited() < follow.pollInterval {
                    if stop.isSet { throw ApplyError.interrupted(checkpoint: store.path) }
                    try await clock.sleep(for: min(Self.stopCheckInterval, follow.pollInterval - waited()))
                }
            }
        }
        try await run.rejects.close()
        let checkpoint = await run.keeper.checkpoint
        return Report(
            windowsApplied: windowsApplied,
            itemsApplied: checkpoint.itemsApplied,
            rejects: await run.rejects.count,
            throttles: await run.gate.throttleCount,
            unprocessedRetries: await run.counters.unprocessedRetries,
            appliedThrough: checkpoint.appliedThrough
        )
    }

    /// Applies windows in order, skipping those the checkpoint has done; returns how many it applied.
    func applyWindows(_ windows: [(Plan.Window, Export)], run: RunState) async throws -> Int {
        var applied = 0
        for (window, export) in windows where window.index >= (await run.keeper.checkpoint.windowsDone) {
            // A stop asked for during the last window ends the run here: the next window is not started.
            if stop.isSet {
                try await run.rejects.close()
                throw ApplyError.interrupted(checkpoint: store.path)
            }
            let done = Set(await run.keeper.checkpoint.filesDone)
            let files = export.files.filter { !done.contains($0.dataFileS3Key) }
            run.setWindow(window)
            await report(.windowStarted, window, run: run)
            try await withThrowingTaskGroup(of: (String, Int64).self) { group in
                var pending = files[...]
                func startNext() {
                    guard let file = pending.popFirst() else { return }
                    group.addTask {
                        let items = try await applyFile(file, of: export, run: run)
                        return (file.dataFileS3Key, items)
                    }
                }
                for _ in 0..<fileConcurrency { startNext() }
                do {
                    for try await (key, items) in group {
                        try await run.keeper.fileDone(key, items: items, rejects: await run.rejects.count)
                        await report(.fileDone, window, file: key, run: run)
                        if !stop.isSet { startNext() }
                    }
                } catch is StopRequested {
                    // Let the other files' in-flight batches finish; their files are re-applied on resume.
                    while true {
                        do {
                            guard let (key, items) = try await group.next() else { break }
                            try await run.keeper.fileDone(key, items: items, rejects: await run.rejects.count)
                        } catch is StopRequested {
                            continue
                        }
                    }
                }
            }
            if stop.isSet {
                try await run.rejects.close()
                throw ApplyError.interrupted(checkpoint: store.path)
            }
            try await run.keeper.windowDone(through: window.to)
            run.setWindow(nil)
            await report(.windowDone, window, run: run)
            applied += 1
        }
        return applied
    }

    /// While the run goes: a progress tick every `tickInterval`, and the table's capacity re-read every
    /// `describeInterval` so auto-scaling (or a changed on-demand maximum) is followed. Ends when cancelled.
    func monitor(_ run: RunState) async {
        var sinceDescribe = clock.stopwatch()
        while !Task.isCancelled {
            do { try await clock.sleep(for: tickInterval) } catch { return }
            if let window = run.window { await report(.tick, window, run: run) }
            guard sinceDescribe() >= describeInterval else { continue }
            sinceDescribe = clock.stopwatch()
            // A failed re-read keeps the capacity known so far; the writes themselves report real errors.
            if let table = try? await dynamo.describeTable(plan.target.table),
                let limits = try? capacityLimits(for: table)
            {
                await run.gate.update(limits: limits.limits)
            }
        }
    }

    func report(
        _ event: ApplyProgress.Event,
        _ window: Plan.Window,
        file: String? = nil,
        run: RunState,
        lag: Double? = nil,
        waiting: (exports: [String], gap: PlanError)? = nil
    ) async {
        let elapsed = run.elapsed()
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let written = await run.counters.itemsWritten
        let chain = run.chain
        progress(
            ApplyProgress(
                event: event,
                window: window.index + 1,
                windows: chain.windows.count,
                exportId: window.exportId,
                file: file,
                itemsApplied: run.itemsAtStart + written,
                itemsTotal: chain.totals.items,
                rejects: await run.rejects.count,
                elapsedSeconds: seconds,
                itemsThisRun: written,
                writeUnitsPerSecond: await run.gate.recentUnits,
                writeBudget: await run.gate.budget,
                throttles: await run.gate.throttleCount,
                retries: await run.counters.unprocessedRetries,
                lagSeconds: lag,
                waitingFor: waiting?.exports,
                pendingGap: waiting.map { "\($0.gap)" }
            )
        )
    }

    /// Before the first write: the target exists, is ACTIVE, and its key schema is the export's. The export's key
    /// (names and types) is kept in the checkpoint, so a resume whose remaining windows hold no record — or whose
    /// applied exports have expired — still checks it.
    func preflight(_ exports: [Export], checkpoint: inout Checkpoint) async throws -> TableDescription {
        let table = try await dynamo.describeTable(plan.target.table)
        guard table.TableStatus == nil || table.TableStatus == "ACTIVE" else {
            throw ApplyError.targetNotReady(table: plan.target.table, status: table.TableStatus ?? "?")
        }
        try TargetPin.check(table, plan: plan, checkpointArn: checkpoint.targetArn, checkpointPath: store.path)
        checkpoint.targetArn = table.TableArn ?? checkpoint.targetArn
        if let keys = checkpoint.exportKeys { try KeySchemaCheck.check(keys, table: table, at: store.path) }
        guard let record = try await firstRecord(of: exports) else { return table }
        checkpoint.exportKeys = try KeySchemaCheck.check(record, table: table)
        return table
    }

    /// The first record of the exports (read without writing anything, and without verifying its file: it is only
    /// looked at): an incremental record's Keys, or a full export's first item.
    func firstRecord(of exports: [Export]) async throws -> ExportRecord? {
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
                if let first { return first }
            }
        }
        return nil
    }

    func controller(for table: TableDescription) throws -> CapacityController {
        let (limits, mode) = try capacityLimits(for: table)
        return CapacityController(percent: writePercent, limits: limits, mode: mode)
    }

    /// What each resource (the table, each GSI) may take at 100 %, and how: provisioned, or on-demand with its warm
    /// throughput.
    func capacityLimits(
        for table: TableDescription
    ) throws -> (limits: [CapacityController.Limit], mode: CapacityController.Mode) {
        if table.isOnDemand {
            let tableMax = table.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil }
            guard let ceiling = tableMax ?? maxWriteUnits.map(Double.init) else {
                throw ApplyError.onDemandNeedsCeiling(table: plan.target.table)
            }
            var limits = [CapacityController.Limit(resource: "table", capacity: ceiling)]
            for index in table.GlobalSecondaryIndexes ?? [] {
                let max =
                    index.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil } ?? ceiling
                limits.append(.init(resource: index.IndexName, capacity: max))
            }
            let warm = table.WarmThroughput?.WriteUnitsPerSecond.map(Double.init) ?? 4000
            return (limits, .onDemand(warm: warm))
        }
        var limits = [
            CapacityController.Limit(
                resource: "table",
                capacity: Double(table.ProvisionedThroughput?.WriteCapacityUnits ?? 0)
            )
        ]
        for index in table.GlobalSecondaryIndexes ?? [] {
            limits.append(
                .init(resource: index.IndexName, capacity: Double(index.ProvisionedThroughput?.WriteCapacityUnits ?? 0))
            )
        }
        guard limits.allSatisfy({ $0.capacity > 0 }) else { throw ApplyError.noWriteCapacity(table: plan.target.table) }
        return (limits, .provisioned)
    }
}

struct FirstRecordFound: Error {}
