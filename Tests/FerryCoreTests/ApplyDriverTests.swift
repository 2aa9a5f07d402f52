import AWSClient
import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryCore

/// The engine (the state machine's driver) against `MemoryTargetTable` and `MemoryCheckpointStore`: real exports,
/// verification and batching, no server, on a clock that never waits.
@Suite("the apply driver against an in-memory target: outcomes as domain values, in-flight batches never cancelled")
struct ApplyDriverTests {
    static func engine(
        _ plan: Plan,
        _ chain: GeneratedChain,
        _ target: any TargetTable,
        _ store: any CheckpointStore,
        _ directory: String
    ) -> ApplyEngine {
        var engine = ApplyEngine(
            plan: plan,
            source: LocalDirectorySource(root: chain.exportsDirectory),
            target: target,
            store: store,
            rejectsPath: directory + "/rejects.jsonl",
            writePercent: 100
        )
        engine.clock = ManualClock()
        engine.spoolDirectory = directory + "/spool"
        engine.random01 = { 1 }
        return engine
    }

    /// Runs `engine` to its end on its `ManualClock`, moving the clock to each wait it makes (backoffs, ticks).
    static func run(_ engine: ApplyEngine) async throws -> ApplyEngine.Report {
        let clock = try #require(engine.clock as? ManualClock)
        let ended = Mutex(false)
        let task = Task { [engine] in
            defer { ended.withLock { $0 = true } }
            return try await engine.run()
        }
        let finished = try await clock.run(until: { ended.withLock { $0 } }, advancingWithin: .seconds(10))
        #expect(finished, "the run ended")
        return try await task.value
    }

    /// The table's items as the expected-state files hold them.
    static func state(of table: MemoryTargetTable, keyNames: [String]) throws -> [Item: Item] {
        var state: [Item: Item] = [:]
        for (_, json) in table.items {
            let item = try DynamoJSONParser.item(from: String(decoding: json, as: UTF8.self))
            state[item.projected(onto: keyNames)!] = item
        }
        return state
    }

    @Test("throttles, UnprocessedItems, transaction conflicts and a refused item: the exact state, each counted once")
    func outcomes() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 300, windows: 3, changes: 40)
            let plan = try await TestChains.plan(for: chain)
            var expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            // A key of the final state whose puts DynamoDB refuses.
            let victim = try #require(
                expected.keys.compactMap { key -> String? in
                    if case .s(let pk) = key["pk"] { return pk } else { return nil }
                }.filter { $0.hasPrefix("user#") }.sorted().first
            )
            // Call by call: every 7th throttled (the table's capacity), every 13th throttled by an index, every 5th
            // leaves its first two writes unprocessed, every 11th meets a transaction; a put of the victim is
            // refused whenever it is in the call.
            let (tableReason, indexReason) = (
                "TableWriteProvisionedThroughputExceeded (table memory-target)",
                "IndexWriteKeyRangeThroughputExceeded (index by-name)"
            )
            let throttled = Mutex<[String: Int]>([:])
            let table = MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N")) { call, writes in
                let refused = writes.contains { write in
                    !write.record.isDelete
                        && String(decoding: write.key, as: UTF8.self).contains("\"\(victim)\"")
                }
                if refused { return .refuse("Item size has exceeded the maximum allowed size") }
                for (every, at, reason) in [(7, 3, tableReason), (13, 6, indexReason)] where call % every == at {
                    throttled.withLock { $0[reason, default: 0] += 1 }
                    return .throttle(reason)
                }
                if call % 11 == 4 { return .conflict }
                if call % 5 == 1 && writes.count > 2 { return .unprocessed([0, 1]) }
                return .none
            }
            let store = MemoryCheckpointStore()
            var engine = Self.engine(plan, chain, table, store, directory)
            engine.journal = try RunJournal(path: directory + "/journal.jsonl")
            let report = try await Self.run(engine)
            let actual = try Self.state(of: table, keyNames: chain.keyNames)
            let refusedKeys = Set(expected.keys.filter { $0["pk"] == .s(victim) })
            #expect(!refusedKeys.isEmpty, "the victim is in the final state")
            expected = expected.filter { !refusedKeys.contains($0.key) }
            #expect(actual.filter { !refusedKeys.contains($0.key) } == expected, "everything but the victim is exact")
            #expect(report.throttles > 0 && report.unprocessedRetries > 0)
            #expect(report.rejects > 0)
            let lines = try String(contentsOfFile: directory + "/rejects.jsonl", encoding: .utf8)
                .split(separator: "\n")
            #expect(Int64(lines.count) == report.rejects, "each reject once in the file")
            // Every write is in the log once per call that applied it, and the checkpoint counted each record once.
            let records = plan.totals.items
            #expect(report.itemsApplied == records - report.rejects)
            let history = store.history
            #expect(history.last?.windowsDone == plan.windows.count)
            #expect(
                zip(history, history.dropFirst()).allSatisfy { $0.windowsDone <= $1.windowsDone },
                "the checkpoint never goes back"
            )

            // The run record: every throttle under the reason the target gave, as the script counted them.
            let entries = try RunJournal.read(directory + "/journal.jsonl")
            let progress = entries.compactMap(\.progress)
            let reasons = throttled.withLock { $0 }
            #expect(reasons.count == 2 && reasons.values.reduce(0, +) == report.throttles)
            #expect(progress.last?.throttleReasons == reasons)
            // One fileDone per data file, with what it wrote and rejected: summed, the run's own figures.
            let files = progress.filter { $0.event == .fileDone }
            #expect(files.count == plan.windows.reduce(0) { $0 + $1.files.count })
            let figures = files.compactMap(\.fileFigures)
            #expect(figures.count == files.count)
            #expect(figures.reduce(0) { $0 + $1.puts + $1.deletes } == report.itemsApplied)
            #expect(figures.reduce(0) { $0 + $1.rejects } == report.rejects)
            // Verified before anything of it was written, so verification is a part of the file's time.
            #expect(figures.allSatisfy { ($0.verifySeconds ?? -1) >= 0 && $0.verifySeconds! <= $0.seconds })
        }
    }

    /// A target whose calls wait until the test lets them finish.
    final class HeldTarget: TargetTable {
        let inner: MemoryTargetTable
        private let state = Mutex<(open: Bool, waiting: [CheckedContinuation<Void, Never>])>((false, []))
        /// Calls whose task was cancelled while held.
        let cancelled = Mutex(0)
        var name: String { inner.name }
        /// Yields once for each call held.
        let arrivals: AsyncStream<Void>
        private let arrived: AsyncStream<Void>.Continuation

        init(_ inner: MemoryTargetTable) {
            self.inner = inner
            (arrivals, arrived) = AsyncStream<Void>.makeStream()
        }

        func describe() async throws -> TableDescription { try await inner.describe() }

        func write(_ writes: [PendingWrite]) async throws -> TargetWriteOutcome {
            await withCheckedContinuation { continuation in
                let held = state.withLock { state -> Bool in
                    if !state.open { state.waiting.append(continuation) }
                    return !state.open
                }
                if held { arrived.yield() } else { continuation.resume() }
            }
            if Task.isCancelled { cancelled.withLock { $0 += 1 } }
            return try await inner.write(writes)
        }

        var held: Int { state.withLock { $0.waiting.count } }

        func release() {
            let waiting = state.withLock { state in
                state.open = true
                defer { state.waiting = [] }
                return state.waiting
            }
            for continuation in waiting { continuation.resume() }
        }
    }

    @Test("a stop while batches are in flight lets them finish and be acknowledged, then the run is interrupted")
    func stopLetsBatchesFinish() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 400, windows: 1)
            let plan = try await TestChains.plan(for: chain)
            let target = HeldTarget(MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N")))
            let store = MemoryCheckpointStore()
            var engine = Self.engine(plan, chain, target, store, directory)
            engine.fileConcurrency = 2
            engine.batchesInFlightPerFile = 2
            let running = Task { [engine] in try await engine.run() }
            // Until two batches are held at the target (no clock: the target says when they arrive).
            var arrivals = target.arrivals.makeAsyncIterator()
            _ = await arrivals.next()
            _ = await arrivals.next()
            let inFlight = target.held
            #expect(inFlight >= 2, "batches reached the target")
            engine.stop.set()
            target.release()
            await #expect(throws: ApplyError.interrupted(checkpoint: store.path)) { try await running.value }
            // Each batch in flight at the stop was written: none was cancelled.
            #expect(target.cancelled.withLock { $0 } == 0, "no batch in flight was cancelled")
            #expect(target.inner.calls >= inFlight, "the held batches were all written")
            #expect(target.inner.log.count > 0)
            #expect(store.history.last.map { $0.windowsDone == 0 } == true)
            // The resume finishes the plan exactly.
            _ = try await Self.run(Self.engine(plan, chain, target.inner, store, directory))
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(try Self.state(of: target.inner, keyNames: chain.keyNames) == expected)
        }
    }
}

@Suite("the run record: every run's start, snapshots, checkpoints and end, across a stop and a resume")
struct RunJournalTests {
    @Test(
        "the journal of an interrupted run and its resume agrees with the checkpoint and the files, and holds no item"
    )
    func journalAcrossResume() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 300, windows: 2)
            let plan = try await TestChains.plan(for: chain)
            let table = MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N"))
            let store = MemoryCheckpointStore()
            let path = directory + "/plan.journal.jsonl"
            // The first run stops after its first file.
            var first = ApplyDriverTests.engine(plan, chain, table, store, directory)
            first.journal = try RunJournal(path: path, now: { 1_000 })
            first.fileConcurrency = 1
            first.progress = { [stop = first.stop] event in if event.event == .fileDone { stop.set() } }
            await #expect(throws: ApplyError.interrupted(checkpoint: store.path)) {
                try await ApplyDriverTests.run(first)
            }
            // A crash's half line at the end is cut off when the journal is opened again.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"kind":"progress","ru"#.utf8))
            try handle.close()
            var second = ApplyDriverTests.engine(plan, chain, table, store, directory)
            second.journal = try RunJournal(path: path, now: { 2_000 })
            let report = try await ApplyDriverTests.run(second)

            let entries = try RunJournal.read(path)
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(text.split(separator: "\n").count == entries.count, "every line parses: the half line was cut")
            let runs = entries.filter { $0.kind == .runStarted }.map(\.run)
            #expect(runs.count == 2 && runs[0] != runs[1])
            let ends = entries.filter { $0.kind == .runEnded }
            #expect(ends.map(\.outcome) == ["interrupted", "completed"])
            #expect(ends.last?.itemsApplied == report.itemsApplied)
            // The checkpoints it recorded are the ones the store saved, in order.
            let recorded = entries.filter { $0.kind == .checkpoint }
            let saved = store.history
            #expect(recorded.count == saved.count)
            #expect(recorded.map(\.windowsDone) == saved.map(\.windowsDone))
            #expect(recorded.map(\.itemsApplied) == saved.map(\.itemsApplied))
            // Each data file's completion is in it (once per run that completed it), and each window's.
            let filesDone = Set(
                entries.compactMap { $0.kind == .progress && $0.progress?.event == .fileDone ? $0.progress?.file : nil }
            )
            #expect(filesDone == Set(plan.windows.flatMap { $0.files.map(\.key) }))
            let windowsDone = entries.filter { $0.kind == .progress && $0.progress?.event == .windowDone }
            #expect(windowsDone.count == plan.windows.count)
            // Each window's puts, deletes and write units, across the stop in the FULL export (the first run's file
            // carried in the checkpoint): against the writes the table applied, counted by the table itself.
            let figures = windowsDone.compactMap { $0.progress?.windowFigures }
            #expect(figures.count == plan.windows.count)
            for (window, figure) in zip(plan.windows, figures) {
                #expect(figure.puts + figure.deletes == window.itemCount, "window \(window.index + 1): every record")
                #expect(figure.writeUnits >= Double(figure.puts + figure.deletes), "at least a unit a write")
            }
            #expect(figures[0].deletes == 0, "a FULL export only puts")
            let log = table.log
            #expect(figures.map(\.deletes).reduce(0, +) == Int64(log.count { $0.item == nil }))
            #expect(figures.map(\.puts).reduce(0, +) == Int64(log.count { $0.item != nil }))
            #expect(figures.dropFirst().contains { $0.deletes > 0 }, "the generated windows delete")
            // The report's window rows carry them, in the HTML table too.
            let built = RunReport.build(
                plan: plan,
                checkpoint: try #require(store.history.last),
                journal: entries,
                asOf: 3_000,
                now: 3_000
            )
            #expect(built.windows.map(\.puts) == figures.map(\.puts))
            #expect(built.windows.map(\.deletes) == figures.map(\.deletes))
            #expect(built.windows.map(\.writeUnits) == figures.map(\.writeUnits))
            let html = RunReportHTML.render(built)
            #expect(html.contains("<th>puts</th><th>deletes</th>") && html.contains("<th>WCU</th>"))
            #expect(html.contains("<td>\(figures[1].deletes)</td>"))
            // No item data: no key value of the table appears in it.
            for key in table.items.keys.prefix(50) {
                let json = String(decoding: key.bytes, as: UTF8.self)
                let value = json.split(separator: "\"").first { $0.hasPrefix("user#") || $0.hasPrefix("客户#") }
                if let value { #expect(!text.contains(String(value) + "\""), "item data in the journal") }
            }
        }
    }
}
