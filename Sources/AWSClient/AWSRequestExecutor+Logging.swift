import AWSCore
import Logging

/// Request logging: one line per request and per answer at debug (operation, endpoint, attempt, status, latency),
/// their headers at trace. Secrets never reach the log: `Authorization`, `X-Amz-Security-Token` and the other
/// credential-bearing headers are replaced whole, every other value is scrubbed of the credentials in use and of
/// anything shaped like a key, token or signature (`Redaction.scrub`), and bodies are not logged.
extension AWSRequestExecutor {
    /// Headers whose whole value is secret (or carries the access key id and a signature).
    static let secretHeaders: Set<String> = [
        "authorization", "x-amz-security-token", "x-amz-credential", "x-amz-signature", "proxy-authorization",
    ]

    func log(_ request: HTTPRequestData, operation: String, attempt: Int, secrets: [String]) {
        logger.debug(
            "→ \(endpoint.service.displayName) \(operation) \(request.method) \(request.origin)\(request.path) attempt \(attempt), \(request.body.count) bytes"
        )
        logger.trace(
            "→ \(endpoint.service.displayName) \(operation) headers",
            metadata: ["headers": .dictionary(Self.loggable(request.headers, secrets: secrets))]
        )
    }

    func log(_ response: HTTPResponseData, operation: String, attempt: AttemptLog, streamed: Bool = false) {
        let latency = ContinuousClock.now - attempt.started
        let milliseconds = latency.components.seconds * 1000 + latency.components.attoseconds / 1_000_000_000_000_000
        let size = streamed ? "body streamed" : "\(response.body.count) bytes"
        let requestId = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id") ?? "-"
        logger.debug(
            "← \(endpoint.service.displayName) \(operation) \(endpoint.hostHeader) HTTP \(response.status) attempt \(attempt.number), \(milliseconds) ms, \(size), request id \(Redaction.scrub(requestId, secrets: attempt.secrets))"
        )
        logger.trace(
            "← \(endpoint.service.displayName) \(operation) headers",
            metadata: ["headers": .dictionary(Self.loggable(response.headers, secrets: attempt.secrets))]
        )
    }

    static func loggable(_ headers: [(name: String, value: String)], secrets: [String] = []) -> Logger.Metadata {
        var metadata: Logger.Metadata = [:]
        for (name, value) in headers {
            metadata[name] = .string(
                secretHeaders.contains(name.lowercased())
                    ? Redaction.placeholder : Redaction.scrub(value, secrets: secrets)
            )
        }
        return metadata
    }
}
