import AWSCredentials
import Foundation
import SigV4

/// Something that can hand out credentials to sign with. Providers are tried in the AWS CLI's order by the chain
/// (built from `AWSCredentials`' plans); each knows a label users recognise ("profile prod", "environment") so that
/// errors can say where a bad key came from without showing it.
public protocol CredentialProvider: Sendable {
    /// Where these credentials come from, for messages: never a key.
    var label: String { get }
    func credentials() async throws -> Credentials
}

extension Credentials {
    /// The form the signer takes.
    var signing: SigningCredentials {
        SigningCredentials(
            accessKeyId: accessKeyId,
            secretAccessKey: secretAccessKey.revealed,
            sessionToken: sessionToken?.revealed
        )
    }

    /// The secrets, so that error texts can be scrubbed of them.
    var secrets: [String] { [secretAccessKey.revealed] + (sessionToken.map { [$0.revealed] } ?? []) }
}

/// Fixed credentials: environment keys or a profile's static keys.
public struct StaticCredentialProvider: CredentialProvider {
    public let label: String
    private let value: Credentials

    public init(_ credentials: Credentials, label: String) {
        value = credentials
        self.label = label
    }

    public func credentials() async throws -> Credentials { value }
}

/// Caches expiring credentials and refreshes them ahead of expiry (`RefreshPolicy`): one refresh at a time, shared
/// by every caller.
public actor CachingCredentialProvider: CredentialProvider {
    public nonisolated let label: String
    private let fetch: @Sendable () async throws -> Credentials
    /// Wall time, not a `Clock`: it is compared with the credentials' expiration, a wall-clock time set by STS or
    /// the credential process. Tests pass a time they move.
    private let now: @Sendable () -> Date
    private let policy: RefreshPolicy
    private var cached: Credentials?
    private var refreshing: Task<Credentials, any Error>?

    public init(
        label: String,
        policy: RefreshPolicy = RefreshPolicy(),
        now: @escaping @Sendable () -> Date = { Date() },
        fetch: @escaping @Sendable () async throws -> Credentials
    ) {
        self.label = label
        self.fetch = fetch
        self.now = now
        self.policy = policy
    }

    public func credentials() async throws -> Credentials {
        if let cached {
            switch policy.decide(cached: cached, now: now(), refreshInFlight: refreshing != nil) {
            case .useCached:
                return cached
            case .refreshInBackground:
                if refreshing == nil {
                    refreshing = Task { try await fetch() }
                    Task { await self.completeBackgroundRefresh() }
                }
                return cached
            case .mustRefresh:
                break
            }
        }
        // Join a refresh in flight, but never hand out what it brings if that is already expiring too.
        let task = refreshing ?? Task { try await fetch() }
        refreshing = task
        defer { refreshing = nil }
        var fresh = try await task.value
        if case .mustRefresh = policy.decide(cached: fresh, now: now(), refreshInFlight: false) {
            fresh = try await fetch()
        }
        cached = fresh
        return fresh
    }

    /// Forgets the cached credentials (e.g. after `ExpiredToken`), so the next call fetches new ones.
    public func invalidate() { cached = nil }

    private func completeBackgroundRefresh() async {
        guard let task = refreshing else { return }
        if let fresh = try? await task.value { cached = fresh }
        refreshing = nil
    }
}
