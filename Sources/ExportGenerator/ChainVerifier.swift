import DynamoModel
import ExportReader
import Foundation

/// Reads a generated chain back through `ExportReader` (checksums, item counts, every record), applies the records
/// the straightforward way — put the whole item, or delete the key — and compares the table after each export
/// with the generator's expected state.
public enum ChainVerifier {
    public struct ExportCheck: Sendable {
        public var exportId: String
        public var kind: ExportKind
        public var records: Int64
        public var tableItems: Int
        /// Items whose expected and applied states differ (missing, extra or different); 0 when they match.
        public var mismatches: Int
    }

    public static func verify(chainDirectory directory: String) async throws -> [ExportCheck] {
        let chain = try JSONDecoder().decode(
            GeneratedChain.self,
            from: Data(contentsOf: URL(fileURLWithPath: directory + "/expected/chain.json"))
        )
        let reader = ExportReader(source: LocalDirectorySource(root: directory + "/exports"))
        var exports: [Export] = []
        for key in try await reader.summaryKeys() { exports.append(try await reader.export(summaryKey: key)) }
        exports.sort { $0.summary.pointInTime < $1.summary.pointInTime }
        var table: [Item: Item] = [:]
        var checks: [ExportCheck] = []
        for export in exports {
            var count: Int64 = 0
            for file in export.files {
                count += try await reader.readRecords(of: file, in: export) { records in
                    try apply(records, keyNames: chain.keyNames, to: &table)
                }
            }
            var mismatches = 0
            if let generated = chain.exports.first(where: { $0.exportId == export.summary.exportId }),
                let file = generated.expectedStateFile
            {
                let expected = try loadState(directory + "/" + file, keyNames: chain.keyNames)
                mismatches =
                    expected.filter { table[$0.key] != $0.value }.count
                    + table.keys.filter { expected[$0] == nil }.count
            }
            checks.append(
                ExportCheck(
                    exportId: export.summary.exportId,
                    kind: export.summary.kind,
                    records: count,
                    tableItems: table.count,
                    mismatches: mismatches
                )
            )
        }
        return checks
    }

    /// Applies records the straightforward way: put the whole item, or delete the key.
    public static func apply(_ records: [ExportRecord], keyNames: [String], to table: inout [Item: Item]) throws {
        for record in records {
            switch try record.operation() {
            case .put(let item):
                guard let key = item.projected(onto: keyNames) else {
                    throw GeneratorError.invalidSpec("\(record.location): item lacks a key attribute")
                }
                table[key] = item
            case .delete(let keys):
                guard let key = keys.projected(onto: keyNames) else {
                    throw GeneratorError.invalidSpec("\(record.location): Keys lack a key attribute")
                }
                table[key] = nil
            }
        }
    }

    /// Loads an expected-state file (a DynamoDB JSON item per line) keyed by primary key.
    public static func loadState(_ path: String, keyNames: [String]) throws -> [Item: Item] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var table: [Item: Item] = [:]
        for (index, line) in text.split(separator: "\n").enumerated() {
            let item: Item
            do { item = try DynamoJSONParser.item(from: String(line)) } catch {
                throw GeneratorError.io(path: path, reason: "line \(index + 1), column \(error.column): \(error)")
            }
            guard let key = item.projected(onto: keyNames) else {
                throw GeneratorError.io(path: path, reason: "line \(index + 1): no key")
            }
            table[key] = item
        }
        return table
    }
}
