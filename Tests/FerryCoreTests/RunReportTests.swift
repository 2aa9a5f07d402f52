import ExportReader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryCore

@Suite("the run report: RTO, RPO, windows and throughput from the plan, the checkpoint and the run record")
struct RunReportTests {
    static func progress(
        _ event: ApplyProgress.Event,
        window: Int,
        of windows: Int,
        items: Int64,
        throttles: Int = 0
    )
        -> ApplyProgress
    {
        ApplyProgress(
            event: event,
            window: window,
            windows: windows,
            exportId: "w\(window)",
            itemsApplied: items,
            itemsTotal: 1000,
            rejects: 0,
            elapsedSeconds: 0,
            writeUnitsPerSecond: 400,
            writeBudget: 500,
            throttles: throttles
        )
    }

    @Test("figures from a journal of two runs with a crash between them: each phase, the stop, the lag")
    func figuresFromJournal() throws {
        let plan = ApplyStateMachineTests.Scenario.generate(seed: 3).plan
        let count = plan.windows.count
        func entry(
            _ kind: RunJournal.Entry.Kind,
            _ run: String,
            _ at: Int64,
            _ progress: ApplyProgress? = nil
        )
            -> RunJournal.Entry
        {
            var entry = RunJournal.Entry(kind: kind, run: run, at: at)
            entry.progress = progress
            if kind == .runStarted { entry.planId = plan.planId }
            return entry
        }
        // Run a: window 1 from 10 s to 20 s, ticks at 11 and 12 s (100 items in 1 s), then killed at 15 s.
        var journal = [
            entry(.runStarted, "a", 10_000),
            entry(.progress, "a", 10_000, Self.progress(.windowStarted, window: 1, of: count, items: 0)),
            entry(.progress, "a", 11_000, Self.progress(.tick, window: 1, of: count, items: 50)),
            entry(.progress, "a", 12_000, Self.progress(.tick, window: 1, of: count, items: 150, throttles: 2)),
            entry(.progress, "a", 15_000, Self.progress(.windowDone, window: 1, of: count, items: 200, throttles: 2)),
        ]
        // Run b starts 85 s later and applies the rest, one window every 10 s.
        journal.append(entry(.runStarted, "b", 100_000))
        var at: Int64 = 100_000
        for window in 2...max(2, count) where window <= count {
            journal.append(
                entry(.progress, "b", at, Self.progress(.windowStarted, window: window, of: count, items: 0))
            )
            at += 10_000
            journal.append(entry(.progress, "b", at, Self.progress(.windowDone, window: window, of: count, items: 0)))
        }
        var end = entry(.runEnded, "b", at)
        end.outcome = "completed"
        end.throttles = 1
        journal.append(end)
        var checkpoint = Checkpoint(planId: plan.planId)
        checkpoint.windowsDone = count
        checkpoint.itemsApplied = 321
        checkpoint.appliedThrough = plan.windows.last!.to
        let asOf = ExportTime(plan.windows.last!.to)!.epochMilliseconds + 90_000
        let report = RunReport.build(plan: plan, checkpoint: checkpoint, journal: journal, asOf: asOf, now: asOf)

        #expect(report.runs.map(\.outcome) == ["crashed", "completed"])
        #expect(report.rto.firstStartAt == 10_000 && report.rto.caughtUpAt == (count == 1 ? 15_000 : at))
        #expect(report.rto.stoppedSeconds == 85)
        #expect(report.rto.wallSeconds == Double((count == 1 ? 15_000 : at) - 10_000) / 1000)
        #expect(report.rpo.lagSeconds == 90)
        #expect(report.windows.count == count && report.windows[0].seconds == 5)
        #expect(report.windows.allSatisfy { $0.applied })
        #expect(
            report.throughput == [
                RunReport.Sample(at: 12_000, itemsPerSecond: 100, writeUnitsPerSecond: 400, writeBudget: 500)
            ]
        )
        #expect(report.totals.throttles == 3, "2 in run a (its last figure) + 1 in run b")
        #expect(report.totals.itemsApplied == 321)

        let html = RunReportHTML.render(report)
        #expect(html.contains("id=\"rto\"") && html.contains(RunReportHTML.duration(report.rto.wallSeconds!)))
        #expect(html.contains("id=\"rpo\"") && html.contains("1 min 30 s"))
        #expect(html.components(separatedBy: "<tr class=\"window\">").count - 1 == count)
        #expect(html.contains("<svg id=\"items-chart\"") && html.contains("<svg id=\"capacity-chart\""))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        let decoded = try JSONDecoder().decode(RunReport.self, from: report.json)
        #expect(decoded == report)
    }

    @Test(
        "the report of a real run, stopped and resumed, agrees with its checkpoint and an independent count of events"
    )
    func agreesWithCheckpoint() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 200, windows: 2)
            let plan = try await TestChains.plan(for: chain)
            let table = MemoryTargetTable(partitionKey: ("pk", "S"), sortKey: ("sk", "N"))
            let store = MemoryCheckpointStore()
            let path = directory + "/plan.journal.jsonl"
            let wall = Mutex<Int64>(1_000_000)
            let tick: @Sendable () -> Int64 = {
                wall.withLock {
                    $0 += 7
                    return $0
                }
            }
            var first = ApplyDriverTests.engine(plan, chain, table, store, directory)
            first.journal = try RunJournal(path: path, now: tick)
            first.fileConcurrency = 1
            first.progress = { [stop = first.stop] event in if event.event == .windowDone { stop.set() } }
            await #expect(throws: ApplyError.interrupted(checkpoint: store.path)) {
                try await ApplyDriverTests.run(first)
            }
            wall.withLock { $0 += 60_000 }  // a minute before the resume
            var second = ApplyDriverTests.engine(plan, chain, table, store, directory)
            second.journal = try RunJournal(path: path, now: tick)
            _ = try await ApplyDriverTests.run(second)

            let journal = try RunJournal.read(path)
            let checkpoint = try store.load(for: plan.planId)
            let report = RunReport.build(plan: plan, checkpoint: checkpoint, journal: journal, asOf: 0, now: 0)
            #expect(report.totals.itemsApplied == checkpoint?.itemsApplied)
            #expect(report.totals.windowsApplied == plan.windows.count)
            #expect(report.runs.map(\.outcome) == ["interrupted", "completed"])
            #expect(report.rto.stoppedSeconds >= 60 && report.rto.stoppedSeconds < 61)
            let windowDone = journal.filter { $0.progress?.event == .windowDone }.count
            #expect(windowDone == plan.windows.count, "one windowDone per window in the journal")
            #expect(report.windows.allSatisfy { $0.applied && $0.seconds != nil })
            #expect(report.rto.wallSeconds.map { $0 > report.rto.stoppedSeconds } == true)
        }
    }

    @Test(
        "the HTML in a real headless browser (Debian's chromium): the DOM has the figures, the window rows and both charts; a screenshot is taken"
    )
    func inBrowser() async throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "chromium is not installed (make test installs it: apt-get install chromium)"
        )
        let plan = ApplyStateMachineTests.Scenario.generate(seed: 5).plan
        var journal: [RunJournal.Entry] = [RunJournal.Entry(kind: .runStarted, run: "r", at: 0)]
        for (offset, window) in plan.windows.enumerated() {
            let base = Int64(offset) * 10_000
            var started = RunJournal.Entry(kind: .progress, run: "r", at: base)
            started.progress = Self.progress(.windowStarted, window: window.index + 1, of: plan.windows.count, items: 0)
            journal.append(started)
            for second in 1...5 {
                var tick = RunJournal.Entry(kind: .progress, run: "r", at: base + Int64(second) * 1000)
                tick.progress = Self.progress(
                    .tick,
                    window: window.index + 1,
                    of: plan.windows.count,
                    items: Int64(offset * 500 + second * 100)
                )
                journal.append(tick)
            }
            var done = RunJournal.Entry(kind: .progress, run: "r", at: base + 6000)
            done.progress = Self.progress(.windowDone, window: window.index + 1, of: plan.windows.count, items: 0)
            journal.append(done)
        }
        var checkpoint = Checkpoint(planId: plan.planId)
        checkpoint.windowsDone = plan.windows.count
        checkpoint.appliedThrough = plan.windows.last!.to
        let asOf = ExportTime(plan.windows.last!.to)!.epochMilliseconds + 42_000
        let report = RunReport.build(plan: plan, checkpoint: checkpoint, journal: journal, asOf: asOf, now: asOf)
        try await withTemporaryDirectory { directory in
            let page = directory + "/report.html"
            try Data(RunReportHTML.render(report).utf8).write(to: URL(fileURLWithPath: page))
            func browse(_ arguments: [String]) throws -> Data {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: chromium)
                process.arguments =
                    ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1100,1400"]
                    + arguments + ["file://" + page]
                let out = Pipe()
                process.standardOutput = out
                process.standardError = FileHandle.nullDevice
                try process.run()
                let data = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return data
            }
            let dom = String(decoding: try browse(["--dump-dom"]), as: UTF8.self)
            #expect(dom.contains("id=\"rto\"") && dom.contains(RunReportHTML.duration(report.rto.wallSeconds!)))
            #expect(dom.contains("id=\"rpo\"") && dom.contains("42 s"))
            #expect(dom.components(separatedBy: "<tr class=\"window\">").count - 1 == plan.windows.count)
            #expect(dom.contains("<svg id=\"items-chart\"") && dom.contains("<svg id=\"capacity-chart\""))
            #expect(dom.components(separatedBy: "<polyline").count - 1 == 3, "items/s, WCU/s and the budget drawn")
            _ = try browse(["--screenshot=" + directory + "/report.png"])
            let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "a screenshot of the page")
        }
    }
}
