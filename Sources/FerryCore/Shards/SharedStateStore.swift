import AWSClient
import Foundation
import Synchronization

/// Where the workers of a sharded run share their state: small objects written with conditional writes (a marker
/// created once, a record replaced only if nobody replaced it since it was read). S3 in production
/// (`S3SharedStateStore`), memory in tests.
public protocol SharedStateStore: Sendable {
    /// Where it is, for messages: `s3://bucket/prefix`.
    var location: String { get }
    /// The object at `key` (relative to the store's prefix) and its ETag, or nil.
    func read(_ key: String) async throws -> S3Client.VersionedObject?
    func write(_ key: String, _ body: [UInt8], condition: S3Client.WriteCondition) async throws -> S3Client.PutOutcome
}

/// The shared state in an S3 prefix (`--state s3://bucket/prefix`), with S3's conditional writes.
public struct S3SharedStateStore: SharedStateStore {
    public let s3: S3Client
    public let bucket: String
    /// Without a trailing slash; may be empty.
    public let prefix: String

    public init(s3: S3Client, bucket: String, prefix: String) {
        self.s3 = s3
        self.bucket = bucket
        var prefix = prefix
        while prefix.hasSuffix("/") { prefix.removeLast() }
        while prefix.hasPrefix("/") { prefix.removeFirst() }
        self.prefix = prefix
    }

    /// `s3://bucket/prefix`.
    public static func parse(_ url: String) throws -> (bucket: String, prefix: String) {
        guard url.hasPrefix("s3://") else {
            throw ShardError.badSpec("--state must be an S3 location, s3://bucket/prefix (got \(url))")
        }
        let rest = url.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        guard !bucket.isEmpty else { throw ShardError.badSpec("--state names no bucket (got \(url))") }
        return (String(bucket), String(rest.dropFirst(bucket.count).drop { $0 == "/" }))
    }

    public var location: String { "s3://\(bucket)/\(prefix)" }

    private func objectKey(_ key: String) -> String { prefix.isEmpty ? key : prefix + "/" + key }

    public func read(_ key: String) async throws -> S3Client.VersionedObject? {
        try await s3.getObjectIfPresent(bucket: bucket, key: objectKey(key))
    }

    public func write(
        _ key: String,
        _ body: [UInt8],
        condition: S3Client.WriteCondition
    ) async throws
        -> S3Client.PutOutcome
    {
        try await s3.putObject(
            bucket: bucket,
            key: objectKey(key),
            body: body,
            contentType: "application/json",
            condition: condition
        )
    }
}

/// The shared state in memory, with S3's conditional-write semantics (tests drive several workers against it).
public final class MemorySharedStateStore: SharedStateStore {
    private let objects = Mutex<(byKey: [String: S3Client.VersionedObject], next: Int)>(([:], 0))
    public let location = "memory://shared-state"

    public init() {}

    public func read(_ key: String) async throws -> S3Client.VersionedObject? { objects.withLock { $0.byKey[key] } }

    public func write(
        _ key: String,
        _ body: [UInt8],
        condition: S3Client.WriteCondition
    ) async throws
        -> S3Client.PutOutcome
    {
        objects.withLock { state in
            switch condition {
            case .always: break
            case .ifAbsent: if state.byKey[key] != nil { return .preconditionFailed }
            case .ifMatch(let eTag):
                guard let current = state.byKey[key], current.eTag == eTag else { return .preconditionFailed }
            }
            state.next += 1
            let eTag = "etag-\(state.next)"
            state.byKey[key] = S3Client.VersionedObject(body: body, eTag: eTag)
            return .written(eTag: eTag)
        }
    }

    /// Every key, sorted (tests look at what the workers left).
    public var keys: [String] { objects.withLock { $0.byKey.keys.sorted() } }
}
