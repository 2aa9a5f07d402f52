import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation

/// Before the first write: the target's checks, the first record's key, the capacity the run may take, and the spool's
/// disk.
extension ApplyEngine {
    /// Before the first write: the target exists, is ACTIVE, and its key schema is the export's. The export's key
    /// (names and types) is kept in the checkpoint, so a resume whose remaining windows hold no record — or whose
    /// applied exports have expired — still checks it.
    func preflight(_ exports: [Export], checkpoint: inout Checkpoint) async throws -> TableDescription {
        let table = try await target.describe()
        guard table.TableStatus == nil || table.TableStatus == "ACTIVE" else {
            throw ApplyError.targetNotReady(table: plan.target.table, status: table.TableStatus ?? "?")
        }
        try TargetPin.check(table, plan: plan, checkpointArn: checkpoint.targetArn, checkpointPath: store.path)
        checkpoint.targetArn = table.TableArn ?? checkpoint.targetArn
        if let keys = checkpoint.exportKeys { try KeySchemaCheck.check(keys, table: table, at: store.path) }
        guard let record = try await firstRecord(of: exports) else { return table }
        checkpoint.exportKeys = try KeySchemaCheck.check(record, table: table)
        return table
    }

    /// The first record of the exports (read without writing anything, and without verifying its file: it is only
    /// looked at): an incremental record's Keys, or a full export's first item.
    func firstRecord(of exports: [Export]) async throws -> ExportRecord? {
        let reader = ExportReader(source: source)
        for export in exports {
            for file in export.files where file.itemCount > 0 {
                var first: ExportRecord?
                do {
                    _ = try await reader.readRecords(of: file, in: export, verify: false) { records in
                        first = records.first
                        throw FirstRecordFound()
                    }
                } catch is FirstRecordFound {}
                if let first { return first }
            }
        }
        return nil
    }

    func controller(for table: TableDescription) throws -> CapacityController {
        let (limits, mode) = try capacityLimits(for: table)
        // Sharded: each of the N workers takes P / N, so together they never exceed P.
        return CapacityController(
            percent: writePercent / Double(coordinator?.shard.count ?? 1),
            limits: limits,
            mode: mode
        )
    }

    /// What each resource (the table, each GSI) may take at 100 %, and how: provisioned, or on-demand with its warm
    /// throughput.
    func capacityLimits(
        for table: TableDescription
    ) throws -> (limits: [CapacityController.Limit], mode: CapacityController.Mode) {
        if table.isOnDemand {
            let tableMax = table.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil }
            guard let ceiling = tableMax ?? maxWriteUnits.map(Double.init) else {
                throw ApplyError.onDemandNeedsCeiling(table: plan.target.table)
            }
            var limits = [CapacityController.Limit(resource: "table", capacity: ceiling)]
            for index in table.GlobalSecondaryIndexes ?? [] {
                let max =
                    index.OnDemandThroughput?.MaxWriteRequestUnits.flatMap { $0 > 0 ? Double($0) : nil } ?? ceiling
                limits.append(.init(resource: index.IndexName, capacity: max))
            }
            let warm = table.WarmThroughput?.WriteUnitsPerSecond.map(Double.init) ?? 4000
            return (limits, .onDemand(warm: warm))
        }
        var limits = [
            CapacityController.Limit(
                resource: "table",
                capacity: Double(table.ProvisionedThroughput?.WriteCapacityUnits ?? 0)
            )
        ]
        for index in table.GlobalSecondaryIndexes ?? [] {
            limits.append(
                .init(resource: index.IndexName, capacity: Double(index.ProvisionedThroughput?.WriteCapacityUnits ?? 0))
            )
        }
        guard limits.allSatisfy({ $0.capacity > 0 }) else { throw ApplyError.noWriteCapacity(table: plan.target.table) }
        return (limits, .provisioned)
    }

    /// The disk the spool needs at most, estimated from the plan (which keeps no per-file sizes): `filesAtOnce`
    /// files of twice a window's average file size, never more than the window itself.
    static func spoolNeed(_ windows: [Plan.Window], filesAtOnce: Int) -> Int64 {
        windows.map { window in
            guard !window.files.isEmpty else { return 0 }
            return min(
                window.compressedBytes,
                2 * Int64(filesAtOnce) * (window.compressedBytes / Int64(window.files.count) + 1)
            )
        }.max() ?? 0
    }
}

struct FirstRecordFound: Error {}
