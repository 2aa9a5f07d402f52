import DynamoModel
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@Suite("DataFileDecoder: streaming gunzip → lines → records")
struct DataFileDecoderTests {
    func gzipped(_ lines: [String]) async throws -> [UInt8] {
        try await withTemporaryDirectory { root in
            let entry = try ExportFixtureWriter(root: root).dataFile("f.json.gz", lines: lines)
            _ = entry
            return [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/f.json.gz")))
        }
    }

    func decode(_ bytes: [UInt8], chunk: Int) throws -> [ExportRecord] {
        let decoder = DataFileDecoder(fileKey: "f.json.gz", kind: .full, expectedMD5: nil, bufferSize: 4096)
        var records: [ExportRecord] = []
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            try bytes[offset..<end].withUnsafeBytes { try decoder.feed($0) { records.append($0) } }
            offset = end
        }
        try decoder.finish { records.append($0) }
        return records
    }

    @Test(
        "chunk boundaries anywhere give the same records, including lines longer than the buffer",
        arguments: [1, 7, 4096, 1 << 20]
    )
    func chunking(_ chunk: Int) async throws {
        let long = String(repeating: "x", count: 300_000)
        let lines = (0..<50).map { #"{"Item":{"id":{"S":"\#($0)"},"v":{"S":"\#($0 == 25 ? long : "short")"}}}"# }
        let bytes = try await gzipped(lines)
        let records = try decode(bytes, chunk: chunk)
        #expect(records.count == 50)
        #expect(try records[25].operation() == .put(Item(["id": .s("25"), "v": .s(long)])))
        #expect(records.map(\.location.line) == Array(1...50))
    }

    @Test("an empty partition file (a valid 20-byte gzip stream) has no records")
    func emptyPartition() throws {
        let empty: [UInt8] = [
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
            0x00, 0x00,
        ]
        #expect(try decode(empty, chunk: 20).isEmpty)
    }

    @Test("concatenated gzip members are read as one file, like gzip -d")
    func multiMember() async throws {
        let bytes = try await gzipped([#"{"Item":{"id":{"S":"a"}}}"#]) + gzipped([#"{"Item":{"id":{"S":"b"}}}"#])
        #expect(try decode(bytes, chunk: 5).count == 2)
    }

    @Test("a zero-byte file is not a gzip file")
    func zeroBytes() {
        #expect(throws: ExportReaderError.gzip(key: "f.json.gz", reason: "empty file (not even a gzip header)")) {
            try decode([], chunk: 1)
        }
    }

    @Test("garbage after the gzip stream is refused")
    func trailingGarbage() async throws {
        let bytes = try await gzipped([#"{"Item":{"id":{"S":"a"}}}"#]) + [0x00, 0x01]
        #expect(
            throws: ExportReaderError.gzip(
                key: "f.json.gz",
                reason: "unexpected bytes after the end of the gzip stream"
            )
        ) { try decode(bytes, chunk: 1000) }
    }
}
