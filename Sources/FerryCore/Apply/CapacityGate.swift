import Foundation

/// The capacity controller shared by every concurrent writer: `acquire` waits until a batch fits the budget.
public actor CapacityGate {
    private var controller: CapacityController
    private let start = ContinuousClock.now

    public init(_ controller: CapacityController) { self.controller = controller }

    /// Seconds since the gate was made: the controller's clock.
    private var now: Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }

    /// Waits until `units` fit, records them as spent and returns the send time (to report consumption against).
    public func acquire(units: Double) async throws -> Double {
        while true {
            let t = now
            let earliest = controller.earliestSend(units: units, now: t)
            if earliest <= t {
                controller.spend(units: units, now: t)
                return t
            }
            try await Task.sleep(for: .seconds(earliest - t))
        }
    }

    public func consumed(_ actual: [String: Double], estimated: Double, sentAt: Double) {
        controller.consumed(actual, estimated: estimated, sentAt: sentAt, now: now)
    }

    public func throttled() { controller.throttled(now: now) }

    public func update(limits: [CapacityController.Limit]) { controller.update(limits: limits) }

    /// The largest batch (in units) that fits one second of the tightest budget, for sizing batches.
    public var unitsPerBatch: Int { max(1, Int(controller.tightestBudget)) }

    public var throttleCount: Int { controller.throttles }

    /// Units the table consumed in the trailing second (estimates corrected by what DynamoDB reported).
    public var recentUnits: Double {
        controller.spent("table", now: now)
    }

    /// The tightest resource's budget right now, units per second.
    public var budget: Double { controller.tightestBudget }
}
