import AWSCore
import Foundation

/// The capacity controller shared by every concurrent writer: `acquire` waits until a batch fits the budget.
public actor CapacityGate {
    private var controller: CapacityController
    /// Seconds since the gate was made: the controller's clock.
    private let elapsed: @Sendable () -> Double
    private let sleep: @Sendable (Double) async throws -> Void

    /// A gate on `clock` (tests pass a clock they drive; production runs on `ContinuousClock`).
    public init(_ controller: CapacityController, clock: any Clock<Duration> = ContinuousClock()) {
        self.controller = controller
        let stopwatch = clock.stopwatch()
        elapsed = { Self.seconds(stopwatch()) }
        sleep = { seconds in try await clock.sleep(for: .seconds(seconds)) }
    }

    private var now: Double { elapsed() }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    /// Waits until `units` fit and records them as spent; hand the result back to `consumed(_:for:)` with what
    /// DynamoDB reported for this batch.
    public func acquire(units: Double) async throws -> CapacityController.Spend {
        while true {
            let t = now
            let earliest = controller.earliestSend(units: units, now: t)
            if earliest <= t { return controller.spend(units: units, now: t) }
            try await sleep(earliest - t)
        }
    }

    /// Corrects `spend`'s estimate with the units DynamoDB reported for its batch, by resource.
    public func consumed(_ actual: [String: Double], for spend: CapacityController.Spend) {
        controller.consumed(actual, for: spend, now: now)
    }

    public func throttled() { controller.throttled(now: now) }

    public func update(limits: [CapacityController.Limit]) { controller.update(limits: limits) }

    /// The largest batch (in units) to cut: a fiftieth of a second's tightest budget (at least 1 unit; 25 writes cap
    /// it anyway from about 1,250 units/s up). A batch waits until the trailing second has room for all of it, which
    /// leaves about half a batch of the budget unused on average when item sizes vary: at most about 1 %.
    public var unitsPerBatch: Int { max(1, Int(controller.tightestBudget / Self.batchesPerSecond)) }

    static let batchesPerSecond = 50.0

    public var throttleCount: Int { controller.throttles }

    /// Units the table consumed in the trailing second (estimates corrected by what DynamoDB reported).
    public var recentUnits: Double {
        controller.spent("table", now: now)
    }

    /// The tightest resource's budget right now, units per second.
    public var budget: Double { controller.tightestBudget }
}
