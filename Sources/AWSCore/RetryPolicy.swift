/// Why a request will not be retried.
public enum GiveUpReason: Sendable, Hashable {
    /// The classification was `.fatal`.
    case fatal
    /// `attempts` attempts were made, the maximum.
    case attemptsExhausted(attempts: Int)
    /// Waiting for the next attempt would pass the overall deadline.
    case deadlineExceeded
    /// Credentials were refreshed already and are still rejected as expired.
    case credentialsStillExpired
}

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Hashable {
    /// Sleep `after`, then send the request again. `throttled` is true when
    /// the failure was a throttle, which the caller must report to its
    /// capacity controller.
    case retry(after: Duration, throttled: Bool)
    /// Refresh the credentials, then resend at once.
    case refreshCredentialsAndRetry
    /// Stop; `throttled` as above, so a final throttle is still reported.
    case giveUp(GiveUpReason, throttled: Bool)

    /// Whether the failure behind this decision was a throttle.
    public var throttled: Bool {
        switch self {
        case .retry(_, let t), .giveUp(_, let t): t
        case .refreshCredentialsAndRetry: false
        }
    }
}

/// Capped exponential backoff with full jitter, as a pure value.
///
/// `delay = random01 * min(cap, base * 2^(attempt-1))`, `attempt` being the
/// 1-based number of the attempt that just failed (botocore
/// `ExponentialBackoff.delay_amount`).
///
/// Numbers, from `botocore/retries/standard.py` (botocore 1.43, the 2026
/// "new retries" behaviour):
///
/// | case                    | base   | cap  | botocore source                                   |
/// |-------------------------|--------|------|---------------------------------------------------|
/// | throttle (any service)  | 1 s    | 20 s | `throttling_base_scale: 1`, `_MAX_BACKOFF = 20`    |
/// | transient, DynamoDB     | 25 ms  | 20 s | `_SERVICE_BACKOFF_CONFIG['dynamodb']` = 0.025      |
/// | transient, S3 / STS     | 50 ms  | 20 s | `non_throttling_base_scale: 0.05`                 |
/// | max attempts, DynamoDB  | 4      |      | `_SERVICE_MAX_ATTEMPTS['dynamodb']`                |
/// | max attempts, others    | 3      |      | `DEFAULT_MAX_ATTEMPTS`                             |
///
/// DynamoDB's transient base is small because its errors are usually
/// momentary; throttles get a full second because hammering a throttled
/// table only prolongs the throttling.
///
/// Throttles are surfaced, not slept away silently: every decision carries
/// `throttled`, and the client reports each throttle to its caller so the
/// write-rate controller can slow down (botocore instead hides them behind a
/// retry quota). The overall `deadline` bounds one logical request including
/// all its waits. Not modelled: botocore's retry quota (token bucket) and the
/// `x-amz-retry-after` hint.
public struct RetryPolicy: Sendable, Hashable {
    /// Total attempts including the first.
    public var maxAttempts: Int
    /// Base delay for transient failures.
    public var transientBase: Duration
    /// Base delay for throttles.
    public var throttleBase: Duration
    /// Upper bound of any single delay before jitter.
    public var maxBackoff: Duration
    /// Budget for one logical request (all attempts and waits); `nil` = none.
    public var deadline: Duration?

    public init(
        maxAttempts: Int,
        transientBase: Duration,
        throttleBase: Duration = .seconds(1),
        maxBackoff: Duration = .seconds(20),
        deadline: Duration? = .seconds(120)
    ) {
        self.maxAttempts = maxAttempts
        self.transientBase = transientBase
        self.throttleBase = throttleBase
        self.maxBackoff = maxBackoff
        self.deadline = deadline
    }

    /// botocore standard-mode numbers for `service` (see the table above).
    public static func standard(for service: AWSService) -> RetryPolicy {
        switch service {
        case .dynamodb: RetryPolicy(maxAttempts: 4, transientBase: .milliseconds(25))
        case .s3, .sts: RetryPolicy(maxAttempts: 3, transientBase: .milliseconds(50))
        }
    }

    /// The jittered delay after failed attempt `attempt` (1-based);
    /// `random01` is clamped to 0...1.
    public func backoff(attempt: Int, throttled: Bool, random01: Double) -> Duration {
        let base = nanoseconds(throttled ? throttleBase : transientBase)
        let cap = nanoseconds(maxBackoff)
        let exponent = max(0, attempt - 1)
        // base * 2^exponent without overflow.
        let ceiling: Int64 = exponent >= 62 || base > (cap >> Int64(exponent)) ? cap : min(cap, base << Int64(exponent))
        let r = random01.isNaN ? 0 : min(1, max(0, random01))
        return .nanoseconds(Int64((Double(ceiling) * r).rounded()))
    }

    /// Decide what to do after attempt `attempt` (1-based) failed with
    /// `classification`, `elapsed` after the first attempt started.
    /// `credentialRefreshes` counts refreshes already done for this request:
    /// expired credentials are refreshed and retried once.
    public func decide(
        attempt: Int,
        classification: RetryClassification,
        elapsed: Duration,
        random01: Double,
        credentialRefreshes: Int = 0
    ) -> RetryDecision {
        let throttled = classification == .throttled
        switch classification {
        case .fatal:
            return .giveUp(.fatal, throttled: false)
        case .refreshCredentials:
            if credentialRefreshes >= 1 { return .giveUp(.credentialsStillExpired, throttled: false) }
            if let deadline, elapsed >= deadline { return .giveUp(.deadlineExceeded, throttled: false) }
            return .refreshCredentialsAndRetry
        case .throttled, .transient:
            if attempt >= maxAttempts { return .giveUp(.attemptsExhausted(attempts: attempt), throttled: throttled) }
            let delay = backoff(attempt: attempt, throttled: throttled, random01: random01)
            if let deadline, elapsed + delay > deadline { return .giveUp(.deadlineExceeded, throttled: throttled) }
            return .retry(after: delay, throttled: throttled)
        }
    }
}

func nanoseconds(_ d: Duration) -> Int64 {
    let (seconds, attoseconds) = d.components
    return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
}
