import DynamoModel
import ExportGenerator
import FerryTestSupport
import Foundation
import Testing

@testable import ExportReader

/// A verified copy kept as the file's inflated text, read without a second gunzip (issue 15), and the fall-back to
/// the compressed copy when the text does not fit its budget.
@Suite("ExportReader.spool: the verified copy as text or as .gz, the same records either way")
struct SpoolTests {
    static let id = "01768385930622-efd1a093"

    /// A FULL export of one data file in `format`, with blank lines, a CR LF and a record DynamoDB would refuse.
    static func export(_ root: String, format: String = "DYNAMODB_JSON") async throws -> (ExportReader, Export) {
        let writer = ExportFixtureWriter(root: root)
        let lines: [String] =
            format == "ION"
            ? (0..<300).map { #"$ion_1_0 {Item:{id:"k\#($0)",n:\#($0)d-1,s:$dynamodb_SS::["x","\#($0)"]}}"# }
            : (0..<3000).map { index in
                switch index % 500 {
                case 7: return #"{"Item":{"id":{"S":"tab\#(index)"}}}"# + " \t"
                case 8: return #"{"Item":{"id":{"S":"crlf\#(index)"}}}"# + "\r"
                default:
                    return
                        #"{"Item":{"id":{"S":"k\#(index)"},"v":{"S":"\#(String(repeating: "é", count: index % 97))"},"n":{"N":"\#(index)"}}}"#
                }
            }
        let entry = try writer.dataFile("AWSDynamoDB/\(id)/data/a.json.gz", lines: lines)
        try writer.manifests(
            exportFolder: "AWSDynamoDB/\(id)",
            summary: fixtureSummary(kind: .full, prefix: nil, itemCount: entry.itemCount, format: format),
            files: [entry]
        )
        let reader = ExportReader(source: LocalDirectorySource(root: root))
        return (reader, try await reader.export(summaryKey: "AWSDynamoDB/\(id)/manifest-summary.json"))
    }

    static func records(
        _ reader: ExportReader,
        _ verified: VerifiedDataFile,
        _ export: Export
    ) async throws
        -> [ExportRecord]
    {
        var records: [ExportRecord] = []
        _ = try await reader.readRecords(of: verified, in: export) { records += $0 }
        return records
    }

    @Test(
        "a text copy within its budget is kept alone and gives exactly the records of the file",
        arguments: ["DYNAMODB_JSON", "ION"]
    )
    func textCopy(format: String) async throws {
        try await withTemporaryDirectory { root in
            let (reader, export) = try await Self.export(root + "/exports", format: format)
            let file = export.files[0]
            let direct = try await allRecords(reader, export)
            let spool = root + "/spool"
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            let verified = try await reader.spool(
                file,
                to: spool + "/a.spool.gz",
                text: (spool + "/a.spool.txt", 1 << 30)
            )
            #expect(verified.form == .text)
            #expect(try FileManager.default.contentsOfDirectory(atPath: spool) == ["a.spool.txt"])
            let inflated = try runGzip(
                ["-dc"],
                try Data(contentsOf: URL(fileURLWithPath: root + "/exports/" + file.dataFileS3Key))
            )
            #expect(try Data(contentsOf: URL(fileURLWithPath: verified.path)) == inflated)
            #expect(verified.bytes == Int64(inflated.count))
            let fromText = try await Self.records(reader, verified, export)
            #expect(fromText.count == Int(file.itemCount))
            #expect(fromText == direct)
        }
    }

    @Test("a text copy that outgrows its budget is dropped: the .gz copy is kept and read, with the same records")
    func overBudget() async throws {
        try await withTemporaryDirectory { root in
            let (reader, export) = try await Self.export(root + "/exports")
            let file = export.files[0]
            let spool = root + "/spool"
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            let verified = try await reader.spool(
                file,
                to: spool + "/a.spool.gz",
                text: (spool + "/a.spool.txt", 10_000)
            )
            #expect(verified.form == .gzip)
            #expect(try FileManager.default.contentsOfDirectory(atPath: spool) == ["a.spool.gz"])
            #expect(try await Self.records(reader, verified, export) == (try await allRecords(reader, export)))
            // No budget at all: no text copy is started.
            let plain = try await reader.spool(file, to: spool + "/b.spool.gz", text: nil)
            #expect(plain.form == .gzip)
        }
    }

    @Test("a file that fails verification leaves neither copy", arguments: [false, true])
    func failedFileLeavesNothing(changeCount: Bool) async throws {
        try await withTemporaryDirectory { root in
            let (reader, export) = try await Self.export(root + "/exports")
            var file = export.files[0]
            if changeCount { file.itemCount += 1 } else { file.md5Checksum = base64MD5(Array("other".utf8)) }
            let spool = root + "/spool"
            try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
            do {
                _ = try await reader.spool(file, to: spool + "/a.spool.gz", text: (spool + "/a.spool.txt", 1 << 30))
                Issue.record("a file that fails verification was spooled")
            } catch {
                #expect("\(error)".contains(file.dataFileS3Key), "\(error)")
                #expect("\(error)".contains(changeCount ? "items" : "MD5 mismatch"), "\(error)")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: spool).isEmpty)
        }
    }

    @Test("the decoder reads text in any chunking as it reads the .gz: same records, lines and errors")
    func textDecoderAgrees() throws {
        let good = #"{"Item":{"id":{"S":"a"}}}"#
        let text = Array("\(good)\n\n\(good)\r\n  \n\(good)\n{\"Item\":{\"id\":{\"S\":\"b\"}},}\n\(good)".utf8)
        let compressed = [UInt8](try runGzip(["-c"], Data(text)))
        func decode(_ bytes: [UInt8], compressed: Bool, chunk: Int) -> (lines: [Int], error: String?) {
            let decoder = DataFileDecoder(
                fileKey: "f.json.gz",
                kind: .full,
                expectedMD5: nil,
                checkCRC: false,
                compressed: compressed,
                bufferSize: 4096
            )
            var lines: [Int] = []
            do {
                var offset = 0
                while offset < bytes.count {
                    let end = min(offset + chunk, bytes.count)
                    try bytes[offset..<end].withUnsafeBytes { try decoder.feed($0) { lines.append($0.location.line) } }
                    offset = end
                }
                try decoder.finish { lines.append($0.location.line) }
                return (lines, nil)
            } catch { return (lines, "\(error)") }
        }
        let reference = decode(compressed, compressed: true, chunk: 1 << 20)
        #expect(reference.error?.hasPrefix("f.json.gz:6:") == true, "\(reference.error ?? "no error")")
        // Without the bad line: every chunking gives the same records on the same lines.
        let goodText = Array(String(decoding: text, as: UTF8.self).replacingOccurrences(of: ",}", with: "}").utf8)
        let goodReference = decode([UInt8](try runGzip(["-c"], Data(goodText))), compressed: true, chunk: 1 << 20)
        #expect(goodReference.error == nil && goodReference.lines == [1, 3, 5, 6, 7])
        for chunk in [1, 2, 7, 64, 1 << 20] {
            #expect(decode(text, compressed: false, chunk: chunk).error == reference.error, "chunk \(chunk)")
            #expect(decode(goodText, compressed: false, chunk: chunk).lines == goodReference.lines, "chunk \(chunk)")
        }
        // A long file through a small buffer: lines that straddle chunks and buffer growth.
        let long = (0..<5000).map {
            #"{"Item":{"id":{"S":"\#($0)"},"v":{"S":"\#(String(repeating: "v", count: $0 % 900))"}}}"#
        }
        let longText = Array(long.joined(separator: "\n").utf8)
        let longResult = decode(longText, compressed: false, chunk: 4093)
        #expect(longResult.error == nil)
        #expect(longResult.lines == Array(1...5000))
    }
}
