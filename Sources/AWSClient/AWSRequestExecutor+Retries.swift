import AWSCore
import AWSCredentials
import Foundation

/// What one attempt came to, as the shared retry loop sees it.
enum AttemptResult<Value> {
    case succeeded(Value)
    /// A failure the retry policy decides about; `serviceError` / `transportError` are what is reported on giving up.
    case failed(RequestOutcome, serviceError: AWSServiceError? = nil, transportError: TransportError? = nil)
}

extension AWSRequestExecutor {
    /// The one retry loop of `send` and `stream`: fresh credentials and a new signature every attempt, the
    /// `RetryPolicy`'s backoff, throttles surfaced or retried per `throttles`, and expired credentials refreshed
    /// once — counted across the request, so an endpoint that keeps answering `ExpiredToken` ends the request
    /// instead of looping. `attempt` sends one signed request; an error it throws ends the request as it is.
    func withRetries<Value>(
        operation: String,
        method: String,
        path: String,
        query: [(name: String, value: String)],
        headers: [(name: String, value: String)],
        body: [UInt8],
        throttles: ThrottleHandling,
        context: AWSErrorContext,
        attempt send: (HTTPRequestData, Credentials, AttemptLog) async throws -> AttemptResult<Value>
    ) async throws -> Value {
        let elapsed = clock.stopwatch()
        var attempt = 0
        var refreshes = 0
        while true {
            attempt += 1
            let current: Credentials
            do { current = try await credentials.credentials() } catch let error as AWSClientError { throw error } catch
            {
                throw AWSClientError.credentials(source: credentials.label, reason: "\(error)")
            }
            let request = sign(method: method, path: path, query: query, headers: headers, body: body, with: current)
            log(request, operation: operation, attempt: attempt, secrets: current.secrets)
            let result = try await send(
                request,
                current,
                AttemptLog(number: attempt, started: .now, secrets: current.secrets)
            )
            let outcome: RequestOutcome
            let serviceError: AWSServiceError?
            let transportError: TransportError?
            switch result {
            case .succeeded(let value): return value
            case let .failed(failed, service, transport):
                (outcome, serviceError, transportError) = (failed, service, transport)
            }
            if let transportError {
                logger.debug(
                    "\(endpoint.service.displayName) \(operation) attempt \(attempt): \(Redaction.scrub(transportError.description, secrets: current.secrets))"
                )
            }
            let classification = RetryClassifier.classify(outcome)
            if let serviceError {
                logger.debug(
                    "\(endpoint.service.displayName) \(operation) attempt \(attempt): \(serviceError.code) (\(classification))"
                )
            }
            if classification == .throttled, case .surface = throttles, let serviceError {
                throw AWSClientError.service(serviceError, classification: .throttled, attempts: attempt)
            }
            let decision = policy.decide(
                attempt: attempt,
                classification: classification,
                elapsed: elapsed(),
                random01: random(),
                credentialRefreshes: refreshes
            )
            switch decision {
            case .retry(let delay, let throttled):
                if throttled, case .retry(let onThrottle) = throttles, let serviceError { onThrottle(serviceError) }
                try await clock.sleep(for: delay)
            case .refreshCredentialsAndRetry:
                refreshes += 1
                logger.debug(
                    "\(endpoint.service.displayName) \(operation): credentials expired; refreshing them from \(credentials.label)"
                )
                if let caching = credentials as? CachingCredentialProvider { await caching.invalidate() }
            case .giveUp:
                if let serviceError {
                    throw AWSClientError.service(serviceError, classification: classification, attempts: attempt)
                }
                if let transportError {
                    throw AWSClientError.transport(
                        transportError,
                        service: endpoint.service,
                        operation: operation,
                        endpoint: endpoint.baseURL,
                        attempts: attempt
                    )
                }
                throw AWSClientError.invalidResponse(
                    service: endpoint.service,
                    operation: operation,
                    reason: "the response body does not match its x-amz-crc32 checksum"
                )
            }
        }
    }

    /// An error answer as a failed attempt: decoded, the credential source named, the secrets in use scrubbed.
    func failure<Value>(
        _ response: HTTPResponseData,
        operation: String,
        context: AWSErrorContext,
        credentials current: Credentials
    ) -> AttemptResult<Value> {
        let decoded = decodeError(response, operation: operation, context: context, credentials: current)
        return .failed(.httpError(status: response.status, code: decoded.code), serviceError: decoded)
    }
}

/// What the response log line of an attempt needs: its number, when it was sent, and the secrets to keep out.
struct AttemptLog: Sendable {
    var number: Int
    var started: ContinuousClock.Instant
    var secrets: [String]
}
