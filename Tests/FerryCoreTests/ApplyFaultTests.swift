import AWSClient
import AWSCore
import AWSCredentials
import DynamoModel
import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("apply against a scripted DynamoDB: nothing lost, rejects isolated, fatal errors stop")
struct ApplyFaultTests {
    static func setUp(_ directory: String) async throws -> (GeneratedChain, Plan) {
        let chain = try TestChains.generate(directory, items: 120, windows: 3)
        return (chain, try await TestChains.plan(for: chain))
    }

    static func engine(_ plan: Plan, _ chain: GeneratedChain, _ fake: FakeDynamoDB, _ directory: String,
                       source: (any ExportSource)? = nil) throws -> ApplyEngine {
        return ApplyEngine(plan: plan, source: source ?? LocalDirectorySource(root: chain.exportsDirectory), dynamo: try DiffBudgetTests.dynamo(fake),
                           store: CheckpointStore(path: directory + "/plan.checkpoint.json"), rejectsPath: directory + "/rejects.jsonl", writePercent: 100)
    }

    @Test("throttling, a 500, a connection reset and UnprocessedItems: every write lands, the state is exact")
    func faultsRecovered() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await Self.setUp(directory)
            let fake = FakeDynamoDB(faults: [.throttle, .serverError, .reset, .unprocessedHalf, .none, .unprocessedHalf, .throttle])
            let report = try await Self.engine(plan, chain, fake, directory).run()
            #expect(report.throttles == 2)
            #expect(report.unprocessedRetries >= 2)
            #expect(report.rejects == 0)
            let expected = try loadState(directory + "/" + chain.exports.last!.expectedStateFile!, keyNames: chain.keyNames)
            #expect(fake.state.withLock { $0.items } == expected)
        }
    }

    @Test("an item DynamoDB rejects is isolated into the rejects file with file, line and reason; the rest is written")
    func rejectIsolated() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await Self.setUp(directory)
            let fake = FakeDynamoDB(rejectedKeys: ["user#7"])
            let report = try await Self.engine(plan, chain, fake, directory).run()
            #expect(report.rejects >= 1)
            let lines = try String(contentsOfFile: directory + "/rejects.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(Int64(lines.count) == report.rejects)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect((first["reason"] as? String) == "Item size has exceeded the maximum allowed size")
            #expect((first["file"] as? String)?.hasSuffix(".json.gz") == true && (first["line"] as? Int ?? 0) >= 1)
            #expect(first["record"] != nil)
            var expected = try loadState(directory + "/" + chain.exports.last!.expectedStateFile!, keyNames: chain.keyNames)
            expected = expected.filter { $0.key["pk"] != .s("user#7") }
            let written = fake.state.withLock { $0.items }.filter { $0.key["pk"] != .s("user#7") }
            #expect(written == expected, "everything but the rejected key is exact")
            let checkpoint = try CheckpointStore(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
            #expect(checkpoint?.rejects == report.rejects)
            // #13.3: a later run (a resume, or a run of a finished plan) still counts the chain's rejects, so it
            // exits 6 too; its checkpoint keeps the total.
            let again = try await Self.engine(plan, chain, fake, directory).run()
            #expect(again.windowsApplied == 0)
            #expect(again.rejects == report.rejects, "rejects are never forgotten")
            #expect(try CheckpointStore(path: directory + "/plan.checkpoint.json").load(for: plan.planId)?.rejects == report.rejects)
        }
    }

    @Test("access denied stops the run at once with the permission in the message")
    func accessDenied() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await Self.setUp(directory)
            let fake = FakeDynamoDB(accessDenied: true)
            do {
                _ = try await Self.engine(plan, chain, fake, directory).run()
                Issue.record("access denied did not stop the run")
            } catch {
                #expect("\(error)".contains("AccessDeniedException") && "\(error)".contains("dynamodb:BatchWriteItem"), "\(error)")
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }

    @Test("a key schema that does not match the export stops before any write")
    func keySchemaMismatch() async throws {
        try await withTemporaryDirectory { directory in
            let fake = FakeDynamoDB()
            // Re-plan against a chain whose items have only `pk`: the fake table wants pk + sk.
            var hashOnly = ChainSpec()
            hashOnly.sortKey = false
            hashOnly.initialItems = 10
            hashOnly.windows = 0
            let other = try ChainGenerator(spec: hashOnly).generate(into: directory + "/hash-only")
            let found = try await ExportDiscovery.discover(LocalDirectorySource(root: other.exportsDirectory), location: "x")
            let otherPlan = try PlanFile.decode(try PlanFile.encode(try ChainPlanner.plan(found, options: PlannerTests.options)), path: "p")
            do {
                _ = try await Self.engine(otherPlan, other, fake, directory).run()
                Issue.record("a mismatched key schema was accepted")
            } catch {
                #expect("\(error)".hasPrefix("target table orders-copy has the key (pk S, sk N) but the export's records have ("), "\(error)")
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }
}
