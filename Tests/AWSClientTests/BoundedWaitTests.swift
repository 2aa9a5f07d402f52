import AWSClient
import AWSCore
import AWSCredentials
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// Issue 13.5: no read of a response waits forever, and an endpoint that keeps answering `ExpiredToken` to a streamed
/// request ends it after one refresh.
@Suite("Every wait is bounded: streamed bodies time out and resume", .timeLimit(.minutes(1)))
struct BoundedWaitTests {
    static let credentials = StaticCredentialProvider(
        Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        label: "environment"
    )

    static func s3(
        _ server: StallingEndpoint,
        _ transport: any HTTPTransport,
        idleTimeout: Duration = .milliseconds(300)
    ) throws -> S3Client {
        let endpoint = try EndpointResolver(environment: [:]).resolve(
            .s3,
            region: "us-east-1",
            flag: EndpointFlag(name: "--source-endpoint-url", value: server.endpoint)
        )
        var executor = AWSRequestExecutor(transport: transport, credentials: credentials, endpoint: endpoint)
        executor.streamIdleTimeout = idleTimeout
        return S3Client(executor: executor)
    }

    @Test(
        "a body that goes silent mid-download (connection open) is resumed with Range after the idle timeout, and completes"
    )
    func stalledBodyResumes() async throws {
        try await StallingEndpoint.with(stallAfter: 1000) { server in
            try await AsyncHTTPClientTransport.withTransport { transport in
                let started = ContinuousClock.now
                // 3500 bytes at 1000 per response: three silences, three resumes. The idle timeout is 1 s, not
                // 0.3 s: on a loaded machine a resumed request's first bytes took longer than 0.3 s and the
                // attempt counted as one without progress (a flake seen once in a fresh-clone run).
                let body = try await Self.s3(server, transport, idleTimeout: .seconds(1)).getObject(
                    bucket: "exports",
                    key: "AWSDynamoDB/data/object-3500"
                )
                #expect(body == StallingEndpoint.objectBytes(3500))
                // The server stays silent for two minutes; only the idle timeout explains an early finish.
                #expect(ContinuousClock.now - started < .seconds(20))
            }
        }
    }

    @Test("a body that never sends a byte fails clearly after bounded retries, naming the idle timeout")
    func silentBodyFails() async throws {
        try await StallingEndpoint.with { server in
            try await AsyncHTTPClientTransport.withTransport { transport in
                do {
                    _ = try await Self.s3(server, transport).getObject(
                        bucket: "exports",
                        key: "AWSDynamoDB/data/silent-100"
                    )
                    Issue.record("a silent body was accepted")
                } catch let error as AWSClientError {
                    guard case let .transport(cause, _, operation, _, attempts) = error else {
                        Issue.record("\(error)")
                        return
                    }
                    #expect(cause.kind == .readTimeout)
                    #expect(operation == "GetObject" && attempts == 3)
                    #expect("\(error)".contains("no data received for 0.3 s (idle read timeout)"), "\(error)")
                }
            }
        }
    }

    @Test("a whole-body request whose body goes silent fails within its timeout, as a read timeout")
    func sentBodyIsBounded() async throws {
        try await StallingEndpoint.with(stallAfter: 1000) { server in
            try await AsyncHTTPClientTransport.withTransport { transport in
                let started = ContinuousClock.now
                do {
                    _ = try await transport.send(
                        HTTPRequestData(
                            method: "GET",
                            origin: server.endpoint,
                            path: "/exports/AWSDynamoDB/data/object-3500"
                        ),
                        timeout: .milliseconds(500)
                    )
                    Issue.record("a body that stopped after 1000 of 3500 bytes was accepted")
                } catch let error as TransportError {
                    #expect(error.kind == .readTimeout, "\(error)")
                }
                // The server stays silent for two minutes: only the 500 ms deadline explains an early end.
                #expect(ContinuousClock.now - started < .seconds(20))
            }
        }
    }

    @Test("time spent consuming a chunk is back-pressure, not idleness: a slow consumer is not timed out")
    func slowConsumerIsNotIdle() async throws {
        let transport = ChunkedTransport(chunks: 3)
        var executor = AWSRequestExecutor(
            transport: transport,
            credentials: Self.credentials,
            endpoint: try EndpointResolver(environment: [:]).resolve(.s3, region: "us-east-1")
        )
        executor.streamIdleTimeout = .milliseconds(100)
        var received = 0
        try await executor.stream(operation: "GetObject", path: "/k") { chunk in
            received += chunk.count
            try await Task.sleep(for: .milliseconds(250))  // longer than the idle timeout, three times
        }
        #expect(received == 3)
        #expect(transport.requests.withLock { $0 } == 1)
    }

    @Test(
        "a streamed GET that keeps getting ExpiredToken refreshes the credentials once, then stops with a clear error"
    )
    func streamedExpiredTokenIsBounded() async throws {
        let transport = ExpiredTokenTransport()
        let fetches = Mutex(0)
        let provider = CachingCredentialProvider(label: "credential_process of profile tools") {
            fetches.withLock { $0 += 1 }
            return Credentials(
                accessKeyId: "ASIAEXAMPLE",
                secretAccessKey: "expired-secret-value",
                sessionToken: "expired-session-token",
                expiration: Date().addingTimeInterval(3600)
            )
        }
        let executor = AWSRequestExecutor(
            transport: transport,
            credentials: provider,
            endpoint: try EndpointResolver(environment: [:]).resolve(.s3, region: "us-east-1")
        )
        .with(now: { Date() }, clock: ImmediateClock(), random: { 0 })
        do {
            _ = try await S3Client(executor: executor).getObject(bucket: "exports", key: "AWSDynamoDB/data/a.json.gz")
            Issue.record("an expired token was accepted")
        } catch let error as AWSClientError {
            let text = "\(error)"
            #expect(text.contains("ExpiredToken") && text.contains("have expired"), "\(text)")
            #expect(text.contains("credential_process of profile tools"), "names the credential source: \(text)")
            #expect(!text.contains("expired-secret-value") && !text.contains("expired-session-token"))
        }
        #expect(transport.count == 2, "one attempt, one refresh and retry, then give up (not \(transport.count))")
        #expect(fetches.withLock { $0 } == 2)
    }
}

/// Answers every request `ExpiredToken`, as S3 does; gives up itself after 50 requests so that a looping client
/// fails the test instead of hanging it.
final class ExpiredTokenTransport: HTTPTransport {
    private let sent = Mutex(0)
    var count: Int { sent.withLock { $0 } }
    static let body = Array(
        "<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>".utf8
    )

    func answer() throws -> HTTPResponseData {
        let n = sent.withLock {
            $0 += 1
            return $0
        }
        if n > 50 {
            throw TransportError(
                kind: .tlsCertificateInvalid,
                detail: "ExpiredTokenTransport: the client looped (\(n) requests)"
            )
        }
        return HTTPResponseData(status: 400, headers: [("Content-Type", "application/xml")], body: Self.body)
    }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData { try answer() }

    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData { try answer() }
}

/// Streams `chunks` one-byte chunks at once.
final class ChunkedTransport: HTTPTransport {
    let chunks: Int
    let requests = Mutex(0)
    init(chunks: Int) { self.chunks = chunks }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        HTTPResponseData(status: 500, headers: [], body: [])
    }

    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        requests.withLock { $0 += 1 }
        let head = HTTPResponseData(status: 200, headers: [], body: [])
        try onHead(head)
        for _ in 0..<chunks { try await onChunk([1]) }
        return head
    }
}
