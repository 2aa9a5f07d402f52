import AWSCore
import Foundation

/// One HTTP request, fully formed except for signing.
public struct HTTPRequestData: Sendable {
    public var method: String
    /// `scheme://host[:port]`, no trailing slash.
    public var origin: String
    /// The path as sent on the wire (already percent-encoded).
    public var path: String
    /// Query items, not encoded; the transport encodes them in order.
    public var query: [(name: String, value: String)]
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(
        method: String,
        origin: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = []
    ) {
        self.method = method
        self.origin = origin
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The URL with the query encoded the way SigV4 canonicalises it (RFC 3986, sorted by the caller if needed).
    public var url: String {
        guard !query.isEmpty else { return origin + path }
        let encoded = query.map {
            S3Key.percentEncodeQueryComponent($0.name) + "=" + S3Key.percentEncodeQueryComponent($0.value)
        }
        return origin + path + "?" + encoded.joined(separator: "&")
    }
}

/// An HTTP response with its body read in full.
public struct HTTPResponseData: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// The first header called `name`, compared as HTTP does: ASCII letters without case, every other byte exact
    /// (Foundation's `caseInsensitiveCompare` folds Unicode too, and was 1 % of a bulk apply).
    public func header(_ name: String) -> String? {
        headers.first { Self.sameFieldName($0.name, name) }?.value
    }

    static func sameFieldName(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count
            && zip(lhs.utf8, rhs.utf8).allSatisfy { left, right in
                left == right || (left | 0x20 == right | 0x20 && (left | 0x20) >= 0x61 && (left | 0x20) <= 0x7A)
            }
    }
}

/// A failure below HTTP: no response came back.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var kind: TransportErrorKind
    public var detail: String
    public init(kind: TransportErrorKind, detail: String) {
        self.kind = kind
        self.detail = detail
    }
    public var description: String { "network error (\(kind)): \(detail)" }
}

/// The one seam between Ferry and the network: a live implementation on AsyncHTTPClient, and fakes in tests.
public protocol HTTPTransport: Sendable {
    /// Sends a request and reads the whole response body. Throws `TransportError` when no response came back.
    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData

    /// Sends a request and hands the response body to `onChunk` as it arrives; the next chunk is read only after
    /// `onChunk` returns (back-pressure). For a 2xx status `onHead` sees the status and headers before the first
    /// chunk; for any other status the body is buffered and returned instead of streamed. Returns the status and
    /// headers (and, for errors, the body).
    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData
}
