import Crypto
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Signs requests with AWS Signature Version 4 (header form).
///
/// Step names below are those of the AWS guide "Create a signed AWS API
/// request" (IAM User Guide, `create-signed-request.html`).
///
/// S3 (``service`` == `"s3"`) differs in three ways, as in botocore's
/// `S3SigV4Auth`: the path is neither normalised nor encoded again, the
/// `x-amz-content-sha256` header is sent and signed, and ``Payload/unsigned``
/// is meaningful.
public struct SigV4Signer: Sendable {
    /// The region, e.g. `us-east-1`.
    public let region: String
    /// The signing name of the service, e.g. `dynamodb`, `sts`, `s3`.
    public let service: String

    /// Headers never signed, as in botocore's `SIGNED_HEADERS_BLACKLIST`:
    /// hop-by-hop headers a proxy may change, and headers HTTP clients add or
    /// rewrite after signing (`user-agent`, `expect`, `x-amzn-trace-id`).
    /// `authorization` is listed because the signer replaces it.
    public static let unsignedHeaders: Set<String> = [
        "authorization", "connection", "expect", "keep-alive", "proxy-authenticate",
        "proxy-authorization", "te", "trailer", "transfer-encoding", "upgrade",
        "user-agent", "x-amzn-trace-id",
    ]

    /// The algorithm name that starts the string to sign and `Authorization`.
    public static let algorithm = "AWS4-HMAC-SHA256"

    /// A signer for one region and service signing name (not the endpoint host).
    public init(region: String, service: String) {
        self.region = region
        self.service = service
    }

    /// Whether S3's rules apply (see the type's documentation).
    public var usesS3Rules: Bool { service == "s3" }

    /// Signs `request` at `date` and returns the headers to add to it.
    public func sign(_ request: SigningRequest, credentials: SigningCredentials, date: Date) -> SignedRequest {
        let amzDate = AMZDate(date)
        let added = addedHeaders(for: request, credentials: credentials, amzDate: amzDate)
        let canonical = canonicalRequest(request, adding: added)
        // The two date forms are worked out once per request (they were four times more, 1 % of a bulk apply).
        let scope = credentialScope(dateStamp: amzDate.dateStamp)
        let toSign = stringToSign(canonicalRequest: canonical.text, timestamp: amzDate.timestamp, scope: scope)
        let key = cachedSigningKey(secretAccessKey: credentials.secretAccessKey, dateStamp: amzDate.dateStamp)
        let signature = signature(stringToSign: toSign, signingKey: key)
        let authorization =
            "\(Self.algorithm) Credential=\(credentials.accessKeyId)/\(scope), "
            + "SignedHeaders=\(canonical.signedHeaders), Signature=\(signature)"
        return SignedRequest(
            headers: added + [(name: "Authorization", value: authorization)],
            canonicalRequest: canonical.text,
            stringToSign: toSign,
            signedHeaders: canonical.signedHeaders,
            signature: signature
        )
    }

    /// Task 1, "Create a canonical request", for `request` signed with
    /// `credentials` at `date`: includes the `X-Amz-Date` (and token and S3
    /// content-hash) headers that ``sign(_:credentials:date:)`` adds.
    public func canonicalRequest(
        _ request: SigningRequest,
        credentials: SigningCredentials,
        date: Date
    ) -> CanonicalRequest {
        canonicalRequest(request, adding: addedHeaders(for: request, credentials: credentials, amzDate: AMZDate(date)))
    }

    /// Task 2, "Create a hash of the canonical request", and task 3, "Create
    /// a string to sign": algorithm, timestamp, credential scope and the hex
    /// SHA-256 of the canonical request, one per line.
    public func stringToSign(canonicalRequest: String, date: Date) -> String {
        let amzDate = AMZDate(date)
        return stringToSign(
            canonicalRequest: canonicalRequest,
            timestamp: amzDate.timestamp,
            scope: credentialScope(dateStamp: amzDate.dateStamp)
        )
    }

    private func stringToSign(canonicalRequest: String, timestamp: String, scope: String) -> String {
        let requestHash = SigV4Encoding.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))
        return "\(Self.algorithm)\n\(timestamp)\n\(scope)\n\(requestHash)"
    }

    /// `YYYYMMDD/region/service/aws4_request`, part of task 3.
    public func credentialScope(date: Date) -> String { credentialScope(dateStamp: AMZDate(date).dateStamp) }

    private func credentialScope(dateStamp: String) -> String { "\(dateStamp)/\(region)/\(service)/aws4_request" }

    /// Task 4, "Calculate the signature", first part: derive the signing key
    /// by chained HMAC-SHA256 over date, region, service and `aws4_request`.
    /// It depends only on the secret, the UTC day, the region and the service,
    /// so a caller may cache it under that key.
    public func signingKey(secretAccessKey: String, date: Date) -> [UInt8] {
        signingKey(secretAccessKey: secretAccessKey, dateStamp: AMZDate(date).dateStamp)
    }

    private func signingKey(secretAccessKey: String, dateStamp: String) -> [UInt8] {
        let kDate = Self.hmac(key: Array("AWS4\(secretAccessKey)".utf8), dateStamp)
        let kRegion = Self.hmac(key: kDate, region)
        let kService = Self.hmac(key: kRegion, service)
        return Self.hmac(key: kService, "aws4_request")
    }

    /// The signing key changes only with the secret, the day, the region and the service: derived once and reused
    /// (four HMACs per request were 2 % of a bulk apply). The cache holds one key, never the secret itself (a
    /// SHA-256 of it tells a rotated secret apart).
    func cachedSigningKey(secretAccessKey: String, dateStamp: String) -> [UInt8] {
        let scope = SigningKeyCache.Scope(
            secretDigest: Array(SHA256.hash(data: Array(secretAccessKey.utf8))),
            day: dateStamp,
            region: region,
            service: service
        )
        if let key = SigningKeyCache.shared.key(for: scope) { return key }
        let key = signingKey(secretAccessKey: secretAccessKey, dateStamp: dateStamp)
        SigningKeyCache.shared.store(key, for: scope)
        return key
    }

    /// Task 4, second part: the signature is the lowercase hex
    /// HMAC-SHA256 of the string to sign under the signing key.
    public func signature(stringToSign: String, signingKey: [UInt8]) -> String {
        SigV4Encoding.hex(Self.hmac(key: signingKey, stringToSign))
    }

    // MARK: - Internals

    /// The headers the signer owns and sends, in the order it returns them.
    private func addedHeaders(
        for request: SigningRequest,
        credentials: SigningCredentials,
        amzDate: AMZDate
    ) -> [(name: String, value: String)] {
        var headers = [(name: "X-Amz-Date", value: amzDate.timestamp)]
        if let token = credentials.sessionToken {
            headers.append((name: "X-Amz-Security-Token", value: token))
        }
        if usesS3Rules {
            headers.append((name: "X-Amz-Content-SHA256", value: payloadHash(request.payload)))
        }
        return headers
    }

    private func canonicalRequest(
        _ request: SigningRequest,
        adding added: [(name: String, value: String)]
    ) -> CanonicalRequest {
        // The request's own copies of the headers the signer sets are dropped:
        // a stale X-Amz-Date from a retry must not be signed next to the new one.
        let owned = Set(added.map { SigV4Encoding.asciiLowercased($0.name) })
        var headers: [(name: String, value: String)] = []
        for header in request.headers {
            let name = SigV4Encoding.asciiLowercased(header.name)
            if Self.unsignedHeaders.contains(name) || owned.contains(name) { continue }
            headers.append((name: name, value: SigV4Encoding.trimHeaderValue(header.value)))
        }
        for header in added {
            headers.append((name: SigV4Encoding.asciiLowercased(header.name), value: header.value))
        }
        // Sort by name, keeping the sent order of duplicates (their values are
        // joined in that order); the index makes the sort stable on purpose.
        let sorted = headers.enumerated().sorted { lhs, rhs in
            if lhs.element.name != rhs.element.name {
                return lhs.element.name.utf8.lexicographicallyPrecedes(rhs.element.name.utf8)
            }
            return lhs.offset < rhs.offset
        }.map(\.element)
        var lines: [String] = []
        var names: [String] = []
        for header in sorted {
            if names.last == header.name {
                lines[lines.count - 1] += "," + header.value
            } else {
                names.append(header.name)
                lines.append("\(header.name):\(header.value)")
            }
        }
        let signedHeaders = names.joined(separator: ";")
        let text = [
            request.method.uppercased(),
            canonicalPath(request.path),
            SigV4Encoding.canonicalQueryString(request.query),
            lines.map { $0 + "\n" }.joined(),
            signedHeaders,
            payloadHash(request.payload),
        ].joined(separator: "\n")
        return CanonicalRequest(text: text, signedHeaders: signedHeaders)
    }

    private func canonicalPath(_ path: String) -> String {
        if path.isEmpty { return "/" }
        if usesS3Rules { return path }
        return SigV4Encoding.encodePath(SigV4Encoding.normalizePath(path))
    }

    private func payloadHash(_ payload: Payload) -> String {
        switch payload {
        case .bytes(let bytes): SigV4Encoding.hex(SHA256.hash(data: bytes))
        case .sha256Hex(let hash): hash
        case .unsigned: "UNSIGNED-PAYLOAD"
        }
    }

    private static func hmac(key: [UInt8], _ message: String) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Array(message.utf8), using: SymmetricKey(data: key)))
    }
}

/// The last derived signing key and its scope.
final class SigningKeyCache: Sendable {
    struct Scope: Hashable, Sendable {
        var secretDigest: [UInt8]
        var day: String
        var region: String
        var service: String
    }

    static let shared = SigningKeyCache()
    private let entry = Mutex<(scope: Scope, key: [UInt8])?>(nil)

    func key(for scope: Scope) -> [UInt8]? { entry.withLock { $0?.scope == scope ? $0?.key : nil } }
    func store(_ key: [UInt8], for scope: Scope) { entry.withLock { $0 = (scope, key) } }
}
