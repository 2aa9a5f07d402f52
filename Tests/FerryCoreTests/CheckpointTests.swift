import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("Checkpoints: atomic, one plan, one apply at a time; status reads them")
struct CheckpointTests {
    @Test("save and load round trip, atomically, and refuse another plan's checkpoint")
    func roundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let store = CheckpointFile(path: directory + "/plan.checkpoint.json")
            #expect(try store.load(for: "sha256:a") == nil)
            var checkpoint = Checkpoint(planId: "sha256:a")
            checkpoint.windowsDone = 2
            checkpoint.filesDone = ["AWSDynamoDB/data/x.json.gz"]
            checkpoint.itemsApplied = 1234
            checkpoint.appliedThrough = "2026-01-14T10:48:50.622Z"
            try store.save(checkpoint)
            #expect(try store.load(for: "sha256:a") == checkpoint)
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: directory) == ["plan.checkpoint.json"],
                "no temporary file left behind"
            )
            #expect(throws: CheckpointError.otherPlan(path: store.path, checkpointPlan: "sha256:a", plan: "sha256:b")) {
                try store.load(for: "sha256:b")
            }
            try Data("{not json".utf8).write(to: URL(fileURLWithPath: store.path))
            #expect(throws: CheckpointError.self) { try store.load(for: "sha256:a") }
        }
    }

    @Test("a second apply cannot take the lock while the first holds it; releasing it frees it")
    func lock() async throws {
        try await withTemporaryDirectory { directory in
            let store = CheckpointFile(path: directory + "/c.json")
            var first: CheckpointLock? = try store.lock()
            #expect(throws: CheckpointError.locked(path: store.path)) { _ = try store.lock() }
            _ = first
            first = nil
            _ = try store.lock()
        }
    }

    @Test("status from a checkpoint: windows done, the current window's progress, items, rejects and lag")
    func status() async throws {
        try await withTemporaryDirectory { directory in
            var spec = ChainSpec()
            spec.initialItems = 20
            spec.windows = 3
            spec.changesPerWindow = 5
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            let found = try await ExportDiscovery.discover(
                LocalDirectorySource(root: chain.exportsDirectory),
                location: "x"
            )
            let plan = try PlanFile.decode(
                try PlanFile.encode(try ChainPlanner.plan(found, options: PlannerTests.options)),
                path: "p"
            )
            var checkpoint = Checkpoint(planId: plan.planId)
            checkpoint.windowsDone = 2
            checkpoint.itemsApplied = 25
            checkpoint.rejects = 1
            checkpoint.appliedThrough = plan.windows[1].to
            checkpoint.filesDone = [plan.windows[2].files[0].key]
            checkpoint.currentWindowItems = 2
            let now = ExportTime(plan.windows[1].to)!.epochMilliseconds + 90_000
            let status = PlanStatus.make(plan, checkpoint: checkpoint, path: "c.json", now: now)
            #expect(status.windowsDone == 2 && status.windows == 4 && status.itemsApplied == 25 && status.rejects == 1)
            #expect(status.lagSeconds == 90)
            #expect(
                status.currentWindow?.index == 2 && status.currentWindow?.filesDone == 1
                    && status.currentWindow?.files == 4
            )
            #expect(status.text.contains("2 of 4 windows applied, 25 items, 1 rejects"))
            #expect(status.text.contains("lag 1 min 30 s"))
            let fresh = PlanStatus.make(plan, checkpoint: nil, path: "c.json", now: now)
            #expect(!fresh.started && fresh.text.contains("not started: no checkpoint at c.json"))
        }
    }
}
