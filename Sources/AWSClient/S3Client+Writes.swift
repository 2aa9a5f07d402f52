import AWSCore
import Foundation

/// S3's writes: small objects (markers, run records, probes), optionally conditional.
///
/// Conditional writes (S3 User Guide, "conditional writes"; reference §8.2) are what lets several workers share state
/// in a bucket without a lock service: `If-None-Match: *` creates an object only if none exists (a write-once
/// marker), `If-Match: ETag` replaces it only if nobody replaced it since it was read (compare-and-swap). A lost race
/// is an outcome, not an error: `put` returns `.preconditionFailed` (412) or `.conflict` (409
/// `ConditionalRequestConflict`, a concurrent conflicting write: re-read and retry).
extension S3Client {
    /// When a `PutObject` may replace what is at its key.
    public enum WriteCondition: Sendable, Hashable {
        /// Always (a plain PutObject).
        case always
        /// Only when no object exists at the key (`If-None-Match: *`).
        case ifAbsent
        /// Only when the object at the key still has this ETag (`If-Match`), quotes optional.
        case ifMatch(eTag: String)

        var headers: [(name: String, value: String)] {
            switch self {
            case .always: []
            case .ifAbsent: [(name: "If-None-Match", value: "*")]
            case .ifMatch(let eTag):
                [(name: "If-Match", value: eTag.hasPrefix("\"") ? eTag : "\"" + eTag + "\"")]
            }
        }
    }

    /// What a `PutObject` did.
    public enum PutOutcome: Sendable, Hashable {
        /// Written; the new object's ETag (without quotes).
        case written(eTag: String?)
        /// The condition did not hold (412): an object exists (`.ifAbsent`) or it changed (`.ifMatch`).
        case preconditionFailed
        /// Another conditional write to the key was in progress (409): read again and retry.
        case conflict
    }

    /// An object's bytes with the ETag they had (for a later `.ifMatch` write).
    public struct VersionedObject: Sendable, Hashable {
        public var body: [UInt8]
        /// Without quotes.
        public var eTag: String?

        public init(body: [UInt8], eTag: String?) {
            self.body = body
            self.eTag = eTag
        }
    }

    /// Writes a small object in one request. Transient failures are retried by the executor's policy; a retried
    /// conditional write that had in fact succeeded answers 412 the second time, so callers of `.ifAbsent` that
    /// need to know whether *they* wrote it put their own identity in the body and read it back.
    public func putObject(
        bucket: String,
        key: String,
        body: [UInt8],
        contentType: String = "application/octet-stream",
        condition: WriteCondition = .always
    ) async throws -> PutOutcome {
        let (executor, path) = route(bucket: bucket, key: key)
        do {
            let response = try await executor.send(
                operation: "PutObject",
                method: "PUT",
                path: path,
                headers: bucketHeaders + [(name: "Content-Type", value: contentType)] + condition.headers,
                body: body,
                throttles: .retry(onThrottle: { _ in }),
                context: AWSErrorContext(
                    action: "s3:PutObject",
                    resource: "arn:aws:s3:::\(bucket)/\(key)",
                    region: executor.endpoint.signingRegion
                )
            )
            return .written(eTag: response.header("ETag").map(Self.unquoted))
        } catch AWSClientError.service(let error, _, _) where condition != .always && error.httpStatus == 412 {
            return .preconditionFailed
        } catch AWSClientError.service(let error, _, _) where condition != .always && error.httpStatus == 409 {
            return .conflict
        }
    }

    /// Deletes an object (S3 answers 204 whether or not it existed).
    public func deleteObject(bucket: String, key: String) async throws {
        let (executor, path) = route(bucket: bucket, key: key)
        _ = try await executor.send(
            operation: "DeleteObject",
            method: "DELETE",
            path: path,
            headers: bucketHeaders,
            throttles: .retry(onThrottle: { _ in }),
            context: AWSErrorContext(
                action: "s3:DeleteObject",
                resource: "arn:aws:s3:::\(bucket)/\(key)",
                region: executor.endpoint.signingRegion
            )
        )
    }

    /// A small object and its ETag, or `nil` when there is none at the key.
    public func getObjectIfPresent(bucket: String, key: String) async throws -> VersionedObject? {
        let (executor, path) = route(bucket: bucket, key: key)
        do {
            let response = try await executor.send(
                operation: "GetObject",
                method: "GET",
                path: path,
                headers: bucketHeaders,
                throttles: .retry(onThrottle: { _ in }),
                context: AWSErrorContext(
                    action: "s3:GetObject",
                    resource: "arn:aws:s3:::\(bucket)/\(key)",
                    region: executor.endpoint.signingRegion
                )
            )
            return VersionedObject(body: response.body, eTag: response.header("ETag").map(Self.unquoted))
        } catch AWSClientError.service(let error, _, _) where error.httpStatus == 404 {
            return nil
        }
    }

    static func unquoted(_ eTag: String) -> String {
        eTag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
    }
}
