import AWSCore
import AWSCredentials
import Foundation
import Logging
import SigV4

/// Why a request failed for good.
public enum AWSClientError: Error, Sendable, CustomStringConvertible {
    /// AWS answered with an error; `classification` says whether retrying later could help.
    case service(AWSServiceError, classification: RetryClassification, attempts: Int)
    /// No answer came back, after `attempts` tries.
    case transport(TransportError, service: AWSService, operation: String, endpoint: String, attempts: Int)
    /// A response that is not what the API promises.
    case invalidResponse(service: AWSService, operation: String, reason: String)
    /// The credential provider failed.
    case credentials(source: String, reason: String)

    public var description: String {
        switch self {
        case let .service(error, _, attempts):
            return error.description + (attempts > 1 ? " (after \(attempts) attempts)" : "")
        case let .transport(error, service, operation, endpoint, attempts):
            return
                "\(service.displayName) \(operation) at \(endpoint): \(error) (after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
        case let .invalidResponse(service, operation, reason):
            return "\(service.displayName) \(operation): unexpected response: \(reason)"
        case let .credentials(source, reason):
            return "credentials from \(source): \(reason)"
        }
    }

    /// True when the service was shedding load (the capacity controller must slow down).
    public var isThrottling: Bool {
        if case .service(_, .throttled, _) = self { return true }
        return false
    }
}

/// Sends AWS requests: signs every attempt anew (a retry must not reuse an old signature or expired credentials),
/// verifies DynamoDB's `x-amz-crc32`, decodes errors, and retries transient failures by `RetryPolicy`.
///
/// Throttling is not slept away here: with `.surface` (the default) a throttle is thrown at once so the capacity
/// controller sees it and slows the whole pipeline; `.retry` backs off inside and reports each throttle to
/// `onThrottle` (for S3 reads, where no controller applies).
public struct AWSRequestExecutor: Sendable {
    public enum ThrottleHandling: Sendable {
        case surface
        case retry(onThrottle: @Sendable (AWSServiceError) -> Void)
    }

    public let transport: any HTTPTransport
    public let credentials: any CredentialProvider
    public let endpoint: ResolvedEndpoint
    public let policy: RetryPolicy
    /// Bound on a buffered answer (head and body, `AsyncHTTPClientTransport.send`) and on the wait for a streamed
    /// answer's head.
    public var timeout: Duration = .seconds(30)
    /// A streamed body that sends no byte for this long is abandoned as a dead connection (`.readTimeout`): the
    /// caller resumes it with a ranged request. Time the caller spends consuming a chunk does not count.
    public var streamIdleTimeout: Duration = .seconds(30)
    /// Requests and answers are logged at debug (one line each) and trace (headers). Secrets never reach the log:
    /// `Authorization` and `X-Amz-Security-Token` are redacted, bodies are not logged, error texts are scrubbed.
    public var logger = Logger(label: "ferry.aws")
    /// Wall time, for the signature's date (compared by AWS with its own time, so it must be real).
    var now: @Sendable () -> Date = { Date() }
    /// The clock of the retry backoff: its sleeps, and the time a request has taken against the policy's budget.
    var clock: any Clock<Duration> = ContinuousClock()
    var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    public init(
        transport: any HTTPTransport,
        credentials: any CredentialProvider,
        endpoint: ResolvedEndpoint,
        policy: RetryPolicy? = nil
    ) {
        self.transport = transport
        self.credentials = credentials
        self.endpoint = endpoint
        self.policy = policy ?? .standard(for: endpoint.service)
    }

    /// For tests: a fixed signing date, a clock the test drives (no real sleeping), fixed jitter.
    package func with(
        now: @escaping @Sendable () -> Date,
        clock: any Clock<Duration>,
        random: @escaping @Sendable () -> Double
    ) -> Self {
        var copy = self
        copy.now = now
        copy.clock = clock
        copy.random = random
        return copy
    }

    /// Keeps another executor's clock, sleep and jitter (test hooks) on a re-routed copy.
    func copyingTestHooks(from other: AWSRequestExecutor) -> Self {
        var copy = with(now: other.now, clock: other.clock, random: other.random)
        copy.logger = other.logger
        copy.timeout = other.timeout
        copy.streamIdleTimeout = other.streamIdleTimeout
        return copy
    }

    public func send(
        operation: String,
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: [UInt8] = [],
        throttles: ThrottleHandling = .surface,
        context: AWSErrorContext = AWSErrorContext()
    ) async throws -> HTTPResponseData {
        try await withRetries(
            operation: operation,
            method: method,
            path: path,
            query: query,
            headers: headers,
            body: body,
            throttles: throttles,
            context: context
        ) { (request, current, attempt) async throws -> AttemptResult<HTTPResponseData> in
            do {
                let response = try await transport.send(request, timeout: timeout)
                log(response, operation: operation, attempt: attempt)
                guard (200..<300).contains(response.status) else {
                    return failure(response, operation: operation, context: context, credentials: current)
                }
                if endpoint.service == .dynamodb,
                    let mismatch = CRC32.verify(header: response.header("x-amz-crc32"), body: response.body)
                {
                    return .failed(mismatch)
                }
                return .succeeded(response)
            } catch let error as TransportError {
                return .failed(.transport(error.kind), transportError: error)
            }
        }
    }

    /// An error response as an `AWSServiceError`: the credential source named, the secrets in use scrubbed.
    func decodeError(
        _ response: HTTPResponseData,
        operation: String,
        context: AWSErrorContext,
        credentials current: Credentials
    ) -> AWSServiceError {
        var errorContext = context
        errorContext.credentialSource = errorContext.credentialSource ?? credentials.label
        let headers = Dictionary(
            response.headers.map { ($0.name.lowercased(), $0.value) },
            uniquingKeysWith: { first, _ in first }
        )
        return AWSErrorDecoder.decode(
            service: endpoint.service,
            operation: operation,
            response: HTTPErrorResponse(status: response.status, headers: headers, body: response.body),
            context: errorContext,
            secrets: current.secrets
        )
    }

    /// Builds and signs one attempt. The Host header and, for S3, `x-amz-content-sha256` are part of the signature.
    func sign(
        method: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        body: [UInt8],
        with credentials: Credentials
    ) -> HTTPRequestData {
        let fullPath = endpoint.basePath.isEmpty || endpoint.basePath == "/" ? path : endpoint.basePath + path
        var allHeaders = [(name: "Host", value: endpoint.hostHeader)] + headers
        if !body.isEmpty || method == "POST" || method == "PUT" {
            allHeaders.append((name: "Content-Length", value: String(body.count)))
        }
        let signer = SigV4Signer(region: endpoint.signingRegion, service: endpoint.signingService)
        let signed = signer.sign(
            SigningRequest(method: method, path: fullPath, query: query, headers: allHeaders, payload: .bytes(body)),
            credentials: credentials.signing,
            date: now()
        )
        var sentHeaders = allHeaders.filter { header in
            !signed.headers.contains { $0.name.lowercased() == header.name.lowercased() }
        }
        sentHeaders += signed.headers
        let origin = "\(endpoint.scheme)://\(endpoint.hostHeader)"
        return HTTPRequestData(
            method: method,
            origin: origin,
            path: fullPath,
            query: query,
            headers: sentHeaders,
            body: body
        )
    }
}
