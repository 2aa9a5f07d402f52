import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

@Suite("Write batches: 25 writes, 16 MB, one write per key per call, keys in order")
struct WriteBatcherTests {
    /// Records read from a generated window.
    static func records(
        windows: Int = 1,
        items: Int = 120
    ) async throws -> (full: [ExportRecord], incremental: [ExportRecord]) {
        try await withTemporaryDirectory { directory in
            var spec = ChainSpec()
            spec.initialItems = items
            spec.windows = windows
            spec.changesPerWindow = 60
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            let reader = ExportReader(source: LocalDirectorySource(root: chain.exportsDirectory))
            var exports: [Export] = []
            for key in try await reader.summaryKeys() { exports.append(try await reader.export(summaryKey: key)) }
            exports.sort { $0.summary.pointInTime < $1.summary.pointInTime }
            return (try await allRecords(reader, exports[0]), try await allRecords(reader, exports[1]))
        }
    }

    @Test("keys come from Keys or from the item, in key-schema order, identical for the same item")
    func keys() async throws {
        let (full, incremental) = try await Self.records()
        let key = try full[0].keyJSON(keyNames: ["pk", "sk"])
        let item = try DynamoJSONParser.item(from: String(decoding: key, as: UTF8.self))
        #expect(item.names == ["pk", "sk"])
        guard case .item(let whole) = try full[0].body() else {
            Issue.record("not an item")
            return
        }
        #expect(item == whole.projected(onto: ["pk", "sk"]))
        for record in incremental {
            guard case .change(let change) = try record.body() else { continue }
            #expect(
                try DynamoJSONParser.item(
                    from: String(decoding: try record.keyJSON(keyNames: ["pk", "sk"]), as: UTF8.self)
                ) == change.keys
            )
        }
        #expect(throws: ExportReaderError.self) { try full[0].keyJSON(keyNames: ["pk", "missing"]) }
    }

    @Test("the quick key walk gives the validating scanner's bytes for every record, and defers to it when unsure")
    func quickKeysAgree() async throws {
        let (full, incremental) = try await Self.records(windows: 3, items: 300)
        for record in full + incremental {
            let range = try #require(record.keysRange ?? record.newImageRange)
            let quick = record.line[range].withUnsafeBufferPointer {
                ExportRecord.quickKeyJSON($0, keyNames: ["pk", "sk"])
            }
            #expect(quick == (try record.validatedKeyJSON(range, keyNames: ["pk", "sk"])), "\(record.location)")
            #expect(quick != nil)
            // Reversed key order too (the output follows keyNames).
            let reversed = record.line[range].withUnsafeBufferPointer {
                ExportRecord.quickKeyJSON($0, keyNames: ["sk", "pk"])
            }
            #expect(reversed == (try record.validatedKeyJSON(range, keyNames: ["sk", "pk"])))
        }
        func quick(_ json: String, _ names: [String]) -> String? {
            Array(json.utf8).withUnsafeBufferPointer { ExportRecord.quickKeyJSON($0, keyNames: names) }.map {
                String(decoding: $0, as: UTF8.self)
            }
        }
        #expect(
            quick(#" { "x" : {"L":[{"S":"}\"{"},{"M":{}}]} , "pk" : {"S":"a\"b"} , "sk":{"N":"1"} } "#, ["pk", "sk"])
                == #"{"pk":{"S":"a\"b"},"sk":{"N":"1"}}"#
        )
        #expect(
            quick(#"{"p\u006b":{"S":"a"},"sk":{"N":"1"}}"#, ["pk", "sk"]) == nil,
            "an escaped name goes the validating way"
        )
        #expect(
            quick(#"{"pk":{"S":"a"}}"#, ["pk", "sk"]) == nil,
            "a missing key goes the validating way (which names it)"
        )
    }

    @Test("every write lands in exactly one batch of at most 25, in order, with no key twice in a batch")
    func batching() async throws {
        let (full, _) = try await Self.records()
        var writes = try full.map { try PendingWrite(record: $0, keyNames: ["pk", "sk"]) }
        // Two more writes to keys already present: they must wait for later batches, in order.
        writes.insert(writes[3], at: 10)
        writes.append(writes[3])
        let batches = WriteBatcher.batches(writes)
        #expect(batches.allSatisfy { $0.count <= 25 && Set($0.map(\.key)).count == $0.count })
        #expect(batches.reduce(0) { $0 + $1.count } == writes.count)
        let positions = batches.enumerated().flatMap { index, batch in
            batch.filter { $0.key == writes[3].key }.map { _ in index }
        }
        #expect(positions.count == 3 && positions == positions.sorted() && Set(positions).count == 3)
        #expect(batches.count <= (writes.count + 24) / 25 + 2, "batches stay full apart from the deferred writes")
    }

    @Test("a unit budget keeps batches small enough for a small table")
    func unitBudget() async throws {
        let (full, _) = try await Self.records()
        let writes = try full.map { try PendingWrite(record: $0, keyNames: ["pk", "sk"]) }
        let batches = WriteBatcher.batches(writes, maxUnits: 5)
        #expect(batches.allSatisfy { $0.count == 1 || $0.reduce(0) { $0 + $1.units } <= 5 })
        #expect(batches.reduce(0) { $0 + $1.count } == writes.count)
    }

    @Test("files are interleaved round-robin")
    func interleave() {
        #expect(WriteBatcher.interleave([[1, 2, 3], [10], [20, 21]]) == [1, 10, 20, 2, 21, 3])
        #expect(WriteBatcher.interleave([[Int]]()) == [])
    }
}
