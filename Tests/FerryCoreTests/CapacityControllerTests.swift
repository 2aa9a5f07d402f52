import Testing

@testable import FerryCore

@Suite("CapacityController: the budget holds in every window and is nearly all used")
struct CapacityControllerTests {
    /// Sends batches of `batch` units as fast as the controller allows for `seconds`, with DynamoDB reporting
    /// `consumed(resource)` units per batch. Returns what each resource consumed, by send time.
    static func run(
        _ controller: inout CapacityController,
        batch: Double,
        seconds: Double,
        start: Double = 0,
        consumed: (String) -> Double,
        throttleAt: Set<Int> = []
    ) -> [String: [(time: Double, units: Double)]] {
        var t = start
        var sent = 0
        var log: [String: [(Double, Double)]] = [:]
        while true {
            t = controller.earliestSend(units: batch, now: t)
            guard t < start + seconds else { break }
            sent += 1
            if throttleAt.contains(sent) {
                controller.throttled(now: t)
                continue
            }
            let spend = controller.spend(units: batch, now: t)
            var actual: [String: Double] = [:]
            for resource in ["table", "gsi"] { actual[resource] = consumed(resource) }
            controller.consumed(actual, for: spend, now: t)
            for (resource, units) in actual { log[resource, default: []].append((t, units)) }
        }
        return log
    }

    /// The most units spent in any window of `length` seconds.
    static func worstWindow(_ log: [(time: Double, units: Double)], length: Double) -> Double {
        log.map { start in
            log.filter { $0.time >= start.time && $0.time < start.time + length }.reduce(0) { $0 + $1.units }
        }.max() ?? 0
    }

    @Test(
        "provisioned 1,000 WCU at 50 %: no 1 s or 5 s window over 500/s, and ≥ 95 % of the budget used",
        arguments: [50.0, 90.0]
    )
    func holdsAndUses(_ percent: Double) {
        var controller = CapacityController(
            percent: percent,
            limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 1000)]
        )
        let log = Self.run(&controller, batch: 25, seconds: 30, consumed: { _ in 25 })["table"]!
        let budget = 1000 * percent / 100
        #expect(Self.worstWindow(log, length: 1) <= budget + 1e-9)
        #expect(Self.worstWindow(log, length: 5) <= 5 * budget + 1e-9)
        let steady = log.filter { $0.time >= 5 && $0.time < 25 }.reduce(0) { $0 + $1.units }
        #expect(steady >= 0.95 * 20 * budget, "used \(steady) of \(20 * budget)")
    }

    @Test("a GSI with less capacity than the table is the limit")
    func tightestGSI() {
        var controller = CapacityController(
            percent: 50,
            limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 200)]
        )
        let log = Self.run(&controller, batch: 10, seconds: 20, consumed: { _ in 10 })
        #expect(Self.worstWindow(log["gsi"]!, length: 1) <= 100 + 1e-9)
        #expect(Self.worstWindow(log["table"]!, length: 1) <= 100 + 1e-9, "the table is held to the GSI's pace")
        let steady = log["gsi"]!.filter { $0.time >= 5 && $0.time < 15 }.reduce(0) { $0 + $1.units }
        #expect(steady >= 0.95 * 10 * 100)
    }

    @Test("a GSI that only half the items reach: the controller learns it and lets the table use its own budget")
    func learnedRatio() {
        var controller = CapacityController(
            percent: 50,
            limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 300)]
        )
        let log = Self.run(&controller, batch: 10, seconds: 30, consumed: { $0 == "gsi" ? 5 : 10 })
        #expect(Self.worstWindow(log["gsi"]!, length: 1) <= 150 + 1e-9)
        let tableSteady = log["table"]!.filter { $0.time >= 10 && $0.time < 20 }.reduce(0) { $0 + $1.units } / 10
        #expect(tableSteady >= 0.95 * 300, "the GSI allows 150/s ÷ 0.5 = 300 table units/s; got \(tableSteady)")
    }

    @Test("throttling halves the rate; it recovers by 5 % a second")
    func aimd() {
        var controller = CapacityController(percent: 100, limits: [.init(resource: "table", capacity: 100)])
        controller.throttled(now: 0)
        #expect(controller.factor == 0.5 && controller.budget("table") == 50)
        controller.throttled(now: 0.1)
        #expect(controller.factor == 0.25)
        _ = controller.earliestSend(units: 1, now: 5.1)
        #expect(abs(controller.factor - 0.5) < 1e-9)
        _ = controller.earliestSend(units: 1, now: 100)
        #expect(controller.factor == 1)
        for _ in 0..<10 { controller.throttled(now: 100) }
        #expect(controller.factor == 0.05, "never below 5 %")
    }

    @Test("on-demand: starts from the warm throughput and ramps 10 % per minute of traffic taken, up to the ceiling")
    func onDemandRamp() {
        var controller = CapacityController(
            percent: 50,
            limits: [.init(resource: "table", capacity: 40_000)],
            mode: .onDemand(warm: 4000)
        )
        #expect(controller.budget("table") == 2000)
        let log = Self.run(&controller, batch: 25, seconds: 60, consumed: { _ in 25 })["table"]!
        // A minute at the budget; the ramp's first step lands during the last second (its 10 %: 200 units more).
        #expect((120_000...120_200).contains(log.reduce(0) { $0 + $1.units }))
        _ = controller.earliestSend(units: 1, now: 60)
        #expect(abs(controller.budget("table") - 2200) < 1e-6)
        _ = Self.run(&controller, batch: 1000, seconds: 3600, start: 60, consumed: { _ in 1000 })
        #expect(controller.budget("table") == 20_000, "capped at 50 % of the 40,000 ceiling")
    }

    @Test("on-demand: an idle wait (apply --follow between exports) does not raise the ramp")
    func onDemandRampIgnoresIdleTime() {
        var controller = CapacityController(
            percent: 50,
            limits: [.init(resource: "table", capacity: 40_000)],
            mode: .onDemand(warm: 4000)
        )
        _ = Self.run(&controller, batch: 25, seconds: 30, consumed: { _ in 25 })
        _ = controller.earliestSend(units: 25, now: 3600)
        #expect(controller.budget("table") == 2000, "an hour idle after 30 s of traffic: still the warm rate")
        _ = Self.run(&controller, batch: 25, seconds: 30, start: 3600, consumed: { _ in 25 })
        _ = controller.earliestSend(units: 25, now: 3630)
        #expect(abs(controller.budget("table") - 2200) < 1e-6, "a minute's worth of traffic in all")
    }

    /// The most units spent in any window of `length` seconds, over windows starting at every whole second.
    static func worstWindow(_ log: [(time: Double, units: Double)], length: Double, over seconds: Double) -> Double {
        stride(from: 0.0, to: seconds, by: 0.5).map { start in
            log.filter { $0.time >= start && $0.time < start + length }.reduce(0) { $0 + $1.units }
        }.max() ?? 0
    }

    @Test(
        "an item bigger than a second's budget carries its debt: 100-unit items at 10 units/s go one per 10 s",
        arguments: [1.0, 5.0, 10.0, 30.0, 60.0]
    )
    func oversizedItemRepaysItsDebt(_ window: Double) {
        var controller = CapacityController(percent: 100, limits: [.init(resource: "table", capacity: 10)])
        let log = Self.run(&controller, batch: 100, seconds: 120, consumed: { _ in 100 })["table"]!
        #expect(log.map(\.time) == stride(from: 0.0, to: 120, by: 10).map { $0 })
        // Over any window: at most the budget × the window, plus one item's overshoot (100 − 10).
        #expect(Self.worstWindow(log, length: window, over: 120) <= 10 * window + 90 + 1e-9)
        #expect(Self.worstWindow(log, length: 60, over: 120) <= 600 + 1e-9, "every minute holds on average")
    }

    @Test("after an oversized item, small batches wait until its debt is repaid, then use the budget again")
    func smallBatchesWaitForTheDebt() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 100)])
        let big = controller.spend(units: 200, now: 0)
        controller.consumed(["table": 200], for: big, now: 0.01)
        #expect(controller.earliestSend(units: 5, now: 0.02) == 4, "200 units at 50 units/s: 4 s of debt")
        let log = Self.run(&controller, batch: 5, seconds: 6, start: 4, consumed: { _ in 5 })["table"]!
        #expect(log.reduce(0) { $0 + $1.units } == 300, "then 50 units/s for 6 s")
    }

    @Test("an under-estimate DynamoDB reports after the batch stopped counting is still repaid")
    func lateCorrectionCarriesDebt() {
        var controller = CapacityController(percent: 100, limits: [.init(resource: "table", capacity: 10)])
        let spend = controller.spend(units: 5, now: 0)
        // The response comes 1.5 s later: the batch really cost 100 units (a 100 KB item estimated at 5).
        controller.consumed(["table": 100], for: spend, now: 1.5)
        #expect(controller.earliestSend(units: 5, now: 1.5) == 10)
    }

    @Test("corrections with several batches in flight: each response corrects its own batch exactly")
    func correctionsInFlight() {
        var controller = CapacityController(
            percent: 100,
            limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 1000)]
        )
        // Four batches of 10 table units are in flight before any response; the GSI gets 2 units of each.
        let spends = (0..<4).map { controller.spend(units: 10, now: 0.1 * Double($0)) }
        for spend in spends.reversed() { controller.consumed(["table": 10, "gsi": 2], for: spend, now: 0.5) }
        #expect(abs(controller.spent("gsi", now: 0.5) - 8) < 1e-9, "4 × 2 units, whatever the ratio learned meanwhile")
        #expect(abs(controller.spent("table", now: 0.5) - 40) < 1e-9)
        // A response without ConsumedCapacity keeps the estimate.
        let unreported = controller.spend(units: 10, now: 0.6)
        controller.consumed([:], for: unreported, now: 0.7)
        #expect(abs(controller.spent("table", now: 0.7) - 50) < 1e-9)
    }

    @Test("auto-scaling: new capacity figures take effect")
    func autoScaling() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 100)])
        controller.update(limits: [.init(resource: "table", capacity: 400)])
        #expect(controller.budget("table") == 200)
    }
}
