import AWSCore
import AWSCredentials
import Foundation
import Synchronization

extension AWSRequestExecutor {
    /// Sends a signed request whose response body is streamed to `onChunk`, through the same retry loop as `send`
    /// (backoff, throttles retried, expired credentials refreshed once). Failures before the body starts are
    /// retried; a failure in the middle of the body — a broken connection, or no byte for `streamIdleTimeout` — is
    /// thrown (as `TransportError`) for the caller to resume with a `Range` request, since only it knows how far it got.
    public func stream(
        operation: String,
        method: String = "GET",
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        context: AWSErrorContext = AWSErrorContext(),
        onHead: (HTTPResponseData) throws -> Void = { _ in },
        onChunk: ([UInt8]) async throws -> Void
    ) async throws {
        try await withRetries(
            operation: operation,
            method: method,
            path: path,
            query: query,
            headers: headers,
            body: [],
            throttles: .retry(onThrottle: { _ in }),
            context: context
        ) { (request, current, attempt) async throws -> AttemptResult<Void> in
            // After the first body byte a retry would duplicate data: such a failure goes to the caller.
            let bodyStarted = Mutex(false)
            do {
                let response = try await IdleTimeout(limit: streamIdleTimeout).run { progress in
                    try await transport.stream(request, timeout: timeout, onHead: onHead) { chunk in
                        bodyStarted.withLock { $0 = true }
                        progress.busy()
                        defer { progress.waiting() }
                        try await onChunk(chunk)
                    }
                }
                log(response, operation: operation, attempt: attempt, streamed: (200..<300).contains(response.status))
                guard (200..<300).contains(response.status) else {
                    return failure(response, operation: operation, context: context, credentials: current)
                }
                return .succeeded(())
            } catch let error as TransportError {
                if bodyStarted.withLock({ $0 }) { throw error }
                return .failed(.transport(error.kind), transportError: error)
            }
        }
    }
}
