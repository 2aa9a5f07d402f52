import DynamoModel
import ExportGenerator
import ExportReader
import Foundation

/// Writes small hand-made exports for reader tests: real layout, correct checksums unless a test breaks them.
public struct ExportFixtureWriter {
    public let root: String
    public init(root: String) { self.root = root }

    /// Writes a gzip data file of `lines` at `key` and returns its manifest entry.
    @discardableResult
    public func dataFile(_ key: String, lines: [String]) throws -> ManifestFileEntry {
        try FileManager.default.createDirectory(
            atPath: (root + "/" + key as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        let writer = try GzipFileWriter(path: root + "/" + key, level: 6)
        for line in lines { try writer.appendLine(Array(line.utf8)) }
        let done = try writer.finish()
        return ManifestFileEntry(
            itemCount: done.lines,
            md5Checksum: done.md5Checksum,
            etag: done.etag,
            dataFileS3Key: key
        )
    }

    /// Writes `manifest-files.json` and `manifest-summary.json` (each with its `.md5`) for an export.
    public func manifests(exportFolder: String, summary: String, files: [ManifestFileEntry]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var manifest = Data()
        for file in files {
            manifest.append(try encoder.encode(file))
            manifest.append(0x0A)
        }
        try write(exportFolder + "/manifest-files.json", manifest)
        try write(exportFolder + "/manifest-files.md5", Data(md5Base64(manifest).utf8))
        try write(exportFolder + "/manifest-summary.json", Data(summary.utf8))
        try write(exportFolder + "/manifest-summary.md5", Data(md5Base64(Data(summary.utf8)).utf8))
    }

    public func write(_ key: String, _ data: Data) throws {
        let path = root + "/" + key
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true
        )
        try data.write(to: URL(fileURLWithPath: path))
    }

    public func md5Base64(_ data: Data) -> String { base64MD5(Array(data)) }
}

/// A one-file export summary for fixtures.
public func fixtureSummary(
    exportId: String = "01768385930622-efd1a093",
    kind: ExportKind,
    prefix: String?,
    itemCount: Int64,
    format: String = "DYNAMODB_JSON",
    view: String = "NEW_AND_OLD_IMAGES",
    table: String = "test"
) -> String {
    let keyPrefix = prefix.map { $0 + "/" } ?? ""
    let arn = "arn:aws:dynamodb:eu-north-1:123456789123:table/\(table)"
    let common =
        #""version":"\#(kind == .full ? "2020-06-30" : "2023-08-01")","exportArn":"\#(arn)/export/\#(exportId)","startTime":"2026-01-14T10:18:50.622Z","endTime":"2026-01-14T10:24:58.984Z","tableArn":"\#(arn)","tableId":"cf263806-6bf1-4e51-a242-7067dcdecc72""#
    let bucket =
        #""s3Bucket":"test-1231x1x","s3Prefix":\#(prefix.map { "\"\($0)\"" } ?? "null"),"s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"\#(keyPrefix)AWSDynamoDB/\#(exportId)/manifest-files.json""#
    switch kind {
    case .full:
        return
            #"{\#(common),"exportTime":"2026-01-14T10:18:50.622Z",\#(bucket),"billedSizeBytes":0,"itemCount":\#(itemCount),"outputFormat":"\#(format)"}"#
    case .incremental:
        return
            #"{\#(common),"exportFromTime":"2026-01-14T10:20:00.000Z","exportToTime":"2026-01-14T10:35:00.000Z",\#(bucket),"billedSizeBytes":10000000,"itemCount":\#(itemCount),"outputFormat":"\#(format)","outputView":"\#(view)","exportType":"INCREMENTAL_EXPORT"}"#
    }
}

/// Reads every record of an export.
public func allRecords(_ reader: ExportReader, _ export: Export) async throws -> [ExportRecord] {
    var records: [ExportRecord] = []
    for file in export.files {
        _ = try await reader.readRecords(of: file, in: export) { records += $0 }
    }
    return records
}

/// Applies records the straightforward way: put the whole item, or delete the key.
public func apply(_ records: [ExportRecord], keyNames: [String], to table: inout [Item: Item]) throws {
    try ChainVerifier.apply(records, keyNames: keyNames, to: &table)
}

/// Loads an expected-state file (DynamoDB JSON item per line) keyed by primary key.
public func loadState(_ path: String, keyNames: [String]) throws -> [Item: Item] {
    try ChainVerifier.loadState(path, keyNames: keyNames)
}
