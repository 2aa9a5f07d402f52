import AWSClient
import AWSCore
import DynamoModel
import ExportGenerator
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("apply against moto (SigV4 and IAM enforced)", .serialized)
struct ApplyMotoTests {
    @Test(
        "a FULL export and 5 windows (inserts, updates, deletes, every type) into a table with a GSI end exactly at the expected state; a second run does nothing"
    )
    func applyChain() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory, items: 150, windows: 5, changes: 40)
            let plan = try await TestChains.plan(for: chain)
            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                try await dynamo.createTable(
                    json:
                        #"{"TableName":"orders-copy","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},{"AttributeName":"name","AttributeType":"S"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000,"WriteCapacityUnits":1000},"GlobalSecondaryIndexes":[{"IndexName":"by-name","KeySchema":[{"AttributeName":"name","KeyType":"HASH"}],"Projection":{"ProjectionType":"ALL"},"ProvisionedThroughput":{"ReadCapacityUnits":500,"WriteCapacityUnits":500}}]}"#,
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
                #expect(
                    try await dynamo.describeTable("orders-copy").GlobalSecondaryIndexes?.first?.IndexName == "by-name"
                )
                let report = try await engine.run()
                #expect(report.windowsApplied == 6)
                #expect(report.rejects == 0)

                var target: [Item: Item] = [:]
                var startKey: Item?
                repeat {
                    let page = try await dynamo.scan(table: "orders-copy", exclusiveStartKey: startKey)
                    for item in page.items { target[item.projected(onto: chain.keyNames)!] = item }
                    startKey = page.lastEvaluatedKey
                } while startKey != nil
                let expected = try loadState(
                    directory + "/" + chain.exports.last!.expectedStateFile!,
                    keyNames: chain.keyNames
                )
                #expect(target.count == expected.count)
                #expect(target == expected)

                let checkpoint = try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: plan.planId)
                #expect(checkpoint?.windowsDone == 6 && checkpoint?.appliedThrough == plan.totals.end)
                let again = try await engine.run()
                #expect(again.windowsApplied == 0, "a finished plan is not applied twice")
            }
        }
    }
}
