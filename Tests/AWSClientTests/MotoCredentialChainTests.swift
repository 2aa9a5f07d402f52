import AWSClient
import AWSCore
import AWSCredentials
import DynamoModel
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// Passes everything to a live transport, but breaks the first streamed download after its first chunk.
final class BreakOnceTransport: HTTPTransport {
    let inner: any HTTPTransport
    let broken = Mutex(false)
    init(_ inner: any HTTPTransport) { self.inner = inner }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        try await inner.send(request, timeout: timeout)
    }

    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        let breakThisOne = broken.withLock { done in
            defer { done = true }
            return !done
        }
        guard breakThisOne else {
            return try await inner.stream(request, timeout: timeout, onHead: onHead, onChunk: onChunk)
        }
        // Deliver only the first 1,000 bytes of this response, then fail as a reset connection would.
        do {
            _ = try await inner.stream(request, timeout: timeout, onHead: onHead) { chunk in
                try await onChunk(Array(chunk.prefix(1000)))
                throw TransportError(kind: .connectionReset, detail: "test: connection broken after 1,000 bytes")
            }
        } catch let error as TransportError {
            throw error
        }
        return HTTPResponseData(status: 200, headers: [], body: [])
    }
}

@Suite("Credential chains and resumed reads against moto", .serialized)
struct MotoCredentialChainTests {
    @Test("a profile with role_arn + source_profile assumes the role through STS and works")
    func roleProfile() async throws {
        try await MotoFixture.with { fixture, transport in
            let admin = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
            try await admin.createTable(json: MotoIntegrationTests.tableJSON, table: "ferry-target")

            let config = try SharedConfig.parse(
                configText:
                    "[profile target]\nrole_arn = \(fixture.info.roleArn)\nsource_profile = limited\nrole_session_name = ferry-test\n",
                configPath: "/test/config",
                credentialsText:
                    "[limited]\naws_access_key_id = \(fixture.info.limited.accessKeyId)\naws_secret_access_key = \(fixture.info.limited.secretAccessKey)\n",
                credentialsPath: "/test/credentials"
            )
            let resolution = try CredentialChain.resolve(
                options: CommandLineOptions(profile: "target"),
                environment: [:],
                config: config
            )
            let factory = CredentialProviderFactory(
                transport: transport,
                environment: [:],
                region: fixture.info.region,
                stsEndpointFlag: EndpointFlag(name: "--target-endpoint-url", value: fixture.info.endpoint)
            )
            let provider = try factory.provider(for: resolution.plan)
            #expect(provider.label.contains(fixture.info.roleArn))
            let dynamo = DynamoDBClient(
                executor: AWSRequestExecutor(
                    transport: transport,
                    credentials: provider,
                    endpoint: try fixture.endpoint(.dynamodb)
                )
            )
            #expect(try await dynamo.describeTable("ferry-target").TableName == "ferry-target")
        }
    }

    @Test("a download broken mid-body resumes with a ranged GET and yields the exact bytes")
    func resumedRangedRead() async throws {
        try await MotoFixture.with { fixture, live in
            let transport = BreakOnceTransport(live)
            let executor = try fixture.executor(.s3, transport)
            _ = try await executor.send(operation: "CreateBucket", method: "PUT", path: "/ferry-exports")
            var generator = SystemRandomNumberGenerator()
            let object = (0..<300_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
            _ = try await executor.send(
                operation: "PutObject",
                method: "PUT",
                path: "/ferry-exports/AWSDynamoDB/data/big.json.gz",
                body: object
            )
            let read = try await S3Client(executor: executor).getObject(
                bucket: "ferry-exports",
                key: "AWSDynamoDB/data/big.json.gz"
            )
            #expect(transport.broken.withLock { $0 })
            #expect(read.count == object.count)
            #expect(read == object)
        }
    }
}
