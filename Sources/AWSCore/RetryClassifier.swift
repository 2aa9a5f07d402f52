/// Transport-level failures, as reported by the HTTP client.
public enum TransportErrorKind: Sendable, Hashable, CaseIterable {
    case connectionReset
    case connectionRefused
    case connectTimeout
    case readTimeout
    case dnsFailure
    /// Certificate not trusted / hostname mismatch: retrying cannot help.
    case tlsCertificateInvalid
    case other
}

/// What happened to one attempt.
public enum RequestOutcome: Sendable, Hashable {
    /// An HTTP error response with its (sanitized) error code, if any.
    case httpError(status: Int, code: String?)
    /// No HTTP response.
    case transport(TransportErrorKind)
    /// DynamoDB `x-amz-crc32` did not match the body received (a corrupted
    /// or truncated response); botocore `_retry.json` policy `crc32`.
    case checksumMismatch(expected: UInt32, actual: UInt32)
}

/// How the caller should treat a failed attempt.
public enum RetryClassification: Sendable, Hashable {
    /// The service is shedding load: back off and tell the capacity controller.
    case throttled
    /// Likely to succeed if repeated.
    case transient
    /// Session credentials expired: refresh them, then retry once.
    case refreshCredentials
    /// Retrying cannot help.
    case fatal
}

/// Classification after botocore standard retry mode
/// (`botocore/retries/standard.py`, botocore 1.43) plus DynamoDB's legacy
/// `_retry.json` policies (`write_conflict`, `still_processing`, `crc32`).
public enum RetryClassifier {
    /// `ThrottledRetryableChecker._THROTTLED_ERROR_CODES`. DynamoDB sends
    /// these with HTTP 400, so the code, not the status, decides.
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]

    /// `TransientRetryableChecker._TRANSIENT_ERROR_CODES` plus
    /// `InternalServerError`, `ServiceUnavailable` (sent with 4xx by some
    /// emulators), and DynamoDB's `ReplicatedWriteConflictException` (409,
    /// `_retry.json`). Not `ItemCollectionSizeLimitExceededException`: an LSI item collection at 10 GB stays full,
    /// so apply rejects the item instead of retrying it.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
        "InternalServerError", "ServiceUnavailable", "ReplicatedWriteConflictException",
    ]

    /// `TransientRetryableChecker._TRANSIENT_STATUS_CODES`.
    public static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    /// Codes that trigger a credential refresh (STS/S3 `ExpiredToken`,
    /// DynamoDB `ExpiredTokenException`, `RequestExpired` of query services).
    public static let expiredCredentialCodes: Set<String> = [
        "ExpiredToken", "ExpiredTokenException", "RequestExpired",
    ]

    /// Known non-retryable codes. Documentation and tests only: any code not
    /// throttling/transient with a non-5xx status is fatal anyway.
    public static let fatalCodes: Set<String> = [
        "ValidationException", "AccessDeniedException", "AccessDenied",
        "ConditionalCheckFailedException", "IncompleteSignatureException",
        "MissingAuthenticationTokenException", "ResourceInUseException",
        "ResourceNotFoundException", "SerializationException", "UnrecognizedClientException",
        "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidSignatureException",
        "NoSuchKey", "NoSuchBucket",
    ]

    /// Classify one failed attempt. Precedence: expired credentials, then
    /// throttling codes (so `PriorRequestNotComplete`, in both botocore
    /// lists, counts as a throttle), transient codes, status 429
    /// (botocore legacy `too_many_requests`), 5xx statuses (retried whatever
    /// the code, as botocore does), else fatal.
    public static func classify(_ outcome: RequestOutcome) -> RetryClassification {
        switch outcome {
        case .checksumMismatch:
            return .transient
        case .transport(let kind):
            // botocore retries ConnectionError, ConnectTimeoutError,
            // ReadTimeoutError and HTTPClientError; an untrusted certificate
            // is a configuration problem, so Ferry fails fast on it.
            return kind == .tlsCertificateInvalid ? .fatal : .transient
        case let .httpError(status, code):
            if let code {
                if expiredCredentialCodes.contains(code) { return .refreshCredentials }
                if throttlingCodes.contains(code) { return .throttled }
                if transientCodes.contains(code) { return .transient }
            }
            if status == 429 { return .throttled }
            if transientStatuses.contains(status) { return .transient }
            return .fatal
        }
    }
}
