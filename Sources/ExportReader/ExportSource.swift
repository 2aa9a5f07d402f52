/// Where exports are read from. Objects are addressed by bucket-style keys (`prefix/AWSDynamoDB/…`).
///
/// One protocol for a local directory copy (`aws s3 sync`) and for S3 itself, so the reader, planner and apply
/// never know which they read.
public protocol ExportSource: Sendable {
    /// How users name this source: `s3://bucket/prefix` or a directory path.
    var location: String { get }

    /// Every object under `prefix` (recursively) with its size, sorted by key.
    func listObjects(under prefix: String) async throws -> [ExportObject]

    /// True when the object exists.
    func exists(_ key: String) async throws -> Bool

    /// A small object (a manifest) in full. Throws `ExportReaderError.objectNotFound` when it is missing.
    func read(_ key: String) async throws -> [UInt8]

    /// Streams an object in chunks, in order; the next chunk is read only after `body` returns (back-pressure).
    func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws
}

/// An object in a source: its key and size in bytes.
public struct ExportObject: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public init(key: String, size: Int64) {
        self.key = key
        self.size = size
    }
}

extension ExportSource {
    /// Every key under `prefix`, sorted.
    public func listKeys(under prefix: String) async throws -> [String] {
        try await listObjects(under: prefix).map(\.key)
    }
}
