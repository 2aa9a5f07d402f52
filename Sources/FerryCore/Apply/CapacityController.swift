/// Holds writes (or reads) to a percentage of a table's capacity — the table and each GSI — measured, not guessed.
///
/// A pure state machine driven by the caller's clock (seconds as `Double`), so it is tested without sleeping.
///
/// How it holds the budget: each resource (the table, each GSI) keeps a log of the units spent that still count;
/// a batch may go only when, for every resource, the units still counted plus the batch's estimate fit in that
/// resource's budget per second. A batch counts for one second, so every one-second window stays within budget,
/// and so does every longer window (a union of one-second windows). A batch bigger than a second's budget (one
/// 100-unit item at 10 units/s) goes alone, once nothing else counts, and then counts until its debt is repaid
/// (`units ÷ budget` seconds: 10 s), so over any window the spend is at most the budget × the window plus that one
/// item's overshoot. Estimates are corrected when DynamoDB reports what the batch really consumed
/// (`ReturnConsumedCapacity=INDEXES`): each `Spend` carries its own estimate, so the correction is exact however
/// many batches are in flight, and a batch that cost more than a second's budget carries its debt forward the same
/// way. Each resource learns the ratio of consumed to estimated units (a GSI that only some items reach costs less
/// than the table).
///
/// Throttling cuts the rate multiplicatively and it recovers additively (AIMD):
///
/// | event                          | rate factor                         |
/// |--------------------------------|-------------------------------------|
/// | a throttling exception         | × 0.5, at least 0.05                |
/// | each second without throttling | + 0.05, at most 1.0                 |
///
/// On-demand tables have no provisioned rate: the ceiling is the table's `OnDemandThroughput` maximum or
/// `--max-write-units`, and the rate starts from the warm throughput (about 4,000 units for a new table) and grows by
/// 10 % for each minute's worth of traffic at the current rate that the table actually took (consumed units, not
/// wall time: an idle `--follow` wait does not raise it) while nothing throttles — on-demand tables throttle traffic
/// that jumps past double its previous peak.
public struct CapacityController: Sendable {
    /// What a resource may use.
    public struct Limit: Sendable, Hashable {
        /// `"table"` or the GSI's name.
        public var resource: String
        /// Capacity units per second at 100 % (provisioned capacity, or the on-demand ceiling).
        public var capacity: Double
        public init(resource: String, capacity: Double) {
            self.resource = resource
            self.capacity = capacity
        }
    }

    public enum Mode: Sendable, Hashable {
        case provisioned
        /// `warm`: units per second the table takes at once; the rate ramps up from there.
        case onDemand(warm: Double)
    }

    /// One batch's charge, handed back with what DynamoDB reported (`consumed(_:for:now:)`): it carries the batch's
    /// own estimate, so a correction never depends on what the controller learned while the batch was in flight.
    public struct Spend: Sendable, Hashable {
        let id: Int
        /// When the batch was sent (the controller's clock).
        public let sentAt: Double
        /// The batch's estimate in table units.
        public let estimated: Double
        /// Per resource: the units charged and the budget per second they were charged against.
        let charges: [String: Charge]
    }

    struct Charge: Sendable, Hashable {
        var units: Double
        var rate: Double
    }

    public let percent: Double
    public private(set) var mode: Mode
    private var resources: [String: Resource] = [:]
    /// AIMD factor in (0, 1].
    public private(set) var factor = 1.0
    private var lastThrottle = -Double.infinity
    private var lastRecovery = 0.0
    /// On-demand ramp: the current ceiling (units per second, before `percent`).
    private var rampCeiling = Double.infinity
    /// Table units consumed since the ramp last grew (or since the last throttle).
    private var rampUnits = 0.0
    private var nextSpend = 0
    public private(set) var throttles = 0
    /// Learn each resource's consumed ÷ estimated ratio (writes: a GSI only some items reach). Off when the caller
    /// already corrects its own estimates (the diff's scan learns units per item per segment).
    public var learnsRatio = true

    struct Resource: Sendable {
        var capacity: Double
        /// The batches that still count, by the time they stop counting (`until`), soonest first.
        var log: [Entry] = []
        var spentInWindow = 0.0
        /// Consumed ÷ estimated, learned from DynamoDB's reports (1 until then).
        var ratio = 1.0

        /// A batch counts for a second after it is sent, or until its debt is repaid when it cost more than that.
        struct Entry: Sendable {
            var id: Int
            var time: Double
            var units: Double
            var until: Double
        }

        mutating func insert(_ entry: Entry) {
            let index = log.lastIndex { $0.until <= entry.until }.map { $0 + 1 } ?? 0
            log.insert(entry, at: index)
            spentInWindow += entry.units
        }

        mutating func remove(id: Int) {
            guard let index = log.firstIndex(where: { $0.id == id }) else { return }
            let entry = log.remove(at: index)
            spentInWindow = log.isEmpty ? 0 : spentInWindow - entry.units
        }
    }

    public init(percent: Double, limits: [Limit], mode: Mode = .provisioned, now: Double = 0) {
        precondition(percent > 0 && percent <= 100, "percent is validated by the CLI")
        self.percent = percent
        self.mode = mode
        for limit in limits { resources[limit.resource] = Resource(capacity: limit.capacity) }
        if case .onDemand(let warm) = mode { rampCeiling = max(warm, 1) }
        lastRecovery = now
    }

    /// Units per second `resource` may use right now.
    public func budget(_ resource: String) -> Double {
        guard let r = resources[resource] else { return 0 }
        return min(r.capacity, rampCeiling) * percent / 100 * factor
    }

    /// Units `resource` spent in the second before `now`.
    public func spent(_ resource: String, now: Double) -> Double {
        resources[resource]?.log.reduce(0) { $0 + ($1.time > now - 1 ? $1.units : 0) } ?? 0
    }

    /// The smallest budget across resources: what one batch can never exceed in a second.
    public var tightestBudget: Double { resources.keys.map(budget).min() ?? 0 }

    /// When a batch estimated at `units` (table units; GSIs scaled by their learned ratio) may be sent: `now` or later.
    public mutating func earliestSend(units: Double, now: Double) -> Double {
        advance(to: now)
        var earliest = now
        for (name, resource) in resources {
            let cost = units * resource.ratio
            // A batch bigger than a whole second's budget goes alone, once nothing else counts.
            let allowed = max(budget(name) - cost, 0)
            var spent = resource.spentInWindow
            guard spent > allowed + Self.slack, let last = resource.log.last else { continue }
            var free = last.until
            for entry in resource.log {
                spent -= entry.units
                if spent <= allowed + Self.slack {
                    free = entry.until
                    break
                }
            }
            earliest = max(earliest, free)
        }
        return earliest
    }

    /// Units below which a sum is taken as fitting (floating-point sums of corrections drift by a few ulps).
    static let slack = 1e-9

    /// Records a batch sent at `now` with its estimate; returns the `Spend` to correct it with what DynamoDB reports.
    public mutating func spend(units: Double, now: Double) -> Spend {
        advance(to: now)
        let id = nextSpend
        nextSpend += 1
        var charges: [String: Charge] = [:]
        for name in resources.keys {
            let charge = Charge(units: units * resources[name]!.ratio, rate: budget(name))
            charges[name] = charge
            resources[name]!.insert(Self.entry(id: id, time: now, charge))
        }
        if case .onDemand = mode { rampUnits += charges["table"]?.units ?? 0 }
        return Spend(id: id, sentAt: now, estimated: units, charges: charges)
    }

    /// A batch counts for a second, or for as long as its units take to be repaid at the budget it was sent under.
    static func entry(id: Int, time: Double, _ charge: Charge) -> Resource.Entry {
        .init(
            id: id,
            time: time,
            units: charge.units,
            until: time + max(1, charge.rate > 0 ? charge.units / charge.rate : 1)
        )
    }

    /// Replaces a batch's estimate with the units DynamoDB says it consumed, per resource. Resources that did not
    /// report consumed nothing (e.g. a GSI none of the items reach); a response with no report at all keeps the
    /// estimate. A batch that no longer counted is counted again when what it really cost is still being repaid.
    public mutating func consumed(_ actual: [String: Double], for spend: Spend, now: Double) {
        advance(to: now)
        guard !actual.isEmpty else { return }
        for name in resources.keys {
            let real = actual[name] ?? 0
            var resource = resources[name]!
            resource.remove(id: spend.id)
            let charged = spend.charges[name] ?? Charge(units: 0, rate: budget(name))
            let corrected = Self.entry(id: spend.id, time: spend.sentAt, Charge(units: real, rate: charged.rate))
            if corrected.until > now { resource.insert(corrected) }
            if name == "table", case .onDemand = mode { rampUnits += real - charged.units }
            // Learn slowly (EWMA), and never below what was just seen: under-estimating is what overshoots.
            if learnsRatio, spend.estimated > 0 {
                let seen = real / spend.estimated
                resource.ratio = max(seen, 0.8 * resource.ratio + 0.2 * seen)
            }
            resources[name] = resource
        }
        advance(to: now)
    }

    /// DynamoDB throttled a request: halve the rate.
    public mutating func throttled(now: Double) {
        factor = max(0.05, factor * 0.5)
        throttles += 1
        lastThrottle = now
        lastRecovery = now
        rampUnits = 0
    }

    /// New capacity figures (auto-scaling, or a re-read `DescribeTable`).
    public mutating func update(limits: [Limit]) {
        for limit in limits {
            if resources[limit.resource] != nil {
                resources[limit.resource]!.capacity = limit.capacity
            } else {
                resources[limit.resource] = Resource(capacity: limit.capacity)
            }
        }
    }

    private mutating func advance(to now: Double) {
        for name in resources.keys {
            var resource = resources[name]!
            let drop = resource.log.prefix { $0.until <= now }
            if !drop.isEmpty {
                resource.spentInWindow -= drop.reduce(0) { $0 + $1.units }
                resource.log.removeFirst(drop.count)
            }
            if resource.log.isEmpty { resource.spentInWindow = 0 }
            resources[name] = resource
        }
        while now - lastRecovery >= 1 {
            lastRecovery += 1
            if lastRecovery - lastThrottle >= 1 { factor = min(1, factor + 0.05) }
        }
        // The ramp follows the traffic the table took: a minute's worth at the current ceiling raises it 10 %.
        if case .onDemand = mode {
            while rampCeiling.isFinite, rampUnits >= 60 * rampCeiling * percent / 100 {
                rampUnits -= 60 * rampCeiling * percent / 100
                rampCeiling *= 1.1
            }
        }
    }
}
