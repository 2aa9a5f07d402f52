import Foundation

/// Why `credential_process` output was rejected. Messages name fields, never their values
/// (except `Version` and `Expiration`, which are not secret).
public enum ProcessCredentialsError: Error, Sendable, Hashable, CustomStringConvertible {
    case notJSONObject
    case unsupportedVersion(String)
    case missingField(String)
    case invalidExpiration(String)

    public var description: String {
        let prefix = "credential_process output"
        switch self {
        case .notJSONObject: return "\(prefix) is not a JSON object"
        case .unsupportedVersion(let v): return "\(prefix) has unsupported Version \(v); only 1 is supported"
        case .missingField(let f): return "\(prefix) is missing the string field \"\(f)\""
        case .invalidExpiration(let v): return "\(prefix) has an Expiration that is not an ISO 8601 timestamp: \"\(v)\""
        }
    }
}

/// Parses the JSON printed by a `credential_process` command:
/// `{"Version":1,"AccessKeyId":…,"SecretAccessKey":…,"SessionToken":…,"Expiration":"…"}`.
public enum ProcessCredentialsParser {
    /// - Throws: ``ProcessCredentialsError``; underlying JSON errors are dropped on purpose
    ///   because decoder messages can quote the input.
    public static func parse(_ output: Data) throws(ProcessCredentialsError) -> Credentials {
        guard let object = try? JSONDecoder().decode([String: JSONScalar].self, from: output) else {
            throw .notJSONObject
        }
        guard let version = object["Version"] else { throw .missingField("Version") }
        switch version {
        case .int(1): break
        case .int(let n): throw .unsupportedVersion(String(n))
        case .string(let s): throw .unsupportedVersion("\"\(s)\"")
        case .other: throw .unsupportedVersion("(not an integer)")
        }
        func string(_ key: String) -> String? {
            guard case .string(let s)? = object[key], !s.isEmpty else { return nil }
            return s
        }
        guard let id = string("AccessKeyId") else { throw .missingField("AccessKeyId") }
        guard let secret = string("SecretAccessKey") else { throw .missingField("SecretAccessKey") }
        var expiration: Date?
        if let raw = string("Expiration") {
            guard let date = ISO8601.parse(raw) else { throw .invalidExpiration(raw) }
            expiration = date
        }
        return Credentials(
            accessKeyId: id,
            secretAccessKey: secret,
            sessionToken: string("SessionToken"),
            expiration: expiration,
            accountId: string("AccountId")
        )
    }
}

/// A top-level JSON value reduced to what the parser cares about. Decoded with `JSONDecoder`
/// rather than `JSONSerialization` because on Linux the latter bridges `1` and `true` to the
/// same `NSNumber`, so `Version: true` would pass as 1.
private enum JSONScalar: Decodable {
    case string(String)
    case int(Int)
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let s = try? container.decode(String.self) {
            self = .string(s)
        } else if (try? container.decode(Bool.self)) != nil {
            self = .other
        } else if let n = try? container.decode(Int.self) {
            self = .int(n)
        } else {
            self = .other  // null, fractions, arrays, objects
        }
    }
}
