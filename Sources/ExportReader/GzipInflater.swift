import CZlib

/// Streaming gunzip over zlib. Handles multi-member gzip files (members concatenated) as `gzip -d` does.
///
/// A class because zlib keeps a pointer back to its `z_stream`, which therefore must not move.
final class GzipInflater {
    private let stream: UnsafeMutablePointer<z_stream>
    private(set) var finished = false
    private var started = false

    /// Whether gzip's own CRC-32 of the decompressed data is computed and checked.
    private let checkCRC: Bool

    /// - Parameter checkCRC: pass false when the compressed bytes' MD5 is verified instead: it already proves the
    ///   file intact, and skipping the CRC saves about 5 % of a read.
    init(checkCRC: Bool) {
        self.checkCRC = checkCRC
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + MAX_WBITS: gzip wrapper only (exports are .gz).
        let status = inflateInit2_(stream, 16 + MAX_WBITS, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "zlib inflateInit2 failed: \(status)")
        if !checkCRC { inflateValidate(stream, 0) }
    }

    deinit {
        inflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    enum Failure: Error {
        case corrupt(String)
        case trailingGarbage
    }

    /// Inflates from `input` into `output`; returns (bytes consumed, bytes produced). Call again while input
    /// remains or the output was filled.
    func inflate(
        _ input: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws(Failure) -> (consumed: Int, produced: Int) {
        guard !input.isEmpty || started else { return (0, 0) }
        var consumedTotal = 0
        var input = input
        if finished {
            // Another gzip member may follow the one that ended.
            guard let first = input.first else { return (0, 0) }
            guard first == 0x1F else { throw .trailingGarbage }
            inflateReset(stream)
            if !checkCRC { inflateValidate(stream, 0) }
            finished = false
        }
        started = true
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = uInt(output.count)
        let status = CZlib.inflate(stream, Z_NO_FLUSH)
        let consumed = input.count - Int(stream.pointee.avail_in)
        let produced = output.count - Int(stream.pointee.avail_out)
        consumedTotal += consumed
        input = UnsafeRawBufferPointer(rebasing: input[consumed...])
        switch status {
        case Z_OK, Z_BUF_ERROR: break
        case Z_STREAM_END: finished = true
        default:
            let message = stream.pointee.msg.map { String(cString: $0) } ?? "zlib error \(status)"
            throw .corrupt(message)
        }
        return (consumedTotal, produced)
    }

    /// True when the input so far ended exactly at the end of a gzip member.
    var isAtMemberEnd: Bool { finished }
    var sawInput: Bool { started }
}
