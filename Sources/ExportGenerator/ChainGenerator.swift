import DynamoModel
import ExportReader
import Foundation

/// What the generator wrote for one export.
public struct GeneratedExport: Sendable, Hashable, Codable {
    public var exportId: String
    public var kind: ExportKind
    /// Records (lines) in the export's data files.
    public var records: Int64
    /// Items in the table once this export is applied.
    public var tableItems: Int64
    /// The expected table state after this export, relative to the chain's directory (nil when not written).
    public var expectedStateFile: String?
}

/// The result of `ChainGenerator.generate`.
public struct GeneratedChain: Sendable, Hashable, Codable {
    /// The directory standing for the bucket root; use it as a local source (`--source DIR`).
    public var exportsDirectory: String
    public var exports: [GeneratedExport]
    /// Key attribute names of the simulated table.
    public var keyNames: [String]
}

/// Generates a realistic export chain: one FULL export, then INCREMENTAL windows with inserts, updates that drop
/// attributes, deletes and re-inserts; each key at most once per window (exports are compacted); both view
/// types; with or without a prefix. Alongside, the expected table state after each export, as DynamoDB JSON lines
/// sorted by key — what a straightforward application of the records gives.
///
/// Output under `directory`: `exports/` (the bucket root) and `expected/NNNN-<ExportId>.jsonl`, plus
/// `expected/chain.json` describing both.
public struct ChainGenerator {
    public let spec: ChainSpec

    public init(spec: ChainSpec) { self.spec = spec }

    public func generate(into directory: String) throws -> GeneratedChain {
        guard spec.partitions >= 1 else { throw GeneratorError.invalidSpec("partitions must be at least 1") }
        guard spec.windowMinutes >= 15 && spec.windowMinutes <= 24 * 60 else {
            throw GeneratorError.invalidSpec("windowMinutes must be 15…1440 (DynamoDB's incremental export limits)")
        }
        let exportsRoot = directory + "/exports"
        let layout = ExportLayoutWriter(spec: spec, root: exportsRoot)
        try layout.makeDirectory("")
        let factory = ItemFactory(spec: spec)
        var random = SplitMix64(seed: spec.seed)
        // The whole simulated table: each key's current version, -1 when absent.
        var versions = [Int32](repeating: -1, count: spec.initialItems)
        var generated: [GeneratedExport] = []

        // FULL export.
        let t0 = spec.fullExportTime
        let fullWindow = ExportLayoutWriter.Window(
            kind: .full,
            exportId: ExportLayoutWriter.exportId(startTime: t0, random: &random),
            startTime: t0,
            endTime: ExportTime(epochMilliseconds: t0.epochMilliseconds + 368_362),
            exportTime: t0,
            format: spec.format(ofExport: 0)
        )
        var files = try layout.openDataFiles(for: fullWindow, random: &random)
        var out: [UInt8] = []
        let records = RecordWriter(format: fullWindow.format)
        for index in 0..<spec.initialItems {
            versions[index] = 0
            out.removeAll(keepingCapacity: true)
            records.full(factory.item(index, version: 0), to: &out)
            try files[partition(of: index)].writer.appendLine(out)
        }
        try layout.finishExport(fullWindow, files: files)
        generated.append(
            try record(
                fullWindow,
                records: Int64(spec.initialItems),
                ordinal: 0,
                versions: versions,
                factory: factory,
                directory: directory
            )
        )

        // INCREMENTAL windows, contiguous: [T0 + (k-1)w, T0 + kw).
        let windowMillis = Int64(spec.windowMinutes) * 60_000
        for k in 1...max(spec.windows, 1) where spec.windows > 0 {
            let from = ExportTime(epochMilliseconds: t0.epochMilliseconds + Int64(k - 1) * windowMillis)
            let to = ExportTime(epochMilliseconds: t0.epochMilliseconds + Int64(k) * windowMillis)
            // AWS starts the job shortly after the window closes, on a whole second.
            let start = ExportTime(epochMilliseconds: (to.epochMilliseconds / 1000 + 24) * 1000)
            let window = ExportLayoutWriter.Window(
                kind: .incremental,
                exportId: ExportLayoutWriter.exportId(startTime: start, random: &random),
                startTime: start,
                endTime: ExportTime(epochMilliseconds: start.epochMilliseconds + 303_622),
                from: from,
                to: to,
                format: spec.format(ofExport: k)
            )
            let records = RecordWriter(format: window.format)
            files = try layout.openDataFiles(for: window, random: &random)
            let changes = planChanges(&versions, random: &random)
            for change in changes {
                out.removeAll(keepingCapacity: true)
                let micros = from.epochMilliseconds * 1000 + Int64(random.int(0..<Int(windowMillis * 1000)))
                records.change(
                    micros: micros,
                    keys: factory.key(change.key),
                    old: spec.viewType == .newAndOldImages
                        ? change.oldVersion.map { factory.item(change.key, version: Int($0)) } : nil,
                    new: change.newVersion.map { factory.item(change.key, version: Int($0)) },
                    to: &out
                )
                try files[partition(of: change.key)].writer.appendLine(out)
            }
            try layout.finishExport(window, files: files)
            generated.append(
                try record(
                    window,
                    records: Int64(changes.count),
                    ordinal: k,
                    versions: versions,
                    factory: factory,
                    directory: directory
                )
            )
        }

        let chain = GeneratedChain(exportsDirectory: exportsRoot, exports: generated, keyNames: spec.keyNames)
        try layout.makeDirectory("../expected")
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try layout.write("../expected/chain.json", Array(try encoder.encode(chain)))
        return chain
    }

    struct Change {
        var key: Int
        var oldVersion: Int32?
        var newVersion: Int32?
    }

    /// Picks this window's changes and applies them to `versions`. Each key changes at most once per window.
    func planChanges(_ versions: inout [Int32], random: inout SplitMix64) -> [Change] {
        var touched = Set<Int>()
        var changes: [Change] = []
        for _ in 0..<spec.changesPerWindow {
            let roll = random.int(0..<100)
            if roll < 35 || versions.isEmpty {
                // Insert a brand-new key.
                let key = versions.count
                versions.append(0)
                touched.insert(key)
                changes.append(Change(key: key, oldVersion: nil, newVersion: 0))
                continue
            }
            // Find a key in the state the operation needs (present for update/delete, absent for re-insert).
            let wantPresent = roll < 90
            var found: Int?
            for _ in 0..<16 {
                let candidate = random.int(0..<versions.count)
                if !touched.contains(candidate) && (versions[candidate] >= 0) == wantPresent {
                    found = candidate
                    break
                }
            }
            guard let key = found else { continue }
            touched.insert(key)
            let old = versions[key]
            if roll < 70 {
                versions[key] = old + 1
                changes.append(Change(key: key, oldVersion: old, newVersion: old + 1))
            } else if roll < 90 {
                versions[key] = -1 - old  // remember the last version, so a re-insert gets a fresh one
                changes.append(Change(key: key, oldVersion: old, newVersion: nil))
            } else {
                let new = -old  // -1 - old was stored; the next version is old + 1
                versions[key] = new
                changes.append(Change(key: key, oldVersion: nil, newVersion: new))
            }
        }
        return changes
    }

    /// Source partition of a key. With 3 or more partitions the last one stays empty: AWS writes an empty file
    /// for every empty partition, and readers must take them.
    func partition(of key: Int) -> Int {
        let used = spec.partitions >= 3 ? spec.partitions - 1 : spec.partitions
        var mixer = SplitMix64(seed: UInt64(truncatingIfNeeded: key) &+ 0x5EED)
        return Int(mixer.next() % UInt64(used))
    }

    private func record(
        _ window: ExportLayoutWriter.Window,
        records: Int64,
        ordinal: Int,
        versions: [Int32],
        factory: ItemFactory,
        directory: String
    ) throws -> GeneratedExport {
        let present = versions.indices.filter { versions[$0] >= 0 }
        var stateFile: String?
        if spec.writeExpectedStates {
            let name = "expected/" + String(format: "%04d", ordinal) + "-\(window.exportId).jsonl"
            let layout = ExportLayoutWriter(spec: spec, root: directory)
            try layout.makeDirectory("expected")
            var out: [UInt8] = []
            for key in present {
                DynamoJSONEncoder.append(factory.item(key, version: Int(versions[key])), to: &out)
                out.append(0x0A)
            }
            try layout.write(name, out)
            stateFile = name
        }
        return GeneratedExport(
            exportId: window.exportId,
            kind: window.kind,
            records: records,
            tableItems: Int64(present.count),
            expectedStateFile: stateFile
        )
    }
}

/// Writes one record line in an export's format, with the real files' field order.
struct RecordWriter {
    let format: ExportFormat

    func full(_ item: Item, to out: inout [UInt8]) {
        if format == .ion {
            out += "$ion_1_0 {Item:".utf8
            IonEncoder.append(item, to: &out)
        } else {
            out += #"{"Item":"#.utf8
            DynamoJSONEncoder.append(item, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    func change(micros: Int64, keys: Item, old: Item?, new: Item?, to out: inout [UInt8]) {
        let ion = format == .ion
        out +=
            (ion
            ? "$ion_1_0 {Metadata:{WriteTimestampMicros:\(micros)},Keys:"
            : #"{"Metadata":{"WriteTimestampMicros":{"N":"\#(micros)"}},"Keys":"#).utf8
        append(keys, to: &out)
        if let old {
            out += (ion ? ",OldImage:" : #","OldImage":"#).utf8
            append(old, to: &out)
        }
        if let new {
            out += (ion ? ",NewImage:" : #","NewImage":"#).utf8
            append(new, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    private func append(_ item: Item, to out: inout [UInt8]) {
        if format == .ion { IonEncoder.append(item, to: &out) } else { DynamoJSONEncoder.append(item, to: &out) }
    }
}
