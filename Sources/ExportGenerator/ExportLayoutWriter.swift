import Crypto
import DynamoModel
import ExportReader
import Foundation

/// Lays an export out exactly as DynamoDB writes it to S3:
///
///     <prefix>/AWSDynamoDB/<ExportId>/_started, manifest-summary.json(+.md5), manifest-files.json(+.md5)
///     FULL data:        <prefix>/AWSDynamoDB/<ExportId>/data/<26 × [a-z2-7]>.json.gz
///     INCREMENTAL data: <prefix>/AWSDynamoDB/data/<26 × [a-z2-7]>.json.gz   (a folder shared by all incrementals)
///
/// Manifest keys are bucket-absolute (prefix included), summaries keep the real files' field order and quirks:
/// no `exportType` on FULL exports, `s3Prefix` null when there is no prefix.
struct ExportLayoutWriter {
    let spec: ChainSpec
    /// The local directory standing for the bucket root.
    let root: String

    struct Window {
        var kind: ExportKind
        var exportId: String
        var startTime: ExportTime
        var endTime: ExportTime
        var exportTime: ExportTime?
        var from: ExportTime?
        var to: ExportTime?
        var format: ExportFormat = .dynamoDBJSON
    }

    /// Opens one gzip writer per partition and returns them with their keys.
    func openDataFiles(for window: Window, random: inout SplitMix64) throws -> [(key: String, writer: GzipFileWriter)] {
        let folder = window.kind == .full ? "AWSDynamoDB/\(window.exportId)/data/" : "AWSDynamoDB/data/"
        try makeDirectory(spec.keyPrefix + folder)
        return try (0..<spec.partitions).map { _ in
            let key =
                spec.keyPrefix + folder + Self.dataFileName(&random) + (window.format == .ion ? ".ion.gz" : ".json.gz")
            return (key, try GzipFileWriter(path: root + "/" + key, level: spec.compressionLevel))
        }
    }

    /// Finishes the data files and writes the manifests; returns the manifest entries.
    @discardableResult
    func finishExport(_ window: Window, files: [(key: String, writer: GzipFileWriter)]) throws -> [ManifestFileEntry] {
        let folder = spec.keyPrefix + "AWSDynamoDB/\(window.exportId)/"
        try makeDirectory(folder)
        try write(folder + "_started", [])
        var entries: [ManifestFileEntry] = []
        var manifest: [UInt8] = []
        for (key, writer) in files {
            let done = try writer.finish()
            let entry = ManifestFileEntry(
                itemCount: done.lines,
                md5Checksum: done.md5Checksum,
                etag: done.etag,
                dataFileS3Key: key
            )
            entries.append(entry)
            manifest += Array(
                #"{"itemCount":\#(entry.itemCount),"md5Checksum":"\#(entry.md5Checksum)","etag":"\#(entry.etag)","dataFileS3Key":"\#(key)"}"#
                    .utf8
            )
            manifest.append(0x0A)
        }
        try write(folder + "manifest-files.json", manifest)
        try write(folder + "manifest-files.md5", Array(Self.base64MD5(manifest).utf8))
        let summary = Array(summaryJSON(window, entries: entries, manifestKey: folder + "manifest-files.json").utf8)
        try write(folder + "manifest-summary.json", summary)
        try write(folder + "manifest-summary.md5", Array(Self.base64MD5(summary).utf8))
        return entries
    }

    func summaryJSON(_ window: Window, entries: [ManifestFileEntry], manifestKey: String) -> String {
        let items = entries.reduce(Int64(0)) { $0 + $1.itemCount }
        func quoted(_ s: String?) -> String { s.map { "\"\($0)\"" } ?? "null" }
        var fields: [String] = [
            #""version":"\#(window.kind == .full ? "2020-06-30" : "2023-08-01")""#,
            #""exportArn":"\#(spec.tableArn)/export/\#(window.exportId)""#,
            #""startTime":"\#(window.startTime.text)""#,
            #""endTime":"\#(window.endTime.text)""#,
            #""tableArn":"\#(spec.tableArn)""#,
            #""tableId":"\#(tableId)""#,
        ]
        if let exportTime = window.exportTime { fields.append(#""exportTime":"\#(exportTime.text)""#) }
        if let from = window.from, let to = window.to {
            fields.append(#""exportFromTime":"\#(from.text)""#)
            fields.append(#""exportToTime":"\#(to.text)""#)
        }
        fields += [
            #""s3Bucket":"\#(spec.bucket)""#,
            #""s3Prefix":\#(quoted(spec.prefix))"#,
            #""s3SseAlgorithm":"AES256""#,
            #""s3SseKmsKeyId":null"#,
            #""manifestFilesS3Key":"\#(manifestKey)""#,
            // Incremental exports bill at least 10 MB.
            #""billedSizeBytes":\#(window.kind == .full ? items * 100 : max(10_000_000, items * 100))"#,
            #""itemCount":\#(items)"#,
            #""outputFormat":"\#(window.format.rawValue)""#,
        ]
        if window.kind == .incremental {
            fields.append(#""outputView":"\#(spec.viewType.rawValue)""#)
            fields.append(#""exportType":"INCREMENTAL_EXPORT""#)
        }
        return "{" + fields.joined(separator: ",") + "}"
    }

    /// A stable UUID-shaped table id derived from the seed.
    var tableId: String {
        var random = SplitMix64(seed: spec.seed, -1, -1)
        let hex = random.bytes(16).map { String($0, radix: 16) }.map { $0.count == 1 ? "0" + $0 : $0 }.joined()
        let c = Array(hex)
        return
            "\(String(c[0..<8]))-\(String(c[8..<12]))-\(String(c[12..<16]))-\(String(c[16..<20]))-\(String(c[20..<32]))"
    }

    /// `<14-digit zero-padded epoch ms>-<8 hex>`, as AWS names exports.
    static func exportId(startTime: ExportTime, random: inout SplitMix64) -> String {
        let millis = String(startTime.epochMilliseconds)
        let hex = String(random.next() & 0xFFFF_FFFF, radix: 16)
        return String(repeating: "0", count: max(0, 14 - millis.count)) + millis + "-"
            + String(repeating: "0", count: 8 - hex.count) + hex
    }

    static func dataFileName(_ random: inout SplitMix64) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz234567")
        return String((0..<26).map { _ in alphabet[Int(random.next() % 32)] })
    }

    static func base64MD5(_ bytes: [UInt8]) -> String { ExportGenerator.base64MD5(bytes) }

    func makeDirectory(_ relative: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: root + "/" + relative, withIntermediateDirectories: true)
        } catch {
            throw GeneratorError.io(path: root + "/" + relative, reason: "\(error)")
        }
    }

    func write(_ relative: String, _ bytes: [UInt8]) throws {
        guard FileManager.default.createFile(atPath: root + "/" + relative, contents: Data(bytes)) else {
            throw GeneratorError.io(path: root + "/" + relative, reason: "cannot create file")
        }
    }
}

/// base64(MD5(bytes)): the form of `md5Checksum` and of the `.md5` files.
package func base64MD5(_ bytes: [UInt8]) -> String { Base64.encode(Array(Insecure.MD5.hash(data: bytes))) }
