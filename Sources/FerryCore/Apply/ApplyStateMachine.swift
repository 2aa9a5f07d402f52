import DynamoModel
import ExportReader

/// The whole position of an `apply` run as a value: the chain and the window being applied, its files (not started,
/// being read, done), the batches in flight and the keys they hold, the counters, the rejects, a stop or a failure
/// asked for, and `--follow`'s state. It takes events and returns actions; it does no I/O, reads no clock and never
/// waits — the driver (`ApplyEngine`) carries out the actions against the target, the source and the checkpoint
/// store, and feeds back what happened (as async-http-client's `HTTPConnectionPool.StateMachine` does).
///
/// What it guarantees, by construction (and `ApplyStateMachineTests` checks after every event of generated runs):
/// - two batches that share a key are never in flight together, and a file's batches are sent in the order it
///   produced them, so a key's writes are applied in order;
/// - a window starts only once every write of the one before was acknowledged;
/// - the checkpoint (derived from the state, never kept beside it) claims a file only once all its writes were
///   acknowledged, and a window only once all its files were;
/// - a stop or a failure lets the batches in flight finish (nothing is cancelled), then saves the checkpoint and
///   finishes.
///
/// `Payload` is what a batch carries to the target (`[PendingWrite]` in the engine); the machine looks only at the
/// batch's keys.
public struct ApplyStateMachine<Payload: Sendable>: Sendable {
    // MARK: state

    private struct OpenFile: Sendable {
        var inFlight = 0
        /// The batch the reader announced that could not be sent yet (a key busy, or the file's batches at their
        /// limit); the reader waits until it is.
        var held: Batch?
        var readDone = false
        var written: Int64 = 0
        var deletes: Int64 = 0
        var writeUnits: Double = 0
        var rejected: Int64 = 0
        /// Run time when it was opened, and when its verified copy was ready (for its `fileDone` figures).
        var openedAt: Duration
        var verifiedAt: Duration?
        /// A batch of it failed: some of its writes may never have been applied.
        var broken = false
    }

    private struct InFlight: Sendable {
        var file: BytewiseString
        var keys: [KeyBytes]
    }

    private enum Phase: Sendable {
        case notStarted, applying, findingExports, sleeping, atBarrier, finished
    }

    public let configuration: Configuration
    /// The plan's windows and those `--follow` found (in this run or an earlier one).
    public private(set) var chain: Plan
    private var phase = Phase.notStarted
    private var stopping = false
    private var failure: (any Error)?

    // What a checkpoint records.
    private let planId: String
    private let exportKeys: [Checkpoint.KeyAttribute]?
    private let targetArn: String?
    private var followWindows: [Plan.Window]?
    public private(set) var windowsDone: Int
    /// Files of the current window done, in the order they were.
    private var filesDone: [String]
    private var filesDoneSet: Set<BytewiseString>
    private var itemsCommitted: Int64
    private var currentWindowItems: Int64
    private var currentWindowDeletes: Int64
    private var currentWindowWriteUnits: Double
    /// The figures of the window just done, for its `windowDone` snapshot.
    private var doneWindow: ApplyProgress.WindowFigures?
    private var appliedThrough: String?
    public private(set) var rejects: Int64

    // The window being applied.
    private var pending: [String] = []
    private var open: [BytewiseString: OpenFile] = [:]
    /// The open files in the order they were opened (held batches are retried in this order).
    private var openOrder: [BytewiseString] = []
    private var inFlight: [Int: InFlight] = [:]
    private var busy = Set<KeyBytes>()
    private var nextBatchId = 0

    // Counters of this run.
    private let itemsAtStart: Int64
    public private(set) var itemsThisRun: Int64 = 0
    public private(set) var throttles = 0
    public private(set) var throttleReasons: [String: Int] = [:]
    public private(set) var retries = 0
    public private(set) var windowsApplied = 0
    private var capacity = Capacity(unitsPerSecond: 0, budget: 0)
    /// Run time at the event being handled (passed in by the driver: the machine reads no clock).
    private var elapsed: Duration = .zero

    /// A run of `chain` (the plan with the windows an earlier `--follow` added) from `checkpoint`; `rejects` is the
    /// chain's reject count the rejects file holds now (at least the checkpoint's).
    public init(chain: Plan, checkpoint: Checkpoint, rejects: Int64, configuration: Configuration) {
        self.chain = chain
        self.configuration = configuration
        planId = checkpoint.planId
        exportKeys = checkpoint.exportKeys
        targetArn = checkpoint.targetArn
        followWindows = checkpoint.followWindows
        windowsDone = checkpoint.windowsDone
        filesDone = checkpoint.filesDone
        filesDoneSet = Set(checkpoint.filesDone.map(BytewiseString.init))
        itemsCommitted = checkpoint.itemsApplied
        currentWindowItems = checkpoint.currentWindowItems
        currentWindowDeletes = checkpoint.currentWindowDeletes ?? 0
        currentWindowWriteUnits = checkpoint.currentWindowWriteUnits ?? 0
        appliedThrough = checkpoint.appliedThrough
        self.rejects = max(rejects, checkpoint.rejects)
        itemsAtStart = checkpoint.itemsApplied
    }

    /// The checkpoint of this state: what is applied and acknowledged, nothing in flight.
    public var checkpoint: Checkpoint {
        var checkpoint = Checkpoint(planId: planId)
        checkpoint.windowsDone = windowsDone
        checkpoint.filesDone = filesDone
        checkpoint.itemsApplied = itemsCommitted
        checkpoint.currentWindowItems = currentWindowItems
        if currentWindowItems > 0 {
            checkpoint.currentWindowDeletes = currentWindowDeletes
            checkpoint.currentWindowWriteUnits = currentWindowWriteUnits
        }
        checkpoint.rejects = rejects
        checkpoint.appliedThrough = appliedThrough
        checkpoint.followWindows = followWindows
        checkpoint.exportKeys = exportKeys
        checkpoint.targetArn = targetArn
        checkpoint.shard = configuration.shard?.description
        return checkpoint
    }

    public var isFinished: Bool { phase == .finished }
    public var batchesInFlight: Int { inFlight.count }
    /// The window being applied, nil between windows and while `--follow` waits.
    public var currentWindow: Plan.Window? {
        phase == .applying && windowsDone < chain.windows.count ? chain.windows[windowsDone] : nil
    }

    public var report: ApplyEngine.Report {
        ApplyEngine.Report(
            windowsApplied: windowsApplied,
            itemsApplied: itemsCommitted,
            rejects: rejects,
            throttles: throttles,
            unprocessedRetries: retries,
            appliedThrough: appliedThrough
        )
    }

    // MARK: events

    /// Takes `event`, which happened `elapsed` into the run, and returns what to do, in order.
    public mutating func handle(_ event: Event, elapsed: Duration) -> [Action] {
        self.elapsed = elapsed
        guard phase != .finished else { return [] }
        var actions: [Action] = []
        switch event {
        case .started(let capacity):
            guard phase == .notStarted else { return [] }
            self.capacity = capacity
            if configuration.shard != nil, windowsDone > 0 {
                // A resume passes the barrier of the last window done first: every shard may not be there yet
                // (and this shard's marker may not have been written, when it stopped just after its checkpoint).
                phase = .atBarrier
                actions.append(.barrier(window: windowsDone - 1, marker: filesDone.isEmpty ? checkpoint : nil))
            } else {
                nextWindow(&actions)
            }
        case let .batchReady(file, keys, payload):
            let name = BytewiseString(file)
            guard open[name] != nil, !stopping, failure == nil else {
                actions.append(.stopReading(file: file))
                break
            }
            let batch = Batch(id: nextBatchId, file: file, keys: keys, payload: payload)
            nextBatchId += 1
            if canSend(batch) {
                send(batch, &actions)
                actions.append(.resumeReading(file: file))
            } else {
                open[name]!.held = batch
            }
        case .fileVerified(let file):
            open[BytewiseString(file)]?.verifiedAt = elapsed
        case let .readerRejected(file, count):
            rejects += count
            open[BytewiseString(file)]?.rejected += count
        case .fileRead(let file):
            let name = BytewiseString(file)
            guard open[name] != nil else { break }
            open[name]!.readDone = true
            fileMayBeDone(name, &actions)
            afterProgress(&actions)
        case let .batchDone(id, outcome):
            guard let done = inFlight.removeValue(forKey: id) else { break }
            for key in done.keys { busy.remove(key) }
            itemsThisRun += outcome.written
            rejects += outcome.rejected
            retries += outcome.retries
            throttles += outcome.throttles
            throttleReasons.merge(outcome.throttleReasons, uniquingKeysWith: +)
            open[done.file]?.inFlight -= 1
            open[done.file]?.rejected += outcome.rejected
            open[done.file]?.written += outcome.written
            open[done.file]?.deletes += outcome.deletes
            open[done.file]?.writeUnits += outcome.writeUnits
            // Free keys may let held batches go (of this file first, then the others in the order opened).
            for file in [done.file] + openOrder {
                guard let held = open[file]?.held, canSend(held) else { continue }
                open[file]!.held = nil
                send(held, &actions)
                actions.append(.resumeReading(file: file.string))
            }
            fileMayBeDone(done.file, &actions)
            afterProgress(&actions)
        case let .batchFailed(id, error):
            guard let failed = inFlight.removeValue(forKey: id) else { break }
            for key in failed.keys { busy.remove(key) }
            open[failed.file]?.inFlight -= 1
            open[failed.file]?.broken = true
            if failure == nil { failure = error }
            halt(&actions)
        case .failed(let error):
            if failure == nil { failure = error }
            halt(&actions)
        case .stopRequested:
            stopping = true
            halt(&actions)
        case let .exportsFound(windows, now, waiting, closed):
            guard phase == .findingExports else { break }
            if !windows.isEmpty {
                chain = chain.appending(windows)
                followWindows = (followWindows ?? []) + windows
                // Recorded before any of their writes, so a resume knows and finishes them.
                actions.append(.saveCheckpoint(checkpoint))
                nextWindow(&actions)
                break
            }
            let last = chain.windows[chain.windows.count - 1]
            let end = ExportTime(last.to)?.epochMilliseconds ?? 0
            let lag = now - end
            actions.append(
                .report(
                    snapshot(
                        waiting == nil ? .caughtUp : .waiting,
                        last,
                        lagSeconds: Double(lag) / 1000,
                        waiting: waiting
                    )
                )
            )
            if closed {
                finish(&actions)
            } else if configuration.follow?.caughtUp(chainEnd: end, now: now) == true {
                finish(&actions)
            } else {
                phase = .sleeping
                actions.append(.sleep(configuration.follow?.pollInterval ?? .seconds(60)))
            }
        case .tick(let capacity):
            self.capacity = capacity
            if let window = currentWindow { actions.append(.report(snapshot(.tick, window))) }
        case .wokeUp:
            guard phase == .sleeping else { break }
            phase = .findingExports
            actions.append(.findExports(chain: chain.windows))
        case let .barrierWaiting(window, missing):
            guard phase == .atBarrier, window < chain.windows.count else { break }
            actions.append(
                .report(
                    snapshot(
                        .barrier,
                        chain.windows[window],
                        waiting: .init(exports: missing.map { "shard \($0)" }, gap: "")
                    )
                )
            )
        case .barrierPassed(let window):
            guard phase == .atBarrier, window == windowsDone - 1 else { break }
            nextWindow(&actions)
        }
        return actions
    }

    // MARK: rules

    /// Two batches that share a key are never in flight together; a file has at most its share in flight.
    private func canSend(_ batch: Batch) -> Bool {
        guard let file = open[BytewiseString(batch.file)], file.inFlight < configuration.batchesInFlightPerFile else {
            return false
        }
        return !batch.keys.contains(where: busy.contains)
    }

    private mutating func send(_ batch: Batch, _ actions: inout [Action]) {
        let name = BytewiseString(batch.file)
        inFlight[batch.id] = InFlight(file: name, keys: batch.keys)
        busy.formUnion(batch.keys)
        open[name]!.inFlight += 1
        actions.append(.send(batch))
    }

    /// Starts the next window, or looks for more exports (`--follow`), or finishes.
    private mutating func nextWindow(_ actions: inout [Action]) {
        guard windowsDone < chain.windows.count else {
            if configuration.follow != nil {
                phase = .findingExports
                actions.append(.findExports(chain: chain.windows))
            } else {
                finish(&actions)
            }
            return
        }
        phase = .applying
        let window = chain.windows[windowsDone]
        let files = configuration.shard.map { $0.files(of: window) } ?? window.files.map(\.key)
        pending = files.filter { !filesDoneSet.contains(BytewiseString($0)) }
        actions.append(.report(snapshot(.windowStarted, window)))
        openFiles(&actions)
        windowMayBeDone(&actions)
    }

    private mutating func openFiles(_ actions: inout [Action]) {
        guard !stopping, failure == nil else { return }
        while open.count < configuration.filesAtOnce, !pending.isEmpty {
            let file = pending.removeFirst()
            open[BytewiseString(file)] = OpenFile(openedAt: elapsed)
            openOrder.append(BytewiseString(file))
            actions.append(.read(file: file, window: windowsDone))
        }
    }

    /// A file is done once it was read to the end and every batch of it was acknowledged.
    private mutating func fileMayBeDone(_ file: BytewiseString, _ actions: inout [Action]) {
        guard let state = open[file], state.readDone, !state.broken, state.inFlight == 0, state.held == nil else {
            return
        }
        open[file] = nil
        openOrder.removeAll { $0 == file }
        filesDone.append(file.string)
        filesDoneSet.insert(file)
        itemsCommitted += state.written
        currentWindowItems += state.written
        currentWindowDeletes += state.deletes
        currentWindowWriteUnits += state.writeUnits
        actions.append(.saveCheckpoint(checkpoint))
        var done = snapshot(.fileDone, chain.windows[windowsDone], file: file.string)
        done.fileFigures = .init(
            puts: state.written - state.deletes,
            deletes: state.deletes,
            rejects: state.rejected,
            writeUnits: state.writeUnits,
            seconds: Self.seconds(elapsed - state.openedAt),
            verifySeconds: state.verifiedAt.map { Self.seconds($0 - state.openedAt) }
        )
        actions.append(.report(done))
        openFiles(&actions)
        windowMayBeDone(&actions)
    }

    private mutating func windowMayBeDone(_ actions: inout [Action]) {
        guard phase == .applying, open.isEmpty, pending.isEmpty else { return }
        let window = chain.windows[windowsDone]
        windowsDone += 1
        filesDone = []
        filesDoneSet = []
        doneWindow = .init(
            puts: currentWindowItems - currentWindowDeletes,
            deletes: currentWindowDeletes,
            writeUnits: currentWindowWriteUnits
        )
        currentWindowItems = 0
        currentWindowDeletes = 0
        currentWindowWriteUnits = 0
        appliedThrough = window.to
        windowsApplied += 1
        actions.append(.saveCheckpoint(checkpoint))
        actions.append(.report(snapshot(.windowDone, window)))
        // A stop asked for during this window ends the run here: the next window is not started (a sharded resume
        // records the window's completion first).
        if stopping || failure != nil {
            finish(&actions)
        } else if configuration.shard != nil {
            phase = .atBarrier
            actions.append(.barrier(window: window.index, marker: checkpoint))
        } else {
            nextWindow(&actions)
        }
    }

    /// A stop or a failure: nothing new is read or sent; once the batches in flight are done, the run finishes.
    private mutating func halt(_ actions: inout [Action]) {
        for file in openOrder where open[file]?.readDone == false {
            open[file]!.held = nil
            actions.append(.stopReading(file: file.string))
        }
        // The files not opened stay pending: the window is not done, whatever the open files do.
        afterProgress(&actions)
    }

    /// While halting, the run finishes as soon as nothing is in flight.
    private mutating func afterProgress(_ actions: inout [Action]) {
        guard stopping || failure != nil, phase != .finished, inFlight.isEmpty else { return }
        actions.append(.saveCheckpoint(checkpoint))
        finish(&actions)
    }

    private mutating func finish(_ actions: inout [Action]) {
        guard phase != .finished else { return }
        phase = .finished
        if let failure {
            actions.append(.finish(.failed(failure, report)))
        } else if stopping {
            actions.append(.finish(.interrupted(report)))
        } else {
            actions.append(.finish(.completed(report)))
        }
    }

    private func snapshot(
        _ event: ApplyProgress.Event,
        _ window: Plan.Window,
        file: String? = nil,
        lagSeconds: Double? = nil,
        waiting: Waiting? = nil
    ) -> ApplyProgress {
        ApplyProgress(
            event: event,
            window: window.index + 1,
            windows: chain.windows.count,
            exportId: window.exportId,
            file: file,
            itemsApplied: itemsAtStart + itemsThisRun,
            itemsTotal: chain.totals.items,
            rejects: rejects,
            elapsedSeconds: Self.seconds(elapsed),
            itemsThisRun: itemsThisRun,
            writeUnitsPerSecond: capacity.unitsPerSecond,
            writeBudget: capacity.budget,
            throttles: throttles,
            retries: retries,
            lagSeconds: lagSeconds,
            waitingFor: waiting?.exports,
            pendingGap: waiting.flatMap { $0.gap.isEmpty ? nil : $0.gap },
            windowFigures: event == .windowDone ? doneWindow : nil,
            throttleReasons: throttleReasons.isEmpty ? nil : throttleReasons
        )
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
