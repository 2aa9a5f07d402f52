import DynamoModel
import Foundation

/// What `ferry diff` found: counts of every class, examples of each difference, and how the scan went.
public struct DiffReport: Sendable, Codable, Hashable {
    public enum Change: String, Sendable, Codable, Hashable, CaseIterable {
        /// In the plan's final state, missing from the target.
        case wouldPut
        /// In both, with different attributes.
        case wouldOverwrite
        /// An incremental deletes it, and the target has it.
        case wouldDelete
        /// In the target, and the plan never mentions it.
        case extra
    }

    public struct Counts: Sendable, Codable, Hashable {
        public var wouldPut: Int64 = 0
        public var wouldOverwrite: Int64 = 0
        public var wouldDelete: Int64 = 0
        public var extra: Int64 = 0
        /// In both, equal by DynamoDB's rules.
        public var unchanged: Int64 = 0
        /// Deleted by the plan and absent from the target: nothing to do (not a difference).
        public var deletedAndAbsent: Int64 = 0

        public var differences: Int64 { wouldPut + wouldOverwrite + wouldDelete + extra }

        subscript(change: Change) -> Int64 {
            get {
                switch change {
                case .wouldPut: wouldPut
                case .wouldOverwrite: wouldOverwrite
                case .wouldDelete: wouldDelete
                case .extra: extra
                }
            }
            set {
                switch change {
                case .wouldPut: wouldPut = newValue
                case .wouldOverwrite: wouldOverwrite = newValue
                case .wouldDelete: wouldDelete = newValue
                case .extra: extra = newValue
                }
            }
        }
    }

    public struct Difference: Sendable, Codable, Hashable {
        public var change: Change
        /// The primary key, DynamoDB JSON with numbers in canonical form.
        public var key: String
        /// For `wouldOverwrite`: the attributes that differ (missing on one side, or another value), sorted.
        public var attributes: [String]?
        /// The record the expected state comes from (`file:line`), for `wouldPut`, `wouldOverwrite`, `wouldDelete`.
        public var source: String?
    }

    public struct ScanStats: Sendable, Codable, Hashable {
        public var segments: Int
        public var itemsScanned: Int64
        public var readUnitsConsumed: Double
        /// The read budget at the start, units per second (--read-percent of the table's read capacity).
        public var readBudgetPerSecond: Double
        public var throttles: Int
        public var seconds: Double
    }

    public var planId: String
    public var table: String
    /// "end of plan" or "checkpoint".
    public var position: String
    /// The point in time the expected state reflects.
    public var expectedThrough: String
    /// Windows compared in full; with a checkpoint, `partialWindowFiles` files of the next window too.
    public var windowsCompared: Int
    public var partialWindowFiles: Int
    public var counts: Counts
    /// Up to the example limit of each class, the smallest keys first.
    public var examples: [Difference]
    public var scan: ScanStats
    public var buckets: Int
    public var seconds: Double

    public var differs: Bool { counts.differences > 0 }

    /// The human report: counts, then the examples.
    public func text(exampleLimit: Int) -> String {
        var lines: [String] = []
        let through =
            position == "checkpoint"
            ? "the checkpoint's position (\(expectedThrough))" : "the end of the plan (\(expectedThrough))"
        lines.append("diff of plan \(planId.prefix(19))… against \(table), expected state at \(through)")
        let rows: [(String, Int64)] = [
            ("would put", counts.wouldPut), ("would overwrite", counts.wouldOverwrite),
            ("would delete", counts.wouldDelete),
            ("extra in target", counts.extra), ("unchanged", counts.unchanged),
        ]
        let width = rows.map { String($0.1).count }.max() ?? 1
        for (name, count) in rows {
            lines.append(
                "  \(name.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(repeating: " ", count: width - String(count).count))\(count)"
            )
        }
        if counts.deletedAndAbsent > 0 {
            lines.append("  (\(counts.deletedAndAbsent) keys the plan deletes are already absent)")
        }
        lines.append(
            differs
                ? "the target differs from the plan: \(counts.differences) difference\(counts.differences == 1 ? "" : "s")"
                : "the target matches the plan"
        )
        if !examples.isEmpty {
            lines.append("examples (up to \(exampleLimit) of each; --limit N for more, --json for all):")
            for example in examples {
                var line = "  \(Self.label(example.change))  \(example.key)"
                if let attributes = example.attributes { line += "  attributes: \(attributes.joined(separator: ", "))" }
                if let source = example.source { line += "  (\(source))" }
                lines.append(line)
            }
        }
        lines.append(
            "scanned \(scan.itemsScanned) items in \(scan.segments) segment\(scan.segments == 1 ? "" : "s"): "
                + "\(DiffEngine.format(scan.readUnitsConsumed)) read units (budget \(DiffEngine.format(scan.readBudgetPerSecond)) units/s), "
                + "\(scan.throttles) throttles; \(String(format: "%.1f", seconds)) s in all"
        )
        return lines.joined(separator: "\n")
    }

    static func label(_ change: Change) -> String {
        switch change {
        case .wouldPut: "would put      "
        case .wouldOverwrite: "would overwrite"
        case .wouldDelete: "would delete   "
        case .extra: "extra          "
        }
    }
}

/// Compares the plan's and the target's bucket files, one bucket in memory at a time.
struct Comparison {
    private(set) var counts = DiffReport.Counts()
    private var examples: [DiffReport.Change: [DiffReport.Difference]] = [:]
    private let exampleLimit: Int
    private let listing: FileHandle?
    private var listingBuffer: [UInt8] = []
    private let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    init(listing path: String?, exampleLimit: Int) throws {
        self.exampleLimit = exampleLimit
        if let path {
            guard FileManager.default.createFile(atPath: path, contents: nil),
                let handle = FileHandle(forWritingAtPath: path)
            else {
                throw DiffError.workDirectory(path: path, reason: "cannot create the list of differences")
            }
            listing = handle
        } else {
            listing = nil
        }
    }

    var sortedExamples: [DiffReport.Difference] {
        DiffReport.Change.allCases.flatMap { Self.smallest(examples[$0] ?? [], exampleLimit) }
    }

    mutating func compare(planPath: String, targetPath: String) throws {
        // The plan's final write of each key: later entries (later windows) replace earlier ones.
        var expected: [[UInt8]: SpillEntry] = [:]
        try SpillReader.forEach(path: planPath) { expected[$0.key] = $0 }
        try SpillReader.forEach(path: targetPath) { target in
            guard let planned = expected.removeValue(forKey: target.key) else {
                try record(.extra, key: target.key)
                return
            }
            switch planned.kind {
            case .delete:
                try record(.wouldDelete, key: target.key, source: planned.location)
            case .put, .target:
                let attributes = try Self.differingAttributes(planned: planned, target: target)
                if attributes.isEmpty {
                    counts.unchanged += 1
                } else {
                    try record(.wouldOverwrite, key: target.key, attributes: attributes, source: planned.location)
                }
            }
        }
        for (key, planned) in expected {
            if planned.kind == .delete {
                counts.deletedAndAbsent += 1
            } else {
                try record(.wouldPut, key: key, source: planned.location)
            }
        }
    }

    mutating func finish() throws {
        try flushListing()
        try listing?.close()
    }

    /// Attributes whose values differ by DynamoDB's equality, or that one side lacks; sorted by name.
    static func differingAttributes(planned: SpillEntry, target: SpillEntry) throws -> [String] {
        if planned.item == target.item { return [] }
        let a = try parse(planned)
        let b = try parse(target)
        if a == b { return [] }
        // Names by bytes: a Set<String> would fold "café" precomposed and decomposed into one name.
        var names = Set(a.names.map(BytewiseString.init))
        names.formUnion(b.names.map(BytewiseString.init))
        return names.filter { a[$0.string] != b[$0.string] }.sorted().map(\.string)
    }

    private static func parse(_ entry: SpillEntry) throws -> Item {
        do {
            // Lenient: a planned item DynamoDB would refuse (apply rejected it) is still compared, not an error.
            return try DynamoJSONParser.item(from: String(decoding: entry.item, as: UTF8.self), strict: false)
        } catch {
            throw DiffError.unreadableItem(
                source: entry.location.isEmpty ? "an item scanned from the target" : entry.location,
                reason: "\(error)"
            )
        }
    }

    private mutating func record(
        _ change: DiffReport.Change,
        key: [UInt8],
        attributes: [String]? = nil,
        source: String? = nil
    ) throws {
        counts[change] += 1
        let difference = DiffReport.Difference(
            change: change,
            key: String(decoding: key, as: UTF8.self),
            attributes: attributes,
            source: source.flatMap { $0.isEmpty ? nil : $0 }
        )
        if exampleLimit > 0 {
            // Keep the smallest keys, so the examples do not depend on the scan's order.
            var kept = examples[change, default: []]
            kept.append(difference)
            if kept.count > exampleLimit * 2 { kept = Self.smallest(kept, exampleLimit) }
            examples[change] = kept
        }
        if listing != nil {
            listingBuffer += try encoder.encode(difference)
            listingBuffer.append(UInt8(ascii: "\n"))
            if listingBuffer.count >= 1 << 20 { try flushListing() }
        }
    }

    private mutating func flushListing() throws {
        guard let listing, !listingBuffer.isEmpty else { return }
        try listing.write(contentsOf: listingBuffer)
        listingBuffer.removeAll(keepingCapacity: true)
    }

    static func smallest(_ differences: [DiffReport.Difference], _ limit: Int) -> [DiffReport.Difference] {
        Array(differences.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }.prefix(limit))
    }
}
