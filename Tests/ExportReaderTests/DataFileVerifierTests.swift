import DynamoModel
import ExportGenerator
import FerryTestSupport
import Foundation
import Testing

@testable import ExportReader

/// The whole-file check apply runs before it writes anything of a file (issue 13, items 1 and 8).
@Suite("DataFileVerifier: MD5, gzip integrity and record count, without decoding")
struct DataFileVerifierTests {
    static func gzip(_ bytes: [UInt8]) throws -> [UInt8] { [UInt8](try runGzip(["-c"], Data(bytes))) }

    static func md5(_ bytes: [UInt8]) -> String { base64MD5(bytes) }

    /// Feeds `bytes` in chunks of `chunk`; returns the verifier's count or throws its error.
    static func verify(_ bytes: [UInt8], md5: String? = nil, items: Int64, chunk: Int = 997) throws -> Int64 {
        let verifier = DataFileVerifier(
            fileKey: "data/f.json.gz",
            expectedMD5: md5 ?? Self.md5(bytes),
            expectedItemCount: items,
            outputSize: 512
        )
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunk, bytes.count)
            let slice = bytes[offset..<end]
            try slice.withUnsafeBytes { try verifier.feed($0) }
            offset = end
        }
        return try verifier.finish()
    }

    /// The decoder's record count for the same bytes (no count expected: it reports what it found).
    static func decoderCount(_ bytes: [UInt8]) throws -> Int64 {
        let decoder = DataFileDecoder(fileKey: "data/f.json.gz", kind: .full, expectedMD5: nil, bufferSize: 4096)
        var records: Int64 = 0
        try bytes.withUnsafeBytes { try decoder.feed($0) { _ in records += 1 } }
        try decoder.finish { _ in records += 1 }
        return records
    }

    static let record = #"{"Item":{"id":{"S":"a"}}}"#

    @Test(
        "counts records exactly as the decoder does: blank lines, CR LF, a lone CR, no final newline, whitespace",
        arguments: [
            "\(record)\n\(record)\n",
            "\(record)\n\n\n\(record)",
            "\(record)\r\n\(record)\r\n\r\n",
            "\r\n \t \r\n\(record)\n \r\n",
            "\(record)\n   \n\t\n\(record)\n\(record)",
            "",
            "\n\n",
        ]
    )
    func countAgreesWithDecoder(_ text: String) throws {
        let bytes = try Self.gzip(Array(text.utf8))
        let expected = try Self.decoderCount(bytes)
        for chunk in [1, 3, 997, 1 << 20] {
            #expect(try Self.verify(bytes, items: expected, chunk: chunk) == expected, "chunk \(chunk)")
        }
    }

    @Test("a large file through a small output buffer: every byte is counted (zlib's pending output is drained)")
    func largeThroughSmallBuffer() throws {
        let lines = (0..<20_000).map {
            #"{"Item":{"id":{"S":"\#($0)"},"v":{"S":"\#(String(repeating: "v", count: $0 % 300))"}}}"#
        }
        let bytes = try Self.gzip(Array(lines.joined(separator: "\n").utf8))
        #expect(try Self.verify(bytes, items: 20_000, chunk: 65_536) == 20_000)
    }

    @Test("concatenated gzip members are one file")
    func multiMember() throws {
        let bytes =
            try Self.gzip(Array("\(Self.record)\n".utf8)) + Self.gzip(Array("\(Self.record)\n\(Self.record)\n".utf8))
        #expect(try Self.verify(bytes, items: 3) == 3)
    }

    @Test("a changed file is a checksum mismatch naming the file, checked before its symptoms")
    func checksumMismatch() throws {
        let bytes = try Self.gzip(Array("\(Self.record)\n".utf8))
        #expect(
            throws: ExportReaderError.checksumMismatch(
                key: "data/f.json.gz",
                expected: Self.md5([1, 2, 3]),
                actual: Self.md5(bytes),
                checkedAgainst: "manifest-files.json"
            )
        ) {
            // Also the wrong count: the MD5 is reported, not the count.
            try Self.verify(bytes, md5: Self.md5([1, 2, 3]), items: 5)
        }
    }

    @Test("damaged compressed bytes are caught by gzip's CRC even when the MD5 given matches them")
    func crcDamage() throws {
        var bytes = try Self.gzip(Array(String(repeating: "\(Self.record)\n", count: 50).utf8))
        // Flip a bit of the stored CRC-32 (the trailer's first 4 bytes): inflating still succeeds, the CRC does not.
        bytes[bytes.count - 8] ^= 0x01
        do {
            _ = try Self.verify(bytes, items: 50)
            Issue.record("a wrong CRC-32 was accepted")
        } catch {
            guard case .gzip(let key, _)? = error as? ExportReaderError else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(key == "data/f.json.gz")
        }
    }

    @Test("a truncated file is refused, with its MD5 matching what was read")
    func truncated() throws {
        let whole = try Self.gzip(Array(String(repeating: "\(Self.record)\n", count: 50).utf8))
        let cut = Array(whole.prefix(whole.count / 2))
        do {
            _ = try Self.verify(cut, items: 50)
            Issue.record("a truncated file was accepted")
        } catch {
            #expect("\(error)".contains("truncated"), "\(error)")
        }
    }

    @Test("a record count other than the manifest's is refused")
    func itemCountMismatch() throws {
        let bytes = try Self.gzip(Array("\(Self.record)\n\n\(Self.record)\n".utf8))
        #expect(throws: ExportReaderError.itemCountMismatch(key: "data/f.json.gz", manifest: 3, actual: 2)) {
            try Self.verify(bytes, items: 3)
        }
    }

    @Test(
        "a line longer than any exportable record is refused with file:line as soon as it passes the bound, by the verifier and the decoder"
    )
    func lineTooLong() throws {
        let limit = DynamoLimits.maxExportLineBytes
        var text = Array("\(Self.record)\n\(Self.record)\n".utf8)
        text += [UInt8](repeating: UInt8(ascii: "x"), count: limit + 10)
        text += Array("\n\(Self.record)\n".utf8)
        let bytes = try Self.gzip(text)
        let expected = ExportReaderError.invalidRecord(
            key: "data/f.json.gz",
            line: 3,
            column: limit + 1,
            reason: DataFileVerifier.lineTooLongReason
        )
        #expect(throws: expected) { try Self.verify(bytes, items: 4, chunk: 1 << 16) }
        #expect(throws: expected) { try Self.decoderCount(bytes) }
        // Without a newline after it (the file's last line), too.
        let last = try Self.gzip(
            Array("\(Self.record)\n\(Self.record)\n".utf8) + [UInt8](repeating: UInt8(ascii: "x"), count: limit + 1)
        )
        #expect(throws: expected) { try Self.verify(last, items: 3, chunk: 1 << 16) }
        #expect(throws: expected) { try Self.decoderCount(last) }
        // A line of exactly the bound is only as long as the largest record may be: the verifier counts it.
        let atBound = try Self.gzip([UInt8](repeating: UInt8(ascii: "x"), count: limit) + [0x0A])
        #expect(try Self.verify(atBound, items: 1, chunk: 1 << 16) == 1)
    }
}
