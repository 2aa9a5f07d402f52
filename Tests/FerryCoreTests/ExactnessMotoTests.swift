import AWSClient
import AWSCore
import DynamoModel
import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

/// Issue #12 against the emulator: what Swift's `String ==` calls equal, DynamoDB (and Ferry) keep apart.
@Suite("exactness by DynamoDB's rules, against moto", .serialized)
struct ExactnessMotoTests {
    static let createTable =
        #"{"TableName":"%@","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000,"WriteCapacityUnits":1000}}"#

    static func scanAll(_ dynamo: DynamoDBClient, _ table: String, keyNames: [String]) async throws -> [Item: Item] {
        var target: [Item: Item] = [:]
        var startKey: Item?
        repeat {
            let page = try await dynamo.scan(table: table, exclusiveStartKey: startKey)
            for item in page.items { target[item.projected(onto: keyNames)!] = item }
            startKey = page.lastEvaluatedKey
        } while startKey != nil
        return target
    }

    @Test(
        "a chain with both spellings of café (names and SS members), KELVIN SIGN and 30-level items applies exactly; diff matches; a normalization-only change is 'would overwrite'"
    )
    func equivalentSpellingsApplyExactly() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(
                directory,
                items: 120,
                windows: 3,
                changes: 30,
                equivalentSpellings: true
            )
            let plan = try await TestChains.plan(for: chain)
            let expected = try loadState(
                directory + "/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            let hard = expected.values.filter { $0["cafe\u{301}"] != nil }
            #expect(hard.count > 10, "the chain holds the hard cases")
            for item in hard {
                #expect(item["caf\u{E9}"] != nil && item["\u{212A}"] != nil && item["K"] != nil, "two names each")
                guard case .ss(let members)? = item["cafe\u{301}"] else {
                    Issue.record("no SS")
                    continue
                }
                #expect(members.count == 3)
            }
            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                try await dynamo.createTable(
                    json: String(format: Self.createTable, "orders-copy"),
                    table: "orders-copy"
                )
                let engine = ApplyEngine(
                    plan: plan,
                    source: LocalDirectorySource(root: chain.exportsDirectory),
                    dynamo: dynamo,
                    store: CheckpointFile(path: directory + "/plan.checkpoint.json"),
                    rejectsPath: directory + "/rejects.jsonl",
                    writePercent: 100
                )
                let report = try await engine.run()
                #expect(report.rejects == 0, "a record DynamoDB accepts never stops or is rejected")
                let target = try await Self.scanAll(dynamo, "orders-copy", keyNames: chain.keyNames)
                #expect(target.count == expected.count)
                #expect(target == expected, "byte-for-byte by DynamoDB's equality")

                func diff() async throws -> DiffReport {
                    var engine = DiffEngine(
                        plan: plan,
                        source: LocalDirectorySource(root: chain.exportsDirectory),
                        dynamo: dynamo,
                        readPercent: 50,
                        workDirectory: directory + "/work"
                    )
                    engine.buckets = 3
                    defer { engine.removeWorkDirectory() }
                    return try await engine.run()
                }
                let clean = try await diff()
                #expect(clean.counts.unchanged == Int64(expected.count))
                #expect(
                    clean.counts.wouldPut + clean.counts.wouldOverwrite + clean.counts.wouldDelete + clean.counts.extra
                        == 0
                )

                // Re-spell one value in the target: "caf\u{E9} N" decomposed. Swift's String == calls them equal.
                var changed = try #require(hard.first)
                guard case .s(let text)? = changed["caf\u{E9}"] else {
                    Issue.record("no S")
                    return
                }
                let respelled = "cafe\u{301}" + text.dropFirst(4)
                #expect(
                    respelled == text && !respelled.bytewiseEquals(text),
                    "the premise: Swift's String == calls them equal"
                )
                changed["caf\u{E9}"] = .s(respelled)
                var put = BatchWriteRequestBuilder(tableName: "orders-copy")
                put.put(changed)
                _ = try await dynamo.batchWriteItem(put, table: "orders-copy")
                let original = hard.first!
                let back = try await Self.scanAll(dynamo, "orders-copy", keyNames: chain.keyNames)[
                    original.projected(onto: chain.keyNames)!
                ]
                #expect(back != original, "moto stored the re-spelled value")
                let report2 = try await diff()
                #expect(
                    report2.counts.wouldOverwrite == 1,
                    "a value that differs only in normalization would be overwritten"
                )
                #expect(report2.counts.unchanged == Int64(expected.count - 1))
            }
        }
    }

    @Test("both spellings go into moto and come back with the same bytes")
    func roundTripThroughMoto() async throws {
        try await MotoFixture.with { fixture, transport in
            let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
            try await dynamo.createTable(json: String(format: Self.createTable, "spellings"), table: "spellings")
            let json =
                "{\"pk\":{\"S\":\"caf\u{E9}\"},\"sk\":{\"N\":\"1\"},\"caf\u{E9}\":{\"S\":\"pre\"},\"cafe\u{301}\":{\"SS\":[\"caf\u{E9}\",\"cafe\u{301}\"]}}"
            let item = try DynamoJSONParser.item(from: json)
            var request = BatchWriteRequestBuilder(tableName: "spellings")
            request.put(itemJSON: Array(json.utf8))
            _ = try await dynamo.batchWriteItem(request, table: "spellings")
            // A second partition key that differs only in normalization is a second item.
            var second = item
            second["pk"] = .s("cafe\u{301}")
            var request2 = BatchWriteRequestBuilder(tableName: "spellings")
            request2.put(second)
            _ = try await dynamo.batchWriteItem(request2, table: "spellings")
            let back = try await Self.scanAll(dynamo, "spellings", keyNames: ["pk", "sk"])
            #expect(back.count == 2)
            #expect(back[item.projected(onto: ["pk", "sk"])!] == item)
            let stored = try #require(back[item.projected(onto: ["pk", "sk"])!])
            #expect(
                Array(
                    DynamoJSONEncoder.string(stored.sortedAttributes.reduce(into: Item()) { $0[$1.name] = $1.value })
                        .utf8
                )
                    == Array(
                        DynamoJSONEncoder.string(item.sortedAttributes.reduce(into: Item()) { $0[$1.name] = $1.value })
                            .utf8
                    )
            )
        }
    }

    @Test(
        "a 32-level item is applied; a 33-level one is not sent and is in the rejects file with file:line and the limit"
    )
    func nestingThroughApply() async throws {
        try await withTemporaryDirectory { directory in
            func nested(_ levels: Int) -> String {
                var value = #"{"S":"leaf"}"#
                for level in stride(from: levels, to: 0, by: -1) {
                    value = level % 2 == 1 ? #"{"M":{"k":"# + value + "}}" : #"{"L":["# + value + "]}"
                }
                return value
            }
            let writer = ExportFixtureWriter(root: directory + "/exports")
            let folder = "AWSDynamoDB/01768385930622-efd1a093"
            let lines = [
                #"{"Item":{"pk":{"S":"ok"},"sk":{"N":"1"},"deep":"# + nested(32) + "}}",
                #"{"Item":{"pk":{"S":"too-deep"},"sk":{"N":"2"},"deep":"# + nested(33) + "}}",
                #"{"Item":{"pk":{"S":"long-key"},"sk":{"N":"3"},"x":{"S":"ok"}}}"#.replacingOccurrences(
                    of: "long-key",
                    with: String(repeating: "k", count: 2049)
                ),
                #"{"Item":{"pk":{"S":"wrong-type"},"sk":{"S":"4"}}}"#,
                #"{"Item":{"pk":{"S":"fine"},"sk":{"N":"5"}}}"#,
            ]
            let file = try writer.dataFile(folder + "/data/aaaaaaaaaaaaaaaaaaaaaaaaaa.json.gz", lines: lines)
            try writer.manifests(
                exportFolder: folder,
                summary: fixtureSummary(kind: .full, prefix: nil, itemCount: Int64(lines.count)),
                files: [file]
            )
            let found = try await ExportDiscovery.discover(
                LocalDirectorySource(root: directory + "/exports"),
                location: directory + "/exports"
            )
            var options = PlannerTests.options
            options.target.table = "nested"
            let plan = try PlanFile.decode(
                try PlanFile.encode(try ChainPlanner.plan(found, options: options)),
                path: "plan.json"
            )
            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                try await dynamo.createTable(json: String(format: Self.createTable, "nested"), table: "nested")
                let engine = ApplyEngine(
                    plan: plan,
                    source: LocalDirectorySource(root: directory + "/exports"),
                    dynamo: dynamo,
                    store: CheckpointFile(path: directory + "/plan.checkpoint.json"),
                    rejectsPath: directory + "/rejects.jsonl",
                    writePercent: 100
                )
                let report = try await engine.run()
                #expect(report.rejects == 3)
                let target = try await Self.scanAll(dynamo, "nested", keyNames: ["pk", "sk"])
                #expect(
                    Set(target.keys.compactMap { if case .s(let s)? = $0["pk"] { s } else { nil } }) == ["ok", "fine"]
                )
                let rejects = try String(contentsOfFile: directory + "/rejects.jsonl", encoding: .utf8).split(
                    separator: "\n"
                )
                #expect(rejects.count == 3)
                let parsed = try rejects.map {
                    try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
                }
                #expect(parsed.map { $0["line"] as? Int } == [2, 3, 4])
                #expect(
                    parsed.allSatisfy {
                        ($0["file"] as? String)?.hasSuffix("aaaaaaaaaaaaaaaaaaaaaaaaaa.json.gz") == true
                    }
                )
                let reasons = parsed.map { $0["reason"] as? String ?? "" }
                #expect(reasons[0].contains("nested more than 32 levels"), "\(reasons[0])")
                #expect(reasons[1].contains("2049 bytes; DynamoDB allows at most 2048"), "\(reasons[1])")
                #expect(reasons[2].contains("is S; the table defines it as N"), "\(reasons[2])")
            }
        }
    }
}
