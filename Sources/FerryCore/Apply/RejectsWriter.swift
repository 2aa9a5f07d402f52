import DynamoModel
import ExportReader
import Foundation

/// Records DynamoDB refused for the item itself (too large, a key of the wrong type …), one JSON line each with the
/// record, its source file and line, and the reason. Nothing is dropped silently: the run reports the count and
/// exits non-zero.
public actor RejectsWriter {
    public let path: String
    private var handle: FileHandle?
    /// Rejects of the whole chain: those earlier runs counted in the checkpoint, plus this run's.
    public private(set) var count: Int64

    public init(path: String, alreadyCounted: Int64 = 0) {
        self.path = path
        count = alreadyCounted
    }

    public func reject(_ record: ExportRecord, reason: String) throws {
        if handle == nil {
            if !FileManager.default.fileExists(atPath: path) { FileManager.default.createFile(atPath: path, contents: nil) }
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
        count += 1
    }

    public func close() throws {
        try handle?.synchronize()
        try handle?.close()
        handle = nil
    }
}
