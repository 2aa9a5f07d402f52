import ExportReader
import Foundation
import Testing

@testable import FerryCore

@Suite("apply's progress and summary are rendered in one place, from the event and the time given")
struct ProgressRendererTests {
    static func event(_ kind: ApplyProgress.Event, window: Int = 2) -> ApplyProgress {
        ApplyProgress(
            event: kind,
            window: window,
            windows: 5,
            exportId: "01768385930622-89025cc1",
            itemsApplied: 1200,
            itemsTotal: 5000,
            rejects: 1,
            elapsedSeconds: 10,
            itemsThisRun: 1000,
            writeUnitsPerSecond: 399.6,
            writeBudget: 400,
            throttles: 2,
            retries: 3,
            lagSeconds: kind == .caughtUp || kind == .waiting ? 90 : nil,
            waitingFor: kind == .waiting ? ["01768399999000-deadbeef"] : nil,
            pendingGap: kind == .waiting ? "gap in the export chain: …" : nil
        )
    }

    @Test("JSON lines: every event but ticks; ticks at most one per interval, counted from the first event shown")
    func ticksThrottled() throws {
        let renderer = ProgressRenderer(mode: .jsonLines, tickInterval: .seconds(10))
        let start = ContinuousClock.now
        var shown: [ApplyProgress.Event] = []
        let script: [(ApplyProgress.Event, Int)] = [
            (.windowStarted, 0), (.tick, 1), (.tick, 9), (.tick, 10), (.fileDone, 11), (.tick, 15),
            (.tick, 20), (.tick, 29), (.windowDone, 29), (.tick, 31),
        ]
        for (kind, second) in script {
            guard let text = renderer.render(Self.event(kind), at: start + .seconds(second)) else { continue }
            #expect(text.hasSuffix("}\n"))
            let decoded = try JSONDecoder().decode(ApplyProgress.self, from: Data(text.utf8))
            shown.append(decoded.event)
        }
        #expect(shown == [.windowStarted, .tick, .fileDone, .tick, .windowDone, .tick])
    }

    @Test("a terminal redraws one line; a finished window, a catch-up and a wait end it")
    func terminalLine() throws {
        let renderer = ProgressRenderer(mode: .terminal)
        let now = ContinuousClock.now
        let tick = try #require(renderer.render(Self.event(.tick), at: now))
        #expect(tick.hasPrefix("\r\u{1B}[Kwindow 2/5") && !tick.hasSuffix("\n"))
        #expect(
            tick.contains("1200/5000 items") && tick.contains("400/400 WCU/s") && tick.contains("1 rejects"),
            "\(tick)"
        )
        for kind in [ApplyProgress.Event.windowDone, .caughtUp, .waiting] {
            #expect(try #require(renderer.render(Self.event(kind), at: now)).hasSuffix("\n"), "\(kind)")
        }
        #expect(
            try #require(renderer.render(Self.event(.waiting), at: now)).contains(
                "01768399999000-deadbeef still in progress"
            )
        )
    }

    @Test("the final summary: windows, items, rejects, time, and how far the target is behind now")
    func summary() throws {
        let plan = Plan(
            source: .init(location: "exports"),
            target: .init(table: "orders-copy"),
            throttle: .init(writePercent: 50, readPercent: 50),
            sourceTable: .init(tableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders", tableId: "id"),
            until: nil,
            windows: [],
            totals: .init(
                windows: 0,
                items: 0,
                files: 0,
                compressedBytes: 0,
                start: "2026-01-14T10:00:00.000Z",
                end: "2026-01-14T11:00:00.000Z"
            )
        )
        let report = ApplyEngine.Report(
            windowsApplied: 1,
            itemsApplied: 4200,
            rejects: 2,
            throttles: 3,
            unprocessedRetries: 4,
            appliedThrough: "2026-01-14T10:45:00.000Z"
        )
        let now = ExportTime("2026-01-14T12:45:00.000Z")!.epochMilliseconds
        let lines = ProgressRenderer.summary(report, plan: plan, elapsed: .milliseconds(12_345), nowMilliseconds: now)
        #expect(
            lines == [
                "applied 1 window to orders-copy: 4200 items in total, 2 rejects, 3 throttles, 4 unprocessed retries, 12.3 sec",
                "the target is at 2026-01-14T10:45:00.000Z, \(PlanSummary.durationText(7200)) before now",
            ]
        )
    }
}
