import AWSClient
import AWSCore
import AWSCredentials
import FerryTestSupport
import Foundation
import Logging
import Synchronization
import Testing

/// Collects every log line (message and metadata) at every level.
final class CapturedLog: Sendable {
    let lines = Mutex<[String]>([])

    struct Handler: LogHandler {
        let sink: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(
            level: Logger.Level,
            message: Logger.Message,
            metadata explicit: Logger.Metadata?,
            source: String,
            file: String,
            function: String,
            line: UInt
        ) {
            let all = self.metadata.merging(explicit ?? [:]) { $1 }
            sink.lines.withLock { $0.append("\(level) \(message) \(all)") }
        }
    }

    func logger(level: Logger.Level) -> Logger {
        var logger = Logger(label: "test") { _ in Handler(sink: self) }
        logger.logLevel = level
        return logger
    }
}

@Suite("Secrets never appear in logs or errors")
struct SecretRedactionTests {
    static let secret = "SECRETsecretSECRET/abc+def0123456789XYZ"
    static let token = "TOKENtokenTOKEN0123456789sessiontokenvalue"

    @Test(
        "at every log level, successful and failing requests log no secret and no session token",
        arguments: Logger.Level.allCases
    )
    func logs(_ level: Logger.Level) async throws {
        let log = CapturedLog()
        let transport = ScriptedTransport([
            .respond(
                status: 200,
                headers: [("x-amz-crc32", String(CRC32.checksum(Array("{}".utf8)))), ("x-amzn-RequestId", "REQ1")],
                body: Array("{}".utf8)
            ),
            // An error whose text echoes the secret and token (as a proxy or emulator might): scrubbed everywhere.
            .respond(
                status: 400,
                body: Array(#"{"__type":"ValidationException","message":"bad \#(Self.secret) \#(Self.token)"}"#.utf8)
            ),
            .fail(.connectionReset), .fail(.connectionReset), .fail(.connectionReset), .fail(.connectionReset),
        ])
        let credentials = StaticCredentialProvider(
            Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Self.secret, sessionToken: Self.token),
            label: "environment"
        )
        var executor = AWSRequestExecutor(
            transport: transport,
            credentials: credentials,
            endpoint: try EndpointResolver(environment: [:]).resolve(.dynamodb, region: "us-east-1")
        )
        .with(now: { Date() }, clock: ImmediateClock(), random: { 0 })
        executor.logger = log.logger(level: level)
        let client = DynamoDBClient(executor: executor)
        var errors: [String] = []
        _ = try await client.call("DescribeTable", body: Array("{}".utf8))
        for _ in 0..<2 {
            do { _ = try await client.call("DescribeTable", body: Array("{}".utf8)) } catch {
                errors.append("\(error)")
                errors.append(String(reflecting: error))
            }
        }
        #expect(errors.count == 4)
        let lines = log.lines.withLock { $0 }
        if level <= .debug { #expect(!lines.isEmpty, "the executor logs at \(level)") }
        if level == .trace {
            #expect(
                lines.contains { $0.contains("authorization") || $0.contains("Authorization") },
                "headers are logged, redacted"
            )
        }
        for text in lines + errors {
            #expect(!text.contains(Self.secret), "\(text)")
            #expect(!text.contains(Self.token), "\(text)")
        }
    }
}
