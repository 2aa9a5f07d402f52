/// Task 1's result: the canonical request and its signed-header list.
public struct CanonicalRequest: Sendable, Equatable {
    /// The canonical request text. Contains the session token, if any: do not log it.
    public let text: String
    /// The `;`-joined, sorted, lowercase names of the signed headers.
    public let signedHeaders: String
}

/// The result of ``SigV4Signer/sign(_:credentials:date:)``.
///
/// ``description`` and the `dump` mirror redact the session token; the
/// ``canonicalRequest`` kept for diagnosing `SignatureDoesNotMatch` errors
/// contains it and must not be logged as is.
public struct SignedRequest: Sendable {
    /// Headers to add to the request, replacing any of the same name:
    /// `X-Amz-Date`, then `X-Amz-Security-Token` if the credentials have a
    /// token, then `X-Amz-Content-SHA256` for S3, then `Authorization`.
    public let headers: [(name: String, value: String)]
    /// The canonical request that was signed (task 1). Contains the token.
    public let canonicalRequest: String
    /// The string that was signed (task 3).
    public let stringToSign: String
    /// The `;`-joined names of the signed headers.
    public let signedHeaders: String
    /// The lowercase hex signature (task 4).
    public let signature: String

    /// The `Authorization` header value.
    public var authorization: String { self["Authorization"] ?? "" }

    /// The value of the added header `name` (case-insensitive), if any.
    public subscript(name: String) -> String? {
        let lower = SigV4Encoding.asciiLowercased(name)
        return headers.first { SigV4Encoding.asciiLowercased($0.name) == lower }?.value
    }
}

extension SignedRequest: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The added headers, with the session token redacted.
    public var description: String {
        "SignedRequest(" + redactedHeaders.map { "\($0.name): \($0.value)" }.joined(separator: ", ") + ")"
    }

    public var debugDescription: String { description }

    /// Keeps `dump(_:)` from printing the token in the headers or the canonical request.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "headers": redactedHeaders.map { "\($0.name): \($0.value)" },
                "signedHeaders": signedHeaders,
                "signature": signature,
            ],
            displayStyle: .struct
        )
    }

    private var redactedHeaders: [(name: String, value: String)] {
        headers.map { header in
            SigV4Encoding.asciiLowercased(header.name) == "x-amz-security-token"
                ? (name: header.name, value: "<redacted>") : header
        }
    }
}
