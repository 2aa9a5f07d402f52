import Foundation

/// A string that must never appear in logs, error messages, `print`, `debugPrint` or `dump`.
///
/// Every textual view (including `Mirror`, which `dump` and string interpolation of enclosing
/// values use) shows `<redacted>`. Read the real value only at the point of use via ``revealed``.
public struct SensitiveString: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The real value. Named loudly so that call sites are easy to audit.
    public let revealed: String

    /// Wraps a secret value.
    public init(_ value: String) { self.revealed = value }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    // Without this, `dump` would walk the stored property and print the secret.
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// A set of AWS credentials. The secret key and session token are ``SensitiveString``s, so
/// printing, interpolating or dumping a `Credentials` value never reveals them.
public struct Credentials: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The access key id (`AKIA…`/`ASIA…`). Not secret on its own and useful in diagnostics.
    public var accessKeyId: String
    /// The secret access key.
    public var secretAccessKey: SensitiveString
    /// The session token for temporary credentials, if any.
    public var sessionToken: SensitiveString?
    /// When temporary credentials stop working; `nil` for long-lived keys.
    public var expiration: Date?
    /// The account the credentials belong to, when the source reports it.
    public var accountId: String?

    /// Creates credentials from plain strings; the secrets are wrapped immediately.
    public init(
        accessKeyId: String,
        secretAccessKey: String,
        sessionToken: String? = nil,
        expiration: Date? = nil,
        accountId: String? = nil
    ) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = SensitiveString(secretAccessKey)
        self.sessionToken = sessionToken.map(SensitiveString.init)
        self.expiration = expiration
        self.accountId = accountId
    }

    public var description: String {
        var parts = ["accessKeyId: \(accessKeyId)", "secretAccessKey: <redacted>"]
        if sessionToken != nil { parts.append("sessionToken: <redacted>") }
        if let expiration { parts.append("expiration: \(ISO8601.format(expiration))") }
        if let accountId { parts.append("accountId: \(accountId)") }
        return "Credentials(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
                "expiration": expiration.map(ISO8601.format) ?? "nil",
                "accountId": accountId ?? "nil",
            ],
            displayStyle: .struct
        )
    }
}
