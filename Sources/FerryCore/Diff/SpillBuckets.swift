import DynamoModel
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One entry of a diff's spill files: a key, what the plan (or the target) holds for it, and where it came from.
struct SpillEntry: Sendable {
    enum Kind: UInt8, Sendable {
        /// The plan's final write for the key is a put of `item`.
        case put = 0
        /// The plan's final write for the key is a delete (an incremental deleted it).
        case delete = 1
        /// An item read from the target.
        case target = 2
    }

    var kind: Kind
    /// Canonical key JSON (numbers in canonical form, key-schema order): equal for equal keys.
    var key: [UInt8]
    /// The item's DynamoDB JSON (empty for deletes).
    var item: [UInt8]
    /// `file:line` of the record (empty for target items).
    var location: String
}

/// Writes entries into `count` files by key hash, so each bucket's entries (and a key's every entry) can later be
/// compared with only that bucket in memory. Entries keep their order within a bucket: a later write of a key wins.
///
/// Format per entry: kind (1 byte), key length (4, little endian), key, item length (4), item, location length (2),
/// location.
final class SpillWriter {
    let directory: String
    let prefix: String
    let count: Int
    private var descriptors: [Int32]
    private var buffers: [[UInt8]]
    private let flushAt = 256 * 1024
    private(set) var bytesWritten: Int64 = 0

    init(directory: String, prefix: String, count: Int) throws {
        self.directory = directory
        self.prefix = prefix
        self.count = count
        descriptors = []
        buffers = Array(repeating: [], count: count)
        for index in 0..<count {
            let path = Self.path(directory: directory, prefix: prefix, index: index)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                for open in descriptors { close(open) }
                throw DiffError.workDirectory(path: path, reason: String(cString: strerror(errno)))
            }
            descriptors.append(fd)
        }
    }

    deinit { for fd in descriptors where fd >= 0 { close(fd) } }

    static func path(directory: String, prefix: String, index: Int) -> String {
        "\(directory)/\(prefix)-\(index).spill"
    }

    static func bucket(of key: [UInt8], count: Int) -> Int {
        // FNV-1a, 64-bit: stable across runs and processes (Swift's Hasher is seeded per process).
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(hash % UInt64(count))
    }

    func append(_ entry: SpillEntry) throws {
        let index = Self.bucket(of: entry.key, count: count)
        let location = Array(entry.location.utf8.prefix(Int(UInt16.max)))
        var buffer = buffers[index]
        buffers[index] = []
        buffer.append(entry.kind.rawValue)
        Self.appendLength(UInt32(entry.key.count), to: &buffer)
        buffer += entry.key
        Self.appendLength(UInt32(entry.item.count), to: &buffer)
        buffer += entry.item
        buffer.append(UInt8(location.count & 0xff))
        buffer.append(UInt8(location.count >> 8))
        buffer += location
        if buffer.count >= flushAt {
            try write(buffer, to: index)
            buffer.removeAll(keepingCapacity: true)
        }
        buffers[index] = buffer
    }

    func finish() throws {
        for index in 0..<count where !buffers[index].isEmpty {
            try write(buffers[index], to: index)
            buffers[index] = []
        }
        for index in 0..<count {
            close(descriptors[index])
            descriptors[index] = -1
        }
    }

    private func write(_ bytes: [UInt8], to index: Int) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.write(descriptors[index], $0.baseAddress, $0.count) }
            if written < 0 {
                if errno == EINTR { continue }
                throw DiffError.workDirectory(
                    path: Self.path(directory: directory, prefix: prefix, index: index),
                    reason: String(cString: strerror(errno))
                )
            }
            offset += written
        }
        bytesWritten += Int64(bytes.count)
    }

    private static func appendLength(_ value: UInt32, to buffer: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { buffer += $0 }
    }
}

/// Reads one bucket file back, entry by entry, in the order written.
enum SpillReader {
    static func forEach(path: String, _ body: (SpillEntry) throws -> Void) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw DiffError.workDirectory(path: path, reason: "cannot read the spill file back")
        }
        let bytes = [UInt8](data)
        var offset = 0
        func length(_ size: Int) throws -> Int {
            guard offset + size <= bytes.count else {
                throw DiffError.workDirectory(path: path, reason: "spill file truncated at byte \(offset)")
            }
            var value = 0
            for index in 0..<size { value |= Int(bytes[offset + index]) << (8 * index) }
            offset += size
            return value
        }
        func take(_ count: Int) throws -> ArraySlice<UInt8> {
            guard offset + count <= bytes.count else {
                throw DiffError.workDirectory(path: path, reason: "spill file truncated at byte \(offset)")
            }
            defer { offset += count }
            return bytes[offset..<offset + count]
        }
        while offset < bytes.count {
            guard let kind = SpillEntry.Kind(rawValue: bytes[offset]) else {
                throw DiffError.workDirectory(path: path, reason: "spill file damaged at byte \(offset)")
            }
            offset += 1
            let key = Array(try take(try length(4)))
            let item = Array(try take(try length(4)))
            let location = String(decoding: try take(try length(2)), as: UTF8.self)
            try body(SpillEntry(kind: kind, key: key, item: item, location: location))
        }
    }
}
