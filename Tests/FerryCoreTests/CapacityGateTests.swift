import FerryTestSupport
import Testing

@testable import FerryCore

@Suite("CapacityGate: writers wait on the clock they are given, and each response corrects its own batch")
struct CapacityGateTests {
    @Test("100-unit items at 10 units/s: each waits out the last one's debt (10 s), not one second")
    func oversizedItemsWaitForTheirDebt() async throws {
        let clock = ImmediateClock()
        let gate = CapacityGate(
            CapacityController(percent: 100, limits: [.init(resource: "table", capacity: 10)]),
            clock: clock
        )
        var sent: [Double] = []
        for _ in 0..<4 {
            let spend = try await gate.acquire(units: 100)
            sent.append(spend.sentAt)
            clock.advance(by: .milliseconds(20))  // the response
            await gate.consumed(["table": 100], for: spend)
        }
        #expect(sent.map { ($0 * 1000).rounded() / 1000 } == [0, 10, 20, 30])
        #expect(clock.sleeps.allSatisfy { $0 > .seconds(9) }, "\(clock.sleeps)")
    }

    @Test("eight batches in flight at once, answered in any order: the trailing second holds what DynamoDB reported")
    func concurrentCorrections() async throws {
        let clock = ImmediateClock()
        let gate = CapacityGate(
            CapacityController(percent: 100, limits: [.init(resource: "table", capacity: 1000)]),
            clock: clock
        )
        let spends = try await withThrowingTaskGroup(of: CapacityController.Spend.self) { group in
            for _ in 0..<8 { group.addTask { try await gate.acquire(units: 25) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        clock.advance(by: .milliseconds(50))
        // Each batch really cost 20 (smaller items than estimated); the responses come back in reverse order.
        for spend in spends.sorted(by: { $0.sentAt > $1.sentAt }) { await gate.consumed(["table": 20], for: spend) }
        #expect(abs(await gate.recentUnits - 160) < 1e-9)
        #expect(clock.sleeps.isEmpty, "200 units fit the budget at once")
    }
}
