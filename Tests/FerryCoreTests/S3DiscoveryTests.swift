import AWSClient
import AWSCore
import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("Discovery and planning from S3 (moto, signatures enforced)")
struct S3DiscoveryTests {
    @Test("a chain uploaded to a bucket plans exactly like its local copy, and its records stream from S3")
    func s3MatchesLocal() async throws {
        try await withTemporaryDirectory { directory in
            var spec = ChainSpec()
            spec.initialItems = 30
            spec.windows = 3
            spec.changesPerWindow = 8
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            try await MotoFixture.with { fixture, transport in
                let executor = try fixture.executor(.s3, transport)
                _ = try await executor.send(operation: "CreateBucket", method: "PUT", path: "/ferry-exports")
                let local = LocalDirectorySource(root: chain.exportsDirectory)
                for object in try await local.listObjects(under: "") {
                    _ = try await executor.send(
                        operation: "PutObject",
                        method: "PUT",
                        path: "/ferry-exports/" + S3Key.percentEncode(object.key),
                        body: try await local.read(object.key)
                    )
                }
                let s3 = S3ExportSource(s3: S3Client(executor: executor), bucket: "ferry-exports")
                // "exports", not "exports/": moto mis-verifies signatures of a '/' in a query value.
                let remote = try await ExportDiscovery.discover(
                    s3,
                    prefix: "exports",
                    location: "s3://ferry-exports/exports"
                )
                let options = PlannerTests.options
                let fromS3 = try ChainPlanner.plan(remote, options: options)
                let fromDisk = try ChainPlanner.plan(
                    try await ExportDiscovery.discover(local, location: "s3://ferry-exports/exports"),
                    options: options
                )
                #expect(fromS3 == fromDisk)
                #expect(fromS3.windows.count == 4)

                let reader = ExportReader(source: s3)
                let export = try await reader.export(summaryKey: fromS3.windows[1].summaryKey)
                let records = try await allRecords(reader, export)
                #expect(Int64(records.count) == export.summary.itemCount)
                try await ExportDiscovery.verify(fromS3, against: s3)
            }
        }
    }
}
