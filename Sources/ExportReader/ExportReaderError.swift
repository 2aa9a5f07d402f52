import DynamoModel
import Foundation

/// Why an export cannot be read. Every case names the object (file) to look at, and the line where there is one.
public enum ExportReaderError: Error, Hashable, Sendable, CustomStringConvertible {
    case objectNotFound(key: String, source: String)
    case io(path: String, reason: String)
    case unsafeKey(key: String)
    case invalidManifest(key: String, line: Int?, reason: String)
    case checksumMismatch(key: String, expected: String, actual: String, checkedAgainst: String)
    /// A manifest that does not match its `manifest-*.md5`: refused unless the plan accepts it knowingly.
    case manifestChecksumMismatch(key: String, expected: String, actual: String, checkedAgainst: String)
    case gzip(key: String, reason: String)
    case invalidRecord(key: String, line: Int, column: Int, reason: String)
    case itemCountMismatch(key: String, manifest: Int64, actual: Int64)

    public var description: String {
        switch self {
        case let .objectNotFound(key, source):
            "\(key): not found in \(source)"
        case let .io(path, reason):
            "\(path): \(reason)"
        case let .unsafeKey(key):
            "\(key): refusing a key that leaves the export directory"
        case let .invalidManifest(key, line, reason):
            "\(key)\(line.map { ":\($0)" } ?? ""): \(reason)"
        case let .checksumMismatch(key, expected, actual, checkedAgainst):
            "\(key): MD5 mismatch — \(checkedAgainst) says \(expected), the file hashes to \(actual); the file changed or is corrupt"
        case let .manifestChecksumMismatch(key, expected, actual, checkedAgainst):
            "\(key): MD5 mismatch — \(checkedAgainst) says \(expected), the file hashes to \(actual); the manifest changed or is "
                + "corrupt. If you know why (a copy that rewrote one of the two) and trust the manifest, plan again with "
                + "--accept-manifest-checksum-mismatch: the plan records it (data files are still checked)"
        case let .gzip(key, reason):
            "\(key): \(reason)"
        case let .invalidRecord(key, line, column, reason):
            "\(key):\(line):\(column): \(reason)"
        case let .itemCountMismatch(key, manifest, actual):
            "\(key): manifest-files.json says \(manifest) items, the file holds \(actual)"
        }
    }

    /// A short, readable reason from a Foundation decoding error (which names the field and position).
    static func describeDecoding(_ error: any Error) -> String {
        switch error as? DecodingError {
        case .keyNotFound(let key, _): "missing \"\(key.stringValue)\""
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\": \(context.debugDescription)"
        case .dataCorrupted(let context):
            "not valid JSON (\(context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription))"
        default: "\(error)"
        }
    }
}
