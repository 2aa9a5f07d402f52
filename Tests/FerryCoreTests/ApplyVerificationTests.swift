import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Synchronization
import Testing

@testable import FerryCore

/// Issue 13, items 1 and 6: nothing of a data file is written before the whole file is verified; a resume reads only
/// the windows it has left.
@Suite("apply verifies before it writes, and a resume needs only what is left")
struct ApplyVerificationTests {
    /// The same records with one string value changed: the file is still valid gzip with the manifest's item count.
    static func changeOneValue(_ path: String) throws {
        var text = String(
            decoding: try runGzip(["-dc"], try Data(contentsOf: URL(fileURLWithPath: path))),
            as: UTF8.self
        )
        text.insert("X", at: try #require(text.range(of: #""S":""#)).upperBound)
        try runGzip(["-c"], Data(text.utf8)).write(to: URL(fileURLWithPath: path))
    }

    @Test(
        "a FULL data file changed after planning (valid gzip, same keys, other values) writes nothing and names the file — also when the plan accepts manifest mismatches (#13.10: data files are never relaxed)",
        arguments: [false, true]
    )
    func tamperedFileWritesNothing(acceptManifestMismatch: Bool) async throws {
        try await withTemporaryDirectory { directory in
            let chain = try await ApplyFaultTests.setUp(directory).0
            let plan = try await TestChains.plan(for: chain, acceptManifestMismatch: acceptManifestMismatch)
            let file = try #require(plan.windows[0].files.first { $0.itemCount > 0 })
            try Self.changeOneValue(chain.exportsDirectory + "/" + file.key)

            let fake = FakeDynamoDB()
            var engine = try ApplyFaultTests.engine(plan, chain, fake, directory)
            engine.fileConcurrency = 1
            do {
                _ = try await engine.run()
                Issue.record("a changed data file was applied")
            } catch {
                #expect("\(error)".contains(file.key) && "\(error)".contains("MD5 mismatch"), "\(error)")
            }
            // Files are applied one at a time and the changed one is the first: nothing at all reached the target.
            #expect(fake.state.withLock { $0.writesReceived } == 0, "records of an unverified file were written")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: directory + "/plan.spool")
            #expect(leftovers.isEmpty, "the failed copy is removed: \(leftovers)")
        }
    }

    /// Lists the spool directory each time a data file's chunk has been taken by the reader (while its copies are
    /// being written).
    struct SpoolWatcher: ExportSource {
        let inner: LocalDirectorySource
        let spool: String
        final class Seen: Sendable { let kinds = Mutex<Set<[String]>>([]) }
        let seen = Seen()
        var location: String { inner.location }
        func listObjects(under prefix: String) async throws -> [ExportObject] {
            try await inner.listObjects(under: prefix)
        }
        func exists(_ key: String) async throws -> Bool { try await inner.exists(key) }
        func read(_ key: String) async throws -> [UInt8] { try await inner.read(key) }
        func forEachChunk(of key: String, _ body: (UnsafeRawBufferPointer) async throws -> Void) async throws {
            try await inner.forEachChunk(of: key) { chunk in
                try await body(chunk)
                let names = (try? FileManager.default.contentsOfDirectory(atPath: spool)) ?? []
                let kinds = names.map { $0.hasSuffix(".spool.txt") ? "text" : $0.hasSuffix(".spool.gz") ? "gz" : $0 }
                seen.kinds.withLock { _ = $0.insert(kinds.sorted()) }
            }
        }
    }

    @Test(
        "copies are kept as text beside the .gz while a file is verified (then read without a second gunzip), or as .gz only with spoolCompressedOnly; the same end state",
        arguments: [false, true]
    )
    func spoolForms(compressedOnly: Bool) async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let fake = FakeDynamoDB()
            let watcher = SpoolWatcher(
                inner: LocalDirectorySource(root: chain.exportsDirectory),
                spool: directory + "/plan.spool"
            )
            var engine = try ApplyFaultTests.engine(plan, chain, fake, directory, source: watcher)
            engine.fileConcurrency = 1
            engine.spoolCompressedOnly = compressedOnly
            _ = try await engine.run()
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
            let seen = watcher.seen.kinds.withLock { $0 }
            #expect(seen == (compressedOnly ? [["gz"]] : [["gz", "text"]]), "\(seen)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/plan.spool").isEmpty)
        }
    }

    @Test("the spool's text budget: half the space left once the compressed copies' need is set aside, per file")
    func spoolTextBudget() async throws {
        try await withTemporaryDirectory { directory in
            var spool = SpoolDirectory(path: directory + "/spool")
            try spool.prepare(need: 0, textFilesAtOnce: nil)
            #expect(spool.textBudget == 0)
            #expect(spool.copies(for: "AWSDynamoDB/x/data/a.json.gz").text == nil)
            // Leftovers of a crashed run, in both forms, are removed.
            for name in ["1-a.json.gz.spool.gz", "2-b.json.gz.spool.txt"] {
                #expect(FileManager.default.createFile(atPath: directory + "/spool/" + name, contents: Data("x".utf8)))
            }
            try spool.prepare(need: 1 << 20, textFilesAtOnce: 4)
            #expect(try FileManager.default.contentsOfDirectory(atPath: directory + "/spool").isEmpty)
            var info = statvfs()
            #expect(statvfs(directory, &info) == 0)
            let free = Int64(info.f_bavail) * Int64(info.f_frsize)
            // The free space moves a little between the two readings (other writers on this disk).
            #expect(abs(spool.textBudget - (free - (1 << 20)) / 8) < 64 << 20, "\(spool.textBudget) of \(free)")
            let copies = spool.copies(for: "AWSDynamoDB/x/data/a.json.gz")
            #expect(copies.path.hasSuffix("-a.json.gz.spool.gz"))
            #expect(copies.text?.path == String(copies.path.dropLast(3)) + ".txt")
            #expect(copies.text?.budget == spool.textBudget)
            // Within a limit the free space does not show (an emptyDir's sizeLimit): what the limit leaves, per file.
            try spool.prepare(need: 1 << 20, textFilesAtOnce: 4, limit: 9 << 20)
            #expect(spool.textBudget == 2 << 20)
            do {
                try spool.prepare(need: 10 << 20, textFilesAtOnce: 4, limit: 9 << 20)
                Issue.record("a need over the limit was accepted")
            } catch {
                #expect("\(error)".contains("more than --spool-limit 9437184"), "\(error)")
            }
        }
    }

    @Test("a resume after applied exports expired from the source verifies and reads only the windows left")
    func resumeWithoutAppliedExports() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            #expect(plan.windows.count == 4)
            let fake = FakeDynamoDB()
            // Run 1 stops once window 2 of 4 is done (a stop asked for during a window ends the run before the next).
            var first = try ApplyFaultTests.engine(plan, chain, fake, directory)
            let stop = first.stop
            first.progress = { if $0.event == .windowDone && $0.window == 2 { stop.set() } }
            do {
                _ = try await first.run()
                Issue.record("the stop was not honoured")
            } catch ApplyError.interrupted {}
            let store = CheckpointFile(path: directory + "/plan.checkpoint.json")
            let saved = try #require(try store.load(for: plan.planId))
            #expect(saved.windowsDone == 2)
            #expect(saved.exportKeys == [.init(name: "pk", type: "S"), .init(name: "sk", type: "N")])

            // A lifecycle rule expires the applied exports: their folders are gone.
            for window in plan.windows.prefix(2) {
                let folder = (chain.exportsDirectory + "/" + window.summaryKey as NSString).deletingLastPathComponent
                try FileManager.default.removeItem(atPath: folder)
            }
            let report = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
            #expect(report.windowsApplied == 2)
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
        }
    }

    @Test("a resume checks the target's key schema against the export's keys kept in the checkpoint")
    func resumeChecksKeptKeys() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let store = CheckpointFile(path: directory + "/plan.checkpoint.json")
            // A checkpoint whose windows are all applied, kept by a run against a chain keyed on `id` (N): no record
            // is left to read, so only the kept keys can tell the target is wrong.
            var checkpoint = Checkpoint(planId: plan.planId)
            checkpoint.windowsDone = plan.windows.count
            checkpoint.exportKeys = [.init(name: "id", type: "N")]
            try store.save(checkpoint)
            let fake = FakeDynamoDB()
            do {
                _ = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
                Issue.record("a target whose key differs from the kept export keys was accepted")
            } catch {
                #expect("\(error)".contains("id N") && "\(error)".contains("plan.checkpoint.json"), "\(error)")
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }
}

/// Issue 13, item 9: item-level errors are rejects, not run stoppers; a transaction conflict is retried.
@Suite("apply: item collections at 10 GB are rejects, transaction conflicts are retried")
struct ApplyItemErrorTests {
    @Test(
        "ItemCollectionSizeLimitExceededException rejects that item with its reason; the rest is written and a resume does not stop there"
    )
    func fullItemCollectionIsAReject() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let fake = FakeDynamoDB(fullCollections: ["user#7"])
            let report = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
            #expect(report.rejects >= 1)
            let lines = try String(contentsOfFile: directory + "/rejects.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(Int64(lines.count) == report.rejects)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
            #expect(
                (first["reason"] as? String)?.hasPrefix(
                    "ItemCollectionSizeLimitExceededException: Item collection size limit exceeded"
                ) == true,
                "\(first["reason"] ?? "")"
            )
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            .filter { $0.key["pk"] != .s("user#7") }
            #expect(fake.state.withLock { $0.items }.filter { $0.key["pk"] != .s("user#7") } == expected)
        }
    }

    @Test("TransactionConflictException is sent again: every write lands")
    func transactionConflictRetried() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let fake = FakeDynamoDB(faults: [.transactionConflict, .none, .transactionConflict, .transactionConflict])
            let report = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
            #expect(report.rejects == 0)
            #expect(report.unprocessedRetries >= 3)
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
        }
    }
}

/// Issue 13, item 2: the target is pinned.
@Suite("apply and diff write only to the table the plan was made for, never to the source")
struct TargetPinTests {
    @Test("the exports' own source table as the target is refused before any write")
    func targetIsSource() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let fake = FakeDynamoDB(tableArn: plan.sourceTable.tableArn)
            await #expect(throws: TargetPinError.targetIsSource(arn: plan.sourceTable.tableArn)) {
                _ = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }

    @Test("a table other than the plan's pinned ARN is refused before any write, by apply and by diff")
    func otherTableRefused() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, unpinned) = try await ApplyFaultTests.setUp(directory)
            var pinned = unpinned
            pinned.target.tableArn = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-copy"
            pinned = try PlanFile.decode(try PlanFile.encode(pinned), path: "plan.json")
            let fake = FakeDynamoDB(tableArn: "arn:aws:dynamodb:us-west-2:111122223333:table/orders-copy")
            do {
                _ = try await ApplyFaultTests.engine(pinned, chain, fake, directory).run()
                Issue.record("another table was written")
            } catch let error as TargetPinError {
                #expect("\(error)".contains("us-west-2") && "\(error)".contains("ferry plan"), "\(error)")
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
            let diff = DiffEngine(
                plan: pinned,
                source: LocalDirectorySource(root: chain.exportsDirectory),
                dynamo: try DiffBudgetTests.dynamo(fake),
                readPercent: 50,
                workDirectory: directory + "/work"
            )
            await #expect(throws: TargetPinError.self) { _ = try await diff.run() }
            #expect(fake.state.withLock { $0.scans.count } == 0)
            // The pinned table itself is fine.
            let right = FakeDynamoDB(tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-copy")
            let report = try await ApplyFaultTests.engine(pinned, chain, right, directory).run()
            #expect(report.windowsApplied == pinned.windows.count)
            #expect(
                try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: pinned.planId)?.targetArn
                    == "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-copy"
            )
        }
    }

    @Test("a resume against another table than the checkpoint's is refused")
    func resumeAgainstOtherTable() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            var checkpoint = Checkpoint(planId: plan.planId)
            checkpoint.windowsDone = 1
            checkpoint.targetArn = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-first"
            try CheckpointFile(path: directory + "/plan.checkpoint.json").save(checkpoint)
            let fake = FakeDynamoDB()
            do {
                _ = try await ApplyFaultTests.engine(plan, chain, fake, directory).run()
                Issue.record("a resume against another table was accepted")
            } catch let error as TargetPinError {
                #expect("\(error)".contains("orders-first") && "\(error)".contains("plan.checkpoint.json"), "\(error)")
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)
        }
    }

    @Test("TargetPin reads the account of an ARN")
    func account() {
        #expect(TargetPin.account(ofArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/t") == "111122223333")
        #expect(TargetPin.account(ofArn: "not-an-arn") == nil)
    }
}

/// Issue 13, item 10: a manifest whose `.md5` does not match is refused unless the plan accepts it knowingly; the
/// choice and the manifests it covers are in the plan; data files are never relaxed.
@Suite("manifest checksums: strict by default, accepted knowingly by the plan, data files always checked")
struct ManifestChecksumTests {
    /// Rewrites window `index`'s manifest-summary.json with a trailing newline: still valid, no longer its .md5.
    static func touchSummary(_ chain: GeneratedChain, _ plan: Plan, _ index: Int) throws -> String {
        let key = plan.windows[index].summaryKey
        let path = chain.exportsDirectory + "/" + key
        try (try Data(contentsOf: URL(fileURLWithPath: path)) + Data("\n".utf8)).write(to: URL(fileURLWithPath: path))
        return key
    }

    @Test(
        "refused naming both files by default; accepted and recorded with the flag; apply and diff accept only what the plan recorded"
    )
    func acceptedKnowingly() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, strict) = try await ApplyFaultTests.setUp(directory)
            let key = try Self.touchSummary(chain, strict, 2)
            let md5Key = String(key.dropLast(".json".count)) + ".md5"
            do {
                _ = try await TestChains.plan(for: chain)
                Issue.record("a manifest that does not match its .md5 was accepted")
            } catch {
                #expect("\(error)".hasPrefix("\(key): MD5 mismatch — \(md5Key) says "), "\(error)")
                #expect("\(error)".contains("--accept-manifest-checksum-mismatch"), "\(error)")
            }
            // The strict plan made before the change now refuses it too, before any write.
            let fake = FakeDynamoDB()
            await #expect(throws: PlanError.self) {
                _ = try await ApplyFaultTests.engine(strict, chain, fake, directory).run()
            }
            #expect(fake.state.withLock { $0.writesReceived } == 0)

            let plan = try await TestChains.plan(for: chain, acceptManifestMismatch: true)
            #expect(plan.source.acceptManifestChecksumMismatch == true)
            #expect(plan.windows.map { $0.acceptedManifestMismatches ?? [] } == [[], [], [key], []])
            let json = String(decoding: try PlanFile.encode(plan), as: UTF8.self)
            #expect(json.contains("\"acceptManifestChecksumMismatch\" : true") && json.contains(key))
            #expect(PlanSummary.text(plan, path: nil, targetNote: nil).contains("manifest .md5 mismatches accepted"))
            #expect(
                !String(decoding: try PlanFile.encode(strict), as: UTF8.self).contains(
                    "acceptManifestChecksumMismatch"
                ),
                "a strict plan does not carry the field (its id is unchanged)"
            )
            try await ExportDiscovery.verify(plan, against: LocalDirectorySource(root: chain.exportsDirectory))

            // Another manifest that stops matching after planning is not covered by the plan's choice.
            let other = try Self.touchSummary(chain, plan, 3)
            do {
                try await ExportDiscovery.verify(plan, against: LocalDirectorySource(root: chain.exportsDirectory))
                Issue.record("a mismatch the plan did not record was accepted")
            } catch {
                #expect(
                    "\(error)".hasPrefix("window 3 (export \(plan.windows[3].exportId)) changed in the source"),
                    "\(error)"
                )
                #expect("\(error)".contains(other), "\(error)")
            }
        }
    }
}
