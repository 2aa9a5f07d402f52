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
                RunReport.Sample(
                    at: 12_000,
                    itemsPerSecond: 100,
                    writeUnitsPerSecond: 400,
                    writeBudget: 500,
                    throttlesPerSecond: 2
                )
            ]
        )
        #expect(report.totals.throttles == 3, "2 in run a (its last figure) + 1 in run b")
        #expect(report.totals.itemsApplied == 321)

        let html = RunReportHTML.render(report)
        #expect(html.contains("id=\"rto\"") && html.contains(RunReportHTML.duration(report.rto.wallSeconds!)))
        #expect(html.contains("id=\"rpo\"") && html.contains("1 min 30 s"))
        #expect(html.components(separatedBy: "<tr class=\"window\">").count - 1 == count)
        #expect(html.contains("<svg id=\"items-chart\"") && html.contains("<svg id=\"capacity-chart\""))
        #expect(html.contains("<svg id=\"throttles-chart\""))
        #expect(!html.contains("<script") && !html.contains("http://") && !html.contains("https://"))
        let decoded = try JSONDecoder().decode(RunReport.self, from: report.json)
        #expect(decoded == report)

        // No FULL export request in the journal: no figure from it.
        #expect(report.rto.fullExportRequestedAt == nil && !html.contains("from-full-export"))
        // migrate's first step requested the plan's FULL export at 2 s, before the first write at 10 s (an export
        // request for another window, earlier still, does not count).
        func requested(_ at: Int64, _ arn: String) throws -> RunJournal.Entry {
            var entry = RunJournal.Entry(kind: .export, run: "e", at: at)
            let to = try #require(ExportTime(plan.windows[0].to))
            entry.export = ExportJournalEvent(
                .requested(kind: .full, from: nil, to: to, exportArn: arn, status: "IN_PROGRESS")
            )
            return entry
        }
        var exportStart = RunJournal.Entry(kind: .runStarted, run: "e", at: 500)
        exportStart.command = "export"
        let withExport =
            [exportStart, try requested(1_000, "arn:other"), try requested(2_000, plan.windows[0].exportArn)] + journal
        let fromFull = RunReport.build(plan: plan, checkpoint: checkpoint, journal: withExport, asOf: asOf, now: asOf)
        #expect(fromFull.rto.fullExportRequestedAt == 2_000)
        #expect(fromFull.rto.wallSecondsFromFullExport == Double((count == 1 ? 15_000 : at) - 2_000) / 1000)
        #expect(fromFull.rto.wallSeconds == report.rto.wallSeconds, "the RTO itself still starts at the first write")
        let fullHTML = RunReportHTML.render(fromFull)
        #expect(fullHTML.contains("id=\"from-full-export\"") && fullHTML.contains("8.0 s before the first write"))
    }

    @Test("the lag over the run, each file's last timings and the throttles by reason, from the run record")
    func seriesFromJournal() throws {
        let plan = ApplyStateMachineTests.Scenario.generate(seed: 3).plan
        let count = plan.windows.count
        let end0 = ExportTime(plan.windows[0].to)!.epochMilliseconds
        func progress(_ event: ApplyProgress.Event, _ run: String, _ at: Int64) -> RunJournal.Entry {
            var entry = RunJournal.Entry(kind: .progress, run: run, at: at)
            entry.progress = Self.progress(event, window: 1, of: count, items: 0)
            return entry
        }
        func fileDone(_ run: String, _ at: Int64, _ file: String, seconds: Double) -> RunJournal.Entry {
            var entry = progress(.fileDone, run, at)
            entry.progress!.file = file
            entry.progress!.fileFigures = .init(
                puts: 7,
                deletes: 1,
                rejects: 0,
                writeUnits: 8,
                seconds: seconds,
                verifySeconds: seconds / 4
            )
            return entry
        }
        // Run a: a tick before any window is done (no lag yet), file f1 done, a throttle, killed.
        var tick = progress(.tick, "a", end0 + 1_000)
        tick.progress!.throttleReasons = ["TableWriteProvisionedThroughputExceeded (table t)": 2]
        var journal = [progress(.tick, "a", end0 - 5_000), fileDone("a", end0, "x/data/f1.json.gz", seconds: 3), tick]
        // Run b: f1 again (after the crash) and f2; the window done at end0 + 20 s; then ticks, one throttled
        // by an index, and a caught-up snapshot with its own lag.
        journal.append(fileDone("b", end0 + 10_000, "x/data/f1.json.gz", seconds: 2))
        journal.append(fileDone("b", end0 + 12_000, "x/data/f2.json.gz", seconds: 9))
        var checkpoint = RunJournal.Entry(kind: .checkpoint, run: "b", at: end0 + 20_000)
        checkpoint.appliedThrough = plan.windows[0].to
        journal.append(checkpoint)
        var later = progress(.tick, "b", end0 + 50_000)
        later.progress!.throttleReasons = [
            "TableWriteProvisionedThroughputExceeded (table t)": 1, "IndexWriteKeyRangeThroughputExceeded (index g)": 4,
        ]
        journal.append(later)
        var caughtUp = progress(.caughtUp, "b", end0 + 60_000)
        caughtUp.progress!.lagSeconds = 42
        journal.append(caughtUp)

        let asOf = end0 + 100_000
        let report = RunReport.build(plan: plan, checkpoint: nil, journal: journal, asOf: asOf, now: asOf)
        // Lag: nothing before the first window is done; then the entry's time minus its end, and the run's own figure.
        #expect(report.lag.map(\.at) == [end0 + 20_000, end0 + 50_000, end0 + 60_000])
        #expect(report.lag.map(\.lagSeconds) == [20, 50, 42])
        // A rehearsal of an earlier point (--as-of before the entries): the distance still to that point.
        let rehearsal = RunReport.build(plan: plan, checkpoint: nil, journal: journal, asOf: end0 + 30_000, now: asOf)
        #expect(rehearsal.lag.map(\.lagSeconds) == [20, 30, 30])
        // Files: f1 once, with its last (re-applied) timings, in the order last done.
        #expect(report.files.map(\.file) == ["x/data/f1.json.gz", "x/data/f2.json.gz"])
        #expect(report.files.map(\.seconds) == [2, 9] && report.files[1].verifySeconds == 2.25)
        // Throttles by reason: each run's last figures, summed, most frequent first.
        #expect(
            report.throttleReasons == [
                .init(reason: "IndexWriteKeyRangeThroughputExceeded (index g)", count: 4),
                .init(reason: "TableWriteProvisionedThroughputExceeded (table t)", count: 3),
            ]
        )
        let html = RunReportHTML.render(report)
        let lagChart = try #require(html.range(of: "<svg id=\"lag-chart\"")).upperBound
        #expect(html[lagChart...].prefix(2000).contains("<polyline"), "the lag is drawn")
        #expect(html.components(separatedBy: "<tr class=\"throttle\">").count - 1 == 2)
        #expect(html.contains("IndexWriteKeyRangeThroughputExceeded (index g)</td><td>4</td>"))
        // The slowest file first, by its name.
        let rows = html.components(separatedBy: "<tr class=\"file\">").dropFirst()
        #expect(rows.count == 2 && rows.first!.contains("f2.json.gz") && rows.first!.contains("9.0 s"))
        #expect(try Self.schemaErrors(report.json) == nil)
    }

    /// A diff run in the journal: start, verdict (nil: it failed before one), end.
    static func diffRun(
        _ id: String,
        at: Int64,
        plan: Plan,
        through: String,
        windows: Int,
        differences: Int64 = 0,
        seconds: Double = 4
    ) -> [RunJournal.Entry] {
        var start = RunJournal.Entry(kind: .runStarted, run: id, at: at)
        start.command = "diff"
        start.planId = plan.planId
        var counts = DiffReport.Counts()
        counts.unchanged = 100
        counts.wouldPut = differences
        let report = DiffReport(
            planId: plan.planId,
            table: plan.target.table,
            position: "end of plan",
            expectedThrough: through,
            windowsCompared: windows,
            partialWindowFiles: 0,
            counts: counts,
            examples: [],
            scan: DiffReport.ScanStats(
                segments: 1,
                itemsScanned: 100,
                readUnitsConsumed: 10,
                readBudgetPerSecond: 5,
                throttles: 0,
                seconds: seconds
            ),
            buckets: 1,
            seconds: seconds
        )
        var verdict = RunJournal.Entry(kind: .verified, run: id, at: at + Int64(seconds * 1000))
        verdict.diff = RunJournal.Verdict(report)
        var end = RunJournal.Entry(kind: .runEnded, run: id, at: at + Int64(seconds * 1000))
        end.outcome = "completed"
        return [start, verdict, end]
    }

    @Test(
        "verification: a dry-run diff before the apply is not the proof; a matching diff after it is, and ends the RTO; more applied since makes it stale; differences, a failed diff or rejects fail it"
    )
    func verificationRules() throws {
        // A FULL window and at least two incrementals, so that "one window less" still has an incremental.
        let plan = try #require(
            (UInt64(1)...200).lazy.map { ApplyStateMachineTests.Scenario.generate(seed: $0).plan }
                .first { $0.windows.count >= 3 }
        )
        let count = plan.windows.count
        let last = plan.windows.last!.to
        // A dry run at 0 s (everything would be put), the apply from 100 s to 100 + 10 s per window.
        var journal = Self.diffRun("dry", at: 0, plan: plan, through: last, windows: count, differences: 500)
        var start = RunJournal.Entry(kind: .runStarted, run: "apply", at: 100_000)
        start.command = "apply"
        start.planId = plan.planId
        journal.append(start)
        var at: Int64 = 100_000
        for window in 1...count {
            var started = RunJournal.Entry(kind: .progress, run: "apply", at: at)
            started.progress = Self.progress(.windowStarted, window: window, of: count, items: 0)
            at += 10_000
            var done = RunJournal.Entry(kind: .progress, run: "apply", at: at)
            done.progress = Self.progress(.windowDone, window: window, of: count, items: 0)
            journal += [started, done]
        }
        var end = RunJournal.Entry(kind: .runEnded, run: "apply", at: at)
        end.outcome = "completed"
        journal.append(end)
        var checkpoint = Checkpoint(planId: plan.planId)
        checkpoint.windowsDone = count
        checkpoint.appliedThrough = last
        func report(_ journal: [RunJournal.Entry], _ checkpoint: Checkpoint, rejectsFile: String? = nil) -> RunReport {
            RunReport.build(
                plan: plan,
                checkpoint: checkpoint,
                journal: journal,
                asOf: at,
                now: at,
                rejectsFile: rejectsFile
            )
        }

        // Only the dry run so far: it differs, and the RTO starts with the apply, not with it.
        let unverified = report(journal, checkpoint)
        #expect(unverified.verification.status == .differs && !unverified.verification.passed)
        #expect(unverified.rto.firstStartAt == 100_000 && unverified.rto.caughtUpAt == at)
        #expect(unverified.rto.verifiedAt == nil && unverified.rto.wallSeconds == Double(at - 100_000) / 1000)

        // A diff 30 s after the apply's end matches: the proof, and the RTO runs to its end (4 s later).
        let verifiedJournal =
            journal + Self.diffRun("check", at: at + 30_000, plan: plan, through: last, windows: count)
        let verified = report(verifiedJournal, checkpoint)
        #expect(verified.verification.status == .matches && verified.verification.passed)
        #expect(verified.rto.verifiedAt == at + 34_000)
        #expect(verified.rto.wallSeconds == Double(at + 34_000 - 100_000) / 1000)
        #expect(verified.rto.stoppedSeconds == 30, "between the apply's end and the diff's start")
        #expect(
            verified.rto.phases.map(\.name) == [
                "waiting for exports", "FULL bootstrap", "incremental windows", "verification (diff)", "stopped",
            ]
        )
        #expect(verified.rto.phases.first { $0.name == "verification (diff)" }?.seconds == 4)
        #expect(verified.rto.phases.first { $0.name == "FULL bootstrap" }?.seconds == 10)
        #expect(verified.rto.phases.first { $0.name == "incremental windows" }?.seconds == Double(count - 1) * 10)

        // The diff compared less than is applied now (say a follow run added a window): stale, not passed.
        var further = checkpoint
        further.windowsDone = count - 1
        further.appliedThrough = plan.windows[count - 2].to
        let stale = report(verifiedJournal, further)
        #expect(stale.verification.status == .stale && !stale.verification.passed)
        #expect(stale.rto.verifiedAt == nil)

        // Rejects: matched, but not passed, and the report says where they are.
        var rejected = checkpoint
        rejected.rejects = 3
        let withRejects = report(verifiedJournal, rejected, rejectsFile: "/plans/p.rejects.jsonl")
        #expect(withRejects.verification.status == .matches && !withRejects.verification.passed)
        #expect(withRejects.verification.summary.contains("3 records were rejected (in /plans/p.rejects.jsonl)"))
        #expect(RunReportHTML.render(withRejects).contains("id=\"rejects\""))

        // A later diff that failed before its verdict: the last word is a failure.
        var failedStart = RunJournal.Entry(kind: .runStarted, run: "broken", at: at + 60_000)
        failedStart.command = "diff"
        var failedEnd = RunJournal.Entry(kind: .runEnded, run: "broken", at: at + 61_000)
        failedEnd.outcome = "failed"
        failedEnd.error = "DynamoDB Scan: AccessDeniedException"
        let failed = report(verifiedJournal + [failedStart, failedEnd], checkpoint)
        #expect(failed.verification.status == .failed && !failed.verification.passed)
        #expect(failed.verification.summary.contains("AccessDeniedException"))

        let html = RunReportHTML.render(verified)
        #expect(html.contains("id=\"verification-status\">matches<") && html.contains("id=\"diff-counts\""))
        #expect(html.components(separatedBy: "<tr class=\"phase\">").count - 1 == 5)
    }

    /// Validates `json` against the committed schema with Python's `jsonschema` (an independent validator): nil when
    /// valid, else its message.
    static func schemaErrors(_ json: Data, file: StaticString = #filePath) throws -> String? {
        let root = URL(fileURLWithPath: "\(file)").deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let schema = root.appendingPathComponent("docs/run-report.schema.json").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", "-c",
            """
            import json, sys, jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            errors = [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(json.load(sys.stdin))]
            print("; ".join(errors), end="")
            """,
            schema,
        ]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        input.fileHandleForWriting.write(json)
        try input.fileHandleForWriting.close()
        let message = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "the validator ran (pip install jsonschema; make test does)")
        return message.isEmpty ? nil : message
    }

    @Test(
        "the report's JSON validates against docs/run-report.schema.json; a report the schema does not describe is refused"
    )
    func schema() throws {
        let plan = ApplyStateMachineTests.Scenario.generate(seed: 7).plan
        var start = RunJournal.Entry(kind: .runStarted, run: "apply", at: 1_000)
        start.command = "apply"
        var tick = RunJournal.Entry(kind: .progress, run: "apply", at: 2_000)
        tick.progress = Self.progress(.tick, window: 1, of: plan.windows.count, items: 10)
        var later = RunJournal.Entry(kind: .progress, run: "apply", at: 3_000)
        later.progress = Self.progress(.tick, window: 1, of: plan.windows.count, items: 30)
        var journal = [start, tick, later]
        journal += Self.diffRun("check", at: 9_000, plan: plan, through: plan.windows.last!.to, windows: 1)
        var checkpoint = Checkpoint(planId: plan.planId)
        checkpoint.windowsDone = 1
        checkpoint.rejects = 2
        checkpoint.appliedThrough = plan.windows[0].to
        let full = RunReport.build(
            plan: plan,
            checkpoint: checkpoint,
            journal: journal,
            asOf: 20_000,
            now: 20_000,
            rejectsFile: "p.rejects.jsonl"
        )
        let empty = RunReport.build(plan: plan, checkpoint: nil, journal: [], asOf: 0, now: 0)
        #expect(full.verification.diff != nil && !full.throughput.isEmpty && full.verification.rejectsFile != nil)
        for report in [full, empty] {
            let errors = try Self.schemaErrors(report.json)
            #expect(errors == nil, "\(errors ?? "")")
        }
        // The schema can fail: an unknown status, a missing figure, a field it does not know.
        var object = try #require(try JSONSerialization.jsonObject(with: full.json) as? [String: Any])
        var verification = try #require(object["verification"] as? [String: Any])
        verification["status"] = "ok"
        object["verification"] = verification
        object.removeValue(forKey: "rpo")
        object["surprise"] = 1
        let message = try #require(try Self.schemaErrors(try JSONSerialization.data(withJSONObject: object)))
        #expect(message.contains("'ok'") && message.contains("'rpo'") && message.contains("surprise"), "\(message)")
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
        "the HTML in a real headless browser (Debian's chromium): the DOM has the figures, the window and file rows, the throttle reasons and the four charts; a screenshot is taken"
    )
    func inBrowser() async throws {
        let chromium = try #require(
            ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "chromium is not installed (make test installs it: apt-get install chromium)"
        )
        let plan = ApplyStateMachineTests.Scenario.generate(seed: 5).plan
        // The run starts a minute after the last window's end (so that its lag is real), one window every 10 s.
        let origin = ExportTime(plan.windows.last!.to)!.epochMilliseconds + 60_000
        var journal: [RunJournal.Entry] = [RunJournal.Entry(kind: .runStarted, run: "r", at: origin)]
        for (offset, window) in plan.windows.enumerated() {
            let base = origin + Int64(offset) * 10_000
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
            var file = RunJournal.Entry(kind: .progress, run: "r", at: base + 5500)
            file.progress = Self.progress(.fileDone, window: window.index + 1, of: plan.windows.count, items: 0)
            file.progress!.file = "AWSDynamoDB/\(window.exportId)/data/part-\(offset).json.gz"
            file.progress!.fileFigures = .init(
                puts: 90,
                deletes: 10,
                rejects: 0,
                writeUnits: 100,
                seconds: 5.5,
                verifySeconds: 0.5
            )
            file.progress!.throttleReasons = ["TableWriteProvisionedThroughputExceeded (table t)": offset + 1]
            journal.append(file)
            var saved = RunJournal.Entry(kind: .checkpoint, run: "r", at: base + 6000)
            saved.appliedThrough = window.to
            journal.append(saved)
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
            #expect(dom.contains("<svg id=\"lag-chart\"") && dom.contains("<svg id=\"throttles-chart\""))
            #expect(
                dom.components(separatedBy: "<polyline").count - 1 == 5,
                "items/s, WCU/s, the budget, throttles/s and the lag drawn"
            )
            #expect(dom.components(separatedBy: "<tr class=\"file\">").count - 1 == min(10, plan.windows.count))
            #expect(
                dom.contains("TableWriteProvisionedThroughputExceeded (table t)</td><td>\(plan.windows.count)</td>")
            )
            _ = try browse(["--screenshot=" + directory + "/report.png"])
            let png = try Data(contentsOf: URL(fileURLWithPath: directory + "/report.png"))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]) && png.count > 10_000, "a screenshot of the page")
        }
    }
}
