import Crypto
import DynamoModel

/// One export found in a source: its summary, its file list, and where its `AWSDynamoDB/` folder is.
public struct Export: Sendable, Hashable {
    public var summary: ExportSummary
    /// Key of `manifest-summary.json` in the source.
    public var summaryKey: String
    /// The source's key prefix in front of `AWSDynamoDB/` (empty or ending in `/`). Locally this is where the copy
    /// put the folder, which need not be the bucket's `s3Prefix`.
    public var basePrefix: String
    public var files: [ManifestFileEntry]
    /// Manifests (`manifest-summary.json`, `manifest-files.json`) whose `.md5` did not verify and were read anyway,
    /// because the reader's `ManifestChecksums` policy accepted them. Empty under the default, strict policy.
    public var acceptedManifestMismatches: [String] = []
}

/// What to do with a manifest whose `manifest-*.md5` does not verify. Data files are never covered: their MD5 from
/// `manifest-files.json` is always checked.
public enum ManifestChecksums: Sendable, Hashable {
    /// Refuse it, naming the manifest and its `.md5` (the default).
    case strict
    /// Read it anyway and report it in `Export.acceptedManifestMismatches` (`plan --accept-manifest-checksum-mismatch`).
    case acceptAny
    /// Read it anyway only if it is one of these keys (those a plan recorded); refuse any other.
    case accept([String])

    func accepts(_ key: String) -> Bool {
        switch self {
        case .strict: false
        case .acceptAny: true
        case .accept(let keys): keys.contains { $0.bytewiseEquals(key) }  // keys compare by bytes
        }
    }
}

/// Reads exports from any `ExportSource`: summaries and file manifests (verified against their `.md5` files when
/// present) and data files — DYNAMODB_JSON or ION, a property of each export — as streams of records (verified
/// against `manifest-files.json`).
public struct ExportReader: Sendable {
    public let source: any ExportSource
    public var manifestChecksums: ManifestChecksums

    public init(source: any ExportSource, manifestChecksums: ManifestChecksums = .strict) {
        self.source = source
        self.manifestChecksums = manifestChecksums
    }

    /// Keys of every `…/AWSDynamoDB/<ExportId>/manifest-summary.json` under `prefix`.
    public func summaryKeys(under prefix: String = "") async throws -> [String] {
        try await source.listKeys(under: prefix).filter { key in
            let parts = key.split(separator: "/", omittingEmptySubsequences: false)
            return parts.count >= 3 && parts[parts.count - 1] == "manifest-summary.json"
                && parts[parts.count - 3] == "AWSDynamoDB"
        }
    }

    /// Reads an export: its summary (and `.md5`), then its `manifest-files.json` (and `.md5`).
    public func export(summaryKey: String) async throws -> Export {
        let summaryBytes = try await source.read(summaryKey)
        var accepted: [String] = []
        if try await !verifyManifestChecksum(of: summaryKey, bytes: summaryBytes) { accepted.append(summaryKey) }
        let summary = try ExportSummary.decode(summaryBytes, key: summaryKey)
        guard let anchor = summaryKey.range(of: "AWSDynamoDB/", options: .backwards) else {
            throw ExportReaderError.invalidManifest(
                key: summaryKey,
                line: nil,
                reason: "not inside an AWSDynamoDB/ folder"
            )
        }
        let basePrefix = String(summaryKey[..<anchor.lowerBound])
        let exportFolder = String(summaryKey.dropLast("manifest-summary.json".count))
        let filesKey = Self.resolve(summary.manifestFilesS3Key, basePrefix: basePrefix, exportFolder: exportFolder)
        let filesBytes = try await source.read(filesKey)
        if try await !verifyManifestChecksum(of: filesKey, bytes: filesBytes) { accepted.append(filesKey) }
        var files = try ManifestFileEntry.decodeLines(filesBytes, key: filesKey)
        for index in files.indices {
            files[index].dataFileS3Key = Self.resolve(
                files[index].dataFileS3Key,
                basePrefix: basePrefix,
                exportFolder: exportFolder
            )
        }
        let total = files.reduce(Int64(0)) { $0 + $1.itemCount }
        guard total == summary.itemCount else {
            throw ExportReaderError.invalidManifest(
                key: filesKey,
                line: nil,
                reason: "the files' item counts add up to \(total), manifest-summary.json says \(summary.itemCount)"
            )
        }
        return Export(
            summary: summary,
            summaryKey: summaryKey,
            basePrefix: basePrefix,
            files: files,
            acceptedManifestMismatches: accepted
        )
    }

    /// Maps a manifest key (bucket-absolute, prefix included) to a key in this source: the part from `AWSDynamoDB/`
    /// on goes under `basePrefix`, so a copy synced from the prefix, or from the bucket root, both work. A key with
    /// no `AWSDynamoDB/` in it is taken relative to the export's folder (as scylla-migrator does defensively).
    static func resolve(_ key: String, basePrefix: String, exportFolder: String) -> String {
        if let anchor = key.range(of: "AWSDynamoDB/") { return basePrefix + key[anchor.lowerBound...] }
        return exportFolder + key
    }

    /// Checks `X.md5` (base64 MD5 of X) when it exists. Real exports write it; copies sometimes drop it. True when
    /// it verifies (or there is none); false when it does not and the policy accepts this manifest; else throws.
    func verifyManifestChecksum(of key: String, bytes: [UInt8]) async throws -> Bool {
        guard key.hasSuffix(".json") else { return true }
        let checksumKey = String(key.dropLast(".json".count)) + ".md5"
        guard try await source.exists(checksumKey) else { return true }
        let text = String(decoding: try await source.read(checksumKey), as: UTF8.self)
        let actual = Array(Insecure.MD5.hash(data: bytes))
        guard let expected = Base64Digest(text), actual == expected.bytes else {
            if manifestChecksums.accepts(key) { return false }
            throw ExportReaderError.manifestChecksumMismatch(
                key: key,
                expected: Base64Digest(text).map { Base64.encode($0.bytes) }
                    ?? "\"\(text.prefix(64))\" (not a base64 MD5)",
                actual: Base64.encode(actual),
                checkedAgainst: checksumKey
            )
        }
        return true
    }

    /// Streams one data file's records in batches (one batch per decompressed chunk). The MD5, gzip integrity and
    /// item count are checked at the end of the file; a mismatch throws after the last batch.
    public func readRecords(
        of file: ManifestFileEntry,
        in export: Export,
        verify: Bool = true,
        _ onBatch: ([ExportRecord]) async throws -> Void
    ) async throws -> Int64 {
        let decoder = DataFileDecoder(
            fileKey: file.dataFileS3Key,
            kind: export.summary.kind,
            format: export.summary.format,
            expectedMD5: verify ? file.md5Checksum : nil
        )
        var batch: [ExportRecord] = []
        do {
            try await source.forEachChunk(of: file.dataFileS3Key) { chunk in
                try decoder.feed(chunk) { batch.append($0) }
                if !batch.isEmpty {
                    try await onBatch(batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            let count = try decoder.finish(expectedItemCount: verify ? file.itemCount : nil) { batch.append($0) }
            if !batch.isEmpty { try await onBatch(batch) }
            return count
        } catch let error as ExportReaderError where verify {
            // A damaged file shows up as bad gzip data or a bad line before its MD5 can be checked at the end. Say
            // what is really wrong: when the file does not match the manifest's MD5, report that instead.
            try await verifyChecksum(of: file)
            throw error
        }
    }

    /// Checks a data file's MD5 without parsing it (e.g. before applying anything from it).
    public func verifyChecksum(of file: ManifestFileEntry) async throws {
        var md5 = Insecure.MD5()
        try await source.forEachChunk(of: file.dataFileS3Key) { md5.update(bufferPointer: $0) }
        let actual = Array(md5.finalize())
        guard let expected = Base64Digest(file.md5Checksum), expected.bytes == actual else {
            throw ExportReaderError.checksumMismatch(
                key: file.dataFileS3Key,
                expected: file.md5Checksum,
                actual: Base64.encode(actual),
                checkedAgainst: "manifest-files.json"
            )
        }
    }
}
