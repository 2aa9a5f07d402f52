import Foundation

/// `scripts/stalling-endpoint.py` on 127.0.0.1: a fake S3/DynamoDB endpoint whose connections go silent (see the
/// script). Started for one test and stopped after it (closing its stdin stops it; it also stops itself after
/// `timeout` seconds).
public struct StallingEndpoint {
    public let endpoint: String
    private let process: Process
    private let stdin: Pipe

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../scripts/stalling-endpoint.py"
        ).standardizedFileURL.path
    }

    public static func start(stallAfter: Int = 1000, timeout: Int = 120) throws -> StallingEndpoint {
        let (process, stdin, line) = try ScriptFixture.launch(
            script,
            arguments: ["--timeout", String(timeout), "--stall-after", String(stallAfter)]
        )
        guard let info = try? JSONSerialization.jsonObject(with: line) as? [String: String],
            let endpoint = info["endpoint"]
        else {
            process.terminate()
            throw FixtureError(reason: "stalling-endpoint.py did not start")
        }
        return StallingEndpoint(endpoint: endpoint, process: process, stdin: stdin)
    }

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    public static func with<T>(stallAfter: Int = 1000, _ body: (StallingEndpoint) async throws -> T) async throws -> T {
        let server = try start(stallAfter: stallAfter)
        defer { server.stop() }
        return try await body(server)
    }

    /// The bytes of the script's `object-<count>`.
    public static func objectBytes(_ count: Int) -> [UInt8] {
        (0..<count).map { UInt8(($0 * 31 + 7) % 251) }
    }
}
