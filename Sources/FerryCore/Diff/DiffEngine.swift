import AWSClient
import DynamoModel
import ExportReader
import Foundation

/// The dry-run diff of a plan against its target table, in bounded memory.
///
/// 1. The plan's expected state: every record of the windows to compare (to the end of the plan, or to a
///    checkpoint's position) is spilled to disk into bucket files by a hash of its canonical key, in plan order, so a
///    key's last write is the last entry for it in its bucket.
/// 2. The target's state: a parallel `Scan`, held to `readPercent` of the table's read capacity by the same
///    controller `apply` uses for writes, spilled into bucket files by the same hash.
/// 3. Bucket by bucket, the plan's final write of each key is compared with the target's item with DynamoDB's
///    equality (numbers by value, sets unordered, binary by bytes). Only one bucket is in memory at a time.
public struct DiffEngine: Sendable {
    /// How far into the plan the expected state goes.
    public enum Position: Sendable, Hashable {
        /// Every window of the plan: what the target holds after a completed `apply`.
        case endOfPlan
        /// What a (possibly interrupted) `apply` has done: its completed windows and the completed files of the
        /// window in progress.
        case checkpoint(Checkpoint)

        var checkpoint: Checkpoint? {
            if case .checkpoint(let checkpoint) = self { return checkpoint }
            return nil
        }
    }

    public let plan: Plan
    public let source: any ExportSource
    public let dynamo: DynamoDBClient
    public var readPercent: Double
    /// Read-unit ceiling for on-demand tables without a maximum of their own.
    public var maxReadUnits: Int?
    public var position: Position = .endOfPlan
    /// Where the spill files go (created, and removed by `removeWorkDirectory`). Needs about twice the table's
    /// JSON size on disk.
    public var workDirectory: String
    /// Spill buckets (default: from the plan's and the table's sizes, ~32 MB of items per bucket).
    public var buckets: Int?
    /// Scan segments (default: from the table's size and the read budget).
    public var segments: Int?
    /// Examples kept per class of difference.
    public var exampleLimit = 5
    /// Also write every difference, as JSON lines, to `<workDirectory>/differences.jsonl`.
    public var listAll = false
    public var progress: @Sendable (String) -> Void = { _ in }
    /// The run record the verdict is appended to (`RunJournal`), for `ferry report`; nil keeps none.
    public var journal: RunJournal?

    public init(
        plan: Plan,
        source: any ExportSource,
        dynamo: DynamoDBClient,
        readPercent: Double,
        workDirectory: String
    ) {
        self.plan = plan
        self.source = source
        self.dynamo = dynamo
        self.readPercent = readPercent
        self.workDirectory = workDirectory
    }

    public var differencesPath: String { workDirectory + "/differences.jsonl" }

    public func removeWorkDirectory() {
        try? FileManager.default.removeItem(atPath: workDirectory)
    }

    /// Compares, and records the run and its verdict in the journal when there is one.
    public func run() async throws -> DiffReport {
        journal?.started(command: "diff", planId: plan.planId, checkpoint: position.checkpoint)
        do {
            let report = try await compare()
            try journal?.verified(report)
            try journal?.ended("completed", error: nil)
            return report
        } catch {
            try? journal?.ended("failed", error: error)
            throw error
        }
    }

    func compare() async throws -> DiffReport {
        let started = ContinuousClock.now
        let table = try await dynamo.describeTable(plan.target.table)
        try TargetPin.check(table, plan: plan)
        let keyNames = table.keyNames
        // At a checkpoint, the chain includes the windows an `apply --follow` added after the plan's.
        var plan = self.plan
        if case .checkpoint(let checkpoint) = position { plan = plan.chain(with: checkpoint) }
        let exports = try await ExportDiscovery.verify(plan, against: source)
        do {
            try FileManager.default.createDirectory(atPath: workDirectory, withIntermediateDirectories: true)
        } catch {
            throw DiffError.workDirectory(path: workDirectory, reason: "\(error)")
        }
        let bucketCount = buckets ?? Self.bucketCount(plan: plan, table: table)

        // 1. The plan's expected state.
        let windows: Int
        let partialFiles: Set<String>
        switch position {
        case .endOfPlan:
            windows = plan.windows.count
            partialFiles = []
        case .checkpoint(let checkpoint):
            windows = min(checkpoint.windowsDone, plan.windows.count)
            partialFiles = Set(checkpoint.filesDone)
        }
        let expected = try SpillWriter(directory: workDirectory, prefix: "plan", count: bucketCount)
        let reader = ExportReader(source: source)
        var keyChecked = false
        for window in plan.windows where window.index <= windows {
            let export = exports[window.index]
            let files =
                window.index < windows ? export.files : export.files.filter { partialFiles.contains($0.dataFileS3Key) }
            if !files.isEmpty {
                progress(
                    "reading window \(window.index + 1)/\(plan.windows.count) (\(window.exportId)): \(files.count) files"
                )
            }
            for file in files {
                _ = try await reader.readRecords(of: file, in: export) { records in
                    for record in records {
                        if !keyChecked {
                            try KeySchemaCheck.check(record, table: table)
                            keyChecked = true
                        }
                        let raw = try record.keyJSON(keyNames: keyNames)
                        guard let key = try CanonicalKey.make(fromJSON: raw, keyNames: keyNames) else {
                            throw ExportReaderError.invalidRecord(
                                key: record.location.fileKey,
                                line: record.location.line,
                                column: 1,
                                reason: "the record has no key attribute of \(keyNames.joined(separator: ", "))"
                            )
                        }
                        let item = record.newImageRange.map { Array(record.json($0)) } ?? []
                        try expected.append(
                            SpillEntry(
                                kind: record.isDelete ? .delete : .put,
                                key: key,
                                item: item,
                                location: record.location.description
                            )
                        )
                    }
                }
            }
        }
        try expected.finish()

        // 2. The target's state.
        let scan = try await scanTarget(table: table, keyNames: keyNames, buckets: bucketCount)

        // 3. Compare bucket by bucket.
        progress("comparing \(bucketCount) bucket\(bucketCount == 1 ? "" : "s")")
        var comparison = try Comparison(listing: listAll ? differencesPath : nil, exampleLimit: exampleLimit)
        for bucket in 0..<bucketCount {
            try comparison.compare(
                planPath: SpillWriter.path(directory: workDirectory, prefix: "plan", index: bucket),
                targetPath: SpillWriter.path(directory: workDirectory, prefix: "target", index: bucket)
            )
        }
        try comparison.finish()
        let elapsed = ContinuousClock.now - started
        let through: String
        switch position {
        case .endOfPlan: through = plan.totals.end
        case .checkpoint(let checkpoint):
            through = checkpoint.appliedThrough ?? plan.windows.first?.to ?? plan.totals.start
        }
        var report = DiffReport(
            planId: plan.planId,
            table: plan.target.table,
            position: {
                if case .checkpoint = position { return "checkpoint" }
                return "end of plan"
            }(),
            expectedThrough: through,
            windowsCompared: windows,
            partialWindowFiles: partialFiles.count,
            counts: comparison.counts,
            examples: comparison.sortedExamples,
            scan: scan,
            buckets: bucketCount,
            seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        )
        if case .checkpoint(let checkpoint) = position, checkpoint.windowsDone == 0, checkpoint.filesDone.isEmpty {
            report.expectedThrough = "nothing applied yet"
        }
        return report
    }

    /// ~32 MB of item JSON per bucket, from the larger of the plan's data (gzip is ~3–4× smaller than its JSON)
    /// and the table's size; at most 512 buckets (file descriptors).
    static func bucketCount(plan: Plan, table: TableDescription) -> Int {
        let bytes = max(plan.totals.compressedBytes * 4, table.TableSizeBytes ?? 0)
        let target: Int64 = 32 * 1024 * 1024
        return Int(min(512, max(1, (bytes + target - 1) / target)))
    }
}

/// The key-schema check `apply` and `diff` share: the export's key attributes are the table's, with the table's
/// types.
enum KeySchemaCheck {
    /// Checks a record's key against the table's; returns the key attributes it found (names of the table's key, types
    /// as the record has them).
    @discardableResult
    static func check(_ record: ExportRecord, table: TableDescription) throws -> [Checkpoint.KeyAttribute] {
        let types = Dictionary(
            (table.AttributeDefinitions ?? []).map { ($0.AttributeName, $0.AttributeType) },
            uniquingKeysWith: { a, _ in a }
        )
        let body = try record.body()
        let keys: Item
        switch body {
        case .item(let item): keys = item
        case .change(let change): keys = change.keys
        }
        let expected = table.keyNames.map { "\($0) \(types[$0] ?? "?")" }.joined(separator: ", ")
        for name in table.keyNames {
            guard let value = keys[name], value.typeTag == types[name] ?? value.typeTag else {
                let seen = keys.attributes.map { "\($0.name) \($0.value.typeTag)" }.joined(separator: ", ")
                throw ApplyError.keySchemaMismatch(
                    table: table.TableName,
                    tableKeys: expected,
                    exportKeys: seen,
                    at: record.location.description
                )
            }
        }
        if case .change(let change) = body,
            Set(change.keys.names.map(BytewiseString.init)) != Set(table.keyNames.map(BytewiseString.init))
        {
            throw ApplyError.keySchemaMismatch(
                table: table.TableName,
                tableKeys: expected,
                exportKeys: change.keys.names.joined(separator: ", "),
                at: record.location.description
            )
        }
        return table.keyNames.compactMap { name in
            keys[name].map { Checkpoint.KeyAttribute(name: name, type: $0.typeTag) }
        }
    }

    /// Checks the export's key as a checkpoint keeps it (`at` names the checkpoint) against the table's.
    static func check(_ keys: [Checkpoint.KeyAttribute], table: TableDescription, at: String) throws {
        let types = Dictionary(
            (table.AttributeDefinitions ?? []).map { ($0.AttributeName, $0.AttributeType) },
            uniquingKeysWith: { a, _ in a }
        )
        let tableKeys = table.keyNames.map { Checkpoint.KeyAttribute(name: $0, type: types[$0] ?? "?") }
        let sameNames = tableKeys.map { BytewiseString($0.name) } == keys.map { BytewiseString($0.name) }
        guard sameNames && zip(tableKeys, keys).allSatisfy({ $0.type == $1.type || $0.type == "?" }) else {
            func text(_ keys: [Checkpoint.KeyAttribute]) -> String {
                keys.map { "\($0.name) \($0.type)" }.joined(separator: ", ")
            }
            throw ApplyError.keySchemaMismatch(
                table: table.TableName,
                tableKeys: text(tableKeys),
                exportKeys: text(keys),
                at: "the export's key recorded in \(at)"
            )
        }
    }
}

public enum DiffError: Error, Sendable, Hashable, CustomStringConvertible {
    case workDirectory(path: String, reason: String)
    case onDemandNeedsReadCeiling(table: String)
    case noReadCapacity(table: String)
    /// A spilled item did not parse back (the spill file was damaged, or a bug): names the record or the target.
    case unreadableItem(source: String, reason: String)

    public var description: String {
        switch self {
        case let .workDirectory(path, reason):
            "\(path): \(reason) (the diff's spill files; choose another place with --work-dir)"
        case .onDemandNeedsReadCeiling(let table):
            "target table \(table) is on-demand with no maximum read throughput: pass --max-read-units N, the read units per second Ferry may use at 100 %"
        case .noReadCapacity(let table): "target table \(table) reports no read capacity; check DescribeTable"
        case let .unreadableItem(source, reason):
            "\(source): the item read back from the diff's spill files does not parse (\(reason)); the work directory may have been changed while the diff ran — run it again"
        }
    }
}
