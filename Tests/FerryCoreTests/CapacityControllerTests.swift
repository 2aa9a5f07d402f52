@testable import FerryCore
import Testing

@Suite("CapacityController: the budget holds in every window and is nearly all used")
struct CapacityControllerTests {
    /// Sends batches of `batch` units as fast as the controller allows for `seconds`, with DynamoDB reporting
    /// `consumed(resource)` units per batch. Returns what each resource consumed, by send time.
    static func run(_ controller: inout CapacityController, batch: Double, seconds: Double, start: Double = 0,
                    consumed: (String) -> Double, throttleAt: Set<Int> = []) -> [String: [(time: Double, units: Double)]] {
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
            controller.spend(units: batch, now: t)
            var actual: [String: Double] = [:]
            for resource in ["table", "gsi"] { actual[resource] = consumed(resource) }
            controller.consumed(actual, estimated: batch, sentAt: t, now: t)
            for (resource, units) in actual { log[resource, default: []].append((t, units)) }
        }
        return log
    }

    /// The most units spent in any window of `length` seconds.
    static func worstWindow(_ log: [(time: Double, units: Double)], length: Double) -> Double {
        log.map { start in log.filter { $0.time >= start.time && $0.time < start.time + length }.reduce(0) { $0 + $1.units } }.max() ?? 0
    }

    @Test("provisioned 1,000 WCU at 50 %: no 1 s or 5 s window over 500/s, and ≥ 95 % of the budget used", arguments: [50.0, 90.0])
    func holdsAndUses(_ percent: Double) {
        var controller = CapacityController(percent: percent, limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 1000)])
        let log = Self.run(&controller, batch: 25, seconds: 30, consumed: { _ in 25 })["table"]!
        let budget = 1000 * percent / 100
        #expect(Self.worstWindow(log, length: 1) <= budget + 1e-9)
        #expect(Self.worstWindow(log, length: 5) <= 5 * budget + 1e-9)
        let steady = log.filter { $0.time >= 5 && $0.time < 25 }.reduce(0) { $0 + $1.units }
        #expect(steady >= 0.95 * 20 * budget, "used \(steady) of \(20 * budget)")
    }

    @Test("a GSI with less capacity than the table is the limit")
    func tightestGSI() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 200)])
        let log = Self.run(&controller, batch: 10, seconds: 20, consumed: { _ in 10 })
        #expect(Self.worstWindow(log["gsi"]!, length: 1) <= 100 + 1e-9)
        #expect(Self.worstWindow(log["table"]!, length: 1) <= 100 + 1e-9, "the table is held to the GSI's pace")
        let steady = log["gsi"]!.filter { $0.time >= 5 && $0.time < 15 }.reduce(0) { $0 + $1.units }
        #expect(steady >= 0.95 * 10 * 100)
    }

    @Test("a GSI that only half the items reach: the controller learns it and lets the table use its own budget")
    func learnedRatio() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 1000), .init(resource: "gsi", capacity: 300)])
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

    @Test("on-demand: starts from the warm throughput and ramps 10 % a minute up to the ceiling")
    func onDemandRamp() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 40_000)], mode: .onDemand(warm: 4000))
        #expect(controller.budget("table") == 2000)
        _ = controller.earliestSend(units: 1, now: 60)
        #expect(abs(controller.budget("table") - 2200) < 1e-6)
        _ = controller.earliestSend(units: 1, now: 60 * 60)
        #expect(controller.budget("table") == 20_000, "capped at 50 % of the 40,000 ceiling")
    }

    @Test("auto-scaling: new capacity figures take effect")
    func autoScaling() {
        var controller = CapacityController(percent: 50, limits: [.init(resource: "table", capacity: 100)])
        controller.update(limits: [.init(resource: "table", capacity: 400)])
        #expect(controller.budget("table") == 200)
    }
}
