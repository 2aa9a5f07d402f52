/// The parts of an HTTP request that SigV4 signs.
///
/// Conventions (they follow what goes on the wire, as botocore does):
/// - ``path`` is the path **as sent on the wire, already percent-encoded**
///   (build it with ``SigV4Encoding/encodePath(_:)`` from a raw S3 key). The
///   signer encodes it once more for non-S3 services, which is AWS's
///   "double encoding", and uses it verbatim for S3.
/// - ``query`` holds **raw, unencoded** names and values; the signer encodes
///   them. ``SigV4Encoding/canonicalQueryString(_:)`` gives a string that is
///   both the canonical query and a valid query for the URL.
/// - ``headers`` are the headers that will be sent, duplicates allowed, and
///   must include `Host`. The signer overwrites any `X-Amz-Date` and
///   `Authorization` (and `X-Amz-Security-Token` when the credentials carry a
///   token, `x-amz-content-sha256` for S3) with the values it returns.
public struct SigningRequest: Sendable {
    /// The HTTP method, e.g. `GET`. Upper-cased by the signer.
    public var method: String
    /// The percent-encoded path, e.g. `/` or `/my%20key`. Empty means `/`.
    public var path: String
    /// Raw (unencoded) query items, in any order; repeated names are allowed.
    public var query: [(name: String, value: String)]
    /// Request headers, in any case, duplicates allowed (signed joined by `,`).
    public var headers: [(name: String, value: String)]
    /// The body, or its precomputed hash.
    public var payload: Payload

    /// Creates a request; see the type's documentation for the conventions.
    public init(
        method: String,
        path: String = "/",
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        payload: Payload = .empty
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.payload = payload
    }
}

/// What the signature covers of the body.
public enum Payload: Sendable, Equatable {
    /// The body bytes; the signer hashes them with SHA-256.
    case bytes([UInt8])
    /// The lowercase hex SHA-256 of the body, computed elsewhere (e.g. while
    /// streaming a file), so the body need not be in memory.
    case sha256Hex(String)
    /// `UNSIGNED-PAYLOAD`: S3 only, the body is not covered by the signature.
    case unsigned

    /// An empty body.
    public static let empty = Payload.bytes([])

    /// The UTF-8 bytes of `text`.
    public static func utf8(_ text: String) -> Payload { .bytes(Array(text.utf8)) }
}
