import DynamoModel
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

/// The apply core run against generated scenarios: windows of files of batches, batch outcomes with rejects,
/// failures, stops and crashes at every event boundary, `--follow` finding windows, in a random order chosen by a
/// seed. A simulated driver carries out the machine's actions synchronously; after every event it checks the
/// invariants, and each scenario is resumed from its last saved checkpoint until it completes, ending at the exact
/// expected state. `FERRY_SM_TRACE=<seed>` prints one scenario's events and actions.
@Suite("the apply state machine, over thousands of generated runs with crashes and resumes at every step")
struct ApplyStateMachineTests {
    /// One write of a generated chain: `seq` is its place in the chain's order (the order a key's writes must be
    /// applied in); `value` nil is a delete.
    struct Write: Sendable, Hashable {
        var key: Int
        var value: Int?
        var seq: Int
        /// DynamoDB refuses it: it goes to the rejects, and never reaches the table.
        var rejected: Bool
    }

    typealias Machine = ApplyStateMachine<[Write]>

    /// A generated chain: window → file → batches of writes.
    struct Scenario {
        var windows: [[[[Write]]]]
        /// Windows in the plan; the rest appear to `--follow`, a few at a time.
        var planned: Int
        var configuration: Machine.Configuration
        var seed: UInt64

        static func generate(seed: UInt64) -> Scenario {
            var random = SplitMix64(seed: seed)
            let follow = Bool.random(using: &random)
            let count = Int.random(in: 1...4, using: &random)
            let hidden = follow ? Int.random(in: 0...2, using: &random) : 0
            var seq = 0
            var windows: [[[[Write]]]] = []
            for _ in 0..<(count + hidden) {
                let fileCount = Int.random(in: 0...3, using: &random)
                var files = [[Write]](repeating: [], count: fileCount)
                if fileCount > 0 {
                    // A key is in one file of a window (one source partition's file); now and then twice in it.
                    for key in (0..<12).shuffled(using: &random).prefix(Int.random(in: 0...9, using: &random)) {
                        let file = Int.random(in: 0..<fileCount, using: &random)
                        let times = Int.random(in: 0..<8, using: &random) == 0 ? 2 : 1
                        for _ in 0..<times {
                            let delete = Int.random(in: 0..<5, using: &random) == 0
                            files[file].append(
                                Write(
                                    key: key,
                                    value: delete ? nil : seq,
                                    seq: seq,
                                    rejected: Int.random(in: 0..<20, using: &random) == 0
                                )
                            )
                            seq += 1
                        }
                    }
                }
                windows.append(files.map { cut($0, random: &random) })
            }
            let configuration = Machine.Configuration(
                filesAtOnce: Int.random(in: 1...3, using: &random),
                batchesInFlightPerFile: Int.random(in: 1...3, using: &random),
                follow: follow ? .init(pollInterval: .seconds(30), untilLagMilliseconds: 60_000) : nil
            )
            return Scenario(windows: windows, planned: count, configuration: configuration, seed: seed)
        }

        /// Cuts a file's writes into batches of 1 to 4, never a key twice in one.
        static func cut(_ writes: [Write], random: inout SplitMix64) -> [[Write]] {
            var batches: [[Write]] = []
            var batch: [Write] = []
            var size = Int.random(in: 1...4, using: &random)
            for write in writes {
                if batch.count >= size || batch.contains(where: { $0.key == write.key }) {
                    batches.append(batch)
                    batch = []
                    size = Int.random(in: 1...4, using: &random)
                }
                batch.append(write)
            }
            if !batch.isEmpty { batches.append(batch) }
            return batches
        }

        static func fileName(window: Int, file: Int) -> String { "AWSDynamoDB/w\(window)/data/f\(file).json.gz" }

        func window(_ index: Int) -> Plan.Window {
            Plan.Window(
                index: index,
                kind: index == 0 ? .full : .incremental,
                exportArn: "arn:aws:dynamodb:us-east-1:111122223333:table/t/export/w\(index)",
                exportId: "w\(index)",
                summaryKey: "AWSDynamoDB/w\(index)/manifest-summary.json",
                from: index == 0 ? nil : Self.time(index - 1),
                to: Self.time(index),
                format: .dynamoDBJSON,
                viewType: nil,
                itemCount: Int64(windows[index].reduce(0) { $0 + $1.reduce(0) { $0 + $1.count } }),
                compressedBytes: 0,
                files: windows[index].indices.map {
                    Plan.File(key: Self.fileName(window: index, file: $0), md5Checksum: "", etag: "", itemCount: 0)
                }
            )
        }

        static func time(_ window: Int) -> String { String(format: "2026-01-01T%02d:00:00.000Z", window) }

        var plan: Plan {
            let planned = (0..<self.planned).map(window)
            return Plan(
                planId: "plan-\(seed)",
                source: .init(location: "s3://bucket/exports"),
                target: .init(table: "target"),
                throttle: .init(writePercent: 50, readPercent: 50),
                sourceTable: .init(tableArn: "arn:aws:dynamodb:us-east-1:111122223333:table/t", tableId: "t"),
                windows: planned,
                totals: .init(
                    windows: planned.count,
                    items: planned.reduce(0) { $0 + $1.itemCount },
                    files: planned.reduce(0) { $0 + $1.files.count },
                    compressedBytes: 0,
                    start: Self.time(0),
                    end: Self.time(self.planned - 1)
                )
            )
        }

        /// The table after the whole chain: each key's last write that DynamoDB accepted.
        var expected: [Int: Int] {
            var state: [Int: Int] = [:]
            for write in allWrites.sorted(by: { $0.seq < $1.seq }) where !write.rejected {
                state[write.key] = write.value
            }
            return state
        }

        var allWrites: [Write] { windows.flatMap { $0.flatMap { $0.flatMap { $0 } } } }

        func batches(ofFile name: String) -> [[Write]] {
            for (w, files) in windows.enumerated() {
                for (f, batches) in files.enumerated() where Self.fileName(window: w, file: f) == name {
                    return batches
                }
            }
            return []
        }
    }

    /// What outlives a run: the table, the last checkpoint saved, the rejects file (by write), and which files had
    /// every batch acknowledged within one run.
    struct World {
        var table: [Int: Int] = [:]
        var checkpoint: Checkpoint
        var rejects = Set<Int>()
        var acknowledged = Set<String>()
        var runs = 0
        var events = 0
    }

    struct Violation: Error, CustomStringConvertible {
        var description: String
    }

    /// One run (one process) of the scenario, from the world's checkpoint, until it finishes or crashes.
    struct Run {
        let scenario: Scenario
        var machine: Machine
        var readers: [String: (next: Int, demanded: Bool, stopped: Bool)] = [:]
        var inFlight: [Int: Machine.Batch] = [:]
        var acknowledgedBatches: [String: Int] = [:]
        var lastSeq: [Int: Int] = [:]
        var finding = false
        var sleeping = false
        var stopped = false
        var outcome: Machine.Outcome?

        init(_ scenario: Scenario, world: World) {
            self.scenario = scenario
            let chain = scenario.plan.chain(with: world.checkpoint)
            machine = Machine(
                chain: chain,
                checkpoint: world.checkpoint,
                rejects: Int64(world.rejects.count),
                configuration: scenario.configuration
            )
        }

        func check(_ condition: Bool, _ what: @autoclosure () -> String) throws {
            if !condition { throw Violation(description: "seed \(scenario.seed): " + what()) }
        }

        mutating func handle(_ event: Machine.Event, world: inout World) throws {
            world.events += 1
            let actions = machine.handle(event, elapsed: .milliseconds(world.events))
            if ProcessInfo.processInfo.environment["FERRY_SM_TRACE"] == "\(scenario.seed)" {
                print("EVENT \(event)")
                for action in actions { print("   -> \(action)") }
            }
            for action in actions { try perform(action, world: &world) }
        }

        mutating func perform(_ action: Machine.Action, world: inout World) throws {
            try check(outcome == nil, "an action after the run finished: \(action)")
            switch action {
            case let .read(file, window):
                try check(!stopped, "a file opened after a stop")
                try check(
                    window == machine.windowsDone,
                    "window \(window) opened while \(machine.windowsDone) is current"
                )
                // Every write of the windows before was acknowledged.
                for earlier in 0..<window {
                    for f in scenario.windows[earlier].indices {
                        let name = Scenario.fileName(window: earlier, file: f)
                        try check(
                            world.acknowledged.contains(name),
                            "window \(window) started before \(name) was acknowledged"
                        )
                    }
                }
                try check(
                    inFlight.values.allSatisfy { $0.file.hasPrefix("AWSDynamoDB/w\(window)/") },
                    "window \(window) started with batches of another window in flight"
                )
                readers[file] = (0, true, false)
            case .resumeReading(let file):
                try check(readers[file]?.demanded == false, "reading resumed for \(file) that was not waiting")
                readers[file]?.demanded = true
            case .stopReading(let file):
                readers[file]?.stopped = true
            case .send(let batch):
                try check(!stopped, "a batch sent after a stop")
                let busy = Set(inFlight.values.flatMap { $0.payload.map(\.key) })
                for write in batch.payload {
                    try check(!busy.contains(write.key), "key \(write.key) sent while a batch holding it is in flight")
                    try check(
                        lastSeq[write.key].map { $0 < write.seq } ?? true,
                        "key \(write.key): write \(write.seq) sent after write \(lastSeq[write.key]!)"
                    )
                    lastSeq[write.key] = write.seq
                }
                inFlight[batch.id] = batch
            case .saveCheckpoint(let checkpoint):
                for file in checkpoint.filesDone {
                    try check(world.acknowledged.contains(file), "the checkpoint claims \(file), not all acknowledged")
                }
                for window in 0..<checkpoint.windowsDone {
                    for f in scenario.windows[window].indices {
                        let name = Scenario.fileName(window: window, file: f)
                        try check(
                            world.acknowledged.contains(name),
                            "the checkpoint claims window \(window), not \(name)"
                        )
                    }
                }
                try check(checkpoint.windowsDone >= world.checkpoint.windowsDone, "the checkpoint went back a window")
                world.checkpoint = checkpoint
            case .report(let snapshot):
                try check(
                    snapshot.window >= 1 && snapshot.window <= snapshot.windows,
                    "snapshot window \(snapshot.window)"
                )
            case .findExports(let chain):
                try check(inFlight.isEmpty, "looked for exports with batches in flight")
                try check(chain.count == machine.chain.windows.count, "findExports with another chain")
                finding = true
            case .sleep:
                sleeping = true
            case .barrier:
                try check(false, "a barrier in a run that is not sharded")
            case .finish(let outcome):
                try check(inFlight.isEmpty, "finished with \(inFlight.count) batches in flight")
                self.outcome = outcome
            }
        }

        enum Step {
            case announce(String)
            case acknowledge(Int)
            case failBatch(Int)
            case failReader(String)
            case found, wake, tick,
                stop, crash
        }

        /// The events that could happen next.
        func steps(faults: Bool) -> [Step] {
            var steps: [Step] = []
            for (file, reader) in readers.sorted(by: { $0.key < $1.key }) where reader.demanded && !reader.stopped {
                steps.append(.announce(file))
                if faults { steps.append(.failReader(file)) }
            }
            for id in inFlight.keys.sorted() {
                steps += [.acknowledge(id), .acknowledge(id)]
                if faults { steps.append(.failBatch(id)) }
            }
            if finding { steps.append(.found) }
            if sleeping { steps.append(.wake) }
            steps.append(.tick)
            if faults {
                if !stopped { steps.append(.stop) }
                steps.append(.crash)
            }
            return steps
        }

        /// Applies a batch's writes DynamoDB accepts to the table; the rejected go to the rejects (once each).
        static func land(_ writes: some Sequence<Write>, world: inout World) -> Machine.BatchOutcome {
            var outcome = Machine.BatchOutcome(written: 0)
            for write in writes {
                if write.rejected {
                    if world.rejects.insert(write.seq).inserted { outcome.rejected += 1 }
                } else {
                    world.table[write.key] = write.value
                    outcome.written += 1
                }
            }
            return outcome
        }

        /// Takes one step; returns false when the process crashed.
        mutating func take(_ step: Step, random: inout SplitMix64, world: inout World) throws -> Bool {
            switch step {
            case .announce(let file):
                let batches = scenario.batches(ofFile: file)
                let next = readers[file]!.next
                if next < batches.count {
                    readers[file]!.next += 1
                    readers[file]!.demanded = false
                    let batch = batches[next]
                    try handle(.batchReady(file: file, keys: batch.map { key($0.key) }, payload: batch), world: &world)
                } else {
                    readers[file] = nil
                    if batches.isEmpty { world.acknowledged.insert(file) }  // nothing to acknowledge
                    try handle(.fileRead(file: file), world: &world)
                }
            case .acknowledge(let id):
                let batch = inFlight.removeValue(forKey: id)!
                let outcome = Self.land(batch.payload, world: &world)
                acknowledgedBatches[batch.file, default: 0] += 1
                if acknowledgedBatches[batch.file] == scenario.batches(ofFile: batch.file).count {
                    world.acknowledged.insert(batch.file)
                }
                try handle(.batchDone(id: id, outcome), world: &world)
            case .failBatch(let id):
                // Part of it may have landed before the failure.
                let batch = inFlight.removeValue(forKey: id)!
                _ = Self.land(
                    batch.payload.prefix(Int.random(in: 0...batch.payload.count, using: &random)),
                    world: &world
                )
                try handle(.batchFailed(id: id, Violation(description: "fatal")), world: &world)
            case .failReader(let file):
                readers[file] = nil
                try handle(.failed(Violation(description: "\(file) failed verification")), world: &world)
            case .found:
                finding = false
                let known = machine.chain.windows.count
                if known < scenario.windows.count, Bool.random(using: &random) {
                    let more = Int.random(in: 1...(scenario.windows.count - known), using: &random)
                    try handle(
                        .exportsFound(
                            windows: (known..<(known + more)).map(scenario.window),
                            nowMilliseconds: 0,
                            waiting: nil
                        ),
                        world: &world
                    )
                } else {
                    // Caught up; now and then the lag is still too large, and it waits for the next poll.
                    let end = ExportTime(Scenario.time(known - 1))!.epochMilliseconds
                    let lag: Int64 = known < scenario.windows.count || Bool.random(using: &random) ? 3_600_000 : 1_000
                    try handle(.exportsFound(windows: [], nowMilliseconds: end + lag, waiting: nil), world: &world)
                }
            case .wake:
                sleeping = false
                try handle(.wokeUp, world: &world)
            case .tick:
                try handle(.tick(.init(unitsPerSecond: 1, budget: 2)), world: &world)
            case .stop:
                stopped = true
                try handle(.stopRequested, world: &world)
            case .crash:
                // Batches in flight may have landed, in part or whole, before the process died.
                for id in inFlight.keys.sorted() {
                    let batch = inFlight[id]!
                    _ = Self.land(
                        batch.payload.prefix(Int.random(in: 0...batch.payload.count, using: &random)),
                        world: &world
                    )
                }
                return false
            }
            return true
        }

        func key(_ key: Int) -> KeyBytes { KeyBytes(Array("k\(key)".utf8)) }
    }

    /// Runs `scenario` to completion through as many runs as its faults take; returns the world it ends in.
    static func simulate(_ scenario: Scenario) throws -> (World, ApplyEngine.Report) {
        var random = SplitMix64(seed: scenario.seed ^ 0x9E37_79B9_7F4A_7C15)
        var world = World(checkpoint: Checkpoint(planId: "plan-\(scenario.seed)"))
        while true {
            world.runs += 1
            var run = Run(scenario, world: world)
            // Faults only in the first runs, so every scenario ends.
            let faults = world.runs <= 6 && Int.random(in: 0..<3, using: &random) > 0
            try run.handle(.started(.init(unitsPerSecond: 0, budget: 2)), world: &world)
            var alive = true
            while run.outcome == nil, alive {
                let steps = run.steps(faults: faults && Int.random(in: 0..<12, using: &random) == 0)
                alive = try run.take(
                    steps[Int.random(in: 0..<steps.count, using: &random)],
                    random: &random,
                    world: &world
                )
                try run.check(world.events < 100_000, "no end in sight")
            }
            if case .completed(let report) = run.outcome { return (world, report) }
        }
    }

    @Test(
        "4,000 generated runs: keys in order, windows one after another, the checkpoint never ahead, exact at the end"
    )
    func generatedRuns() throws {
        var runs = 0
        var events = 0
        var resumed = 0
        for seed in UInt64(1)...4000 {
            let scenario = Scenario.generate(seed: seed)
            let (world, report) = try Self.simulate(scenario)
            let accepted = scenario.allWrites.filter { !$0.rejected }
            #expect(world.table == scenario.expected, "seed \(seed): the table is not the chain's final state")
            #expect(world.checkpoint.windowsDone == scenario.windows.count, "seed \(seed): windows done")
            #expect(report.itemsApplied == Int64(accepted.count), "seed \(seed): items counted once each")
            #expect(report.rejects == Int64(scenario.allWrites.count - accepted.count), "seed \(seed): rejects")
            runs += world.runs
            events += world.events
            if world.runs > 1 { resumed += 1 }
        }
        // The faults really happened: most scenarios were stopped, failed or crashed and resumed.
        #expect(resumed > 1000, "only \(resumed) scenarios resumed")
        #expect(runs > 4000 + 1000 && events > 100_000, "runs \(runs), events \(events)")
    }

    @Test("a stop lets every batch in flight finish: nothing cancelled, the checkpoint saved, then interrupted")
    func stopFinishesInFlight() throws {
        var scenario = Scenario.generate(seed: 7)
        scenario.windows = [
            [[[Write(key: 1, value: 1, seq: 0, rejected: false)], [Write(key: 2, value: 2, seq: 1, rejected: false)]]]
        ]
        scenario.planned = 1
        scenario.configuration = .init(filesAtOnce: 1, batchesInFlightPerFile: 2, follow: nil)
        var world = World(checkpoint: Checkpoint(planId: "plan-7"))
        var run = Run(scenario, world: world)
        var random = SplitMix64(seed: 1)
        try run.handle(.started(.init(unitsPerSecond: 0, budget: 1)), world: &world)
        let file = Scenario.fileName(window: 0, file: 0)
        _ = try run.take(.announce(file), random: &random, world: &world)
        _ = try run.take(.announce(file), random: &random, world: &world)
        #expect(run.inFlight.count == 2)
        _ = try run.take(.stop, random: &random, world: &world)
        #expect(run.outcome == nil, "the run waits for its batches")
        #expect(run.readers[file]?.stopped == true, "the reader was told to stop")
        _ = try run.take(.acknowledge(run.inFlight.keys.min()!), random: &random, world: &world)
        #expect(run.outcome == nil)
        _ = try run.take(.acknowledge(run.inFlight.keys.min()!), random: &random, world: &world)
        guard case .interrupted(let report) = run.outcome else {
            Issue.record("not interrupted: \(String(describing: run.outcome))")
            return
        }
        // The file was not read to its end, so it is not claimed; both writes landed and are re-applied on resume.
        #expect(world.table == [1: 1, 2: 2])
        #expect(world.checkpoint.filesDone.isEmpty && world.checkpoint.windowsDone == 0)
        #expect(report.itemsApplied == 0)
        #expect(run.machine.itemsThisRun == 2)
    }

    @Test("the checkpoint is the state's: a file done and a window done are recorded as they happen, resume skips them")
    func checkpointDerived() throws {
        let scenario = Scenario.generate(seed: 11)
        var world = World(checkpoint: Checkpoint(planId: "plan-11"))
        var run = Run(scenario, world: world)
        var random = SplitMix64(seed: 2)
        try run.handle(.started(.init(unitsPerSecond: 0, budget: 1)), world: &world)
        while run.outcome == nil {
            let steps = run.steps(faults: false)
            _ = try run.take(steps[Int.random(in: 0..<steps.count, using: &random)], random: &random, world: &world)
        }
        #expect(world.checkpoint == run.machine.checkpoint)
        // A run resumed from the end does nothing but finish.
        var again = Run(scenario, world: world)
        try again.handle(.started(.init(unitsPerSecond: 0, budget: 1)), world: &world)
        while again.outcome == nil {
            let steps = again.steps(faults: false)
            _ = try again.take(steps[Int.random(in: 0..<steps.count, using: &random)], random: &random, world: &world)
        }
        #expect(again.inFlight.isEmpty && again.lastSeq.isEmpty, "nothing was sent again")
    }

    @Test(
        "--until-lag's rule, shared by the machine and the sharded agreement: caught up at a lag of at most the limit"
    )
    func untilLagRule() {
        let follow = ApplyStateMachine<Int>.Follow(pollInterval: .seconds(60), untilLagMilliseconds: 900_000)
        #expect(follow.caughtUp(chainEnd: 1_000_000, now: 1_900_000))
        #expect(!follow.caughtUp(chainEnd: 1_000_000, now: 1_900_001))
        #expect(follow.caughtUp(chainEnd: 2_000_000, now: 1_000_000), "a chain ahead of the clock is caught up")
        let forever = ApplyStateMachine<Int>.Follow(pollInterval: .seconds(60), untilLagMilliseconds: nil)
        #expect(!forever.caughtUp(chainEnd: 1_000_000, now: 1_000_000))
        let options = ApplyEngine.FollowOptions(untilLagSeconds: 90.0004)
        #expect(options.machine.untilLagMilliseconds == 90_000, "seconds rounded to milliseconds once")
    }

    @Test(
        "a file's figures at fileDone: its time from being opened, of which verifying, its writes, rejects, throttles"
    )
    func fileFigures() throws {
        var scenario = Scenario.generate(seed: 5)
        scenario.windows = [[[[Write(key: 1, value: 1, seq: 0, rejected: false)]]]]
        scenario.planned = 1
        var machine = ApplyStateMachine<Int>(
            chain: scenario.plan,
            checkpoint: Checkpoint(planId: "plan-5"),
            rejects: 0,
            configuration: .init(filesAtOnce: 1)
        )
        let file = Scenario.fileName(window: 0, file: 0)
        let key = KeyBytes(Array("k1".utf8))
        _ = machine.handle(.started(.init(unitsPerSecond: 0, budget: 10)), elapsed: .seconds(1))
        _ = machine.handle(.fileVerified(file: file), elapsed: .milliseconds(3500))
        _ = machine.handle(.readerRejected(file: file, count: 2), elapsed: .seconds(4))
        let sent = machine.handle(.batchReady(file: file, keys: [key], payload: 0), elapsed: .seconds(4))
        guard case .send(let batch)? = sent.first else {
            Issue.record("the batch was not sent: \(sent)")
            return
        }
        let reasons = ["TableWriteProvisionedThroughputExceeded (table t)": 2, "ThrottlingException": 1]
        let outcome = ApplyStateMachine<Int>.BatchOutcome(
            written: 1,
            throttles: 3,
            deletes: 0,
            writeUnits: 2.5,
            throttleReasons: reasons
        )
        let afterBatch = machine.handle(.batchDone(id: batch.id, outcome), elapsed: .seconds(6))
        // The file is not done while its reader has not said it read the whole file: no snapshot yet.
        #expect(!afterBatch.contains { if case .report = $0 { true } else { false } }, "\(afterBatch)")
        let done = machine.handle(.fileRead(file: file), elapsed: .milliseconds(7250))
        let snapshots = done.compactMap { action -> ApplyProgress? in
            if case .report(let progress) = action { progress } else { nil }
        }
        let fileDone = try #require(snapshots.first { $0.event == .fileDone })
        #expect(fileDone.file == file)
        #expect(
            fileDone.fileFigures
                == .init(puts: 1, deletes: 0, rejects: 2, writeUnits: 2.5, seconds: 6.25, verifySeconds: 2.5)
        )
        #expect(fileDone.throttleReasons == reasons)
        #expect(snapshots.first { $0.event == .windowDone }?.throttleReasons == reasons, "reasons carry on")
    }
}
