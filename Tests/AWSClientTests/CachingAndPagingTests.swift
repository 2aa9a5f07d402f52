import AWSClient
import AWSCore
import AWSCredentials
import Foundation
import Synchronization
import Testing

@Suite("Credential caching with a manual clock; S3 listing across pages")
struct CachingAndPagingTests {
    final class Clock: Sendable {
        let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        let fetches = Mutex(0)
        func advance(_ seconds: TimeInterval) { now.withLock { $0 += seconds } }
    }

    @Test("expiring credentials are reused, refreshed ahead of expiry, and fetched anew once expired")
    func refreshAhead() async throws {
        let clock = Clock()
        let provider = CachingCredentialProvider(label: "test", now: { clock.now.withLock { $0 } }) {
            let n = clock.fetches.withLock {
                $0 += 1
                return $0
            }
            let expiry = clock.now.withLock { $0 } + 3600
            return Credentials(
                accessKeyId: "ASIA\(n)",
                secretAccessKey: "s\(n)",
                sessionToken: "t\(n)",
                expiration: expiry
            )
        }
        #expect(try await provider.credentials().accessKeyId == "ASIA1")
        clock.advance(1000)
        #expect(try await provider.credentials().accessKeyId == "ASIA1", "an hour-long credential is reused")
        #expect(clock.fetches.withLock { $0 } == 1)
        clock.advance(2400)  // 200 s before expiry: inside the 5-minute advisory window
        #expect(try await provider.credentials().accessKeyId == "ASIA1", "still valid: used while a refresh runs")
        // The background refresh lands shortly; until then the still-valid credentials are served.
        var latest = ""
        for _ in 0..<200 {
            latest = try await provider.credentials().accessKeyId
            if latest == "ASIA2" { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        #expect(latest == "ASIA2")
        #expect(clock.fetches.withLock { $0 } == 2, "one background refresh")
        clock.advance(4000)  // past expiry
        #expect(try await provider.credentials().accessKeyId == "ASIA3", "expired credentials are never handed out")
    }

    @Test("ListObjectsV2 follows continuation tokens until the listing ends")
    func pagination() async throws {
        func page(_ keys: [String], next: String?) -> ScriptedTransport.Step {
            let contents = keys.map { "<Contents><Key>\($0)</Key><Size>1</Size></Contents>" }.joined()
            let truncation =
                next.map { "<IsTruncated>true</IsTruncated><NextContinuationToken>\($0)</NextContinuationToken>" }
                ?? "<IsTruncated>false</IsTruncated>"
            return .respond(
                status: 200,
                body: Array("<ListBucketResult>\(contents)\(truncation)</ListBucketResult>".utf8)
            )
        }
        let transport = ScriptedTransport([page(["a/1", "a/2"], next: "tok+en/=="), page(["a/3"], next: nil)])
        let endpoint = try EndpointResolver(environment: [:]).resolve(.s3, region: "eu-west-1")
        let credentials = StaticCredentialProvider(
            Credentials(accessKeyId: "AKID", secretAccessKey: "s"),
            label: "test"
        )
        let s3 = S3Client(
            executor: AWSRequestExecutor(transport: transport, credentials: credentials, endpoint: endpoint)
        )
        let objects = try await s3.listObjects(bucket: "exports", prefix: "a/")
        #expect(objects.map(\.key) == ["a/1", "a/2", "a/3"])
        #expect(transport.requests.count == 2)
        #expect(transport.requests[1].query.contains { $0.name == "continuation-token" && $0.value == "tok+en/==" })
        #expect(transport.requests[1].url.contains("continuation-token=tok%2Ben%2F%3D%3D"))
    }
}
