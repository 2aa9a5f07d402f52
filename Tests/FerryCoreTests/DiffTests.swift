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

/// What a diff of `final` (the plan's end state) against `target` must report, computed independently of Ferry's
/// diff: by the generator's expected states and DynamoDB equality on parsed items.
struct ExpectedDiff: Equatable {
    var wouldPut = 0, wouldOverwrite = 0, wouldDelete = 0, extra = 0, unchanged = 0

    init(final: [Item: Item], target: [Item: Item], plannedKeys: Set<Item>) {
        for (key, item) in final {
            if let present = target[key] {
                if present == item { unchanged += 1 } else { wouldOverwrite += 1 }
            } else {
                wouldPut += 1
            }
        }
        for key in target.keys where final[key] == nil {
            if plannedKeys.contains(key) { wouldDelete += 1 } else { extra += 1 }
        }
    }

    init(_ counts: DiffReport.Counts) {
        wouldPut = Int(counts.wouldPut)
        wouldOverwrite = Int(counts.wouldOverwrite)
        wouldDelete = Int(counts.wouldDelete)
        extra = Int(counts.extra)
        unchanged = Int(counts.unchanged)
    }
}

enum DiffFixtures {
    static let createTable =
        #"{"TableName":"%@","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"name","AttributeType":"S"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000,"WriteCapacityUnits":1000},"GlobalSecondaryIndexes":[{"IndexName":"by-name","KeySchema":[{"AttributeName":"name","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"},"ProvisionedThroughput":{"ReadCapacityUnits":500,"WriteCapacityUnits":500}}]}"#

    /// Every key the plan's records mention.
    static func plannedKeys(_ chain: GeneratedChain) async throws -> Set<Item> {
        let reader = ExportReader(source: LocalDirectorySource(root: chain.exportsDirectory))
        var keys = Set<Item>()
        for key in try await reader.summaryKeys() {
            for record in try await allRecords(reader, try await reader.export(summaryKey: key)) {
                switch try record.body() {
                case .item(let item): keys.insert(item.projected(onto: chain.keyNames)!)
                case .change(let change): keys.insert(change.keys)
                }
            }
        }
        return keys
    }

    /// Writes `items` with plain BatchWriteItem calls of 25 (the test's own loader, not Ferry's apply).
    static func load(_ items: some Collection<Item>, into dynamo: DynamoDBClient, table: String) async throws {
        let all = Array(items)
        for start in stride(from: 0, to: all.count, by: 25) {
            var request = BatchWriteRequestBuilder(tableName: table)
            for item in all[start..<min(start + 25, all.count)] { request.put(item) }
            let output = try await dynamo.batchWriteItem(request, table: table)
            #expect(output.unprocessed.isEmpty)
        }
    }

    static func putRaw(_ json: String, into dynamo: DynamoDBClient, table: String) async throws {
        var request = BatchWriteRequestBuilder(tableName: table)
        request.put(itemJSON: Array(json.utf8))
        _ = try await dynamo.batchWriteItem(request, table: table)
    }
}

@Suite("diff against moto: empty, partly applied, fully applied and tampered targets", .serialized)
struct DiffMotoTests {
    @Test("exact counts and classes for a target in every state; --at-checkpoint; examples and the full listing")
    func diffStates() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 150, windows: 5, changes: 40)
            let final = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            let afterTwo = try loadState(
                directory + "/chain/" + chain.exports[2].expectedStateFile!,
                keyNames: chain.keyNames
            )
            let planned = try await DiffFixtures.plannedKeys(chain)
            let source = LocalDirectorySource(root: chain.exportsDirectory)
            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                func diff(
                    _ table: String,
                    _ configure: (inout DiffEngine) -> Void = { _ in }
                ) async throws -> DiffReport {
                    let plan = try await TestChains.plan(for: chain, table: table)
                    var engine = DiffEngine(
                        plan: plan,
                        source: source,
                        dynamo: dynamo,
                        readPercent: 50,
                        workDirectory: directory + "/work-\(table)"
                    )
                    engine.buckets = 5
                    engine.segments = 3
                    configure(&engine)
                    defer { engine.removeWorkDirectory() }
                    return try await engine.run()
                }

                // Empty: everything would be put; the plan's deletes are already absent.
                try await dynamo.createTable(json: String(format: DiffFixtures.createTable, "empty"), table: "empty")
                let empty = try await diff("empty")
                #expect(ExpectedDiff(empty.counts) == ExpectedDiff(final: final, target: [:], plannedKeys: planned))
                #expect(
                    empty.counts.wouldPut == Int64(final.count)
                        && empty.counts.deletedAndAbsent == Int64(planned.count - final.count)
                )
                #expect(empty.differs)

                // Partly applied (the state after the FULL export and two windows): puts, overwrites and deletes.
                try await dynamo.createTable(
                    json: String(format: DiffFixtures.createTable, "partial"),
                    table: "partial"
                )
                try await DiffFixtures.load(afterTwo.values, into: dynamo, table: "partial")
                let partial = try await diff("partial")
                let expectedPartial = ExpectedDiff(final: final, target: afterTwo, plannedKeys: planned)
                #expect(ExpectedDiff(partial.counts) == expectedPartial)
                #expect(
                    expectedPartial.wouldPut > 0 && expectedPartial.wouldOverwrite > 0
                        && expectedPartial.wouldDelete > 0 && expectedPartial.extra == 0,
                    "the chain exercises every class"
                )
                #expect(
                    partial.examples.filter { $0.change == .wouldOverwrite }.allSatisfy {
                        !($0.attributes ?? []).isEmpty && $0.source != nil
                    }
                )
                // At the checkpoint's position (three windows done) the same target matches.
                let partialPlan = try await TestChains.plan(for: chain, table: "partial")
                var checkpoint = Checkpoint(planId: partialPlan.planId)
                checkpoint.windowsDone = 3
                checkpoint.appliedThrough = partialPlan.windows[2].to
                let atCheckpoint = try await diff("partial") { $0.position = .checkpoint(checkpoint) }
                #expect(atCheckpoint.counts.differences == 0 && atCheckpoint.counts.unchanged == Int64(afterTwo.count))

                // Fully applied by `ferry apply`: the diff is empty.
                try await dynamo.createTable(json: String(format: DiffFixtures.createTable, "full"), table: "full")
                let plan = try await TestChains.plan(for: chain, table: "full")
                let journalPath = directory + "/full.journal.jsonl"
                let store = CheckpointFile(path: directory + "/full.checkpoint.json")
                var apply = ApplyEngine(
                    plan: plan,
                    source: source,
                    dynamo: dynamo,
                    store: store,
                    rejectsPath: directory + "/full.rejects.jsonl",
                    writePercent: 100
                )
                apply.journal = try RunJournal(path: journalPath)
                _ = try await apply.run()
                let applied = try await diff("full") { $0.journal = try? RunJournal(path: journalPath) }
                #expect(applied.counts.differences == 0 && applied.counts.unchanged == Int64(final.count))
                #expect(!applied.differs && applied.examples.isEmpty)
                // The verdict is in the run record, and the report's verification rests on it.
                func verification() throws -> RunReport.Verification {
                    let journal = try RunJournal.read(journalPath)
                    let checkpoint = try store.load(for: plan.planId)
                    return RunReport.build(plan: plan, checkpoint: checkpoint, journal: journal, asOf: 0, now: 0)
                        .verification
                }
                let verified = try verification()
                #expect(verified.status == .matches && verified.passed)
                #expect(verified.diff?.counts == applied.counts && verified.diff?.windowsCompared == plan.windows.count)

                // Tampered: one item changed, one missing, one extra, a number stored as "N.0", a set reordered.
                let ordered = final.values.sorted {
                    DynamoJSONEncoder.string($0.projected(onto: chain.keyNames)!)
                        < DynamoJSONEncoder.string($1.projected(onto: chain.keyNames)!)
                }
                var changed = ordered[0]
                changed["name"] = .s("tampered")
                let missing = ordered[1]
                let numbered = ordered.dropFirst(2).first { item in
                    if case .n(let n)? = item["count"], !n.text.contains(".") && !n.text.contains("E") { return true }
                    return false
                }!
                let reordered = ordered.dropFirst(2).first { item in
                    guard item.projected(onto: chain.keyNames) != numbered.projected(onto: chain.keyNames) else {
                        return false
                    }
                    if case .ss(let tags)? = item["tags"], tags.count >= 2 { return true }
                    return false
                }!
                #expect(
                    Set([changed, missing, numbered, reordered].map { $0.projected(onto: chain.keyNames)! }).count == 4
                )
                try await DiffFixtures.load([changed], into: dynamo, table: "full")
                var delete = BatchWriteRequestBuilder(tableName: "full")
                delete.delete(keyJSON: Array(DynamoJSONEncoder.string(missing.projected(onto: chain.keyNames)!).utf8))
                _ = try await dynamo.batchWriteItem(delete, table: "full")
                try await DiffFixtures.putRaw(
                    #"{"pk":{"S":"extra#1"},"sk":{"N":"1"},"name":{"S":"not in any export"}}"#,
                    into: dynamo,
                    table: "full"
                )
                let count = try #require({ if case .n(let n)? = numbered["count"] { n } else { nil } }())
                var withDecimal = numbered
                withDecimal["count"] = .n(try DynamoNumber(count.text + ".0"))
                try await DiffFixtures.putRaw(DynamoJSONEncoder.string(withDecimal), into: dynamo, table: "full")
                let tags = try #require({ if case .ss(let t)? = reordered["tags"] { t } else { nil } }())
                var withOrder = reordered
                withOrder["tags"] = .ss(tags.reversed())
                try await DiffFixtures.putRaw(DynamoJSONEncoder.string(withOrder), into: dynamo, table: "full")
                // The target really holds the other spellings (moto keeps them as sent), so equality is what is tested.
                let stored = try await dynamo.scan(table: "full").items
                let storedNumber = stored.first {
                    $0.projected(onto: chain.keyNames) == numbered.projected(onto: chain.keyNames)
                }?["count"]
                #expect(
                    { if case .n(let n)? = storedNumber { n.text == count.text + ".0" } else { false } }(),
                    "stored as \(String(describing: storedNumber))"
                )
                let storedTags = stored.first {
                    $0.projected(onto: chain.keyNames) == reordered.projected(onto: chain.keyNames)
                }?["tags"]
                #expect(
                    { if case .ss(let s)? = storedTags { s == tags.reversed() } else { false } }(),
                    "stored as \(String(describing: storedTags))"
                )

                let tampered = try await diff("full") {
                    $0.listAll = true
                    $0.exampleLimit = 10
                    $0.journal = try? RunJournal(path: journalPath)
                }
                let afterTampering = try verification()
                #expect(afterTampering.status == .differs && !afterTampering.passed)
                #expect(afterTampering.diff?.counts == tampered.counts)
                let recorded = try String(contentsOfFile: journalPath, encoding: .utf8)
                #expect(
                    !recorded.contains("extra#1") && !recorded.contains("tampered"),
                    "no key or value in the journal"
                )
                #expect(
                    tampered.counts.wouldOverwrite == 1 && tampered.counts.wouldPut == 1 && tampered.counts.extra == 1
                )
                #expect(tampered.counts.wouldDelete == 0 && tampered.counts.unchanged == Int64(final.count - 2))
                let overwrite = tampered.examples.first { $0.change == .wouldOverwrite }
                #expect(overwrite?.attributes == ["name"])
                #expect(overwrite?.key == DynamoJSONEncoder.string(changed.projected(onto: chain.keyNames)!))
                #expect(
                    tampered.examples.first { $0.change == .extra }?.key == #"{"pk":{"S":"extra#1"},"sk":{"N":"1"}}"#
                )
                #expect(tampered.examples.first { $0.change == .wouldPut }?.source?.contains(".json.gz:") == true)
                #expect(tampered.text(exampleLimit: 10).contains("would overwrite"))
            }
        }
    }
}

@Suite("diff against a fake endpoint: the scan's read budget, throttling, many buckets and segments")
struct DiffBudgetTests {
    static func chainInFake(
        _ directory: String,
        items: Int
    ) async throws -> (GeneratedChain, Plan, FakeDynamoDB, [Item: Item]) {
        let chain = try TestChains.generate(
            directory + "/chain",
            items: items,
            windows: 2,
            changes: 20,
            itemBytes: 2000
        )
        let final = try loadState(
            directory + "/chain/" + chain.exports.last!.expectedStateFile!,
            keyNames: chain.keyNames
        )
        let plan = try await TestChains.plan(for: chain, table: "orders-copy")
        let fake = FakeDynamoDB(readCapacity: 100)
        fake.state.withLock { $0.items = final }
        return (chain, plan, fake, final)
    }

    static func dynamo(_ transport: any HTTPTransport) throws -> DynamoDBClient {
        let endpoint = try EndpointResolver(environment: [:]).resolve(.dynamodb, region: "us-east-1")
        let credentials = StaticCredentialProvider(
            Credentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret"),
            label: "test"
        )
        return DynamoDBClient(
            executor: AWSRequestExecutor(transport: transport, credentials: credentials, endpoint: endpoint)
        )
    }

    @Test(
        "at 40 % of 100 read units, every trailing second of the scan's consumed capacity stays within 40 units, and most of the budget is used"
    )
    func readBudgetHolds() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, fake, final) = try await Self.chainInFake(directory, items: 800)
            var engine = DiffEngine(
                plan: plan,
                source: LocalDirectorySource(root: chain.exportsDirectory),
                dynamo: try Self.dynamo(fake),
                readPercent: 40,
                workDirectory: directory + "/work"
            )
            engine.segments = 4
            engine.buckets = 3
            let report = try await engine.run()
            #expect(report.counts.unchanged == Int64(final.count) && report.counts.differences == 0)
            let scans = fake.state.withLock { $0.scans }
            let total = scans.reduce(0) { $0 + $1.units }
            #expect(report.scan.readUnitsConsumed == total)
            #expect(total > 100, "the scan spans several seconds of budget (\(total) units)")
            // Every one-second window ending at a call, seen from the server; 100 ms is left for the time between the
            // controller's send and the request's arrival (signing, scheduling while the other tests run).
            var worst = 0.0
            for scan in scans {
                let window = scans.filter { $0.time > scan.time - 1 + 0.1 && $0.time <= scan.time }.reduce(0) {
                    $0 + $1.units
                }
                worst = max(worst, window)
            }
            #expect(worst <= 40, "worst trailing second: \(worst) units against a budget of 40")
            let span = (scans.map(\.time).max() ?? 0) - (scans.map(\.time).min() ?? 0)
            let ideal = total / 40 - 1
            #expect(span >= ideal, "held to the budget: \(span) s for \(total) units")
            // Loose on purpose: the test suite runs in parallel on a busy machine (the benchmark measures utilisation);
            // 14.2 s against 12.2 s seen once under the full suite. A real bound needs the injected clock (#15).
            #expect(span <= (total / 40) * 3 + 4, "and not far below it: \(span) s for \(total) units at 40 units/s")
        }
    }

    @Test("throttled scan pages are retried (the rate is cut), and the diff is still exact")
    func throttledScan() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, fake, final) = try await Self.chainInFake(directory, items: 200)
            fake.state.withLock { $0.scanThrottles = 3 }
            var changed = final.values.first!
            changed["name"] = .s("changed in the target")
            fake.state.withLock { $0.items[changed.projected(onto: chain.keyNames)!] = changed }
            var engine = DiffEngine(
                plan: plan,
                source: LocalDirectorySource(root: chain.exportsDirectory),
                dynamo: try Self.dynamo(fake),
                readPercent: 100,
                workDirectory: directory + "/work"
            )
            engine.segments = 2
            let report = try await engine.run()
            #expect(report.scan.throttles == 3, "\(report)")
            #expect(report.counts.wouldOverwrite == 1 && report.counts.unchanged == Int64(final.count - 1))
            #expect(report.examples.first?.attributes == ["name"])
        }
    }

    @Test("on-demand targets: the table's read maximum, else --max-read-units (required, with a message saying so)")
    func onDemandCeiling() async throws {
        try await withTemporaryDirectory { directory in
            let (chain, plan, fake, _) = try await Self.chainInFake(directory, items: 10)
            var engine = DiffEngine(
                plan: plan,
                source: LocalDirectorySource(root: chain.exportsDirectory),
                dynamo: try Self.dynamo(fake),
                readPercent: 50,
                workDirectory: directory + "/work"
            )
            let onDemand = try JSONDecoder().decode(
                TableDescription.self,
                from: Data(
                    #"{"TableName":"orders-copy","KeySchema":[],"BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST"}}"#
                        .utf8
                )
            )
            #expect(throws: DiffError.onDemandNeedsReadCeiling(table: "orders-copy")) {
                try engine.readController(for: onDemand)
            }
            #expect("\(DiffError.onDemandNeedsReadCeiling(table: "orders-copy"))".contains("--max-read-units"))
            engine.maxReadUnits = 800
            #expect(try engine.readController(for: onDemand).tightestBudget == 400)
            let capped = try JSONDecoder().decode(
                TableDescription.self,
                from: Data(
                    #"{"TableName":"orders-copy","KeySchema":[],"BillingModeSummary":{"BillingMode":"PAY_PER_REQUEST"},"OnDemandThroughput":{"MaxReadRequestUnits":300}}"#
                        .utf8
                )
            )
            #expect(try engine.readController(for: capped).tightestBudget == 150)
        }
    }
}

@Suite("diff building blocks")
struct DiffUnitTests {
    @Test("keys compare by DynamoDB value: 1.0 and 1 are one key, 1 and 2 are not")
    func canonicalKeys() throws {
        let a = try DynamoJSONParser.item(from: #"{"pk":{"S":"a"},"sk":{"N":"1.0"},"x":{"S":"ignored"}}"#)
        let b = try DynamoJSONParser.item(from: #"{"sk":{"N":"1"},"pk":{"S":"a"}}"#)
        let c = try DynamoJSONParser.item(from: #"{"sk":{"N":"2"},"pk":{"S":"a"}}"#)
        let names = ["pk", "sk"]
        #expect(CanonicalKey.make(from: a, keyNames: names) == CanonicalKey.make(from: b, keyNames: names))
        #expect(CanonicalKey.make(from: a, keyNames: names) != CanonicalKey.make(from: c, keyNames: names))
        #expect(CanonicalKey.make(from: a, keyNames: names) == Array(#"{"pk":{"S":"a"},"sk":{"N":"1"}}"#.utf8))
        #expect(CanonicalKey.make(from: try DynamoJSONParser.item(from: #"{"pk":{"S":"a"}}"#), keyNames: names) == nil)
    }

    @Test("differing attributes: by value, sets unordered, binary by bytes, missing on either side")
    func differingAttributes() throws {
        let plan =
            #"{"pk":{"S":"a"},"n":{"N":"1.50"},"ss":{"SS":["x","y"]},"b":{"B":"AAE="},"gone":{"S":"g"},"m":{"M":{"k":{"N":"1"}}}}"#
        let same =
            #"{"m":{"M":{"k":{"N":"1.0"}}},"b":{"B":"AAE="},"ss":{"SS":["y","x"]},"n":{"N":"1.5"},"pk":{"S":"a"},"gone":{"S":"g"}}"#
        let other =
            #"{"pk":{"S":"a"},"n":{"N":"1.51"},"ss":{"SS":["x"]},"b":{"B":"AAI="},"new":{"NULL":true},"m":{"M":{"k":{"N":"1"}}}}"#
        func entry(_ json: String) -> SpillEntry {
            SpillEntry(kind: .put, key: [], item: Array(json.utf8), location: "f:1")
        }
        #expect(try Comparison.differingAttributes(planned: entry(plan), target: entry(same)).isEmpty)
        #expect(
            try Comparison.differingAttributes(planned: entry(plan), target: entry(other)) == [
                "b", "gone", "n", "new", "ss",
            ]
        )
        // Names by bytes: the two spellings of café are two attributes, each missing on one side.
        let pre = "{\"pk\":{\"S\":\"a\"},\"caf\u{E9}\":{\"N\":\"1\"}}"
        let dec = "{\"pk\":{\"S\":\"a\"},\"cafe\u{301}\":{\"N\":\"1\"}}"
        #expect(
            try Comparison.differingAttributes(planned: entry(pre), target: entry(dec)) == ["cafe\u{301}", "caf\u{E9}"]
        )
        // A planned item over DynamoDB's nesting limit is compared, not an error.
        let deep =
            #"{"pk":{"S":"a"},"d":"# + String(repeating: #"{"L":["#, count: 33) + #"{"S":"x"}"#
            + String(repeating: "]}", count: 33) + "}"
        #expect(try Comparison.differingAttributes(planned: entry(deep), target: entry(#"{"pk":{"S":"a"}}"#)) == ["d"])
    }

    @Test("spill files: every entry back in the order written, each key always in the same bucket")
    func spillRoundTrip() async throws {
        try await withTemporaryDirectory { directory in
            let writer = try SpillWriter(directory: directory, prefix: "t", count: 4)
            var written: [[UInt8]] = []
            for index in 0..<3000 {
                let key = Array(#"{"pk":{"S":"k\#(index % 1000)"}}"#.utf8)
                written.append(key)
                try writer.append(
                    SpillEntry(
                        kind: index % 3 == 0 ? .delete : .put,
                        key: key,
                        item: Array(repeating: UInt8(ascii: "x"), count: index % 700),
                        location: "file.json.gz:\(index)"
                    )
                )
            }
            try writer.finish()
            var read: [(Int, SpillEntry)] = []
            for bucket in 0..<4 {
                try SpillReader.forEach(path: SpillWriter.path(directory: directory, prefix: "t", index: bucket)) {
                    entry in
                    #expect(SpillWriter.bucket(of: entry.key, count: 4) == bucket)
                    read.append((bucket, entry))
                }
            }
            #expect(read.count == 3000)
            #expect(Set(read.map(\.0)).count == 4, "keys spread over every bucket")
            // Within a bucket, the order written is kept (a key's later entry comes later).
            for bucket in 0..<4 {
                let lines = read.filter { $0.0 == bucket }.map { Int($0.1.location.split(separator: ":").last!)! }
                #expect(lines == lines.sorted())
                for (_, entry) in read.filter({ $0.0 == bucket }) {
                    let line = Int(entry.location.split(separator: ":").last!)!
                    #expect(
                        entry.item.count == line % 700 && entry.kind == (line % 3 == 0 ? .delete : .put)
                            && entry.key == written[line]
                    )
                }
            }
        }
    }
}
