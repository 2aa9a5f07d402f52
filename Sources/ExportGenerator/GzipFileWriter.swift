import CZlib
import Crypto
import DynamoModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a gzip file line by line, streaming, and reports what a manifest needs: the MD5 of the compressed bytes
/// (base64, as `md5Checksum`), the S3 single-part multipart ETag (`hex(MD5(MD5))-1`) and the line count.
package final class GzipFileWriter {
    let path: String
    private let fd: Int32
    private let stream: UnsafeMutablePointer<z_stream>
    private var pending: [UInt8] = []
    private var output = [UInt8](repeating: 0, count: 256 << 10)
    private var md5 = Insecure.MD5()
    private(set) var lines: Int64 = 0
    private(set) var compressedBytes: Int64 = 0

    package init(path: String, level: Int32) throws {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0 else { throw GeneratorError.io(path: path, reason: String(cString: strerror(errno))) }
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + MAX_WBITS: a gzip wrapper, as the export's .json.gz files have.
        let status = deflateInit2_(
            stream,
            level,
            Z_DEFLATED,
            16 + MAX_WBITS,
            8,
            Z_DEFAULT_STRATEGY,
            ZLIB_VERSION,
            Int32(MemoryLayout<z_stream>.size)
        )
        precondition(status == Z_OK, "zlib deflateInit2 failed: \(status)")
        pending.reserveCapacity(128 << 10)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        close(fd)
    }

    /// Appends one line; `line` must not contain a newline.
    package func appendLine(_ line: [UInt8]) throws {
        pending.append(contentsOf: line)
        pending.append(0x0A)
        lines += 1
        if pending.count >= 128 << 10 { try compress(flush: Z_NO_FLUSH) }
    }

    /// Finishes the gzip stream and closes the file.
    package func finish() throws -> (md5Checksum: String, etag: String, lines: Int64) {
        try compress(flush: Z_FINISH)
        let digest = Array(md5.finalize())
        // S3's ETag for a one-part multipart upload: MD5 of the part MD5s, then "-<parts>".
        let etag =
            Insecure.MD5.hash(data: digest).map { byte in
                let hex = String(byte, radix: 16)
                return byte < 16 ? "0" + hex : hex
            }.joined() + "-1"
        return (Base64.encode(digest), etag, lines)
    }

    private func compress(flush: Int32) throws {
        try pending.withUnsafeMutableBufferPointer { input in
            stream.pointee.next_in = input.baseAddress
            stream.pointee.avail_in = uInt(input.count)
            var status: Int32
            repeat {
                status = output.withUnsafeMutableBufferPointer { out -> Int32 in
                    stream.pointee.next_out = out.baseAddress
                    stream.pointee.avail_out = uInt(out.count)
                    return deflate(stream, flush)
                }
                precondition(status != Z_STREAM_ERROR, "zlib deflate failed")
                let produced = output.count - Int(stream.pointee.avail_out)
                if produced > 0 { try write(produced) }
            } while stream.pointee.avail_out == 0 || (flush == Z_FINISH && status != Z_STREAM_END)
        }
        pending.removeAll(keepingCapacity: true)
    }

    private func write(_ count: Int) throws {
        try output.withUnsafeBytes { bytes in
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[0..<count])
            md5.update(bufferPointer: chunk)
            var offset = 0
            while offset < count {
                let written = Glibc.write(fd, chunk.baseAddress! + offset, count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    throw GeneratorError.io(path: path, reason: String(cString: strerror(errno)))
                }
                offset += written
            }
        }
        compressedBytes += Int64(count)
    }
}

public enum GeneratorError: Error, CustomStringConvertible {
    case io(path: String, reason: String)
    case invalidSpec(String)

    public var description: String {
        switch self {
        case let .io(path, reason): "\(path): \(reason)"
        case let .invalidSpec(reason): "invalid chain spec: \(reason)"
        }
    }
}
