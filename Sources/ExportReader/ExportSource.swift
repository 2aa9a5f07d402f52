/// Where exports are read from. Objects are addressed by bucket-style keys (`prefix/AWSDynamoDB/…`).
///
/// One protocol for a local directory copy (`aws s3 sync`) and for S3 itself, so the reader, planner and apply
/// never know which they read.
public protocol ExportSource: Sendable {
    /// How users name this source: `s3://bucket/prefix` or a directory path.
    var location: String { get }

    /// Every object key under `prefix` (recursively), sorted.
    func listKeys(under prefix: String) async throws -> [String]

    /// True when the object exists.
    func exists(_ key: String) async throws -> Bool

    /// A small object (a manifest) in full. Throws `ExportReaderError.objectNotFound` when it is missing.
    func read(_ key: String) async throws -> [UInt8]

    /// Streams an object in chunks, in order; the next chunk is read only after `body` returns (back-pressure).
    func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws
}
