import AWSCore
import AWSCredentials
import Foundation

extension AWSRequestExecutor {
    /// Sends a signed request whose response body is streamed to `onChunk`. Failures before the body starts are
    /// retried like `send`; a failure in the middle of the body is thrown (as `TransportError`) for the caller to
    /// resume with a `Range` request, since only it knows how far it got.
    public func stream(
        operation: String, method: String = "GET", path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], context: AWSErrorContext = AWSErrorContext(),
        onHead: (HTTPResponseData) throws -> Void = { _ in },
        onChunk: ([UInt8]) async throws -> Void
    ) async throws {
        let started = ContinuousClock.now
        var attempt = 0
        while true {
            attempt += 1
            let current: Credentials
            do { current = try await credentials.credentials() } catch {
                throw AWSClientError.credentials(source: credentials.label, reason: "\(error)")
            }
            let request = sign(method: method, path: path, query: query, headers: headers, body: [], with: current)
            log(request, operation: operation, attempt: attempt)
            var bodyStarted = false // after the first body byte, a retry would duplicate data
            let outcome: RequestOutcome
            var serviceError: AWSServiceError?
            var transportError: TransportError?
            do {
                let response = try await transport.stream(request, timeout: timeout, onHead: onHead) { chunk in
                    bodyStarted = true
                    try await onChunk(chunk)
                }
                log(response, operation: operation)
                if (200..<300).contains(response.status) { return }
                let decoded = decodeError(response, operation: operation, context: context, credentials: current)
                serviceError = decoded
                outcome = .httpError(status: response.status, code: decoded.code)
            } catch let error as TransportError {
                if bodyStarted { throw error }
                transportError = error
                outcome = .transport(error.kind)
            }
            let classification = RetryClassifier.classify(outcome)
            switch policy.decide(attempt: attempt, classification: classification, elapsed: ContinuousClock.now - started, random01: random()) {
            case .retry(let delay, _):
                try await sleep(delay)
            case .refreshCredentialsAndRetry:
                if let caching = credentials as? CachingCredentialProvider { await caching.invalidate() }
            case .giveUp:
                if let serviceError { throw AWSClientError.service(serviceError, classification: classification, attempts: attempt) }
                throw AWSClientError.transport(transportError ?? TransportError(kind: .other, detail: "no response"), service: endpoint.service, operation: operation, endpoint: endpoint.baseURL, attempts: attempt)
            }
        }
    }
}

