import AWSClient
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

@Suite("Local secondary indexes: their writes are charged to the table's budget")
struct LocalIndexCostsTests {
    /// Incremental records read back from one gzip data file holding `lines`.
    static func records(_ lines: [String]) async throws -> [ExportRecord] {
        try await withTemporaryDirectory { root in
            _ = try ExportFixtureWriter(root: root).dataFile("f.json.gz", lines: lines)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: root + "/f.json.gz"))
            let decoder = DataFileDecoder(fileKey: "f.json.gz", kind: .incremental, expectedMD5: nil)
            var records: [ExportRecord] = []
            try bytes.withUnsafeBytes { try decoder.feed($0) { records.append($0) } }
            _ = try decoder.finish { records.append($0) }
            return records
        }
    }

    /// One INCREMENTAL line for key a/1: images are the extra attributes (JSON members) or nil for none.
    static func line(old: String?, new: String?) -> String {
        let key = #""pk":{"S":"a"},"sk":{"N":"1"}"#
        var line = #"{"Metadata":{"WriteTimestampMicros":{"N":"1768387673917155"}},"Keys":{\#(key)}"#
        if let old { line += #","OldImage":{\#(key)\#(old.isEmpty ? "" : "," + old)}"# }
        if let new { line += #","NewImage":{\#(key)\#(new.isEmpty ? "" : "," + new)}"# }
        return line + "}"
    }

    static let pad = #""pad":{"S":"\#(String(repeating: "x", count: 2500))"}"#

    /// (old image, new image, table units, units in an ALL-projected LSI on `lsk`, in a KEYS_ONLY one, what)
    static let cases: [(old: String?, new: String?, table: Int, all: Int, keysOnly: Int, label: String)] = [
        (nil, #""lsk":{"S":"x"}"#, 1, 1, 1, "a new item with the index key: 1 put"),
        (nil, #""other":{"S":"x"}"#, 1, 0, 0, "a new item without the index key: not in the index"),
        (#""lsk":{"S":"x"}"#, #""lsk":{"S":"x"},"n":{"N":"2"}"#, 1, 1, 1, "same index key, other attributes: 1 update"),
        (#""lsk":{"S":"x"}"#, #""lsk":{"S":"y"}"#, 1, 2, 2, "the index key changes: delete + put"),
        (#""lsk":{"S":"x"}"#, "", 1, 1, 1, "the index key removed: 1 delete"),
        (#""lsk":{"S":"x"}"#, nil, 1, 1, 1, "the item deleted: 1 delete"),
        ("", #""lsk":{"S":"x"}"#, 1, 1, 1, "the index key added: 1 put"),
        (
            #""lsk":{"S":"x"}"#, #""lsk":{"S":"y"},"# + pad, 3, 1 + 3, 2,
            "the key changes, the item grows to 2.5 KB: old size + new size"
        ),
        (#""lsk":{"S":"x"},"# + pad, #""lsk":{"S":"x"},"# + pad, 3, 3, 1, "an update of a 2.5 KB item: its size"),
    ]

    @Test("each LSI write DynamoDB's rules call for, sized by the images", arguments: cases.indices)
    func rules(_ index: Int) async throws {
        let c = Self.cases[index]
        let record = try #require(try await Self.records([Self.line(old: c.old, new: c.new)]).first)
        let write = try PendingWrite(record: record, keyNames: ["pk", "sk"])
        #expect(write.units == c.table, "\(c.label): the table's own cost")
        let all = LocalIndexCosts(indexes: [.init(sortKey: "lsk", keysOnly: false)])
        #expect(
            PendingWrite(record: record, canonicalKey: write.key, localIndexes: all).units == c.table + c.all,
            "\(c.label)"
        )
        // Each LSI is charged; a KEYS_ONLY entry is small whatever the item's size.
        let two = LocalIndexCosts(indexes: [
            .init(sortKey: "lsk", keysOnly: false), .init(sortKey: "lsk", keysOnly: true),
        ])
        #expect(
            PendingWrite(record: record, canonicalKey: write.key, localIndexes: two).units == c.table + c.all
                + c.keysOnly,
            "\(c.label)"
        )
        let other = LocalIndexCosts(indexes: [.init(sortKey: "missing", keysOnly: false)])
        #expect(
            PendingWrite(record: record, canonicalKey: write.key, localIndexes: other).units == c.table,
            "an index the item is not in"
        )
    }

    @Test("the LSIs come from DescribeTable: each index's sort key and projection")
    func fromDescribeTable() throws {
        let json = #"""
            {"TableName":"t","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
             "LocalSecondaryIndexes":[
               {"IndexName":"by-date","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"date","KeyType":"RANGE"}],"Projection":{"ProjectionType":"ALL"}},
               {"IndexName":"by-rank","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"rank","KeyType":"RANGE"}],"Projection":{"ProjectionType":"KEYS_ONLY"}}]}
            """#
        let table = try JSONDecoder().decode(TableDescription.self, from: Data(json.utf8))
        let costs = LocalIndexCosts(table: table)
        #expect(costs.indexes.map(\.sortKey) == ["date", "rank"])
        #expect(costs.indexes.map(\.keysOnly) == [false, true])
        #expect(
            LocalIndexCosts(
                table: try JSONDecoder().decode(
                    TableDescription.self,
                    from: Data(#"{"TableName":"t","KeySchema":[]}"#.utf8)
                )
            ).indexes.isEmpty
        )
    }

    @Test("DynamoDB's LSI units (reported apart from the table's with INDEXES) count against the table")
    func reportedUnits() {
        let report = ConsumedCapacity(
            TableName: "t",
            CapacityUnits: 18,
            Table: .init(CapacityUnits: 10),
            GlobalSecondaryIndexes: ["by-name": .init(CapacityUnits: 3)],
            LocalSecondaryIndexes: ["by-date": .init(CapacityUnits: 4), "by-rank": .init(CapacityUnits: 1)]
        )
        #expect([report].unitsByResource == ["table": 15, "by-name": 3])
    }
}
