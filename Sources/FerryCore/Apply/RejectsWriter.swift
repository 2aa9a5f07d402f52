import DynamoModel
import ExportReader
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Records DynamoDB refused for the item itself (too large, a key of the wrong type …), one JSON line each with the
/// record, its source file and line, and the reason. Nothing is dropped silently: the run reports the count and
/// exits non-zero.
///
/// A record is in the file at most once. A resume re-applies the files that were in flight, and their rejects may
/// already be in the file (and counted by a checkpoint saved while they were in flight): the rejects already in the
/// file, by source file and line, are neither written nor counted again. A reject written just before a crash, before
/// any checkpoint counted it, is counted from the file.
public actor RejectsWriter {
    public let path: String
    private var handle: FileHandle?
    /// Rejects of the whole chain: the most of what earlier runs counted in the checkpoint and what the file holds
    /// for the chain's data files, plus this run's new ones.
    public private(set) var count: Int64
    private var recorded: Set<RejectKey>

    struct RejectKey: Hashable {
        let file: BytewiseString
        let line: Int
    }

    /// `chainFiles`: the data files of the chain being applied; rejects of other files in an existing file (an
    /// earlier, unrelated plan of the same name) are kept but not counted.
    public init(path: String, alreadyCounted: Int64 = 0, chainFiles: [String] = []) {
        self.path = path
        recorded = Self.existing(at: path)
        let ours = Set(chainFiles.map(BytewiseString.init))
        count = max(alreadyCounted, Int64(recorded.filter { ours.contains($0.file) }.count))
    }

    /// The (file, line) of each reject already in the file. A last line left partial by a crash (its write never
    /// completed, so nothing counted it) is cut off, so the next reject starts on a line of its own.
    static func existing(at path: String) -> Set<RejectKey> {
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty else { return [] }
        struct Entry: Decodable {
            let file: String
            let line: Int
        }
        var keys = Set<RejectKey>()
        var complete = data.startIndex
        var start = data.startIndex
        let decoder = JSONDecoder()
        while let newline = data[start...].firstIndex(of: UInt8(ascii: "\n")) {
            if let entry = try? decoder.decode(Entry.self, from: data[start..<newline]) {
                keys.insert(RejectKey(file: BytewiseString(entry.file), line: entry.line))
            }
            start = data.index(after: newline)
            complete = start
        }
        if complete < data.endIndex { truncate(path, off_t(complete - data.startIndex)) }
        return keys
    }

    /// Writes `record` to the file with `reason`; false when it was there already (and counted).
    @discardableResult
    public func reject(_ record: ExportRecord, reason: String) throws -> Bool {
        let key = RejectKey(file: BytewiseString(record.location.fileKey), line: record.location.line)
        guard !recorded.contains(key) else { return false }  // in the file already, from a run that applied it before
        if handle == nil {
            if !FileManager.default.fileExists(atPath: path) {
                _ = FileManager.default.createFile(atPath: path, contents: nil)
            }
            handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle?.seekToEnd()
        }
        var line: [UInt8] = Array(#"{"file":"#.utf8)
        DynamoJSONEncoder.appendString(record.location.fileKey, to: &line)
        line += #","line":\#(record.location.line),"reason":"#.utf8
        DynamoJSONEncoder.appendString(reason, to: &line)
        line += #","record":"#.utf8
        line += record.line
        line += "}\n".utf8
        try handle?.write(contentsOf: line)
        // On disk before any checkpoint counts it: a crash never leaves a counted reject that is not in the file.
        try handle?.synchronize()
        recorded.insert(key)
        count += 1
        return true
    }

    public func close() throws {
        try handle?.synchronize()
        try handle?.close()
        handle = nil
    }
}
