/// AWS credentials used to sign a request.
///
/// The secret access key and the session token are secrets: ``description``,
/// ``debugDescription`` and the reflection used by `dump(_:)` never print them,
/// so logging a value of this type (or a struct that holds one) is safe.
/// The access key ID is printed: AWS treats it as an identifier (it appears in
/// CloudTrail and in `Authorization` headers), and it is what one needs to
/// tell credentials apart when debugging.
public struct SigningCredentials: Sendable, Equatable {
    /// The access key ID, e.g. `AKIDEXAMPLE`. Not secret.
    public let accessKeyId: String
    /// The secret access key. Never printed.
    public let secretAccessKey: String
    /// The session token of temporary (STS) credentials, or `nil`. Never printed.
    public let sessionToken: String?

    /// Creates credentials. No validation happens here; see ``validated()``.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        // An empty token (e.g. `AWS_SESSION_TOKEN=`) means "no token": sending an
        // empty `X-Amz-Security-Token` header makes AWS reject the request.
        self.sessionToken = (sessionToken?.isEmpty ?? true) ? nil : sessionToken
    }

    /// Returns `self` after checking that the credentials can be put into HTTP
    /// headers: non-empty key ID and secret, and no control characters (which
    /// would allow header injection through the token or the key ID).
    ///
    /// The thrown ``SigV4Error`` never contains the secret or the token.
    public func validated() throws(SigV4Error) -> SigningCredentials {
        if accessKeyId.isEmpty { throw .invalidCredentials("the access key ID is empty") }
        if secretAccessKey.isEmpty {
            throw .invalidCredentials("the secret access key for \(accessKeyId) is empty")
        }
        if accessKeyId.utf8.contains(where: Self.isControl) {
            throw .invalidCredentials("the access key ID contains a control character")
        }
        if let sessionToken, sessionToken.utf8.contains(where: Self.isControl) {
            throw .invalidCredentials("the session token for \(accessKeyId) contains a control character")
        }
        return self
    }

    private static func isControl(_ byte: UInt8) -> Bool { byte < 0x20 || byte == 0x7F }
}

extension SigningCredentials: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// `AKIDEXAMPLE (secret redacted)`, or `AKIDEXAMPLE (secret and session token redacted)`.
    public var description: String {
        sessionToken == nil
            ? "\(accessKeyId) (secret redacted)"
            : "\(accessKeyId) (secret and session token redacted)"
    }

    public var debugDescription: String { "SigningCredentials(\(description))" }

    /// Without this, `dump(credentials)` and debugger summaries would walk the
    /// stored properties and print the secret.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "accessKeyId": accessKeyId,
                "secretAccessKey": "<redacted>",
                "sessionToken": sessionToken == nil ? "nil" : "<redacted>",
            ],
            displayStyle: .struct
        )
    }
}

/// Errors from this module. Their text never includes a secret access key or
/// a session token (it may include the access key ID).
public enum SigV4Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// The credentials cannot be used; the payload says why.
    case invalidCredentials(String)

    public var description: String {
        switch self {
        case .invalidCredentials(let reason): "invalid AWS credentials: \(reason)"
        }
    }
}
