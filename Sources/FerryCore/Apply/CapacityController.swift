/// Holds writes (or reads) to a percentage of a table's capacity — the table and each GSI — measured, not guessed.
///
/// A pure state machine driven by the caller's clock (seconds as `Double`), so it is tested without sleeping.
///
/// How it holds the budget: each resource (the table, each GSI) keeps a log of the units spent in the last second;
/// a batch may go only when, for every resource, the units spent in the trailing second plus the batch's estimate fit
/// in that resource's budget per second. Every one-second window then stays within budget, and so does every longer
/// window (it is a union of one-second windows). Estimates are corrected when DynamoDB reports what the batch really
/// consumed (`ReturnConsumedCapacity=INDEXES`), and each resource learns the ratio of consumed to estimated units
/// (a GSI that only some items reach costs less than the table).
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
/// 10 % a minute while nothing throttles — on-demand tables throttle traffic that jumps past double its previous peak.
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

    public let percent: Double
    public private(set) var mode: Mode
    private var resources: [String: Resource] = [:]
    /// AIMD factor in (0, 1].
    public private(set) var factor = 1.0
    private var lastThrottle = -Double.infinity
    private var lastRecovery = 0.0
    /// On-demand ramp: the current ceiling (units per second, before `percent`).
    private var rampCeiling = Double.infinity
    private var lastRamp = 0.0
    public private(set) var throttles = 0
    /// Learn each resource's consumed ÷ estimated ratio (writes: a GSI only some items reach). Off when the caller
    /// already corrects its own estimates (the diff's scan learns units per item per segment).
    public var learnsRatio = true

    struct Resource: Sendable {
        var capacity: Double
        /// (time, units) spent, oldest first, within the trailing second.
        var log: [(time: Double, units: Double)] = []
        var spentInWindow = 0.0
        /// Consumed ÷ estimated, learned from DynamoDB's reports (1 until then).
        var ratio = 1.0
    }

    public init(percent: Double, limits: [Limit], mode: Mode = .provisioned, now: Double = 0) {
        precondition(percent > 0 && percent <= 100, "percent is validated by the CLI")
        self.percent = percent
        self.mode = mode
        for limit in limits { resources[limit.resource] = Resource(capacity: limit.capacity) }
        if case .onDemand(let warm) = mode { rampCeiling = max(warm, 1) }
        lastRecovery = now
        lastRamp = now
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
            let limit = budget(name)
            // A batch bigger than a whole second's budget goes alone, once the window is empty.
            let allowed = max(limit - cost, 0)
            var spent = resource.spentInWindow
            guard spent > allowed else { continue }
            for entry in resource.log {
                spent -= entry.units
                if spent <= allowed {
                    earliest = max(earliest, entry.time + 1)
                    break
                }
            }
        }
        return earliest
    }

    /// Records a batch sent at `now` with its estimate; returns a token to correct it with what DynamoDB reports.
    public mutating func spend(units: Double, now: Double) {
        advance(to: now)
        for name in resources.keys {
            let cost = units * resources[name]!.ratio
            resources[name]!.log.append((now, cost))
            resources[name]!.spentInWindow += cost
        }
    }

    /// Corrects the estimate of a batch sent at `sentAt` with the units DynamoDB says it consumed, per resource.
    /// Resources that did not report consumed nothing (e.g. a GSI none of the items reach).
    public mutating func consumed(_ actual: [String: Double], estimated: Double, sentAt: Double, now: Double) {
        for name in resources.keys {
            let real = actual[name] ?? 0
            var resource = resources[name]!
            let guess = estimated * resource.ratio
            if let index = resource.log.lastIndex(where: { $0.time == sentAt && $0.units == guess }) {
                resource.log[index].units = real
                resource.spentInWindow += real - guess
            }
            // Learn slowly (EWMA), and never below what was just seen: under-estimating is what overshoots.
            if learnsRatio, estimated > 0 {
                let seen = real / estimated
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
        lastRamp = now
    }

    /// New capacity figures (auto-scaling, or a re-read `DescribeTable`).
    public mutating func update(limits: [Limit]) {
        for limit in limits {
            if resources[limit.resource] != nil { resources[limit.resource]!.capacity = limit.capacity }
            else { resources[limit.resource] = Resource(capacity: limit.capacity) }
        }
    }

    private mutating func advance(to now: Double) {
        for name in resources.keys {
            var resource = resources[name]!
            var drop = 0
            for entry in resource.log where entry.time <= now - 1 {
                resource.spentInWindow -= entry.units
                drop += 1
            }
            if drop > 0 { resource.log.removeFirst(drop) }
            if resource.log.isEmpty { resource.spentInWindow = 0 }
            resources[name] = resource
        }
        while now - lastRecovery >= 1 {
            lastRecovery += 1
            if lastRecovery - lastThrottle >= 1 { factor = min(1, factor + 0.05) }
        }
        if case .onDemand = mode {
            while now - lastRamp >= 60 {
                lastRamp += 60
                rampCeiling *= 1.1
            }
        }
    }
}
