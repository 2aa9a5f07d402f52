import Foundation

/// What to do with cached credentials right now.
public enum RefreshDecision: Sendable, Hashable {
    /// Serve the cache; nothing to do.
    case useCached
    /// Serve the cache but start a refresh so the next caller gets fresh credentials.
    case refreshInBackground
    /// Do not serve the cache; wait for a refresh (or join the one in flight).
    case mustRefresh
}

/// The refresh-ahead rule for temporary credentials, as a pure function of time.
///
/// Two windows, as in botocore (15/10 minutes there; 5/1 here because DynamoDB calls are
/// short and STS sessions can be as short as 15 minutes): inside the advisory window we keep
/// serving while one refresh runs; inside the mandatory window the credentials may expire
/// mid-request (clock skew, signing delay, long batch writes), so callers must wait.
public struct RefreshPolicy: Sendable, Hashable {
    public var advisoryWindow: TimeInterval
    public var mandatoryWindow: TimeInterval

    public init(advisoryWindow: TimeInterval = 5 * 60, mandatoryWindow: TimeInterval = 60) {
        self.advisoryWindow = advisoryWindow
        self.mandatoryWindow = mandatoryWindow
    }

    /// - Parameters:
    ///   - cached: the cached credentials, `nil` if nothing is cached yet.
    ///   - now: the current time, passed in so tests need no clock.
    ///   - refreshInFlight: whether a refresh has already been started; prevents a thundering
    ///     herd of background refreshes. It does not change `.mustRefresh`: the caller then
    ///     awaits the in-flight refresh instead of starting another.
    /// Windows are inclusive: exactly 5 minutes left is `.refreshInBackground`, exactly
    /// 1 minute left is `.mustRefresh`.
    public func decide(cached: Credentials?, now: Date, refreshInFlight: Bool = false) -> RefreshDecision {
        guard let cached else { return .mustRefresh }
        guard let expiration = cached.expiration else { return .useCached }  // long-lived keys
        let remaining = expiration.timeIntervalSince(now)
        if remaining <= mandatoryWindow { return .mustRefresh }
        if remaining <= advisoryWindow { return refreshInFlight ? .useCached : .refreshInBackground }
        return .useCached
    }
}
