import AWSClient
import FerryCore
import FerryTestSupport
import Foundation
import Testing

@Suite("settings drift: what a restore would miss, between the source and the target table")
struct SettingsDriftTests {
    @Test("differences by bytes, in a fixed order; a setting only one side has; identical settings give none")
    func compare() {
        let source = TableSettings(
            table: "src",
            values: ["key schema": "pk (S, HASH)", "TTL": "on (café)", "GSI byCustomer": "c (S, HASH); ALL"]
        )
        var target = source
        target.table = "dst"
        #expect(SettingsDrift.compare(source: source, target: target, at: 1).differences.isEmpty)
        target.values["TTL"] = "on (cafe\u{301})"  // the same to Swift's ==, another attribute to DynamoDB
        target.values["GSI byCustomer"] = nil
        target.values["GSI byDate"] = "d (N, HASH); KEYS_ONLY"
        let drift = SettingsDrift.compare(source: source, target: target, at: 1)
        #expect(drift.compared == ["key schema", "TTL", "GSI byCustomer", "GSI byDate"])
        #expect(
            drift.differences == [
                .init(setting: "TTL", source: "on (café)", target: "on (cafe\u{301})"),
                .init(setting: "GSI byCustomer", source: "c (S, HASH); ALL", target: nil),
                .init(setting: "GSI byDate", source: nil, target: "d (N, HASH); KEYS_ONLY"),
            ]
        )
    }

    static func table(_ name: String, provisioned: Bool, projection: String, stream: Bool, protected: Bool) -> String {
        let billing =
            provisioned
            ? "\"ProvisionedThroughput\":{\"ReadCapacityUnits\":50,\"WriteCapacityUnits\":40},"
            : "\"BillingMode\":\"PAY_PER_REQUEST\","
        let gsiThroughput =
            provisioned ? ",\"ProvisionedThroughput\":{\"ReadCapacityUnits\":5,\"WriteCapacityUnits\":5}" : ""
        return """
            {"TableName":"\(name)",\(billing)
             "KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],
             "AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"},
               {"AttributeName":"customer","AttributeType":"S"}],
             "GlobalSecondaryIndexes":[{"IndexName":"byCustomer","KeySchema":[{"AttributeName":"customer","KeyType":"HASH"}],
               "Projection":{"ProjectionType":"\(projection)"}\(gsiThroughput)}],
             "StreamSpecification":{"StreamEnabled":\(stream)\(stream ? ",\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"" : "")},
             "DeletionProtectionEnabled":\(protected)}
            """
    }

    @Test("against moto: two tables read with DescribeTable, TTL, PITR and tags; the report shows and validates it")
    func moto() async throws {
        try await MotoFixture.with { fixture, transport in
            let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
            try await dynamo.createTable(
                json: Self.table("src", provisioned: true, projection: "ALL", stream: true, protected: true),
                table: "src"
            )
            try await dynamo.createTable(
                json: Self.table("dst", provisioned: false, projection: "KEYS_ONLY", stream: false, protected: false),
                table: "dst"
            )
            let arn = "arn:aws:dynamodb:\(fixture.info.region):\(fixture.info.account):table/src"
            _ = try await dynamo.call(
                "UpdateTimeToLive",
                body: Array(
                    #"{"TableName":"src","TimeToLiveSpecification":{"Enabled":true,"AttributeName":"expires"}}"#.utf8
                )
            )
            _ = try await dynamo.call(
                "TagResource",
                body: Array(#"{"ResourceArn":"\#(arn)","Tags":[{"Key":"env","Value":"prod"}]}"#.utf8)
            )
            let source = try await TableSettings.read(dynamo, table: "src")
            let target = try await TableSettings.read(dynamo, table: "dst")
            #expect(source.values["TTL"] == "on (expires)" && source.values["tags"] == "env=prod")
            #expect(source.values["key schema"] == "pk (S, HASH), sk (N, RANGE)")
            let same = SettingsDrift.compare(source: source, target: source, at: 0)
            #expect(same.differences.isEmpty && same.compared.count >= 11)
            let drift = SettingsDrift.compare(source: source, target: target, at: 1_000)
            let differing = Set(drift.differences.map(\.setting))
            #expect(
                differing.isSuperset(of: [
                    "billing mode", "capacity", "GSI byCustomer", "stream", "TTL", "tags", "deletion protection",
                ]),
                "\(drift.differences)"
            )
            #expect(!differing.contains("key schema") && !differing.contains("table class"))

            // In the report: the HTML section with one marked row per difference, and JSON the schema accepts.
            let plan = ApplyStateMachineTests.Scenario.generate(seed: 3).plan
            var report = RunReport.build(plan: plan, checkpoint: nil, journal: [], asOf: 0, now: 0)
            report.settings = drift
            let html = RunReportHTML.render(report)
            #expect(html.components(separatedBy: "<tr class=\"drift\">").count - 1 == drift.differences.count)
            #expect(html.contains("id=\"settings-table\""))
            #expect(try RunReportTests.schemaErrors(report.json) == nil)
        }
    }
}
