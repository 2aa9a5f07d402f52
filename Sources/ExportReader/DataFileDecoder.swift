import Crypto
import DynamoModel

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the compressed bytes of one data file into records: MD5 of the .gz bytes → gunzip → lines → records.
/// With `compressed: false` it takes the file's text as `DataFileVerifier` inflated it into a verified copy, and
/// only splits and validates it.
///
/// Pure and push-driven (no I/O): feed chunks in order, then `finish()`. Memory is bounded by the chunk size plus
/// the longest line, whatever the file's size. Every error names the file and, for records, the line and column.
public final class DataFileDecoder {
    public let fileKey: String
    public let kind: ExportKind
    public let format: ExportFormat
    /// base64 MD5 from `manifest-files.json`; nil skips the check.
    public let expectedMD5: String?

    /// Nil for text input (`compressed: false`).
    private let inflater: GzipInflater?
    private var lineScanner = RecordLineScanner()
    /// ION lines are converted to DynamoDB JSON, into this block, before the same scanner checks them.
    private var transcoder = IonTranscoder()
    private var md5 = Insecure.MD5()
    /// Decompressed bytes not yet split into lines: `buffer[lineStart..<filled]`.
    private var buffer: UnsafeMutableRawBufferPointer
    private var lineStart = 0
    private var filled = 0
    public private(set) var lineNumber = 0
    public private(set) var recordCount: Int64 = 0
    public private(set) var compressedBytes: Int64 = 0
    public private(set) var decompressedBytes: Int64 = 0

    /// - Parameters:
    ///   - checkCRC: gzip's CRC-32; by default checked only when there is no MD5 to check (pass false for a file
    ///     `DataFileVerifier` already checked).
    ///   - compressed: false for a verified copy's text (no gunzip; `expectedMD5` must be nil: the copy is not the
    ///     bytes the manifest's MD5 is of).
    public init(
        fileKey: String,
        kind: ExportKind,
        format: ExportFormat = .dynamoDBJSON,
        expectedMD5: String?,
        checkCRC: Bool? = nil,
        compressed: Bool = true,
        bufferSize: Int = 256 << 10
    ) {
        precondition(compressed || expectedMD5 == nil, "the MD5 is of the compressed file")
        self.fileKey = fileKey
        self.kind = kind
        self.format = format
        self.expectedMD5 = expectedMD5
        inflater = compressed ? GzipInflater(checkCRC: checkCRC ?? (expectedMD5 == nil)) : nil
        buffer = .allocate(byteCount: max(bufferSize, 4096), alignment: 16)
    }

    deinit {
        buffer.deallocate()
        transcoder.out.deallocate()
    }

    /// Feeds the next compressed chunk; calls `emit` for each complete record it finishes.
    public func feed(_ chunk: UnsafeRawBufferPointer, emit: (ExportRecord) throws -> Void) throws {
        guard let inflater else { return try feedText(chunk, emit: emit) }
        // Only when it is checked: a verified copy's MD5 was checked while it was made.
        if expectedMD5 != nil { md5.update(bufferPointer: chunk) }
        compressedBytes += Int64(chunk.count)
        var input = chunk
        var outputFull = false
        // Until the chunk is used up and zlib holds no more output for it (a full output buffer may leave some).
        while !input.isEmpty || outputFull {
            makeRoom()
            let result: (consumed: Int, produced: Int)
            let room = buffer.count - filled
            do {
                result = try inflater.inflate(input, into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]))
            } catch .corrupt(let reason) {
                throw ExportReaderError.gzip(key: fileKey, reason: "corrupt gzip data (\(reason))")
            } catch {
                throw ExportReaderError.gzip(key: fileKey, reason: "unexpected bytes after the end of the gzip stream")
            }
            input = UnsafeRawBufferPointer(rebasing: input[result.consumed...])
            filled += result.produced
            decompressedBytes += Int64(result.produced)
            try splitLines(final: false, emit: emit)
            outputFull = result.produced == room
            if result.consumed == 0 && result.produced == 0 { break }
        }
    }

    /// Text input: copies the chunk behind the unfinished line and splits what is complete.
    private func feedText(_ chunk: UnsafeRawBufferPointer, emit: (ExportRecord) throws -> Void) throws {
        var input = chunk
        while !input.isEmpty {
            makeRoom()
            let take = min(input.count, buffer.count - filled)
            UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<filled + take])
                .copyMemory(from: UnsafeRawBufferPointer(rebasing: input[0..<take]))
            input = UnsafeRawBufferPointer(rebasing: input[take...])
            filled += take
            decompressedBytes += Int64(take)
            try splitLines(final: false, emit: emit)
        }
    }

    /// Inflates a chunk and drops the output: the gunzip-only baseline for benchmarks.
    public func feedInflateOnly(_ chunk: UnsafeRawBufferPointer) throws {
        guard let inflater else { return }
        var input = chunk
        while !input.isEmpty {
            filled = 0
            lineStart = 0
            let result = try inflater.inflate(input, into: buffer)
            input = UnsafeRawBufferPointer(rebasing: input[result.consumed...])
            decompressedBytes += Int64(result.produced)
            if result.consumed == 0 && result.produced == 0 { break }
        }
    }

    /// Ends the file: the last line, gzip completeness, item count and MD5. Returns the number of records.
    @discardableResult
    public func finish(expectedItemCount: Int64? = nil, emit: (ExportRecord) throws -> Void) throws -> Int64 {
        if let inflater {
            try checkComplete(inflater)
        }
        try splitLines(final: true, emit: emit)
        if let expectedMD5 {
            let actual = Base64.encode(Array(md5.finalize()))
            if let expected = Base64Digest(expectedMD5), Base64.encode(expected.bytes) != actual {
                throw ExportReaderError.checksumMismatch(
                    key: fileKey,
                    expected: expectedMD5,
                    actual: actual,
                    checkedAgainst: "manifest-files.json"
                )
            }
        }
        if let expectedItemCount, expectedItemCount != recordCount {
            throw ExportReaderError.itemCountMismatch(key: fileKey, manifest: expectedItemCount, actual: recordCount)
        }
        return recordCount
    }

    /// The gzip stream was all there: a header, and nothing cut off.
    private func checkComplete(_ inflater: GzipInflater) throws {
        guard inflater.sawInput else {
            throw ExportReaderError.gzip(key: fileKey, reason: "empty file (not even a gzip header)")
        }
        guard inflater.isAtMemberEnd else {
            throw ExportReaderError.gzip(
                key: fileKey,
                reason: "truncated gzip stream (the file ends before the compressed data does)"
            )
        }
    }

    /// Keeps at least 64 KB free at the end of the buffer: moves the partial line to the front, or grows the
    /// buffer when one line is longer than it (items can be 400 KB, more as JSON).
    private func makeRoom() {
        guard buffer.count - filled < 64 << 10 else { return }
        let pending = filled - lineStart
        if lineStart > 0 {
            if pending > 0, let base = buffer.baseAddress { memmove(base, base + lineStart, pending) }
            lineStart = 0
            filled = pending
        }
        if buffer.count - filled < 64 << 10 {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            if pending > 0 { bigger.copyMemory(from: UnsafeRawBufferPointer(rebasing: buffer[0..<pending])) }
            buffer.deallocate()
            buffer = bigger
        }
    }

    /// Records of the current block, waiting for the block's bytes to be copied once.
    private var pending: [(range: Range<Int>, line: Int, scanned: RecordLineScanner.Scanned)] = []

    /// Validates every complete line in the buffer in place, then copies the block of lines once and emits its
    /// records as slices of that copy: one allocation per block instead of one per record. ION lines are first
    /// converted into a block of DynamoDB JSON lines.
    private func splitLines(final: Bool, emit: (ExportRecord) throws -> Void) throws {
        guard let base = buffer.baseAddress else { return }
        let blockStart = lineStart
        pending.removeAll(keepingCapacity: true)
        transcoder.out.count = 0
        while lineStart < filled {
            let start = base + lineStart
            let end: Int
            if let newline = memchr(start, 0x0A, filled - lineStart) {
                end = start.distance(to: UnsafeMutableRawPointer(newline)) + lineStart
            } else if final {
                end = filled
            } else {
                // Hostile input must not grow the buffer without end: refuse the line once it passes the bound.
                if filled - lineStart > DynamoLimits.maxExportLineBytes { throw lineTooLong(line: lineNumber + 1) }
                break
            }
            lineNumber += 1
            if end - lineStart > DynamoLimits.maxExportLineBytes { throw lineTooLong(line: lineNumber) }
            var length = end - lineStart
            if length > 0 && base.load(fromByteOffset: end - 1, as: UInt8.self) == 0x0D { length -= 1 }
            let line = UnsafeBufferPointer(start: start.assumingMemoryBound(to: UInt8.self), count: length)
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {  // blank lines carry nothing but count for line numbers
                if format == .dynamoDBJSON {
                    let scanned = try scanLine(line, columnNote: "")
                    pending.append((lineStart - blockStart..<lineStart - blockStart + length, lineNumber, scanned))
                } else {
                    let jsonStart = transcoder.out.count
                    do {
                        try transcoder.transcode(line, kind: kind)
                    } catch {
                        throw ExportReaderError.invalidRecord(
                            key: fileKey,
                            line: lineNumber,
                            column: error.column,
                            reason: error.reason
                        )
                    }
                    let json = transcoder.out.bytes(from: jsonStart)
                    let scanned = try scanLine(json, columnNote: " (column of the record converted to DynamoDB JSON)")
                    pending.append((jsonStart..<transcoder.out.count, lineNumber, scanned))
                }
            }
            lineStart = min(end + 1, filled)
        }
        guard !pending.isEmpty else { return }
        let block =
            format == .dynamoDBJSON
            ? [UInt8](UnsafeRawBufferPointer(start: base + blockStart, count: lineStart - blockStart))
            : [UInt8](transcoder.out.bytes(from: 0))
        for record in pending {
            let location = RecordLocation(fileKey: fileKey, line: record.line)
            try emit(ExportRecord(location: location, kind: kind, line: block[record.range], scanned: record.scanned))
        }
    }

    private func lineTooLong(line: Int) -> ExportReaderError {
        .invalidRecord(
            key: fileKey,
            line: line,
            column: DynamoLimits.maxExportLineBytes + 1,
            reason: DataFileVerifier.lineTooLongReason
        )
    }

    /// Validates one line's DynamoDB JSON.
    private func scanLine(_ line: UnsafeBufferPointer<UInt8>, columnNote: String) throws -> RecordLineScanner.Scanned {
        do {
            let scanned = try lineScanner.scan(line, kind: kind)
            recordCount += 1
            return scanned
        } catch {
            throw ExportReaderError.invalidRecord(
                key: fileKey,
                line: lineNumber,
                column: error.column,
                reason: error.description + columnNote
            )
        }
    }
}
