import AWSClient
import AWSCore
import AWSCredentials
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@Suite("Request execution: signing per attempt, retries, throttles surfaced, resumed downloads")
struct ExecutorTests {
    static let endpoint = try! EndpointResolver(environment: [:]).resolve(.dynamodb, region: "us-east-1")
    static let s3Endpoint = try! EndpointResolver(environment: [:]).resolve(.s3, region: "us-east-1")
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let credentials = StaticCredentialProvider(
        Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: "TOKEN-SECRET-123"),
        label: "environment"
    )

    final class Sleeps: Sendable {
        /// The backoff's clock: records each sleep and returns at once.
        let backoff = ImmediateClock()
        /// The signing date.
        let clock = Mutex(Date(timeIntervalSince1970: 1_768_385_930))
        var delays: [Duration] { backoff.sleeps }
    }

    static func executor(
        _ transport: ScriptedTransport,
        endpoint: ResolvedEndpoint = endpoint,
        sleeps: Sleeps = Sleeps()
    ) -> AWSRequestExecutor {
        AWSRequestExecutor(transport: transport, credentials: credentials, endpoint: endpoint).with(
            now: {
                sleeps.clock.withLock {
                    $0 += 1
                    return $0
                }
            },  // every attempt is signed at a later time
            clock: sleeps.backoff,
            random: { 0.5 }
        )
    }

    static let ok = ScriptedTransport.Step.respond(
        status: 200,
        headers: [("x-amz-crc32", String(CRC32.checksum(Array("{}".utf8))))],
        body: Array("{}".utf8)
    )

    @Test(
        "a 500 and a connection reset are retried after the policy's backoff, on the executor's clock; each attempt is signed anew"
    )
    func transientRetried() async throws {
        let transport = ScriptedTransport([
            .respond(status: 500, body: Array(#"{"__type":"InternalServerError"}"#.utf8)), .fail(.connectionReset),
            Self.ok,
        ])
        let sleeps = Sleeps()
        _ = try await DynamoDBClient(executor: Self.executor(transport, sleeps: sleeps)).call(
            "DescribeTable",
            body: Array("{}".utf8)
        )
        #expect(transport.requests.count == 3)
        let signatures = transport.requests.map { $0.headers.first { $0.name == "Authorization" }?.value ?? "" }
        #expect(Set(signatures).count == 3, "a retry must not reuse an old signature")
        // DynamoDB's transient base of 25 ms, doubling, at half the jitter's range.
        #expect(sleeps.delays == [.milliseconds(12.5), .milliseconds(25)])
    }

    @Test("throttling is thrown to the caller at once, not slept away")
    func throttleSurfaced() async throws {
        let transport = ScriptedTransport([
            .respond(
                status: 400,
                body: Array(
                    #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"slow down"}"#
                        .utf8
                )
            )
        ])
        do {
            _ = try await DynamoDBClient(executor: Self.executor(transport)).call(
                "BatchWriteItem",
                body: Array("{}".utf8)
            )
            Issue.record("a throttle was swallowed")
        } catch let error as AWSClientError {
            #expect(error.isThrottling)
            #expect(transport.requests.count == 1)
        }
    }

    @Test("a body that does not match x-amz-crc32 is retried, then reported")
    func crcMismatch() async throws {
        let bad = ScriptedTransport.Step.respond(status: 200, headers: [("x-amz-crc32", "1")], body: Array("{}".utf8))
        let transport = ScriptedTransport([bad, bad, bad, bad])
        do {
            _ = try await DynamoDBClient(executor: Self.executor(transport)).call("Scan", body: Array("{}".utf8))
            Issue.record("a corrupted response was accepted")
        } catch let error as AWSClientError {
            #expect("\(error)".contains("x-amz-crc32"))
            #expect(transport.requests.count == 4)
        }
    }

    @Test("access denied stops at once with the permission to grant, and no secret in the message")
    func accessDenied() async throws {
        let transport = ScriptedTransport([
            .respond(
                status: 400,
                body: Array(
                    #"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::1:user/x is not authorized to perform: dynamodb:DescribeTable"}"#
                        .utf8
                )
            )
        ])
        do {
            _ = try await DynamoDBClient(executor: Self.executor(transport)).describeTable("orders")
            Issue.record("access denied was not reported")
        } catch let error as AWSClientError {
            let text = "\(error)" + String(reflecting: error)
            #expect(text.contains("AccessDeniedException"))
            #expect(text.contains("dynamodb:DescribeTable"))
            #expect(!text.contains(Self.secret) && !text.contains("TOKEN-SECRET-123"))
            #expect(transport.requests.count == 1)
        }
        let sentHeaders = transport.requests[0].headers.map(\.name)
        #expect(sentHeaders.contains("X-Amz-Security-Token"))
    }

    @Test("a download broken mid-body resumes with Range from the last byte and If-Match on the ETag")
    func resumedDownload() async throws {
        let transport = ScriptedTransport([
            .streamThenBreak(headers: [("ETag", "\"abc\"")], chunks: [Array("hello ".utf8)]),
            .streamThenBreak(headers: [("ETag", "\"abc\"")], chunks: [Array("wor".utf8)]),
            .respond(status: 206, headers: [("ETag", "\"abc\"")], body: Array("ld".utf8)),
        ])
        let s3 = S3Client(executor: Self.executor(transport, endpoint: Self.s3Endpoint))
        let body = try await s3.getObject(bucket: "exports-bucket", key: "AWSDynamoDB/data/a.json.gz")
        #expect(String(decoding: body, as: UTF8.self) == "hello world")
        let ranges = transport.requests.map { request in request.headers.first { $0.name == "Range" }?.value }
        #expect(ranges == [nil, "bytes=6-", "bytes=9-"])
        #expect(
            transport.requests.dropFirst().allSatisfy {
                $0.headers.contains { $0.name == "If-Match" && $0.value == "\"abc\"" }
            }
        )
        #expect(
            transport.requests[0].origin == "https://exports-bucket.s3.us-east-1.amazonaws.com",
            "virtual-hosted addressing"
        )
    }
}
