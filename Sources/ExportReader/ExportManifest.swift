import Foundation

/// Whether an export is a FULL point-in-time export or an INCREMENTAL window.
public enum ExportKind: String, Sendable, Hashable, Codable {
    case full = "FULL_EXPORT"
    case incremental = "INCREMENTAL_EXPORT"
}

/// The data format of an export's files.
public enum ExportFormat: String, Sendable, Hashable, Codable {
    case dynamoDBJSON = "DYNAMODB_JSON"
    case ion = "ION"
}

/// Which images an incremental export's records carry.
public enum ExportViewType: String, Sendable, Hashable, Codable {
    case newImage = "NEW_IMAGE"
    case newAndOldImages = "NEW_AND_OLD_IMAGES"
}

/// `manifest-summary.json`, validated. Real-file quirks handled: `exportType` is absent on FULL exports,
/// `s3Prefix` may be null, keys already include the prefix, versions 2020-06-30 (full) and 2023-08-01 (incremental).
public struct ExportSummary: Sendable, Hashable {
    public var version: String
    public var exportArn: String
    /// The `<14-digit epoch ms>-<8 hex>` id at the end of the ARN.
    public var exportId: String
    public var kind: ExportKind
    public var startTime: ExportTime
    public var endTime: ExportTime?
    public var tableArn: String
    public var tableId: String
    /// FULL: the point in time the export reflects.
    public var exportTime: ExportTime?
    /// INCREMENTAL: the window [from, to).
    public var exportFromTime: ExportTime?
    public var exportToTime: ExportTime?
    public var s3Bucket: String
    public var s3Prefix: String?
    public var manifestFilesS3Key: String
    public var billedSizeBytes: Int64?
    public var itemCount: Int64
    public var format: ExportFormat
    public var viewType: ExportViewType?

    /// The point in time the target reaches once this export is applied: `exportTime` or `exportToTime`.
    public var pointInTime: ExportTime { kind == .full ? exportTime! : exportToTime! }
}

/// One line of `manifest-files.json`: a data file and what the export says about it.
public struct ManifestFileEntry: Sendable, Hashable, Codable {
    public var itemCount: Int64
    /// base64(MD5(the .gz object's bytes)).
    public var md5Checksum: String
    /// The S3 multipart ETag (`hex(MD5(MD5(object)))-1`), not the plain MD5.
    public var etag: String
    /// Bucket-absolute key, prefix included.
    public var dataFileS3Key: String

    public init(itemCount: Int64, md5Checksum: String, etag: String, dataFileS3Key: String) {
        self.itemCount = itemCount
        self.md5Checksum = md5Checksum
        self.etag = etag
        self.dataFileS3Key = dataFileS3Key
    }
}

extension ExportSummary {
    private struct Raw: Decodable {
        var version: String?
        var exportArn: String?
        var startTime: String?
        var endTime: String?
        var tableArn: String?
        var tableId: String?
        var exportTime: String?
        var exportFromTime: String?
        var exportToTime: String?
        var s3Bucket: String?
        var s3Prefix: String?
        var manifestFilesS3Key: String?
        var billedSizeBytes: Int64?
        var itemCount: Int64?
        var outputFormat: String?
        var outputView: String?
        var exportType: String?
    }

    /// Decodes and validates a summary; `key` names the file in errors.
    public static func decode(_ bytes: [UInt8], key: String) throws(ExportReaderError) -> ExportSummary {
        func invalid(_ reason: String) -> ExportReaderError { .invalidManifest(key: key, line: nil, reason: reason) }
        let raw: Raw
        do {
            raw = try JSONDecoder().decode(Raw.self, from: Data(bytes))
        } catch {
            throw invalid("not a manifest summary: \(ExportReaderError.describeDecoding(error))")
        }
        func required(_ value: String?, _ field: String) throws(ExportReaderError) -> String {
            guard let value, !value.isEmpty else { throw invalid("missing \"\(field)\"") }
            return value
        }
        func time(_ value: String?, _ field: String) throws(ExportReaderError) -> ExportTime? {
            guard let value else { return nil }
            guard let time = ExportTime(value) else {
                throw invalid("\"\(field)\" is not an ISO 8601 time: \"\(value)\"")
            }
            return time
        }
        let arn = try required(raw.exportArn, "exportArn")
        guard let slash = arn.range(of: "/export/", options: .backwards) else {
            throw invalid("exportArn \"\(arn)\" has no /export/<ExportId>")
        }
        let kind: ExportKind
        switch raw.exportType {
        case nil, "FULL_EXPORT": kind = .full  // real FULL summaries omit exportType
        case "INCREMENTAL_EXPORT": kind = .incremental
        case let other?: throw invalid("unknown exportType \"\(other)\" (expected FULL_EXPORT or INCREMENTAL_EXPORT)")
        }
        let formatText = try required(raw.outputFormat, "outputFormat")
        guard let format = ExportFormat(rawValue: formatText) else {
            throw invalid("unknown outputFormat \"\(formatText)\" (expected DYNAMODB_JSON or ION)")
        }
        var viewType: ExportViewType?
        if let view = raw.outputView {
            guard let parsed = ExportViewType(rawValue: view) else {
                throw invalid("unknown outputView \"\(view)\" (expected NEW_IMAGE or NEW_AND_OLD_IMAGES)")
            }
            viewType = parsed
        }
        guard let itemCount = raw.itemCount, itemCount >= 0 else { throw invalid("missing or negative \"itemCount\"") }
        let summary = ExportSummary(
            version: try required(raw.version, "version"),
            exportArn: arn,
            exportId: String(arn[slash.upperBound...]),
            kind: kind,
            startTime: try time(try required(raw.startTime, "startTime"), "startTime")!,
            endTime: try time(raw.endTime, "endTime"),
            tableArn: try required(raw.tableArn, "tableArn"),
            tableId: try required(raw.tableId, "tableId"),
            exportTime: try time(raw.exportTime, "exportTime"),
            exportFromTime: try time(raw.exportFromTime, "exportFromTime"),
            exportToTime: try time(raw.exportToTime, "exportToTime"),
            s3Bucket: try required(raw.s3Bucket, "s3Bucket"),
            s3Prefix: raw.s3Prefix,
            manifestFilesS3Key: try required(raw.manifestFilesS3Key, "manifestFilesS3Key"),
            billedSizeBytes: raw.billedSizeBytes,
            itemCount: itemCount,
            format: format,
            viewType: viewType
        )
        switch kind {
        case .full:
            guard summary.exportTime != nil else { throw invalid("FULL export has no \"exportTime\"") }
        case .incremental:
            guard let from = summary.exportFromTime else {
                throw invalid("INCREMENTAL export has no \"exportFromTime\"")
            }
            guard let to = summary.exportToTime else { throw invalid("INCREMENTAL export has no \"exportToTime\"") }
            guard from < to else {
                throw invalid("window is empty: exportFromTime \(from) is not before exportToTime \(to)")
            }
        }
        return summary
    }
}

extension ManifestFileEntry {
    /// Decodes `manifest-files.json` (JSON Lines). Blank lines are skipped; `key` names the file in errors.
    public static func decodeLines(_ bytes: [UInt8], key: String) throws(ExportReaderError) -> [ManifestFileEntry] {
        var entries: [ManifestFileEntry] = []
        let decoder = JSONDecoder()
        var lineNumber = 0
        for line in bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            let entry: ManifestFileEntry
            do {
                entry = try decoder.decode(ManifestFileEntry.self, from: Data(line))
            } catch {
                throw .invalidManifest(key: key, line: lineNumber, reason: ExportReaderError.describeDecoding(error))
            }
            guard entry.itemCount >= 0 else {
                throw .invalidManifest(key: key, line: lineNumber, reason: "negative itemCount")
            }
            guard let digest = Base64Digest(entry.md5Checksum), digest.bytes.count == 16 else {
                throw .invalidManifest(
                    key: key,
                    line: lineNumber,
                    reason: "md5Checksum \"\(entry.md5Checksum)\" is not a base64 MD5"
                )
            }
            entries.append(entry)
        }
        return entries
    }
}

/// A base64 digest as written in manifests and `.md5` files.
struct Base64Digest {
    var bytes: [UInt8]
    init?(_ text: String) {
        guard let data = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
        bytes = [UInt8](data)
    }
}
