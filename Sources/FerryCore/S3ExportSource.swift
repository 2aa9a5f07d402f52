import AWSClient
import AWSCore
import ExportReader

/// Exports in S3, read with the source account's credentials (cross-account buckets work as long as those
/// credentials may read them).
public struct S3ExportSource: ExportSource {
    public let s3: S3Client
    public let bucket: String

    public init(s3: S3Client, bucket: String) {
        self.s3 = s3
        self.bucket = bucket
    }

    public var location: String { "s3://\(bucket)" }

    public func listObjects(under prefix: String) async throws -> [ExportObject] {
        try await s3.listObjects(bucket: bucket, prefix: prefix).map { ExportObject(key: $0.key, size: $0.size) }.sorted
        { $0.key < $1.key }
    }

    public func exists(_ key: String) async throws -> Bool {
        do {
            _ = try await s3.headObject(bucket: bucket, key: key)
            return true
        } catch let AWSClientError.service(error, _, _) where error.httpStatus == 404 {
            return false
        }
    }

    public func read(_ key: String) async throws -> [UInt8] {
        do { return try await s3.getObject(bucket: bucket, key: key) } catch let AWSClientError.service(error, _, _)
            where error.httpStatus == 404
        {
            throw ExportReaderError.objectNotFound(key: key, source: location)
        }
    }

    public func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws {
        try await s3.getObject(bucket: bucket, key: key) { chunk in
            // Keep the bytes alive across the suspension points inside `body`.
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk.count, alignment: 16)
            defer { buffer.deallocate() }
            buffer.copyBytes(from: chunk)
            try await body(UnsafeRawBufferPointer(buffer))
        }
    }
}

/// Where a `--source` points: an S3 bucket and prefix, or a local directory.
public enum SourceLocation: Sendable, Hashable {
    case s3(bucket: String, prefix: String)
    case directory(String)

    public init(_ text: String) throws(SourceLocationError) {
        if text.hasPrefix("s3://") {
            let rest = text.dropFirst(5)
            let bucket = rest.prefix { $0 != "/" }
            guard !bucket.isEmpty else { throw SourceLocationError(text: text) }
            var prefix = String(rest.dropFirst(bucket.count))
            while prefix.hasPrefix("/") { prefix.removeFirst() }
            self = .s3(bucket: String(bucket), prefix: prefix)
        } else if text.contains("://") {
            throw SourceLocationError(text: text)
        } else {
            self = .directory(text)
        }
    }
}

public struct SourceLocationError: Error, CustomStringConvertible, Sendable {
    public var text: String
    public var description: String { "--source \(text): expected s3://bucket/prefix or a local directory" }
}
