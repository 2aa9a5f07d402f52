import AWSClient
import AWSCore
import AWSCredentials
import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

@Suite("apply against a scripted DynamoDB: nothing lost, rejects isolated, fatal errors stop")
struct ApplyFaultTests {
    static func setUp(_ directory: String) async throws -> (GeneratedChain, Plan) {
        let chain = try TestChains.generate(directory, items: 120, windows: 3)
        return (chain, try await TestChains.plan(for: chain))
    }

    static func engine(
        _ plan: Plan,
        _ chain: GeneratedChain,
        _ fake: FakeDynamoDB,
        _ directory: String,
        source: (any ExportSource)? = nil
    ) throws -> ApplyEngine {
        return ApplyEngine(
            plan: plan,
            source: source ?? LocalDirectorySource(root: chain.exportsDirectory),
            dynamo: try DiffBudgetTests.dynamo(fake),
            store: CheckpointFile(path: directory + "/plan.checkpoint.json"),
            rejectsPath: directory + "/rejects.jsonl",
            writePercent: 100
        )
    }

    @Test("throttling, a 500, a connection reset and UnprocessedItems: every write lands, the state is exact")
    func faultsRecovered() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await Self.setUp(directory)
            let fake = FakeDynamoDB(faults: [
                .throttle, .serverError, .reset, .unprocessedHalf, .none, .unprocessedHalf, .throttle,
            ])
            let report = try await Self.engine(plan, chain, fake, directory).run()
            #expect(report.throttles == 2)
            #expect(report.unprocessedRetries >= 2)
            #expect(report.rejects == 0)
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
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
            var expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            expected = expected.filter { $0.key["pk"] != .s("user#7") }
            let written = fake.state.withLock { $0.items }.filter { $0.key["pk"] != .s("user#7") }
            #expect(written == expected, "everything but the rejected key is exact")
            let checkpoint = try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
            #expect(checkpoint?.rejects == report.rejects)
            // #13.3: a later run (a resume, or a run of a finished plan) still counts the chain's rejects, so it
            // exits 6 too; its checkpoint keeps the total.
            let again = try await Self.engine(plan, chain, fake, directory).run()
            #expect(again.windowsApplied == 0)
            #expect(again.rejects == report.rejects, "rejects are never forgotten")
            #expect(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)?.rejects
                    == report.rejects
            )
        }
    }

    @Test(
        "a resume that re-applies a file whose rejects a checkpoint already counted neither repeats nor re-counts them; a partial last line is cut"
    )
    func rejectsOfReappliedFileCountedOnce() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await Self.setUp(directory)
            let fake = FakeDynamoDB(rejectedKeys: ["user#7"])
            let report = try await Self.engine(plan, chain, fake, directory).run()
            let rejectsPath = directory + "/rejects.jsonl"
            let lines = try String(contentsOfFile: rejectsPath, encoding: .utf8).split(separator: "\n")
            #expect(report.rejects >= 1 && Int64(lines.count) == report.rejects)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            let file = try #require(first["file"] as? String)
            let window = try #require(plan.windows.first { $0.files.contains { $0.key == file } })

            // As if the run had crashed while that file was in flight, after a checkpoint (saved when another file
            // finished) had counted its rejects: the checkpoint claims the window's other files only.
            let store = CheckpointFile(path: directory + "/plan.checkpoint.json")
            var saved = try #require(try store.load(for: plan.planId))
            saved.windowsDone = window.index
            saved.filesDone = window.files.map(\.key).filter { $0 != file }
            try store.save(saved)
            // …and a reject of an unrelated file was being written when it crashed: half a line.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: rejectsPath))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(#"{"file":"AWSDynamoDB/other/data/x.json.gz","li"#.utf8))
            try handle.close()

            let again = try await Self.engine(plan, chain, fake, directory).run()
            #expect(again.rejects == report.rejects, "re-applied rejects are not counted twice")
            let after = try String(contentsOfFile: rejectsPath, encoding: .utf8)
            #expect(after.hasSuffix("}\n"), "the partial line was cut")
            #expect(
                after.split(separator: "\n").map(String.init) == lines.map(String.init),
                "each reject once, as before"
            )
            #expect(try store.load(for: plan.planId)?.rejects == report.rejects)
        }
    }

    @Test(
        "rejects already in the file are counted even if no checkpoint counted them; other files' rejects and other spellings are distinct"
    )
    func rejectsCountedFromTheFile() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/r.jsonl"
            let nfc = "AWSDynamoDB/e/data/caf\u{E9}.json.gz"
            let nfd = "AWSDynamoDB/e/data/cafe\u{301}.json.gz"
            let text =
                #"{"file":"\#(nfc)","line":3,"reason":"r","record":{}}"# + "\n"
                + #"{"file":"AWSDynamoDB/old/data/z.json.gz","line":1,"reason":"r","record":{}}"# + "\n"
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            // A crash came after the reject was on disk and before a checkpoint counted it: it is counted.
            #expect(await RejectsWriter(path: path, alreadyCounted: 0, chainFiles: [nfc]).count == 1)
            // The checkpoint may count more than the file holds (the file was moved away): the larger is kept.
            #expect(await RejectsWriter(path: path, alreadyCounted: 5, chainFiles: [nfc]).count == 5)
            // The NFD spelling is another file to DynamoDB and S3: nothing of it is in the file.
            #expect(await RejectsWriter(path: path, alreadyCounted: 0, chainFiles: [nfd]).count == 0)
            let keys = RejectsWriter.existing(at: path)
            #expect(keys.count == 2 && !keys.contains(.init(file: BytewiseString(nfd), line: 3)))
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
                #expect(
                    "\(error)".contains("AccessDeniedException") && "\(error)".contains("dynamodb:BatchWriteItem"),
                    "\(error)"
                )
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
            let found = try await ExportDiscovery.discover(
                LocalDirectorySource(root: other.exportsDirectory),
                location: "x"
            )
            let otherPlan = try PlanFile.decode(
                try PlanFile.encode(try ChainPlanner.plan(found, options: PlannerTests.options)),
                path: "p"
            )
            do {
                _ = try await Self.engine(otherPlan, other, fake, directory).run()
                Issue.record("a mismatched key schema was accepted")
            } catch {
                #expect(
                    "\(error)".hasPrefix(
                        "target table orders-copy has the key (pk S, sk N) but the export's records have ("
                    ),
                    "\(error)"
                )
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }
}
