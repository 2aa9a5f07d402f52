import DynamoModel
import ExportReader
import FerryTestSupport
import Foundation
import Testing

/// Writes a one-file export and reads it back.
func readExport(
    kind: ExportKind,
    lines: [String],
    prefix: String? = nil,
    view: String = "NEW_AND_OLD_IMAGES",
    tamper: ((ExportFixtureWriter, inout ManifestFileEntry) throws -> Void)? = nil
) async throws -> [ExportRecord] {
    try await withTemporaryDirectory { root in
        let writer = ExportFixtureWriter(root: root)
        let id = "01768386924000-d339e52d"
        let keyPrefix = prefix.map { $0 + "/" } ?? ""
        let dataKey =
            kind == .full
            ? "\(keyPrefix)AWSDynamoDB/\(id)/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"
            : "\(keyPrefix)AWSDynamoDB/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"
        var entry = try writer.dataFile(dataKey, lines: lines)
        try tamper?(writer, &entry)
        let summary = fixtureSummary(exportId: id, kind: kind, prefix: prefix, itemCount: entry.itemCount, view: view)
        try writer.manifests(exportFolder: "\(keyPrefix)AWSDynamoDB/\(id)", summary: summary, files: [entry])
        let reader = ExportReader(source: LocalDirectorySource(root: root))
        let export = try await reader.export(summaryKey: try await reader.summaryKeys()[0])
        return try await allRecords(reader, export)
    }
}

@Suite("Records: every shape, every bad input named by file and line")
struct RecordTests {
    // Verbatim shapes from a real NEW_AND_OLD_IMAGES export (gurre/ddb-pitr): insert, delete, update.
    static let insert =
        #"{"Metadata":{"WriteTimestampMicros":{"N":"1768386096366933"}},"Keys":{"pk":{"S":"2"},"sk":{"S":"1"}},"NewImage":{"pk":{"S":"2"},"sk":{"S":"1"},"test":{"S":"test2"}}}"#
    static let delete =
        #"{"Metadata":{"WriteTimestampMicros":{"N":"1768387654350448"}},"Keys":{"pk":{"S":"1"},"sk":{"S":"1"}},"OldImage":{"pk":{"S":"1"},"sk":{"S":"1"},"test":{"S":"test"}}}"#
    static let update =
        #"{"Metadata":{"WriteTimestampMicros":{"N":"1768387673917155"}},"Keys":{"pk":{"S":"1"},"sk":{"S":"3"}},"OldImage":{"pk":{"S":"1"},"sk":{"S":"3"},"test1":{"S":"1"},"test2":{"S":"2"}},"NewImage":{"bin_update":{"BS":["0000","0001"]},"pk":{"S":"1"},"sk":{"S":"3"},"test1":{"S":"1"},"test2":{"S":"2"}}}"#

    @Test("NEW_AND_OLD_IMAGES: insert → put, delete → delete by Keys, update → put NewImage")
    func newAndOldImages() async throws {
        let records = try await readExport(kind: .incremental, lines: [Self.insert, Self.delete, Self.update])
        #expect(records.count == 3)
        #expect(records.map(\.location.line) == [1, 2, 3])
        #expect(records[0].location.fileKey == "AWSDynamoDB/data/u2wov2dg246wzitouzsnk6jbd4.json.gz")
        #expect(try records[0].operation() == .put(Item(["pk": .s("2"), "sk": .s("1"), "test": .s("test2")])))
        #expect(try records[1].operation() == .delete(keys: Item(["pk": .s("1"), "sk": .s("1")])))
        guard case .change(let update) = try records[2].body() else {
            Issue.record("not a change")
            return
        }
        #expect(update.oldImage?["test1"] == .s("1"))
        #expect(update.newImage?["bin_update"] == .bs([[0xD3, 0x4D, 0x34], [0xD3, 0x4D, 0x35]]))
        #expect(update.writeTimestampMicros == 1_768_387_673_917_155)
    }

    @Test("NEW_IMAGE: a delete carries Keys only; timestamps as {\"N\"}, a bare string or a number")
    func newImage() async throws {
        let lines = [
            #"{"Metadata":{"WriteTimestampMicros":"1768386096366933"},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}"#,
            #"{"Keys":{"pk":{"S":"b"}},"Metadata":{"WriteTimestampMicros":1768386096366934,"Future":{"x":[1,true,null]}}}"#,
            #"{"Keys":{"pk":{"S":"c"}}}"#,
        ]
        let records = try await readExport(kind: .incremental, lines: lines, view: "NEW_IMAGE")
        #expect(try records[0].operation() == .put(Item(["pk": .s("a"), "v": .n(1)])))
        #expect(try records[1].operation() == .delete(keys: Item(["pk": .s("b")])))
        #expect(try records[2].operation() == .delete(keys: Item(["pk": .s("c")])))
        guard case .change(let first) = try records[0].body(), case .change(let second) = try records[1].body(),
            case .change(let third) = try records[2].body()
        else {
            Issue.record("not changes")
            return
        }
        #expect(first.writeTimestampMicros == 1_768_386_096_366_933)
        #expect(second.writeTimestampMicros == 1_768_386_096_366_934)
        #expect(third.writeTimestampMicros == nil)
    }

    @Test("FULL lines, with a prefix, blank and CRLF lines tolerated")
    func fullLines() async throws {
        let records = try await readExport(
            kind: .full,
            lines: [#"{"Item":{"id":{"S":"a"}}}"#, "", #"{"Item":{"id":{"S":"b"}}}"# + "\r"],
            prefix: "my/prefix"
        ) { _, entry in
            entry.itemCount = 2  // the blank line is not an item
        }
        #expect(try records.map { try $0.operation() } == [.put(Item(["id": .s("a")])), .put(Item(["id": .s("b")]))])
        #expect(records.map(\.location.line) == [1, 3])
        #expect(records[0].location.fileKey.hasPrefix("my/prefix/AWSDynamoDB/"))
    }

    static let key = "AWSDynamoDB/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"
    static let fullKey = "AWSDynamoDB/01768386924000-d339e52d/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"

    @Test(
        "a bad line is refused with file, line and column",
        arguments: [
            (ExportKind.full, #"{"Item":{"id":{"S":"a"}"#, "\(fullKey):2:24: unexpected end of line"),
            (.full, #"{"Item":{"id":{"Q":"a"}}}"#, "\(fullKey):2:16: unknown attribute type tag \"Q\""),
            (
                .full, #"{"Keys":{"id":{"S":"a"}}}"#,
                "\(fullKey):2:2: unknown field \"Keys\" (a FULL export line holds only \"Item\")"
            ),
            (.full, #"{}"#, "\(fullKey):2:1: missing \"Item\""),
            (
                .incremental, #"{"Metadata":{"WriteTimestampMicros":{"N":"1"}},"NewImage":{"pk":{"S":"a"}}}"#,
                "\(key):2:1: missing \"Keys\""
            ),
            (
                .incremental, #"{"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"b"}}}"#,
                "\(key):2:1: an image disagrees with Keys on key attribute \"pk\""
            ),
            (.incremental, #"{"Keys":{"pk":{"S":"a"}},"Surprise":1}"#, "\(key):2:26: unknown field \"Surprise\""),
            (
                .incremental, #"{"Keys":{"pk":{"S":"a"}},"Metadata":{"WriteTimestampMicros":{"S":"x"}}}"#,
                "\(key):2:61: \"WriteTimestampMicros\" needs a number"
            ),
            (.incremental, "not json", "\(key):2:1: expected '{' opening a record, found 'n'"),
        ]
    )
    func badLine(_ kind: ExportKind, _ line: String, _ message: String) async {
        let good = kind == .full ? #"{"Item":{"id":{"S":"ok"}}}"# : #"{"Keys":{"pk":{"S":"ok"}}}"#
        do {
            _ = try await readExport(kind: kind, lines: [good, line, good])
            Issue.record("accepted: \(line)")
        } catch {
            #expect("\(error)".hasPrefix(message), "\(error)")
        }
    }

    @Test(
        "a well-formed record DynamoDB would refuse is read, marked with the rule it breaks",
        arguments: [
            (
                ExportKind.full, #"{"Item":{"id":{"S":"a"},"n":{"N":"1234567890123456789012345678901234567891"}}}"#,
                "number \"1234567890123456789012345678901234567891\" has 40 significant digits; DynamoDB keeps at most 38 (column 35"
            ),
            (.full, #"{"Item":{"id":{"S":"a"},"n":{"N":"1E+126"}}}"#, "number \"1E+126\" is outside DynamoDB's range"),
            (.full, #"{"Item":{"id":{"S":"a"},"s":{"SS":[]}}}"#, "empty SS set"),
            (.full, #"{"Item":{"id":{"S":"a"},"s":{"SS":["\u00e9","\u00e9"]}}}"#, "duplicate element in SS set"),
            (.full, #"{"Item":{"id":{"S":"a"},"":{"S":"x"}}}"#, "empty attribute name"),
            (
                .incremental,
                #"{"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"d":"# + String(repeating: #"{"L":["#, count: 33)
                    + #"{"S":"x"}"# + String(repeating: "]}", count: 33) + "}}",
                "maps and lists nested more than 32 levels deep"
            ),
        ]
    )
    func refusedByDynamoDB(_ kind: ExportKind, _ line: String, _ reason: String) async throws {
        let good = kind == .full ? #"{"Item":{"id":{"S":"ok"}}}"# : #"{"Keys":{"pk":{"S":"ok"}}}"#
        let records = try await readExport(kind: kind, lines: [good, line, good])
        #expect(records.count == 3)
        #expect(records[0].violation == nil && records[2].violation == nil)
        let why = try #require(records[1].limitViolationReason)
        #expect(why.contains(reason), "\(why)")
        #expect(records[1].location.line == 2)
    }

    @Test("a data file whose MD5 does not match the manifest is refused")
    func md5Mismatch() async {
        do {
            _ = try await readExport(kind: .full, lines: [#"{"Item":{"id":{"S":"a"}}}"#]) { _, entry in
                entry.md5Checksum = "AAAAAAAAAAAAAAAAAAAAAA=="
            }
            Issue.record("an MD5 mismatch was accepted")
        } catch let ExportReaderError.checksumMismatch(key, expected, actual, against) {
            #expect(key == Self.fullKey)
            #expect(expected == "AAAAAAAAAAAAAAAAAAAAAA==")
            #expect(actual.count == 24 && actual != expected)
            #expect(against == "manifest-files.json")
        } catch { Issue.record("wrong error: \(error)") }
    }

    @Test("a truncated gzip file is refused, naming the file")
    func truncatedGzip() async {
        do {
            _ = try await readExport(kind: .full, lines: (0..<500).map { #"{"Item":{"id":{"S":"item-\#($0)"}}}"# }) {
                writer,
                entry in
                let path = writer.root + "/" + entry.dataFileS3Key
                let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                let cut = bytes.prefix(bytes.count - 12)
                try cut.write(to: URL(fileURLWithPath: path))
                entry.md5Checksum = writer.md5Base64(cut)
            }
            Issue.record("a truncated file was accepted")
        } catch {
            #expect(
                "\(error)" == "\(Self.fullKey): truncated gzip stream (the file ends before the compressed data does)"
            )
        }
    }

    @Test("corrupt gzip data and a wrong item count are refused")
    func corruptAndCount() async throws {
        // A damaged file is reported as what it is — an MD5 mismatch — not as the bad line its damage produces.
        do {
            _ = try await readExport(kind: .full, lines: (0..<50).map { #"{"Item":{"id":{"S":"item-\#($0)"}}}"# }) {
                writer,
                entry in
                let path = writer.root + "/" + entry.dataFileS3Key
                var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
                bytes[40] ^= 0xFF
                try bytes.write(to: URL(fileURLWithPath: path))
            }
            Issue.record("a corrupt file was accepted")
        } catch {
            #expect("\(error)".hasPrefix("\(Self.fullKey): MD5 mismatch — manifest-files.json says"), "\(error)")
        }
        // Without an MD5 to check, gzip's own CRC-32 catches it.
        try await withTemporaryDirectory { root in
            let entry = try ExportFixtureWriter(root: root).dataFile(
                "f.json.gz",
                lines: (0..<50).map { #"{"Item":{"id":{"S":"item-\#($0)"}}}"# }
            )
            var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: root + "/f.json.gz")))
            bytes[bytes.count - 5] ^= 0x01  // the last byte of the CRC-32 (the trailer is CRC-32, then ISIZE)
            let decoder = DataFileDecoder(fileKey: "f.json.gz", kind: .full, expectedMD5: nil)
            #expect(entry.itemCount == 50)
            do {
                try bytes.withUnsafeBytes { try decoder.feed($0) { _ in } }
                try decoder.finish { _ in }
                Issue.record("a CRC mismatch was accepted")
            } catch {
                #expect("\(error)" == "f.json.gz: corrupt gzip data (incorrect data check)")
            }
        }
        do {
            _ = try await readExport(kind: .full, lines: [#"{"Item":{"id":{"S":"a"}}}"#]) { _, entry in
                entry.itemCount = 2
            }
            Issue.record("a wrong item count was accepted")
        } catch {
            // The summary's count is written from the entry, so the file's own count is what disagrees.
            #expect("\(error)" == "\(Self.fullKey): manifest-files.json says 2 items, the file holds 1")
        }
    }

    @Test("a tampered manifest is refused by its .md5 file")
    func manifestChecksum() async throws {
        try await withTemporaryDirectory { root in
            let writer = ExportFixtureWriter(root: root)
            let id = "01768385930622-efd1a093"
            let entry = try writer.dataFile("AWSDynamoDB/\(id)/data/a.json.gz", lines: [#"{"Item":{"id":{"S":"a"}}}"#])
            try writer.manifests(
                exportFolder: "AWSDynamoDB/\(id)",
                summary: fixtureSummary(exportId: id, kind: .full, prefix: nil, itemCount: 1),
                files: [entry]
            )
            let summaryPath = "AWSDynamoDB/\(id)/manifest-summary.json"
            let summary = try String(contentsOfFile: root + "/" + summaryPath, encoding: .utf8)
            try writer.write(
                summaryPath,
                Data(summary.replacingOccurrences(of: "test-1231x1x", with: "other-bucket").utf8)
            )
            let reader = ExportReader(source: LocalDirectorySource(root: root))
            await #expect(throws: ExportReaderError.self) { try await reader.export(summaryKey: summaryPath) }
            do { _ = try await reader.export(summaryKey: summaryPath) } catch {
                #expect(
                    "\(error)".hasPrefix("\(summaryPath): MD5 mismatch — AWSDynamoDB/\(id)/manifest-summary.md5 says"),
                    "\(error)"
                )
            }
        }
    }

    @Test("ION exports are read through the same reader, with file and line in errors")
    func ionExport() async throws {
        try await withTemporaryDirectory { root in
            let writer = ExportFixtureWriter(root: root)
            let id = "01768385930622-efd1a093"
            let key = "AWSDynamoDB/\(id)/data/a.ion.gz"
            let entry = try writer.dataFile(
                key,
                lines: [
                    #"$ion_1_0 {Item:{id:"a",n:6d2,s:$dynamodb_SS::["x"]}}"#, #"$ion_1_0 {Item:{id:"b",n:{{oops!}}}}"#,
                ]
            )
            try writer.manifests(
                exportFolder: "AWSDynamoDB/\(id)",
                summary: fixtureSummary(exportId: id, kind: .full, prefix: nil, itemCount: 2, format: "ION"),
                files: [entry]
            )
            let reader = ExportReader(source: LocalDirectorySource(root: root))
            let export = try await reader.export(summaryKey: "AWSDynamoDB/\(id)/manifest-summary.json")
            #expect(export.summary.format == .ion)
            var records: [ExportRecord] = []
            do {
                _ = try await reader.readRecords(of: export.files[0], in: export) { records += $0 }
                Issue.record("a bad blob was accepted")
            } catch {
                #expect("\(error)" == "\(key):2:26: blob is not valid base64")
            }
            #expect(records.isEmpty, "a block with a bad line emits nothing")
            let first = try writer.dataFile(key, lines: [#"$ion_1_0 {Item:{id:"a",n:6d2,s:$dynamodb_SS::["x"]}}"#])
            try writer.manifests(
                exportFolder: "AWSDynamoDB/\(id)",
                summary: fixtureSummary(exportId: id, kind: .full, prefix: nil, itemCount: 1, format: "ION"),
                files: [first]
            )
            let fixed = try await reader.export(summaryKey: "AWSDynamoDB/\(id)/manifest-summary.json")
            let read = try await allRecords(reader, fixed)
            #expect(
                try read.map { try $0.operation() } == [.put(Item(["id": .s("a"), "n": .n(600), "s": .ss(["x"])]))]
            )
            #expect(
                String(decoding: read[0].line, as: UTF8.self)
                    == #"{"Item":{"id":{"S":"a"},"n":{"N":"6E2"},"s":{"SS":["x"]}}}"#
            )
        }
    }

    @Test("a local copy synced from the prefix (without the prefix folder) still resolves the manifests' keys")
    func copySyncedFromPrefix() async throws {
        try await withTemporaryDirectory { root in
            let writer = ExportFixtureWriter(root: root)
            let id = "01768385930622-efd1a093"
            var entry = try writer.dataFile("AWSDynamoDB/\(id)/data/a.json.gz", lines: [#"{"Item":{"id":{"S":"a"}}}"#])
            entry.dataFileS3Key = "bucket-prefix/" + entry.dataFileS3Key  // what the real manifest says
            try writer.manifests(
                exportFolder: "AWSDynamoDB/\(id)",
                summary: fixtureSummary(exportId: id, kind: .full, prefix: "bucket-prefix", itemCount: 1),
                files: [entry]
            )
            let reader = ExportReader(source: LocalDirectorySource(root: root))
            let export = try await reader.export(summaryKey: "AWSDynamoDB/\(id)/manifest-summary.json")
            #expect(export.files[0].dataFileS3Key == "AWSDynamoDB/\(id)/data/a.json.gz")
            #expect(try await allRecords(reader, export).count == 1)
        }
    }

    @Test("keys that climb out of the directory are refused")
    func unsafeKeys() async {
        let source = LocalDirectorySource(root: "/tmp")
        await #expect(throws: ExportReaderError.unsafeKey(key: "../etc/passwd")) {
            try await source.read("../etc/passwd")
        }
        await #expect(throws: ExportReaderError.unsafeKey(key: "/etc/passwd")) { try await source.read("/etc/passwd") }
    }
}
