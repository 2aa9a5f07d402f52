import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("Planning: discovery, chain rules, refusals, plan files")
struct PlannerTests {
    static let options = PlanOptions(
        source: Plan.Source(location: "exports"),
        target: Plan.Target(table: "orders-copy", region: "eu-west-1"),
        throttle: Plan.Throttle(writePercent: 50, readPercent: 25)
    )

    static func generate(
        _ directory: String,
        windows: Int = 4,
        prefix: String? = "exports",
        table: String = "ferry-demo",
        seed: UInt64 = 1
    ) throws -> GeneratedChain {
        var spec = ChainSpec()
        spec.seed = seed
        spec.initialItems = 40
        spec.windows = windows
        spec.changesPerWindow = 10
        spec.prefix = prefix
        spec.tableName = table
        return try ChainGenerator(spec: spec).generate(into: directory)
    }

    static func plan(_ root: String, _ options: PlanOptions = options) async throws -> Plan {
        let found = try await ExportDiscovery.discover(LocalDirectorySource(root: root), location: root)
        return try ChainPlanner.plan(found, options: options)
    }

    static func planError(_ root: String, _ options: PlanOptions = options) async -> PlanError? {
        do {
            _ = try await plan(root, options)
            return nil
        } catch {
            return error as? PlanError
        }
    }

    static func refusal(_ root: String, _ options: PlanOptions = options) async -> String {
        do {
            _ = try await plan(root, options)
            return "accepted"
        } catch {
            return "\(error)"
        }
    }

    @Test(
        "a generated chain, with or without prefix, plans as FULL + every window in order",
        arguments: ["exports", nil] as [String?]
    )
    func chainInOrder(_ prefix: String?) async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory, prefix: prefix)
            let plan = try await Self.plan(chain.exportsDirectory)
            #expect(plan.windows.map(\.exportId) == chain.exports.map(\.exportId))
            #expect(plan.windows.map(\.kind) == [.full, .incremental, .incremental, .incremental, .incremental])
            #expect(plan.windows[1].from == plan.windows[0].to, "the first window starts at the FULL export's time")
            #expect(plan.totals.items == chain.exports.reduce(0) { $0 + $1.records })
            #expect(plan.totals.compressedBytes > 0)
            #expect(plan.windows.allSatisfy { $0.files.count == 4 && $0.compressedBytes > 0 })
            #expect(plan.sourceTable.tableArn.hasSuffix(":table/ferry-demo"))
        }
    }

    @Test("--until cuts the chain at the last window that ends by then")
    func until() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            var options = Self.options
            options.until = ExportTime("2026-01-14T11:03:50.622Z")  // the end of window 3
            let plan = try await Self.plan(chain.exportsDirectory, options)
            #expect(plan.windows.count == 4)
            #expect(plan.totals.end == "2026-01-14T11:03:50.622Z")
            #expect(plan.until == "2026-01-14T11:03:50.622Z")
            options.until = ExportTime("2026-01-14T10:00:00Z")
            #expect(
                await Self.refusal(chain.exportsDirectory, options).hasPrefix(
                    "--until 2026-01-14T10:00:00Z is before the FULL export's point in time 2026-01-14T10:18:50.622Z"
                )
            )
        }
    }

    @Test("the same exports and options give byte-identical plans; the id covers the content")
    func deterministic() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let a = try PlanFile.encode(try await Self.plan(chain.exportsDirectory))
            let b = try PlanFile.encode(try await Self.plan(chain.exportsDirectory))
            #expect(a == b)
            let decoded = try PlanFile.decode(a, path: "p.json")
            #expect(decoded.planId.hasPrefix("sha256:") && decoded.planId.count == 71)
            #expect(!String(decoding: a, as: UTF8.self).contains("secret"))
        }
    }

    @Test("a plan edited after it was written is refused")
    func tampered() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let data = try PlanFile.encode(try await Self.plan(chain.exportsDirectory))
            let edited = String(decoding: data, as: UTF8.self).replacingOccurrences(
                of: #""writePercent" : 50"#,
                with: #""writePercent" : 100"#
            )
            #expect(edited != String(decoding: data, as: UTF8.self))
            #expect(throws: PlanError.self) { try PlanFile.decode(Data(edited.utf8), path: "plan.json") }
            do { _ = try PlanFile.decode(Data(edited.utf8), path: "plan.json") } catch {
                #expect("\(error)".hasPrefix("plan.json: the plan's content does not match its planId"))
            }
        }
    }

    @Test("a plan whose files changed in the source is refused")
    func sourceChanged() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let plan = try await Self.plan(chain.exportsDirectory)
            let source = LocalDirectorySource(root: chain.exportsDirectory)
            try await ExportDiscovery.verify(plan, against: source)
            // Replace a window with a different export of the same id (as if re-exported): its manifests change.
            let other = try Self.generate(directory + "/other", seed: 9)
            let id = plan.windows[2].exportId
            let otherId = other.exports[2].exportId
            let mine = "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(id)/manifest-files.json"
            try FileManager.default.removeItem(atPath: mine)
            try FileManager.default.copyItem(
                atPath: "\(other.exportsDirectory)/exports/AWSDynamoDB/\(otherId)/manifest-files.json",
                toPath: mine
            )
            try FileManager.default.removeItem(
                atPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(id)/manifest-files.md5"
            )
            do {
                try await ExportDiscovery.verify(plan, against: source)
                Issue.record("a changed source was accepted")
            } catch {
                #expect(
                    "\(error)".hasPrefix("window 2 (export \(id)) changed in the source since the plan was made"),
                    "\(error)"
                )
            }
        }
    }

    @Test("a missing window is a gap: refused naming both exports and the interval")
    func gap() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let removed = chain.exports[2].exportId
            try FileManager.default.removeItem(atPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(removed)")
            let message = await Self.refusal(chain.exportsDirectory)
            #expect(
                message
                    == "gap in the export chain: nothing covers 2026-01-14T10:33:50.622Z … 2026-01-14T10:48:50.622Z between export \(chain.exports[1].exportId) (ends 2026-01-14T10:33:50.622Z) and export \(chain.exports[3].exportId) (starts 2026-01-14T10:48:50.622Z); changes in that interval would be lost. Export the missing window (INCREMENTAL, from 2026-01-14T10:33:50.622Z to 2026-01-14T10:48:50.622Z) or start from a newer FULL export"
            )
        }
    }

    @Test(
        "contiguity is decided over the whole set: a window covered by a wider one is not a gap; a real gap names the window that starts first (#13.7)"
    )
    func nonGreedyContiguity() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let folder = "\(chain.exportsDirectory)/exports/AWSDynamoDB"
            func setFrom(_ index: Int, _ from: String) throws {
                let path = "\(folder)/\(chain.exports[index].exportId)/manifest-summary.json"
                let text = try String(contentsOfFile: path, encoding: .utf8)
                let edited = text.replacing(#/"exportFromTime":"[^"]*"/#, with: #""exportFromTime":"\#(from)""#)
                #expect(edited != text)
                try edited.write(toFile: path, atomically: true, encoding: .utf8)
                try? FileManager.default.removeItem(
                    atPath: "\(folder)/\(chain.exports[index].exportId)/manifest-summary.md5"
                )
            }
            // A = window 1 ends 10:33:50; B = window 2 now starts at 10:35:50 (after A's end); C = window 3 now
            // starts at 10:30:50, before A's end, and ends after B: A → C is contiguous and B is inside C.
            try setFrom(2, "2026-01-14T10:35:50.622Z")
            try setFrom(3, "2026-01-14T10:30:50.622Z")
            let plan = try await Self.plan(chain.exportsDirectory)
            #expect(plan.windows.map(\.exportId) == [0, 1, 3, 4].map { chain.exports[$0].exportId })

            // Without C, B really is cut off from A: the gap names A and B, and B's start.
            try FileManager.default.removeItem(atPath: "\(folder)/\(chain.exports[3].exportId)")
            guard case let .gap(after, afterEnd, before, beforeStart)? = await Self.planError(chain.exportsDirectory)
            else {
                Issue.record("a gap must be refused")
                return
            }
            #expect(after == chain.exports[1].exportId && afterEnd == "2026-01-14T10:33:50.622Z")
            #expect(before == chain.exports[2].exportId && beforeStart == "2026-01-14T10:35:50.622Z")
        }
    }

    @Test(
        "several tables under one source: refused listing each table with its exports, unless --source-table chooses (#13.11)"
    )
    func foreignTable() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory + "/a")
            let foreign = try Self.generate(directory + "/b", windows: 1, table: "other-table", seed: 5)
            for export in foreign.exports {
                let id = export.exportId
                try FileManager.default.copyItem(
                    atPath: "\(foreign.exportsDirectory)/exports/AWSDynamoDB/\(id)",
                    toPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(id)"
                )
            }
            let message = await Self.refusal(chain.exportsDirectory)
            #expect(
                message.hasPrefix(
                    "exports of 2 tables under \(chain.exportsDirectory): arn:aws:dynamodb:us-east-1:123456789012:table/ferry-demo (table id "
                ),
                "\(message)"
            )
            #expect(
                message.contains(
                    ": 5 exports (\(chain.exports[0].exportId), \(chain.exports[1].exportId), …, \(chain.exports[4].exportId)), newest ending "
                ),
                "\(message)"
            )
            #expect(message.contains("table/other-table (table id "))
            #expect(
                message.contains(
                    ": 2 exports (\(foreign.exports[0].exportId), \(foreign.exports[1].exportId)), newest ending "
                ),
                "\(message)"
            )
            #expect(message.hasSuffix("choose one with --source-table NAME|ARN"))

            // By name or by ARN, each table plans alone.
            var options = Self.options
            options.sourceTable = "other-table"
            let other = try await Self.plan(chain.exportsDirectory, options)
            #expect(other.windows.map(\.exportId) == foreign.exports.map(\.exportId))
            options.sourceTable = "arn:aws:dynamodb:us-east-1:123456789012:table/ferry-demo"
            let ours = try await Self.plan(chain.exportsDirectory, options)
            #expect(ours.windows.map(\.exportId) == chain.exports.map(\.exportId))
            options.sourceTable = "orders"
            let unknown = await Self.refusal(chain.exportsDirectory, options)
            #expect(unknown.hasPrefix("--source-table orders: no exports of that table under "), "\(unknown)")
        }
    }

    @Test("exports still in progress are skipped; if nothing else is there, planning says so")
    func inProgress() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            try FileManager.default.createDirectory(
                atPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/01768399999000-deadbeef",
                withIntermediateDirectories: true
            )
            #expect(
                FileManager.default.createFile(
                    atPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/01768399999000-deadbeef/_started",
                    contents: Data()
                )
            )
            let found = try await ExportDiscovery.discover(
                LocalDirectorySource(root: chain.exportsDirectory),
                location: "here"
            )
            #expect(found.inProgress == ["01768399999000-deadbeef"])
            #expect(try ChainPlanner.plan(found, options: Self.options).windows.count == 5)

            let empty = directory + "/only-started/AWSDynamoDB/01768399999000-deadbeef"
            try FileManager.default.createDirectory(atPath: empty, withIntermediateDirectories: true)
            #expect(FileManager.default.createFile(atPath: empty + "/_started", contents: Data()))
            #expect(
                await Self.refusal(directory + "/only-started")
                    == "the only exports under \(directory)/only-started are still in progress (01768399999000-deadbeef have _started but no manifest-summary.json); wait for them to finish"
            )
        }
    }

    @Test("a repeated window (the same window exported twice) is used once; an overlapping one is fine")
    func duplicateAndOverlap() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let original = chain.exports[2].exportId
            let copy = "01768999999000-00c0ffee"
            let folder = "\(chain.exportsDirectory)/exports/AWSDynamoDB"
            try FileManager.default.copyItem(atPath: "\(folder)/\(original)", toPath: "\(folder)/\(copy)")
            // Rename the copy's ARN so it is a distinct export of the same window (manifest .md5 removed: it changed).
            let summaryPath = "\(folder)/\(copy)/manifest-summary.json"
            let summary = try String(contentsOfFile: summaryPath, encoding: .utf8).replacingOccurrences(
                of: "export/\(original)",
                with: "export/\(copy)"
            )
            try summary.write(toFile: summaryPath, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: "\(folder)/\(copy)/manifest-summary.md5")
            let plan = try await Self.plan(chain.exportsDirectory)
            #expect(plan.windows.count == 5, "the repeated window is used once")
            #expect(Set(plan.windows.map(\.to)).count == 5)

            // Widen window 3 to start where window 2 starts: it overlaps window 2, which is fine.
            let third = "\(folder)/\(chain.exports[3].exportId)/manifest-summary.json"
            let widened = try String(contentsOfFile: third, encoding: .utf8)
                .replacingOccurrences(
                    of: #""exportFromTime":"2026-01-14T10:48:50.622Z""#,
                    with: #""exportFromTime":"2026-01-14T10:33:50.622Z""#
                )
            try widened.write(toFile: third, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: "\(folder)/\(chain.exports[3].exportId)/manifest-summary.md5")
            let overlapping = try await Self.plan(chain.exportsDirectory)
            #expect(overlapping.windows.count == 5)
            #expect(
                overlapping.windows[3].from == "2026-01-14T10:33:50.622Z"
                    && overlapping.windows[2].to == "2026-01-14T10:48:50.622Z"
            )
        }
    }

    @Test("an export in a format nobody can read is refused with its file")
    func unknownFormat() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let id = chain.exports[1].exportId
            let summaryPath = "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(id)/manifest-summary.json"
            let summary = try String(contentsOfFile: summaryPath, encoding: .utf8).replacingOccurrences(
                of: #""outputFormat":"DYNAMODB_JSON""#,
                with: #""outputFormat":"PARQUET""#
            )
            try summary.write(toFile: summaryPath, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(
                atPath: "\(chain.exportsDirectory)/exports/AWSDynamoDB/\(id)/manifest-summary.md5"
            )
            #expect(
                await Self.refusal(chain.exportsDirectory)
                    == "exports/AWSDynamoDB/\(id)/manifest-summary.json: unknown outputFormat \"PARQUET\" (expected DYNAMODB_JSON or ION)"
            )
        }
    }

    @Test("planning 200 windows reads and orders them (the time is in the README, measured with ferry plan)")
    func manyWindows() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory, windows: 200)
            let plan = try await Self.plan(chain.exportsDirectory)
            #expect(plan.windows.count == 201)
            #expect(zip(plan.windows.dropFirst(), plan.windows.dropFirst(2)).allSatisfy { $0.to == $1.from })
        }
    }

    @Test(
        "the newest FULL export starts the chain; --full-export picks another; an unknown id is refused with the choices"
    )
    func choosingTheFullExport() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try Self.generate(directory)
            let folder = "\(chain.exportsDirectory)/exports/AWSDynamoDB"
            let old = chain.exports[0].exportId
            let newer = "01768387130622-0000beef"  // a FULL export 20 minutes later, at 10:38:50.622Z
            try FileManager.default.copyItem(atPath: "\(folder)/\(old)", toPath: "\(folder)/\(newer)")
            let summaryPath = "\(folder)/\(newer)/manifest-summary.json"
            let summary = try String(contentsOfFile: summaryPath, encoding: .utf8)
                .replacingOccurrences(of: "export/\(old)", with: "export/\(newer)")
                .replacingOccurrences(
                    of: #""exportTime":"2026-01-14T10:18:50.622Z""#,
                    with: #""exportTime":"2026-01-14T10:38:50.622Z""#
                )
            try summary.write(toFile: summaryPath, atomically: true, encoding: .utf8)
            try FileManager.default.removeItem(atPath: "\(folder)/\(newer)/manifest-summary.md5")

            let plan = try await Self.plan(chain.exportsDirectory)
            #expect(plan.windows[0].exportId == newer)
            // Window 1 ends at 10:33:50 (before the newer FULL export): skipped; window 2 [10:33:50, 10:48:50) overlaps it.
            #expect(plan.windows.map(\.exportId) == [newer] + chain.exports[2...].map(\.exportId))

            var options = Self.options
            options.fullExportId = old
            #expect(
                try await Self.plan(chain.exportsDirectory, options).windows.map(\.exportId)
                    == chain.exports.map(\.exportId)
            )
            options.fullExportId = "01700000000000-00000000"
            #expect(
                await Self.refusal(chain.exportsDirectory, options)
                    == "--full-export 01700000000000-00000000 is not a FULL export here; FULL exports found: \(old), \(newer)"
            )
        }
    }
}
