/// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320, init and xor-out
/// 0xFFFFFFFF), the checksum DynamoDB sends in `x-amz-crc32` over the
/// response body (botocore `_retry.json` policy `crc32`, `crc32body`).
public struct CRC32: Sendable, Hashable {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    /// Slicing-by-8 tables: `tables[k][n]` is the CRC of byte n followed by k zero bytes.
    static let tables: [UInt32] = {
        var all = table
        for k in 1..<8 {
            for n in 0..<256 {
                let previous = all[(k - 1) * 256 + n]
                all.append(table[Int(previous & 0xFF)] ^ (previous >> 8))
            }
        }
        return all
    }()

    private var state: UInt32 = 0xFFFF_FFFF

    public init() {}

    /// Feed more bytes (for streamed bodies).
    public mutating func update(_ bytes: some Sequence<UInt8>) {
        if let done: Void = bytes.withContiguousStorageIfAvailable({ update(UnsafeRawBufferPointer($0)) }) {
            return done
        }
        let table = Self.table
        var c = state
        for b in bytes { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        state = c
    }

    /// Eight bytes a step (slicing-by-8), then byte by byte: ~1 GB/s instead of ~200 MB/s.
    public mutating func update(_ buffer: UnsafeRawBufferPointer) {
        var c = state
        var index = 0
        let count = buffer.count
        Self.tables.withUnsafeBufferPointer { t in
            while index + 8 <= count {
                let low = c ^ UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: index, as: UInt32.self))
                let high = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self))
                c =
                    t[7 * 256 + Int(low & 0xFF)] ^ t[6 * 256 + Int((low >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((low >> 16) & 0xFF)] ^ t[4 * 256 + Int(low >> 24)]
                    ^ t[3 * 256 + Int(high & 0xFF)] ^ t[2 * 256 + Int((high >> 8) & 0xFF)]
                    ^ t[1 * 256 + Int((high >> 16) & 0xFF)] ^ t[Int(high >> 24)]
                index += 8
            }
            while index < count {
                c = t[Int((c ^ UInt32(buffer[index])) & 0xFF)] ^ (c >> 8)
                index += 1
            }
        }
        state = c
    }

    /// The checksum of everything fed so far.
    public var value: UInt32 { state ^ 0xFFFF_FFFF }

    /// The checksum of `bytes`.
    public static func checksum(_ bytes: some Sequence<UInt8>) -> UInt32 {
        var crc = CRC32()
        crc.update(bytes)
        return crc.value
    }

    /// Check a DynamoDB response body against its `x-amz-crc32` header (the
    /// unsigned decimal CRC32 of the body as received). Returns
    /// `.checksumMismatch` to classify (transient) on mismatch, `nil` when
    /// it matches or when the header is absent or not a number (emulators
    /// may omit it).
    public static func verify(header: String?, body: some Sequence<UInt8>) -> RequestOutcome? {
        guard let header, let expected = UInt32(header.filter { $0 != " " }) else { return nil }
        let actual = checksum(body)
        return actual == expected ? nil : .checksumMismatch(expected: expected, actual: actual)
    }
}
