import AWSClient
import AWSCore
import AWSCredentials
import Foundation

/// A moto server on 127.0.0.1 with SigV4 and IAM enforced, started by `scripts/moto-fixture.py` for one test and
/// stopped after it (closing its stdin stops it; it also stops itself after a timeout).
public struct MotoFixture {
    public struct Keys: Decodable, Sendable {
        public var accessKeyId: String
        public var secretAccessKey: String
    }
    public struct Info: Decodable, Sendable {
        public var endpoint: String
        public var region: String
        public var account: String
        public var admin: Keys
        public var limited: Keys
        public var roleArn: String
    }

    public let info: Info
    private let process: Process
    private let stdin: Pipe

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../scripts/moto-fixture.py"
        ).standardizedFileURL.path
    }

    public static func start() throws -> MotoFixture {
        // A backstop only (the fixture stops when the test closes its stdin): long enough for a SIGKILL-and-resume
        // test on a loaded 2-core machine, where one took over 120 s and met a stopped moto.
        let (process, stdin, line) = try ScriptFixture.launch(script, arguments: ["--timeout", "600"])
        guard let info = try? JSONDecoder().decode(Info.self, from: line) else {
            process.terminate()
            throw FixtureError(
                reason: "moto-fixture.py did not start (is moto[server] installed? `pip install \"moto[server]\"`)"
            )
        }
        return MotoFixture(info: info, process: process, stdin: stdin)
    }

    public func stop() {
        try? stdin.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Runs `body` with a fresh fixture and a live transport, stopping both afterwards.
    public static func with<T>(_ body: (MotoFixture, AsyncHTTPClientTransport) async throws -> T) async throws -> T {
        let fixture = try start()
        defer { fixture.stop() }
        return try await AsyncHTTPClientTransport.withTransport { try await body(fixture, $0) }
    }

    public func endpoint(_ service: AWSService) throws -> ResolvedEndpoint {
        try EndpointResolver(environment: [:]).resolve(
            service,
            region: info.region,
            flag: EndpointFlag(name: "--target-endpoint-url", value: info.endpoint)
        )
    }

    public func executor(
        _ service: AWSService,
        _ transport: any HTTPTransport,
        keys: Keys? = nil,
        secret: String? = nil,
        label: String = "test profile admin"
    ) throws -> AWSRequestExecutor {
        let keys = keys ?? info.admin
        let provider = StaticCredentialProvider(
            Credentials(accessKeyId: keys.accessKeyId, secretAccessKey: secret ?? keys.secretAccessKey),
            label: label
        )
        return AWSRequestExecutor(transport: transport, credentials: provider, endpoint: try endpoint(service))
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    var reason: String
    public var description: String { reason }
}
