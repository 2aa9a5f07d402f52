import ExportGenerator
import ExportReader
import FerryCore
import Testing

/// Issue 14 (groundwork): the decisions of `ferry export`, from the service's and the bucket's state only.
@Suite(
    "export chain scheduling: FULL first, contiguous windows issued once due, caught up back to back, PITR gaps and failures stop"
)
struct ExportSchedulerTests {
    static let t0 = ExportTime("2026-12-01T10:00:00.000Z")!
    static let minute: Int64 = 60_000

    static func at(_ minutes: Int64) -> ExportTime {
        ExportTime(epochMilliseconds: t0.epochMilliseconds + minutes * minute)
    }

    static func state(
        latest: Int64?,
        earliest: Int64? = -60,
        completed: [ExportScheduler.Completed] = [],
        running: [ExportScheduler.Running] = []
    ) -> ExportScheduler.State {
        ExportScheduler.State(
            tableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/orders",
            destination: "s3://bucket/exports",
            completed: completed,
            running: running,
            earliest: earliest.map(at),
            latest: latest.map(at)
        )
    }

    static let full = ExportScheduler.Completed(exportArn: "arn:…/export/full", kind: .full, from: nil, to: at(0))

    @Test(
        "no FULL export: one is started at the latest window-grid time restorable; while it runs, the scheduler waits; PITR off says so"
    )
    func fullFirst() {
        guard case let .startFull(time, token) = ExportScheduler.next(Self.state(latest: 5)) else {
            Issue.record("no FULL started")
            return
        }
        // On the window grid: the latest quarter hour in the PITR window (t0 + 5 min → t0), the same for every run
        // in that quarter hour; the latest restorable time itself when the grid point is before the window.
        #expect(time == Self.at(0) && token.count == 32)
        guard case .startFull(let inside, _) = ExportScheduler.next(Self.state(latest: 5, earliest: 2)) else {
            Issue.record("no FULL started")
            return
        }
        #expect(inside == Self.at(5))
        let running = ExportScheduler.Running(
            exportArn: "arn:…/export/f",
            kind: .full,
            from: nil,
            to: nil,
            status: .inProgress
        )
        #expect(ExportScheduler.next(Self.state(latest: 40, running: [running])) == .wait(for: ["arn:…/export/f"]))
        #expect(ExportScheduler.next(Self.state(latest: nil)) == .pitrDisabled)
    }

    @Test(
        "windows [T0, T0+15m), [T0+15m, T0+30m) … are requested only once their end is restorable, then it waits or is caught up"
    )
    func windowsWhenDue() {
        var state = Self.state(latest: 50, completed: [Self.full])
        var requested: [(ExportTime, ExportTime)] = []
        while case let .requestIncremental(from, to, _) = ExportScheduler.next(state) {
            requested.append((from, to))
            state.running.append(
                .init(
                    exportArn: "arn:…/export/\(requested.count)",
                    kind: .incremental,
                    from: from,
                    to: to,
                    status: .inProgress
                )
            )
        }
        #expect(requested.map { $0.0 } == [Self.at(0), Self.at(15), Self.at(30)])
        #expect(requested.map { $0.1 } == [Self.at(15), Self.at(30), Self.at(45)])
        #expect(ExportScheduler.next(state) == .wait(for: ["arn:…/export/1", "arn:…/export/2", "arn:…/export/3"]))
        // They complete: nothing is due until the PITR window reaches T0+60m.
        state.completed += state.running.map {
            .init(exportArn: $0.exportArn, kind: .incremental, from: $0.from, to: $0.to!)
        }
        state.running = []
        #expect(ExportScheduler.next(state) == .caughtUp(chainEnd: Self.at(45), nextDue: Self.at(60)))
        state.latest = Self.at(60)
        guard case let .requestIncremental(from, to, _) = ExportScheduler.next(state) else {
            Issue.record("the due window was not requested")
            return
        }
        #expect(from == Self.at(45) && to == Self.at(60))
    }

    @Test(
        "a request issued again after a crash carries the same ClientToken; another window, table or destination another"
    )
    func deterministicTokens() {
        let state = Self.state(latest: 20, completed: [Self.full])
        guard case let .requestIncremental(_, _, token) = ExportScheduler.next(state) else {
            Issue.record("nothing requested")
            return
        }
        #expect(ExportScheduler.clientToken(state, kind: .incremental, from: Self.at(0), to: Self.at(15)) == token)
        #expect(ExportScheduler.clientToken(state, kind: .incremental, from: Self.at(15), to: Self.at(30)) != token)
        var other = state
        other.destination = "s3://other/exports"
        #expect(ExportScheduler.clientToken(other, kind: .incremental, from: Self.at(0), to: Self.at(15)) != token)
        other = state
        other.tableArn = "arn:aws:dynamodb:us-east-1:123456789012:table/orders2"
        #expect(ExportScheduler.clientToken(other, kind: .incremental, from: Self.at(0), to: Self.at(15)) != token)
    }

    @Test(
        "a chain that ends before the PITR window starts needs a new FULL export; a failed export stops with its code"
    )
    func gapsAndFailures() {
        #expect(
            ExportScheduler.next(Self.state(latest: 600, earliest: 30, completed: [Self.full]))
                == .pitrGap(chainEnd: Self.at(0), earliest: Self.at(30))
        )
        let failed = ExportScheduler.Running(
            exportArn: "arn:…/export/x",
            kind: .incremental,
            from: Self.at(0),
            to: Self.at(15),
            status: .failed(code: "S3AccessDenied", message: "Access Denied")
        )
        #expect(
            ExportScheduler.next(Self.state(latest: 600, completed: [Self.full], running: [failed]))
                == .failed(exportArn: "arn:…/export/x", code: "S3AccessDenied", message: "Access Denied")
        )
        // Once the window was exported after all (a retry), the failure is history: the chain goes on.
        let retried = ExportScheduler.Completed(
            exportArn: "arn:…/export/y",
            kind: .incremental,
            from: Self.at(0),
            to: Self.at(15)
        )
        guard
            case let .requestIncremental(from, to, _) = ExportScheduler.next(
                Self.state(latest: 600, completed: [Self.full, retried], running: [failed])
            )
        else {
            Issue.record("expected the next window")
            return
        }
        #expect(from == Self.at(15) && to == Self.at(30))
        // A failed FULL export stops only while there is no FULL export.
        var failedFull = failed
        failedFull.kind = .full
        failedFull.from = nil
        #expect(
            ExportScheduler.next(Self.state(latest: 600, running: [failedFull]))
                == .failed(exportArn: "arn:…/export/x", code: "S3AccessDenied", message: "Access Denied")
        )
        #expect(ExportScheduler.next(Self.state(latest: nil, running: [failedFull])) != .pitrDisabled)
    }

    @Test("--retry-failed: the window's next request has a new token, the same for every re-issue of that attempt")
    func retryTokens() {
        var state = Self.state(latest: 600, completed: [Self.full])
        guard case let .requestIncremental(_, _, first) = ExportScheduler.next(state) else {
            Issue.record("expected a request")
            return
        }
        state.attempts[Self.at(0).epochMilliseconds] = 1
        guard case let .requestIncremental(from, _, second) = ExportScheduler.next(state),
            case let .requestIncremental(_, _, again) = ExportScheduler.next(state)
        else {
            Issue.record("expected a request")
            return
        }
        #expect(from == Self.at(0) && first != second && second == again)
        #expect(
            second
                == ExportScheduler.clientToken(state, kind: .incremental, from: Self.at(0), to: Self.at(15), attempt: 1)
        )
    }

    @Test("a completed export beyond a gap does not move the chain: the missing window is what is requested")
    func gapInBucketIsFilled() {
        let beyond = ExportScheduler.Completed(
            exportArn: "arn:…/export/b",
            kind: .incremental,
            from: Self.at(30),
            to: Self.at(45)
        )
        guard
            case let .requestIncremental(from, to, _) = ExportScheduler.next(
                Self.state(latest: 50, completed: [Self.full, beyond])
            )
        else {
            Issue.record("nothing requested")
            return
        }
        #expect(from == Self.at(0) && to == Self.at(15))
    }

    @Test(
        "generated: exports complete in any order and the driver crashes at random; the windows requested are contiguous, each once, never before due",
        arguments: 0..<50
    )
    func generated(seed: Int) {
        var random = SplitMix64(seed: UInt64(seed) + 1)
        var state = Self.state(latest: 3, completed: [])
        state.maxInFlight = Int(random.next() % 4) + 1
        var serviceExports: [String: ExportScheduler.Running] = [:]  // by client token: the service's idempotency
        var order: [String] = []
        for _ in 0..<400 {
            let step = ExportScheduler.next(state)
            switch step {
            case let .startFull(time, token):
                #expect(time <= state.latest!)
                if serviceExports[token] == nil {
                    serviceExports[token] = .init(
                        exportArn: "full-\(token)",
                        kind: .full,
                        from: nil,
                        to: time,
                        status: .inProgress
                    )
                    order.append(token)
                }
            case let .requestIncremental(from, to, token):
                #expect(to <= state.latest!, "never before its end is restorable")
                #expect(to.epochMilliseconds - from.epochMilliseconds == state.windowMilliseconds)
                if serviceExports[token] == nil {
                    serviceExports[token] = .init(
                        exportArn: "inc-\(token)",
                        kind: .incremental,
                        from: from,
                        to: to,
                        status: .inProgress
                    )
                    order.append(token)
                }
            case .pitrDisabled, .pitrGap, .failed:
                Issue.record("unexpected \(step)")
                return
            case .wait, .caughtUp:
                break
            }
            // The service: time moves on, some running export completes (any of them). The driver keeps no state of
            // its own: each step reads it again from the service and the bucket, as a restart after a crash does.
            if random.next() % 3 == 0 {
                state.latest = ExportTime(
                    epochMilliseconds: state.latest!.epochMilliseconds + Int64(random.next() % 20) * Self.minute
                )
            }
            state.running = serviceExports.values.filter { running in
                !state.completed.contains { $0.exportArn.utf8.elementsEqual(running.exportArn.utf8) }
            }
            .sorted { $0.exportArn.utf8.lexicographicallyPrecedes($1.exportArn.utf8) }
            if !state.running.isEmpty && random.next() % 2 == 0 {
                let done = state.running.remove(at: Int(random.next() % UInt64(state.running.count)))
                state.completed.append(.init(exportArn: done.exportArn, kind: done.kind, from: done.from, to: done.to!))
            }
        }
        // Every window requested, in the order of their start, tiles the time after the FULL export exactly once.
        let windows = serviceExports.values.filter { $0.kind == .incremental }.sorted { $0.from! < $1.from! }
        let fulls = serviceExports.values.filter { $0.kind == .full }
        #expect(fulls.count == 1, "one FULL export")
        var end = fulls.first!.to!
        for window in windows {
            #expect(window.from == end, "contiguous, no overlap, no gap")
            end = window.to!
        }
        #expect(windows.count > 3, "the chain moved on (\(windows.count) windows)")
    }
}
