import AWSClient
import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryCore

/// Sharded apply: the split of each window's files, the barrier in the state machine, the claim and its lease on
/// a manual clock, and four workers in one process applying a chain to the exact state.
@Suite("sharded apply: split, barrier, claims with leases, N workers to the exact state")
struct ShardTests {
    static func file(_ key: String, _ items: Int64) -> Plan.File {
        Plan.File(key: key, md5Checksum: "", etag: "", itemCount: items)
    }

    @Test("every file goes to exactly one shard, the same on every worker, balanced by items")
    func split() throws {
        var random = FerryTestSupport.SplitMix64(seed: 7)
        for _ in 0..<500 {
            let count = Int(random.next() % 6) + 1
            var files: [Plan.File] = []
            for index in 0..<Int(random.next() % 12) {
                files.append(Self.file("data/f\(index).json.gz", Int64(random.next() % 1000)))
            }
            let parts: [[String]] = ShardSpec.split(files, count: count)
            #expect(parts.count == count)
            let all: [String] = parts.flatMap { $0 }
            let keys: [String] = files.map { $0.key }
            #expect(all.count == files.count && Set(all) == Set(keys), "each file once")
            let reversed: [[String]] = ShardSpec.split(Array(files.reversed()), count: count)
            #expect(reversed.map { Set($0) } == parts.map { Set($0) }, "any order")
            var items: [String: Int64] = [:]
            for file in files { items[file.key] = max(1, file.itemCount) }
            let loads: [Int64] = parts.map { part in part.map { items[$0]! }.reduce(0, +) }
            let largest: Int64 = items.values.max() ?? 0
            #expect(loads.max()! - loads.min()! <= largest, "no shard heavier than another by more than one file")
        }
        // Strings that Swift calls equal but whose bytes differ are two files.
        let parts = ShardSpec.split([Self.file("caf\u{E9}", 5), Self.file("cafe\u{301}", 5)], count: 2)
        #expect(parts.map(\.count) == [1, 1])
    }

    @Test("--shard I/N and the engine's index variables; bad values name what to fix")
    func spec() throws {
        #expect(try ShardSpec(argument: "3/4") == ShardSpec(index: 3, count: 4))
        for bad in ["4/4", "-1/4", "1", "a/4", "1/0", "0/257"] {
            #expect(throws: ShardError.self) { try ShardSpec(argument: bad) }
        }
        #expect(try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "2"], count: 3).index == 2)
        #expect(try ShardSpec.fromEnvironment(["AWS_BATCH_JOB_ARRAY_INDEX": "0"], count: 3).index == 0)
        let missing = #expect(throws: ShardError.self) { try ShardSpec.fromEnvironment([:], count: 3) }
        #expect("\(missing!)".contains("JOB_COMPLETION_INDEX"))
        #expect(throws: ShardError.self) { try ShardSpec.fromEnvironment(["JOB_COMPLETION_INDEX": "3"], count: 3) }
    }

    typealias Machine = ApplyStateMachine<Int>

    /// A bound on the real time the in-process workers' work may take: about a second alone, but a full `make test`
    /// on 2 cores runs many suites at once (one such run took 92 s).
    static let workBound: Duration = .seconds(600)

    @Test("the machine reads only its shard's files and starts no window before the barrier of the one before")
    func barrierInTheMachine() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 40, windows: 2, changes: 10)
            let plan = try await TestChains.plan(for: chain)
            let shard = try ShardSpec(index: 1, count: 3)
            var machine = Machine(
                chain: plan,
                checkpoint: Checkpoint(planId: plan.planId),
                rejects: 0,
                configuration: .init(shard: shard)
            )
            var window = 0
            var actions = machine.handle(.started(.init(unitsPerSecond: 0, budget: 1)), elapsed: .zero)
            while !machine.isFinished {
                let reads = actions.compactMap { action -> String? in
                    if case .read(let file, let at) = action {
                        #expect(at == window)
                        return file
                    }
                    return nil
                }
                #expect(Set(reads) == Set(shard.files(of: plan.windows[window])), "window \(window): its files only")
                var next: [Machine.Action] = []
                for file in reads { next += machine.handle(.fileRead(file: file), elapsed: .zero) }
                let barriers = next.compactMap { action -> (Int, Checkpoint?)? in
                    if case let .barrier(at, marker) = action { return (at, marker) }
                    return nil
                }
                #expect(barriers.count == 1 && barriers.first?.0 == window)
                #expect(barriers.first?.1?.windowsDone == window + 1, "the marker is the checkpoint after the window")
                #expect(barriers.first?.1?.shard == "1/3")
                #expect(!next.contains { if case .read = $0 { true } else { false } }, "nothing read at the barrier")
                // Other shards still busy: nothing happens until the barrier is passed.
                #expect(machine.handle(.barrierWaiting(window: window, missing: [0, 2]), elapsed: .zero).count == 1)
                actions = machine.handle(.barrierPassed(window: window), elapsed: .zero)
                window += 1
            }
            #expect(window == plan.windows.count, "a barrier after the last window too, before finishing")
            guard case .finish(.completed) = actions.last else {
                Issue.record("completed after the last barrier")
                return
            }
            // A resume passes the barrier of the last window done before anything else.
            var resumed = Machine(
                chain: plan,
                checkpoint: machine.checkpoint,
                rejects: 0,
                configuration: .init(shard: shard)
            )
            var saved = machine.checkpoint
            saved.windowsDone = 1
            resumed = Machine(chain: plan, checkpoint: saved, rejects: 0, configuration: .init(shard: shard))
            let first = resumed.handle(.started(.init(unitsPerSecond: 0, budget: 1)), elapsed: .zero)
            guard case .barrier(0, let marker) = first.first, first.count == 1 else {
                Issue.record("a resume starts at the barrier of window 1: \(first)")
                return
            }
            #expect(marker?.windowsDone == 1)
        }
    }

    /// Waits (in real time, bounded) until `clock` has `count` sleepers: the code under test has reached its wait.
    static func untilSleeping(_ clock: ManualClock, _ count: Int = 1) async throws {
        for _ in 0..<5000 where clock.pendingSleeps.count < count { try await Task.sleep(for: .milliseconds(1)) }
        #expect(clock.pendingSleeps.count >= count)
    }

    static func coordinator(
        _ store: MemorySharedStateStore,
        _ clock: ManualClock,
        shard: Int = 0,
        count: Int = 2,
        planId: String = "p"
    ) throws -> ShardCoordinator {
        var coordinator = ShardCoordinator(
            store: store,
            shard: try ShardSpec(index: shard, count: count),
            planId: planId
        )
        coordinator.clock = clock
        coordinator.leaseDuration = .seconds(30)
        coordinator.pollInterval = .seconds(2)
        return coordinator
    }

    @Test("a second worker with the same index stops while the holder renews; nothing else is claimed")
    func secondWorkerStops() async throws {
        let (store, clock) = (MemorySharedStateStore(), ManualClock())
        let first = try Self.coordinator(store, clock)
        try await first.join()
        let lease = try await first.claim()
        #expect(lease.isValid)
        let second = try Self.coordinator(store, clock)
        let claiming = Task { try await second.claim() }
        try await Self.untilSleeping(clock)
        try await first.renew(lease)
        clock.advance(by: .seconds(2))
        do {
            _ = try await claiming.value
            Issue.record("the second worker must not get the claim")
        } catch ShardError.claimedByAnother(let shard, _, let holder) {
            #expect(shard == "0/2" && holder == first.holderText)
        }
        try await first.renew(lease)
        #expect(lease.isValid, "the holder keeps its claim")
    }

    @Test("a holder that stops renewing is taken over after 1.5 leases; it then writes nothing and its renewal fails")
    func takeOver() async throws {
        let (store, clock) = (MemorySharedStateStore(), ManualClock())
        let first = try Self.coordinator(store, clock)
        let lease = try await first.claim()
        let second = try Self.coordinator(store, clock)
        let claimed = Counter()
        let claiming = Task {
            defer { claimed.add() }
            return try await second.claim()
        }
        // Time moves 2 s at a time, each once the watcher waits again (it polls every 2 s), until it has the claim.
        var waited = Duration.zero
        while claimed.value == 0 && waited < .seconds(120) {
            try await Self.untilSleeping(clock)
            clock.advance(by: .seconds(2))
            waited += .seconds(2)
            if waited == .seconds(26) { #expect(!lease.isValid, "no batch after 5/6 of a lease without renewal") }
            // Let the watcher act on the new time before the next step (bounded: it ends the loop when it claims).
            for _ in 0..<2000 where claimed.value == 0 && clock.pendingSleeps.isEmpty {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
        guard claimed.value > 0 else {
            claiming.cancel()
            Issue.record("the watcher did not take the claim within 120 s of its clock")
            return
        }
        let taken = try await claiming.value
        #expect(taken.isValid)
        #expect(waited >= .seconds(45), "not before 1.5 leases of an unchanged claim (took \(waited))")
        await #expect(throws: ShardError.self) { try await first.renew(lease) }
        try await second.renew(taken)
    }

    @Test("a released claim is taken at once; another plan or shard count in the same state is refused")
    func releaseAndJoin() async throws {
        let (store, clock) = (MemorySharedStateStore(), ManualClock())
        let first = try Self.coordinator(store, clock)
        try await first.join()
        await first.release(try await first.claim())
        let second = try Self.coordinator(store, clock)
        let lease = try await second.claim()
        #expect(lease.isValid && clock.sleeps.isEmpty, "claimed without waiting")
        let otherCount = try Self.coordinator(store, clock, count: 3)
        await #expect(throws: ShardError.self) { try await otherCount.join() }
        // Markers: written once, found by every worker; the newest is where a replaced worker resumes.
        var marker = Checkpoint(planId: "p")
        marker.windowsDone = 1
        try await first.publish(window: 0, checkpoint: marker)
        marker.windowsDone = 99
        try await first.publish(window: 0, checkpoint: marker)
        #expect(try await first.latestCheckpoint(from: 0)?.windowsDone == 1, "a marker is never replaced")
        var seen = Set<Int>()
        #expect(try await second.missing(window: 0, seen: &seen) == [1])
    }

    @Test("four workers in one process, one stopped and resumed without its local checkpoint: the exact state")
    func fourWorkers() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 400, windows: 4, changes: 80)
            let plan = try await TestChains.plan(for: chain)
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            let table = MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N"))
            let (state, clock) = (MemorySharedStateStore(), ManualClock())
            for index in 0..<4 {
                try FileManager.default.createDirectory(
                    atPath: directory + "/w\(index)",
                    withIntermediateDirectories: true
                )
            }
            func worker(_ index: Int, _ store: any CheckpointStore) throws -> ApplyEngine {
                var engine = ApplyDriverTests.engine(plan, chain, table, store, directory + "/w\(index)")
                engine.writePercent = 80
                engine.clock = clock
                var coordinator = try Self.coordinator(state, clock, shard: index, count: 4)
                coordinator.leaseDuration = .seconds(3600)
                engine.coordinator = coordinator
                if ProcessInfo.processInfo.environment["FERRY_SHARD_TRACE"] != nil {
                    engine.progress = { FileHandle.standardError.write(Data("shard \(index): \($0.line)\n".utf8)) }
                }
                return engine
            }
            let stores = (0..<4).map { MemoryCheckpointStore(path: directory + "/cp\($0)") }
            let engines = try (0..<4).map { try worker($0, stores[$0]) }
            let controller = try engines[0].controller(for: try await table.describe())
            #expect(controller.percent == 20, "each of 4 workers takes 80 % / 4")
            // Shard 2 stops as soon as it has finished a file.
            let stopped = engines[2]
            let ended = Counter()
            var tasks: [Task<ApplyEngine.Report, any Error>] = []
            for engine in engines {
                tasks.append(
                    Task { [engine] in
                        defer { ended.add() }
                        return try await engine.run()
                    }
                )
            }
            // Bounded: a worker that fails before saving twice ends the wait too (and the test, below).
            let watcher = Task {
                for _ in 0..<20000 where stores[2].history.count < 2 && ended.value == 0 {
                    try await Task.sleep(for: .milliseconds(1))
                }
                stopped.stop.set()
            }
            let first = try await clock.run(
                until: { ended.value >= 1 },
                advancingWithin: .seconds(10),
                timeout: Self.workBound
            )
            #expect(first, "a worker ended")
            _ = try await watcher.value
            await #expect(throws: ApplyError.self) { try await tasks[2].value }
            // Restarted on "another machine": no local checkpoint, its markers in the shared state.
            let restarted = Task { try await worker(2, MemoryCheckpointStore(path: directory + "/cp2b")).run() }
            let done = Counter()
            let all = Task { [tasks] in
                defer { done.add() }
                for index in [0, 1, 3] { _ = try await tasks[index].value }
                return try await restarted.value
            }
            #expect(
                try await clock.run(until: { done.value > 0 }, advancingWithin: .seconds(10), timeout: Self.workBound)
            )
            _ = try await all.value
            #expect(try ApplyDriverTests.state(of: table, keyNames: chain.keyNames) == expected, "the exact state")
            for window in 0..<plan.windows.count {
                for shard in 0..<4 { #expect(state.keys.contains("windows/\(window)/shard-\(shard).json")) }
            }
        }
    }

    @Test("--follow with three workers: new exports announced once, applied by all behind the barrier, one close")
    func followWithShards() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, moves, end) = try await ApplyFollowTests.setUp(directory, hidden: 2)
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            let table = MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N"))
            let (state, clock) = (MemorySharedStateStore(), ManualClock())
            let stores = (0..<3).map { MemoryCheckpointStore(path: directory + "/cp\($0)") }
            var engines: [ApplyEngine] = []
            for index in 0..<3 {
                try FileManager.default.createDirectory(
                    atPath: directory + "/w\(index)",
                    withIntermediateDirectories: true
                )
                var engine = ApplyDriverTests.engine(plan, chain, table, stores[index], directory + "/w\(index)")
                engine.clock = clock
                // Caught up (lag within 2 minutes) only at the end of the whole chain.
                engine.follow = .init(pollInterval: .seconds(1), untilLagSeconds: 120, now: { end + 60_000 })
                var coordinator = try Self.coordinator(state, clock, shard: index, count: 3, planId: plan.planId)
                coordinator.leaseDuration = .seconds(3600)
                engine.coordinator = coordinator
                engines.append(engine)
            }
            let ended = Counter()
            let tasks = engines.map { engine in
                Task { [engine] in
                    defer { ended.add() }
                    return try await engine.run()
                }
            }
            // Every worker applies the plan and keeps looking: nothing new yet, the lag is over 2 minutes.
            let planned = try await clock.run(
                until: { stores.allSatisfy { ($0.history.last?.windowsDone ?? 0) == plan.windows.count } },
                advancingWithin: .seconds(10),
                timeout: Self.workBound
            )
            #expect(planned, "the plan applied by every worker")
            for _ in 0..<5 {
                clock.advance(by: .seconds(1))
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(ended.value == 0, "still following")
            #expect(try await ShardCoordinator.followedWindows(store: state).isEmpty)
            // The two late exports land.
            for (folder, away) in moves { try FileManager.default.moveItem(atPath: away, toPath: folder) }
            #expect(
                try await clock.run(
                    until: { ended.value == 3 },
                    advancingWithin: .seconds(10),
                    timeout: Self.workBound
                ),
                "all end"
            )
            for task in tasks { _ = try await task.value }
            #expect(stores.map { $0.history.last?.windowsDone } == Array(repeating: plan.windows.count + 2, count: 3))
            #expect(try ApplyDriverTests.state(of: table, keyNames: chain.keyNames) == expected, "the exact state")
            let followed = try await ShardCoordinator.followedWindows(store: state)
            #expect(followed.map(\.exportId) == chain.exports.suffix(2).map(\.exportId), "announced once, in order")
            let record: ShardCoordinator.FollowRecord = try ShardCoordinator.decode(
                try #require(try await state.read(ShardCoordinator.followKey)).body,
                key: ShardCoordinator.followKey
            )
            #expect(record.closedAt == 2, "closed after the two followed windows")
            for window in 0..<(plan.windows.count + 2) {
                for shard in 0..<3 { #expect(state.keys.contains("windows/\(window)/shard-\(shard).json")) }
            }
            let status = try await ShardedStatus.read(plan, store: state, now: end + 60_000)
            #expect(status.windows == plan.windows.count + 2 && status.barrierWindowsDone == status.windows)
        }
    }

    @Test("follow agreement: announced once; a worker that does not see them yet waits; a close ends every worker")
    func followAgreement() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 20, windows: 4, changes: 5)
            let whole = try await TestChains.plan(for: chain).windows
            let (state, clock) = (MemorySharedStateStore(), ManualClock())
            let a = try Self.coordinator(state, clock, shard: 0, count: 2)
            let b = try Self.coordinator(state, clock, shard: 1, count: 2)
            let (w3, w4) = (whole[3], whole[4])
            // Nothing found, not caught up: nothing to do, nothing written.
            #expect(try await a.agree(followed: [], found: [], caughtUp: false) == .apply([]))
            #expect(!state.keys.contains(ShardCoordinator.followKey))
            // A finds window 3 and announces it; B's look does not see it yet (S3 listing lag): it waits.
            #expect(try await a.agree(followed: [], found: [w3], caughtUp: false) == .apply([w3]))
            #expect(try await b.agree(followed: [], found: [], caughtUp: false) == .apply([]))
            // B sees 3 and 4: it applies the announced 3 only; 4 is announced after 3 is applied.
            #expect(try await b.agree(followed: [], found: [w3, w4], caughtUp: false) == .apply([w3]))
            #expect(try await ShardCoordinator.followedWindows(store: state).map(\.exportId) == [w3.exportId])
            // A different window where 3 was announced is refused, naming both.
            let error = await #expect(throws: ShardError.self) {
                try await b.agree(followed: [], found: [w4], caughtUp: false)
            }
            #expect("\(error!)".contains(w3.exportId) && "\(error!)".contains(w4.exportId))
            // A is caught up after 3 and closes; B, which found 4 meanwhile, finishes too, without 4.
            #expect(try await a.agree(followed: [w3], found: [], caughtUp: true) == .closed)
            #expect(try await b.agree(followed: [w3], found: [w4], caughtUp: false) == .closed)
            #expect(try await ShardCoordinator.followedWindows(store: state).count == 1)
        }
    }

    final class Counter: Sendable {
        private let state = Mutex(0)
        func add() { state.withLock { $0 += 1 } }
        var value: Int { state.withLock { $0 } }
    }
}
