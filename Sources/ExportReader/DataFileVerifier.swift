import Crypto
import DynamoModel
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks one data file whole — the MD5 of its compressed bytes, gzip's own integrity (every member's CRC-32 and
/// length, no truncation, nothing after the last member) and its record count against `manifest-files.json` —
/// without decoding its records. Apply runs it over a private copy (`ExportReader.spool`) before any record of the
/// file is read for writing, so a file changed in the bucket after planning, or damaged in a local copy, writes
/// nothing.
///
/// Records are counted as `DataFileDecoder` counts them: lines split at `\n`, one trailing `\r` dropped, lines of
/// only spaces and tabs not counted. Lines longer than `DynamoLimits.maxExportLineBytes` are refused as soon as they
/// pass it. Pure and push-driven like the decoder: feed chunks, then `finish()`.
public final class DataFileVerifier {
    public let fileKey: String
    public let expectedMD5: String
    public let expectedItemCount: Int64

    private let inflater = GzipInflater(checkCRC: true)
    private var md5 = Insecure.MD5()
    private let output: UnsafeMutableRawBufferPointer
    /// Bytes of the current (unfinished) line so far.
    private var lineBytes = 0
    /// The current line holds something other than spaces and tabs (a `\r` counts unless it ends the line).
    private var lineHasContent = false
    private var lastWasCR = false
    /// Lines finished so far.
    public private(set) var lineNumber = 0
    public private(set) var recordCount: Int64 = 0
    /// Given each run of the file's inflated text as it is checked (for a copy that is read without gunzip).
    public var onText: ((UnsafeRawBufferPointer) -> Void)?

    static let lineTooLongReason =
        "line longer than \(DynamoLimits.maxExportLineBytes) bytes, longer than any record DynamoDB can export; the file is damaged"

    public init(fileKey: String, expectedMD5: String, expectedItemCount: Int64, outputSize: Int = 256 << 10) {
        self.fileKey = fileKey
        self.expectedMD5 = expectedMD5
        self.expectedItemCount = expectedItemCount
        output = .allocate(byteCount: outputSize, alignment: 16)
    }

    deinit { output.deallocate() }

    /// Feeds the next compressed chunk.
    public func feed(_ chunk: UnsafeRawBufferPointer) throws(ExportReaderError) {
        md5.update(bufferPointer: chunk)
        var input = chunk
        var outputFull = false
        // Until the chunk is used up and zlib holds no more output for it (a full output buffer may leave some).
        while !input.isEmpty || outputFull {
            let result: (consumed: Int, produced: Int)
            do {
                result = try inflater.inflate(input, into: output)
            } catch .corrupt(let reason) {
                throw .gzip(key: fileKey, reason: "corrupt gzip data (\(reason))")
            } catch {
                throw .gzip(key: fileKey, reason: "unexpected bytes after the end of the gzip stream")
            }
            input = UnsafeRawBufferPointer(rebasing: input[result.consumed...])
            let text = UnsafeRawBufferPointer(rebasing: output[0..<result.produced])
            try count(text)
            if let onText, !text.isEmpty { onText(text) }
            outputFull = result.produced == output.count
            if result.consumed == 0 && result.produced == 0 { break }
        }
    }

    /// Ends the file: gzip completeness, MD5, then the record count (the MD5 first: a changed file is reported as
    /// changed, not by its symptom). Returns the record count.
    @discardableResult
    public func finish() throws(ExportReaderError) -> Int64 {
        let actual = Base64.encode(Array(md5.finalize()))
        if let expected = Base64Digest(expectedMD5), Base64.encode(expected.bytes) != actual {
            throw .checksumMismatch(
                key: fileKey,
                expected: expectedMD5,
                actual: actual,
                checkedAgainst: "manifest-files.json"
            )
        }
        guard inflater.sawInput else { throw .gzip(key: fileKey, reason: "empty file (not even a gzip header)") }
        guard inflater.isAtMemberEnd else {
            throw .gzip(key: fileKey, reason: "truncated gzip stream (the file ends before the compressed data does)")
        }
        endLine()
        if expectedItemCount != recordCount {
            throw .itemCountMismatch(key: fileKey, manifest: expectedItemCount, actual: recordCount)
        }
        return recordCount
    }

    private func endLine() {
        if lineHasContent { recordCount += 1 }
        lineNumber += 1
        lineBytes = 0
        lineHasContent = false
        lastWasCR = false
    }

    /// Counts the records in decompressed bytes: `memchr` finds the line ends; a line's bytes are looked at only
    /// until its first non-blank byte.
    private func count(_ bytes: UnsafeRawBufferPointer) throws(ExportReaderError) {
        guard var position = bytes.baseAddress else { return }
        let end = position + bytes.count
        while position < end {
            let newline = memchr(position, 0x0A, end - position).map { UnsafeRawPointer($0) }
            let segmentEnd = newline ?? end
            let length = segmentEnd - position
            lineBytes += length
            if lineBytes > DynamoLimits.maxExportLineBytes {
                throw .invalidRecord(
                    key: fileKey,
                    line: lineNumber + 1,
                    column: DynamoLimits.maxExportLineBytes + 1,
                    reason: Self.lineTooLongReason
                )
            }
            if !lineHasContent {
                var byte = position
                while byte < segmentEnd && !lineHasContent {
                    switch byte.load(as: UInt8.self) {
                    case 0x20, 0x09:
                        if lastWasCR { lineHasContent = true }
                        lastWasCR = false
                    case 0x0D:
                        if lastWasCR { lineHasContent = true }
                        lastWasCR = true
                    default: lineHasContent = true
                    }
                    byte += 1
                }
            }
            guard newline != nil else { return }
            endLine()
            position = segmentEnd + 1
        }
    }
}

/// A data file copied to local disk by `ExportReader.spool` and verified whole; its records are read from the copy,
/// which nothing else writes.
public struct VerifiedDataFile: Sendable {
    /// What the copy holds: the compressed file as downloaded, or its text as inflated while it was verified (read
    /// without a second gunzip).
    public enum Form: Sendable, Equatable {
        case gzip
        case text
    }

    public let file: ManifestFileEntry
    /// The private copy.
    public let path: String
    /// The copy's size.
    public let bytes: Int64
    public let form: Form
}

/// One file of the spool being written: created or truncated, owner-only; removed unless kept.
private final class SpoolCopy {
    let path: String
    private var fd: Int32
    private(set) var bytes: Int64 = 0

    init(path: String) throws(ExportReaderError) {
        self.path = path
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
    }

    func append(_ chunk: UnsafeRawBufferPointer) throws(ExportReaderError) {
        var rest = chunk
        while !rest.isEmpty {
            let written = write(fd, rest.baseAddress, rest.count)
            if written < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, reason: "cannot write the verified copy: \(String(cString: strerror(errno)))")
            }
            rest = UnsafeRawBufferPointer(rebasing: rest[written...])
        }
        bytes += Int64(chunk.count)
    }

    /// Closes the file and keeps it.
    func keep() throws(ExportReaderError) {
        let status = close(fd)
        fd = -1
        guard status == 0 else {
            unlink(path)
            throw .io(path: path, reason: "cannot write the verified copy: \(String(cString: strerror(errno)))")
        }
    }

    /// Closes and removes the file (once; later calls do nothing).
    func discard() {
        guard fd >= 0 else { return }
        close(fd)
        fd = -1
        unlink(path)
    }

    deinit { discard() }
}

extension ExportReader {
    /// Copies a data file to `path` while verifying it with `DataFileVerifier`, and returns the copy to read.
    ///
    /// With `text`, the file's text as inflated for the check is written to `text.path` too, up to `text.budget`
    /// bytes: when it all fits, that copy is kept and the compressed one removed, so the records are read without a
    /// second gunzip. A text copy that outgrows its budget or cannot be written (a full disk) is dropped and the
    /// compressed copy is read instead; only a failure to write the compressed copy fails the file.
    ///
    /// On any failure no copy is left, and the error names the file as the source calls it.
    public func spool(
        _ file: ManifestFileEntry,
        to path: String,
        text: (path: String, budget: Int64)? = nil
    ) async throws -> VerifiedDataFile {
        let compressed = try SpoolCopy(path: path)
        var textCopy = try text.flatMap { $0.budget > 0 ? try SpoolCopy(path: $0.path) : nil }
        let budget = text?.budget ?? 0
        let verifier = DataFileVerifier(
            fileKey: file.dataFileS3Key,
            expectedMD5: file.md5Checksum,
            expectedItemCount: file.itemCount
        )
        if textCopy != nil {
            verifier.onText = { run in
                guard let copy = textCopy else { return }
                if copy.bytes + Int64(run.count) > budget || (try? copy.append(run)) == nil {
                    copy.discard()
                    textCopy = nil
                }
            }
        }
        try await source.forEachChunk(of: file.dataFileS3Key) { chunk in
            try verifier.feed(chunk)
            try compressed.append(chunk)
        }
        try verifier.finish()
        if let textCopy, (try? textCopy.keep()) != nil {
            compressed.discard()
            return VerifiedDataFile(file: file, path: textCopy.path, bytes: textCopy.bytes, form: .text)
        }
        try compressed.keep()
        return VerifiedDataFile(file: file, path: path, bytes: compressed.bytes, form: .gzip)
    }

    /// Streams the records of a verified copy (see `readRecords(of:in:verify:_:)`); the MD5 and gzip CRC were
    /// checked by `spool` and are not computed again, and a text copy is not inflated again. Errors name the file as
    /// the source calls it.
    public func readRecords(
        of verified: VerifiedDataFile,
        in export: Export,
        _ onBatch: ([ExportRecord]) async throws -> Void
    ) async throws -> Int64 {
        let slash = verified.path.lastIndex(of: "/")
        let directory = slash.map { String(verified.path[..<$0]) } ?? "."
        let name = slash.map { String(verified.path[verified.path.index(after: $0)...]) } ?? verified.path
        let decoder = DataFileDecoder(
            fileKey: verified.file.dataFileS3Key,
            kind: export.summary.kind,
            format: export.summary.format,
            expectedMD5: nil,
            checkCRC: false,
            compressed: verified.form == .gzip
        )
        var batch: [ExportRecord] = []
        try await LocalDirectorySource(root: directory).forEachChunk(of: name) { chunk in
            try decoder.feed(chunk) { batch.append($0) }
            if !batch.isEmpty {
                try await onBatch(batch)
                batch.removeAll(keepingCapacity: true)
            }
        }
        let count = try decoder.finish(expectedItemCount: verified.file.itemCount) { batch.append($0) }
        if !batch.isEmpty { try await onBatch(batch) }
        return count
    }
}
