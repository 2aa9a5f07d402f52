import AWSCore
import Foundation

/// S3's REST API for reading exports: list, head, and streamed gets that resume with `Range` after a broken
/// connection.
public struct S3Client: Sendable {
    public let executor: AWSRequestExecutor
    /// How many times a broken download is resumed before giving up.
    public var maxResumes = 5
    /// The account that must own the bucket (`x-amz-expected-bucket-owner` on every request): S3 answers 403 rather
    /// than read from or write to a bucket of the same name in another account.
    public var expectedBucketOwner: String?

    public init(executor: AWSRequestExecutor, expectedBucketOwner: String? = nil) {
        self.executor = executor
        self.expectedBucketOwner = expectedBucketOwner
    }

    /// The headers every request to the bucket carries.
    var bucketHeaders: [(name: String, value: String)] {
        expectedBucketOwner.map { [(name: "x-amz-expected-bucket-owner", value: $0)] } ?? []
    }

    /// The executor and path for an object: virtual-hosted (`bucket.s3.region.amazonaws.com/key`) when the bucket
    /// name allows it, path-style for custom endpoints and other names.
    func route(bucket: String, key: String) -> (AWSRequestExecutor, String) {
        let target = S3Addressing.target(bucket: bucket, key: key, endpoint: executor.endpoint)
        var endpoint = executor.endpoint
        var path = target.path
        if target.style == .virtualHosted {
            endpoint.host = bucket + "." + endpoint.host
        }
        if !endpoint.basePath.isEmpty && endpoint.basePath != "/" && path.hasPrefix(endpoint.basePath) {
            path = String(path.dropFirst(endpoint.basePath.count))  // the executor adds the base path back
        }
        let routed = AWSRequestExecutor(
            transport: executor.transport,
            credentials: executor.credentials,
            endpoint: endpoint,
            policy: executor.policy
        )
        return (routed.copyingTestHooks(from: executor), path.isEmpty ? "/" : path)
    }

    /// Every object under `prefix`, following continuation tokens.
    public func listObjects(bucket: String, prefix: String) async throws -> [S3ObjectSummary] {
        let (executor, path) = route(bucket: bucket, key: "")
        var objects: [S3ObjectSummary] = []
        var token: String?
        repeat {
            let query = ListObjectsV2.queryItems(
                prefix: prefix.isEmpty ? nil : prefix,
                continuationToken: token,
                maxKeys: nil
            )
            let response = try await executor.send(
                operation: "ListObjectsV2",
                method: "GET",
                path: path,
                query: query,
                headers: bucketHeaders,
                throttles: .retry(onThrottle: { _ in }),
                context: AWSErrorContext(
                    action: "s3:ListBucket",
                    resource: "arn:aws:s3:::\(bucket)",
                    region: executor.endpoint.signingRegion
                )
            )
            let page: ListObjectsV2Page
            do { page = try ListObjectsV2.parse(response.body) } catch {
                throw AWSClientError.invalidResponse(
                    service: .s3,
                    operation: "ListObjectsV2",
                    reason: error.description
                )
            }
            objects += page.objects
            token = page.isTruncated ? page.nextContinuationToken : nil
        } while token != nil
        return objects
    }

    /// A small object in full (manifests).
    public func getObject(bucket: String, key: String) async throws -> [UInt8] {
        var collected: [UInt8] = []
        try await getObject(bucket: bucket, key: key) { chunk in collected += chunk }
        return collected
    }

    /// Streams an object. When the connection breaks mid-body, the download resumes from the last byte received
    /// with `Range: bytes=N-` and `If-Match` on the first response's ETag, so a replaced object is never spliced.
    public func getObject(bucket: String, key: String, onChunk: ([UInt8]) async throws -> Void) async throws {
        let (executor, path) = route(bucket: bucket, key: key)
        var received: Int64 = 0
        var firstETag: String?
        var resumes = 0
        while true {
            let (offset, eTag) = (received, firstETag)
            var headers = bucketHeaders
            if offset > 0 {
                headers.append((name: "Range", value: "bytes=\(offset)-"))
                if let eTag { headers.append((name: "If-Match", value: eTag)) }
            }
            do {
                try await executor.stream(
                    operation: "GetObject",
                    path: path,
                    headers: headers,
                    context: AWSErrorContext(
                        action: "s3:GetObject",
                        resource: "arn:aws:s3:::\(bucket)/\(key)",
                        region: executor.endpoint.signingRegion
                    ),
                    onHead: { response in
                        if firstETag == nil { firstETag = response.header("ETag") }
                    },
                    onChunk: { chunk in
                        received += Int64(chunk.count)
                        try await onChunk(chunk)
                    }
                )
                return
            } catch let error as TransportError {
                resumes += 1
                guard resumes <= maxResumes else {
                    throw AWSClientError.transport(
                        error,
                        service: .s3,
                        operation: "GetObject",
                        endpoint: executor.endpoint.baseURL,
                        attempts: resumes
                    )
                }
            }
        }
    }
}

extension S3Client {
    /// What `HeadObject` says about an object.
    public struct ObjectHead: Sendable, Hashable {
        public var size: Int64?
        /// The ETag without quotes (compare with `manifest-files.json`'s `etag`).
        public var eTag: String?
    }

    public func headObject(bucket: String, key: String) async throws -> ObjectHead {
        let (executor, path) = route(bucket: bucket, key: key)
        let response = try await executor.send(
            operation: "HeadObject",
            method: "HEAD",
            path: path,
            headers: bucketHeaders,
            throttles: .retry(onThrottle: { _ in }),
            context: AWSErrorContext(
                action: "s3:GetObject",
                resource: "arn:aws:s3:::\(bucket)/\(key)",
                region: executor.endpoint.signingRegion
            )
        )
        return ObjectHead(
            size: response.header("Content-Length").flatMap { Int64($0) },
            eTag: response.header("ETag").map(Self.unquoted)
        )
    }
}
