import AWSClient
import AWSCore
import AWSCredentials
import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryCore

/// `apply --follow`: new incremental exports appear in the source while it runs.
@Suite("apply --follow picks up new exports, checks them like the planner, stops at --until-lag")
struct ApplyFollowTests {
    /// A chain of a FULL export and 4 windows, with the last `hidden` exports moved out of the source.
    static func setUp(
        _ directory: String,
        hidden: Int
    ) async throws -> (GeneratedChain, Plan, [(from: String, to: String)], end: Int64) {
        let chain = try TestChains.generate(directory + "/chain", items: 100, windows: 4, changes: 25)
        let whole = try await TestChains.plan(for: chain)
        var moves: [(String, String)] = []
        for export in chain.exports.suffix(hidden) {
            let folder = chain.exportsDirectory + "/exports/AWSDynamoDB/" + export.exportId
            let away = directory + "/hidden-" + export.exportId
            try FileManager.default.moveItem(atPath: folder, toPath: away)
            moves.append((folder, away))
        }
        let plan = try await TestChains.plan(for: chain)
        #expect(plan.windows.count == 5 - hidden)
        return (chain, plan, moves, ExportTime(whole.totals.end)!.epochMilliseconds)
    }

    /// An engine on `clock` (the test moves its time), ticking every 50 ms of it.
    static func engine(
        _ plan: Plan,
        _ chain: GeneratedChain,
        _ fake: FakeDynamoDB,
        _ directory: String,
        source: (any ExportSource)? = nil,
        clock: ManualClock = ManualClock()
    ) throws -> ApplyEngine {
        var engine = try ApplyFaultTests.engine(plan, chain, fake, directory, source: source)
        engine.tickInterval = .milliseconds(50)
        engine.clock = clock
        return engine
    }

    /// Starts `engine`'s run; the function tells whether it has ended.
    static func start(_ engine: ApplyEngine) -> (Task<ApplyEngine.Report, any Error>, ended: @Sendable () -> Bool) {
        let ended = Mutex(false)
        let task = Task { [engine] in
            defer { ended.withLock { $0 = true } }
            return try await engine.run()
        }
        return (task, { ended.withLock { $0 } })
    }

    /// Windows the checkpoint at `path` says are done.
    static func windowsDone(_ path: String, planId: String) -> Int {
        ((try? CheckpointFile(path: path).load(for: planId)) ?? nil)?.windowsDone ?? 0
    }

    /// Runs on `clock` (waits of up to a second move on at once) until the checkpoint says `windows` are done.
    static func runUntilCheckpoint(_ clock: ManualClock, _ directory: String, planId: String, windows: Int) async throws
    {
        let reached = try await clock.run(
            until: { windowsDone(directory + "/plan.checkpoint.json", planId: planId) >= windows },
            advancingWithin: .seconds(1)
        )
        #expect(reached, "the checkpoint never reached \(windows) windows")
    }

    /// Runs on `clock` until the run ends.
    static func runToEnd(_ clock: ManualClock, _ ended: () -> Bool) async throws {
        #expect(try await clock.run(until: ended, advancingWithin: .seconds(1)), "the run did not end")
    }

    final class EventLog: Sendable {
        let list = Mutex<[ApplyProgress]>([])
        func withLock<R>(_ body: (inout [ApplyProgress]) -> R) -> R { list.withLock { body(&$0) } }
    }

    /// Starts following `plan` on `clock` with "now" 30 s after the whole chain's end and `--until-lag 60`,
    /// polling every 100 ms of the clock; returns the run, whether it ended, and the events it reports.
    static func following(
        _ plan: Plan,
        _ chain: GeneratedChain,
        _ fake: FakeDynamoDB,
        _ directory: String,
        lastEnd: Int64,
        clock: ManualClock
    ) throws -> (Task<ApplyEngine.Report, any Error>, ended: @Sendable () -> Bool, EventLog) {
        var engine = try Self.engine(plan, chain, fake, directory, clock: clock)
        let events = EventLog()
        engine.progress = { event in events.list.withLock { $0.append(event) } }
        engine.follow = .init(pollInterval: .milliseconds(100), untilLagSeconds: 60, now: { lastEnd + 30_000 })
        let (running, ended) = start(engine)
        return (running, ended, events)
    }

    @Test(
        "two exports arrive after the plan's end: both applied in order, recorded in the checkpoint, the state exact; it stops once the lag is small"
    )
    func followsNewExports() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, moves, lastEnd) = try await Self.setUp(directory, hidden: 2)
            let fake = FakeDynamoDB()
            // "Now" is 30 s after the last export's window ends: before they arrive the lag is larger than 60 s.
            let clock = ManualClock()
            let (running, ended, events) = try Self.following(
                plan,
                chain,
                fake,
                directory,
                lastEnd: lastEnd,
                clock: clock
            )
            // Three polls of the clock that find nothing new.
            let polled = try await clock.run(
                until: { events.withLock { $0.count { $0.event == .caughtUp } } >= 3 },
                advancingWithin: .seconds(1)
            )
            #expect(
                polled && events.withLock { $0.allSatisfy { $0.event != .caughtUp || ($0.lagSeconds ?? 0) > 60 } },
                "caught up with the plan, lag still large"
            )
            #expect(Self.windowsDone(directory + "/plan.checkpoint.json", planId: plan.planId) == 3)
            for (folder, away) in moves { try FileManager.default.moveItem(atPath: away, toPath: folder) }
            try await Self.runToEnd(clock, ended)
            let report = try await running.value

            #expect(report.windowsApplied == 5)
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
            let saved = try #require(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
            )
            #expect(
                saved.windowsDone == 5
                    && saved.followWindows?.map(\.exportId) == chain.exports.suffix(2).map(\.exportId)
            )
            #expect(saved.followWindows?.map(\.index) == [3, 4])
            #expect(saved.appliedThrough == report.appliedThrough)
            let status = PlanStatus.make(plan, checkpoint: saved, path: "c", now: lastEnd + 30_000)
            #expect(status.windows == 5 && status.windowsDone == 5 && status.lagSeconds == 30)
            let last = try #require(events.withLock { $0.last { $0.event != .tick } })
            #expect(last.event == .caughtUp && last.lagSeconds == 30 && last.window == 5 && last.windows == 5)

            // A second run resumes the followed chain and has nothing to do.
            let again = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
            #expect(again.windowsApplied == 0)
        }
    }

    @Test("a new export that leaves a gap stops the run with the gap's exports and times; nothing of it is applied")
    func gapStops() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, moves, _) = try await Self.setUp(directory, hidden: 2)
            let fake = FakeDynamoDB()
            let clock = ManualClock()
            var engine = try Self.engine(plan, chain, fake, directory, clock: clock)
            engine.follow = .init(pollInterval: .milliseconds(100))
            let (running, ended) = Self.start(engine)
            try await Self.runUntilCheckpoint(clock, directory, planId: plan.planId, windows: 3)
            // Only the later of the two arrives: the window between them is missing.
            try FileManager.default.moveItem(atPath: moves[1].to, toPath: moves[1].from)
            try await Self.runToEnd(clock, ended)
            do {
                _ = try await running.value
                Issue.record("a gap must stop --follow")
            } catch let PlanError.gap(after, _, before, _) {
                #expect(after == plan.windows.last!.exportId && before == chain.exports.last!.exportId)
            }
            let saved = try #require(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
            )
            #expect(saved.windowsDone == 3 && saved.followWindows == nil)
        }
    }

    @Test(
        "an export still in progress whose successor completed first is waited for with a notice, then applied in order (#13.7)"
    )
    func waitsForExportInProgress() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, moves, lastEnd) = try await Self.setUp(directory, hidden: 2)
            let fake = FakeDynamoDB()
            let clock = ManualClock()
            let (running, ended, events) = try Self.following(
                plan,
                chain,
                fake,
                directory,
                lastEnd: lastEnd,
                clock: clock
            )
            try await Self.runUntilCheckpoint(clock, directory, planId: plan.planId, windows: 3)
            // The first missing export has begun (_started only); the second is already complete.
            let (startedFolder, startedAway) = moves[0]
            try FileManager.default.createDirectory(atPath: startedFolder, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: startedFolder + "/_started", contents: Data()))
            try FileManager.default.moveItem(atPath: moves[1].to, toPath: moves[1].from)
            _ = try await clock.run(
                until: { events.withLock { $0.contains { $0.event == .waiting } } },
                advancingWithin: .seconds(1)
            )
            let waiting = try #require(events.withLock { $0.first { $0.event == .waiting } })
            #expect(waiting.waitingFor == [chain.exports[3].exportId])
            #expect(waiting.pendingGap?.contains(chain.exports[4].exportId) == true, "\(waiting.pendingGap ?? "")")
            #expect(waiting.line.contains("still in progress"), "\(waiting.line)")
            #expect(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)?.windowsDone == 3
            )
            // It completes: the rest of its files arrive (the summary last, as S3 shows a finished export).
            let names = try FileManager.default.contentsOfDirectory(atPath: startedAway).filter { $0 != "_started" }
            for name in names.sorted(by: { a, _ in a != "manifest-summary.json" }) {
                try FileManager.default.moveItem(atPath: startedAway + "/" + name, toPath: startedFolder + "/" + name)
            }
            try await Self.runToEnd(clock, ended)
            let report = try await running.value
            #expect(report.windowsApplied == 5)
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
            let saved = try #require(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
            )
            #expect(saved.followWindows?.map(\.exportId) == chain.exports.suffix(2).map(\.exportId))
        }
    }

    @Test(
        "following until interrupted: a stop during a 30 s wait ends it at once (no clock time passes), as interrupted with the checkpoint saved",
        .timeLimit(.minutes(3))
    )
    func interruptedWhileWaiting() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, _, _) = try await Self.setUp(directory, hidden: 0)
            let fake = FakeDynamoDB()
            let clock = ManualClock()
            var engine = try Self.engine(plan, chain, fake, directory, clock: clock)
            let events = EventLog()
            engine.progress = { event in events.list.withLock { $0.append(event) } }
            engine.follow = .init(pollInterval: .seconds(30))
            let running = Task { [engine] in try await engine.run() }
            // Write the plan, poll once, and start waiting for the next poll (waits up to 100 ms move on; the
            // 30 s wait does not).
            let waiting = try await clock.run(
                until: {
                    events.withLock { $0.contains { $0.event == .caughtUp } }
                        && clock.pendingSleeps.contains(.seconds(30))
                },
                advancingWithin: .milliseconds(100)
            )
            #expect(waiting, "the run never waited for its next poll")
            let stopped = clock.now
            engine.stop.set()
            await #expect(throws: ApplyError.interrupted(checkpoint: directory + "/plan.checkpoint.json")) {
                try await running.value
            }
            #expect(stopped == clock.now, "the stop ended the wait at once")
            #expect(
                events.withLock { $0.count { $0.event == .caughtUp } } == 1,
                "the 30 s wait was not waited out: no second poll"
            )
            #expect(Self.windowsDone(directory + "/plan.checkpoint.json", planId: plan.planId) == 5)
        }
    }

    @Test("auto-scaling is followed: the table's capacity is re-read while writing and the budget moves with it")
    func capacityReRead() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 400, windows: 0)
            let plan = try await TestChains.plan(for: chain)
            let fake = FakeDynamoDB(writeCapacity: 40)
            let clock = ManualClock()
            var engine = try Self.engine(plan, chain, fake, directory, clock: clock)
            engine.describeInterval = .milliseconds(100)
            let budgets = Mutex<[Double]>([])
            engine.progress = { event in if event.event == .tick { budgets.withLock { $0.append(event.writeBudget) } } }
            let (running, ended) = Self.start(engine)
            // At 40 WCU/s the 400 items take about 10 s of the clock; scale the table up at the first tick.
            _ = try await clock.run(
                until: { !budgets.withLock { $0 }.isEmpty || ended() },
                advancingWithin: .seconds(1)
            )
            fake.currentWriteCapacity.withLock { $0 = 4000 }
            try await Self.runToEnd(clock, ended)
            let report = try await running.value
            #expect(report.itemsApplied == 400)
            let seen = budgets.withLock { $0 }
            #expect(seen.first == 40 && seen.contains(4000), "budgets seen: \(seen)")
        }
    }

    @Test("while following, each poll lists the source but reads only manifests it has not seen")
    func pollsReadOnlyNewManifests() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, _, _) = try await Self.setUp(directory, hidden: 0)
            let source = CountingSource(LocalDirectorySource(root: chain.exportsDirectory))
            let clock = ManualClock()
            var engine = try Self.engine(plan, chain, FakeDynamoDB(), directory, source: source, clock: clock)
            engine.follow = .init(pollInterval: .milliseconds(50))
            let (running, ended) = Self.start(engine)
            try await Self.runUntilCheckpoint(clock, directory, planId: plan.planId, windows: 5)
            let before = source.counts()
            // Three more polls of the clock.
            _ = try await clock.run(until: { source.counts().lists >= before.lists + 3 }, advancingWithin: .seconds(1))
            let after = source.counts()
            engine.stop.set()
            try await Self.runToEnd(clock, ended)
            _ = try? await running.value
            #expect(after.lists - before.lists >= 3, "it kept polling: \(after.lists - before.lists) listings")
            #expect(after.summaryReads == before.summaryReads, "no manifest read again while nothing new arrived")
        }
    }

    @Test(
        "durations on the command line",
        arguments: [
            ("90", 90.0), ("90s", 90), ("15m", 900), ("2h", 7200), ("1h30m", 5400), ("1d", 86400), ("0.5s", 0.5),
        ]
    )
    func durations(_ text: String, _ seconds: Double) {
        #expect(DurationArgument(text)?.seconds == seconds)
    }

    @Test("bad durations are refused", arguments: ["", "m", "15x", "1h30", "-5", "soon"])
    func badDurations(_ text: String) {
        #expect(DurationArgument(text) == nil)
    }
}

/// Counts listings and manifest-summary reads of a source.
final class CountingSource: ExportSource {
    let inner: LocalDirectorySource
    private let state = Mutex((lists: 0, summaryReads: 0))
    init(_ inner: LocalDirectorySource) { self.inner = inner }
    var location: String { inner.location }
    func counts() -> (lists: Int, summaryReads: Int) { state.withLock { $0 } }
    func listObjects(under prefix: String) async throws -> [ExportObject] {
        state.withLock { $0.lists += 1 }
        return try await inner.listObjects(under: prefix)
    }
    func exists(_ key: String) async throws -> Bool { try await inner.exists(key) }
    func read(_ key: String) async throws -> [UInt8] {
        if key.hasSuffix("manifest-summary.json") { state.withLock { $0.summaryReads += 1 } }
        return try await inner.read(key)
    }
    func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws {
        if key.hasSuffix("manifest-summary.json") { state.withLock { $0.summaryReads += 1 } }
        try await inner.forEachChunk(of: key, body)
    }
}
