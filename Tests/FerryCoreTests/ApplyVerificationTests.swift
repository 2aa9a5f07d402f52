import DynamoModel
import ExportGenerator
import ExportReader
@testable import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Issue 13, items 1 and 6: nothing of a data file is written before the whole file is verified; a resume reads only
/// the windows it has left.
@Suite("apply verifies before it writes, and a resume needs only what is left")
struct ApplyVerificationTests {
    @Test("a FULL data file changed after planning (valid gzip, same keys, other values) writes nothing and names the file")
    func tamperedFileWritesNothing() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let file = try #require(plan.windows[0].files.first { $0.itemCount > 0 })
            let path = chain.exportsDirectory + "/" + file.key
            // The same records with one value changed: the file is still valid gzip with the manifest's item count.
            var text = String(decoding: try runGzip(["-dc"], try Data(contentsOf: URL(fileURLWithPath: path))), as: UTF8.self)
            let quote = try #require(text.range(of: #""S":""#))
            text.insert("X", at: quote.upperBound)
            try runGzip(["-c"], Data(text.utf8)).write(to: URL(fileURLWithPath: path))

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
            let store = CheckpointStore(path: directory + "/plan.checkpoint.json")
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
            let expected = try loadState(directory + "/" + chain.exports.last!.expectedStateFile!, keyNames: chain.keyNames)
            #expect(fake.state.withLock { $0.items } == expected)
        }
    }

    @Test("a resume checks the target's key schema against the export's keys kept in the checkpoint")
    func resumeChecksKeptKeys() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan) = try await ApplyFaultTests.setUp(directory)
            let store = CheckpointStore(path: directory + "/plan.checkpoint.json")
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
