import Foundation

/// A fresh temporary directory, removed when `body` returns.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The repository's `../shared` folder (fixtures from real AWS exports), when present.
public func sharedFixturesDirectory(file: StaticString = #filePath) -> String? {
    var url = URL(fileURLWithPath: "\(file)")
    for _ in 0..<8 {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("../shared/fixtures").standardizedFileURL.path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    return nil
}

/// Runs the system `gzip` with `arguments` (`-c` to compress, `-dc` to decompress) over `input`: an independent
/// gzip writer and reader for tests.
public func runGzip(_ arguments: [String], _ input: Data) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/gzip")
    process.arguments = arguments
    let stdin = Pipe()
    let stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    try process.run()
    // Write on another thread: a large input would otherwise fill the pipe while gzip waits for its output to be read.
    let writer = Thread {
        stdin.fileHandleForWriting.write(input)
        try? stdin.fileHandleForWriting.close()
    }
    writer.start()
    let output = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return output
}

/// A Python fixture server from `scripts/`: started with its stdin piped (closing it stops the server) and its first
/// stdout line read, which waits until it listens.
enum ScriptFixture {
    static func launch(_ script: String, arguments: [String]) throws -> (process: Process, stdin: Pipe, firstLine: Data)
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + arguments
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle.nullDevice
        try process.run()
        var line = Data()
        while true {
            let byte = stdout.fileHandleForReading.readData(ofLength: 1)
            if byte.isEmpty || byte == Data([0x0A]) { break }
            line.append(byte)
        }
        return (process, stdin, line)
    }
}
