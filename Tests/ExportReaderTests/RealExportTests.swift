import DynamoModel
import ExportReader
import FerryTestSupport
import Testing

/// A real AWS full export (scylladb/scylla-migrator, Apache-2.0) in ../shared/fixtures: prefix `dynamodb-export`,
/// no `exportType`, keys that include the prefix, no `.md5` files, all ten attribute types.
@Suite("The real AWS export fixture")
struct RealExportTests {
    static let root = sharedFixturesDirectory().map { $0 + "/aws-real/scylla-migrator-full" }

    @Test("reads summary, manifest and every record", .enabled(if: root != nil, "../shared/fixtures is not present"))
    func readsRealExport() async throws {
        let reader = ExportReader(source: LocalDirectorySource(root: Self.root!))
        let keys = try await reader.summaryKeys()
        #expect(keys == ["dynamodb-export/AWSDynamoDB/01715685260608-c488b4e1/manifest-summary.json"])
        let export = try await reader.export(summaryKey: keys[0])
        #expect(export.summary.kind == .full)
        #expect(export.summary.exportId == "01715685260608-c488b4e1")
        #expect(export.summary.s3Prefix == "dynamodb-export")
        #expect(export.summary.exportTime == ExportTime("2024-05-14T11:14:20.608Z"))
        #expect(export.summary.format == .dynamoDBJSON)
        #expect(export.basePrefix == "dynamodb-export/")
        #expect(export.files.count == 1)
        #expect(
            export.files[0].dataFileS3Key
                == "dynamodb-export/AWSDynamoDB/01715685260608-c488b4e1/data/uimbi7eofu2b5kzkxe63gsvb6i.json.gz"
        )

        let records = try await allRecords(reader, export)
        #expect(records.map(\.location.line) == [1, 2, 3])
        let items = records.map { record -> Item in
            guard case .item(let item) = try? record.body() else { return Item() }
            return item
        }
        #expect(items[0] == Item(["id": .s("bar"), "baz": .n(0)]))
        #expect(items[2] == Item(["id": .s("foo"), "bar": .n(42)]))
        let all = items[1]
        #expect(all["a"] == .bool(false))
        #expect(all["b"] == .null)
        #expect(all["c"] == .ss(["fRjHZJ2Ce9", "8gfX8dh0xa"]))
        #expect(all["d"] == .ns([2, 3]))
        #expect(all["e"] == .l([.n(1), .s("Dsb87qc6Es")]))
        #expect(all["f"] == .m(Item(["g": .n(9), "h": .null, "i": .bool(true)])))
        #expect(all["j"] == .b(Array("hello".utf8)))
        #expect(all["k"] == .bs([Array("is fast".utf8), Array("scylladb".utf8)]))
        #expect(
            DynamoJSONEncoder.string(all)
                == #"{"id":{"S":"K3TXQk84Si"},"a":{"BOOL":false},"b":{"NULL":true},"c":{"SS":["8gfX8dh0xa","fRjHZJ2Ce9"]},"d":{"NS":["3","2"]},"e":{"L":[{"N":"1"},{"S":"Dsb87qc6Es"}]},"f":{"M":{"h":{"NULL":true},"i":{"BOOL":true},"g":{"N":"9"}}},"j":{"B":"aGVsbG8="},"k":{"BS":["aXMgZmFzdA==","c2N5bGxhZGI="]}}"#
        )
    }
}
