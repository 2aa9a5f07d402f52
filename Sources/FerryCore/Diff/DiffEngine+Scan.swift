import AWSClient
import DynamoModel
import Foundation

extension DiffEngine {
    /// The read-capacity controller for the scan: provisioned read units, or the on-demand ceiling (the table's
    /// `OnDemandThroughput` maximum, else `--max-read-units`) ramped up from the warm throughput.
    func readController(for table: TableDescription) throws -> CapacityController {
        if table.isOnDemand {
            let tableMax = table.OnDemandThroughput?.MaxReadRequestUnits.flatMap { $0 > 0 ? Double($0) : nil }
            guard let ceiling = tableMax ?? maxReadUnits.map(Double.init) else {
                throw DiffError.onDemandNeedsReadCeiling(table: plan.target.table)
            }
            let warm = table.WarmThroughput?.ReadUnitsPerSecond.map(Double.init) ?? 12000
            var controller = CapacityController(
                percent: readPercent,
                limits: [.init(resource: "table", capacity: ceiling)],
                mode: .onDemand(warm: warm)
            )
            controller.learnsRatio = false
            return controller
        }
        let capacity = Double(table.ProvisionedThroughput?.ReadCapacityUnits ?? 0)
        guard capacity > 0 else { throw DiffError.noReadCapacity(table: plan.target.table) }
        var controller = CapacityController(
            percent: readPercent,
            limits: [.init(resource: "table", capacity: capacity)]
        )
        controller.learnsRatio = false
        return controller
    }

    /// Scan segments: one per 256 MB of table (DynamoDB's size figure, refreshed about every six hours), at least
    /// 1, at most 32, and no more than the budget can keep busy with pages of a few units.
    static func segmentCount(table: TableDescription, budget: Double) -> Int {
        let bySize = Int(min(32, max(1, ((table.TableSizeBytes ?? 0) + (256 << 20) - 1) / (256 << 20))))
        let byBudget = max(1, Int(budget / 4))
        return max(1, min(bySize, byBudget))
    }

    /// Scans the whole table in parallel segments within the read budget, spilling every item into the target's
    /// bucket files.
    func scanTarget(table: TableDescription, keyNames: [String], buckets: Int) async throws -> DiffReport.ScanStats {
        let controller = try readController(for: table)
        let gate = CapacityGate(controller)
        let segmentCount = segments ?? Self.segmentCount(table: table, budget: controller.tightestBudget)
        let spill = TargetSpill(try SpillWriter(directory: workDirectory, prefix: "target", count: buckets))
        // Eventually consistent reads cost half a unit per 4 KB: start from the table's average item size.
        let averageItem =
            (table.ItemCount ?? 0) > 0 ? Double(table.TableSizeBytes ?? 0) / Double(table.ItemCount!) : 1024
        let initialUnitsPerItem = max(averageItem, 1) / 8192
        let started = ContinuousClock.now
        progress(
            "scanning \(plan.target.table) with \(segmentCount) segment\(segmentCount == 1 ? "" : "s") at \(Int(readPercent)) % of its read capacity (\(Self.format(controller.tightestBudget)) units/s)"
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            for segment in 0..<segmentCount {
                group.addTask {
                    var startKey: Item?
                    var unitsPerItem = initialUnitsPerItem
                    while true {
                        // A page of about a segment's share of a second's budget (at most 1 MB, 128 units).
                        let pageUnits = min(128, max(0.5, await gate.budget / Double(segmentCount)))
                        let limit = max(1, min(10_000, Int(pageUnits / unitsPerItem)))
                        // DynamoDB rounds a page up to the next 4 KB (half a unit): estimate that rounding too.
                        let estimate = (Double(limit) * unitsPerItem * 2).rounded(.up) / 2 + 0.5
                        let spend = try await gate.acquire(units: estimate)
                        let page: DynamoDBClient.ScanOutput
                        do {
                            page = try await dynamo.scan(
                                table: plan.target.table,
                                segment: segmentCount > 1 ? segment : nil,
                                totalSegments: segmentCount > 1 ? segmentCount : nil,
                                limit: limit,
                                exclusiveStartKey: startKey
                            )
                        } catch let error as AWSClientError where error.isThrottling {
                            await gate.throttled()
                            continue  // the same page again, at the lower rate
                        }
                        let consumed = (page.consumedCapacity.map { [$0] } ?? []).unitsByResource
                        await gate.consumed(consumed, for: spend)
                        if let units = consumed["table"], units > 0, !page.items.isEmpty {
                            unitsPerItem = 0.7 * unitsPerItem + 0.3 * units / Double(page.items.count)
                        }
                        var entries: [SpillEntry] = []
                        entries.reserveCapacity(page.items.count)
                        for item in page.items {
                            guard let key = CanonicalKey.make(from: item, keyNames: keyNames) else { continue }
                            var json: [UInt8] = []
                            DynamoJSONEncoder.append(item, to: &json)
                            entries.append(SpillEntry(kind: .target, key: key, item: json, location: ""))
                        }
                        try await spill.append(entries, consumed: consumed["table"] ?? 0)
                        guard let next = page.lastEvaluatedKey else { break }
                        startKey = next
                    }
                }
            }
            try await group.waitForAll()
        }
        try await spill.finish()
        let elapsed = ContinuousClock.now - started
        return DiffReport.ScanStats(
            segments: segmentCount,
            itemsScanned: await spill.items,
            readUnitsConsumed: await spill.units,
            readBudgetPerSecond: controller.tightestBudget,
            throttles: await gate.throttleCount,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        )
    }

    static func format(_ units: Double) -> String {
        units == units.rounded() ? String(Int(units)) : String(format: "%.1f", units)
    }
}

/// The target's spill files, shared by the scan's segments.
actor TargetSpill {
    private let writer: SpillWriter
    private(set) var items: Int64 = 0
    private(set) var units: Double = 0

    init(_ writer: SpillWriter) { self.writer = writer }

    func append(_ entries: [SpillEntry], consumed: Double) throws {
        for entry in entries { try writer.append(entry) }
        items += Int64(entries.count)
        units += consumed
    }

    func finish() throws { try writer.finish() }
}
