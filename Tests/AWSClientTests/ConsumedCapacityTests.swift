import AWSCore
import AWSCredentials
import DynamoModel
import Foundation
import Testing

@testable import AWSClient

/// `ConsumedCapacity` from BatchWriteItem responses is parsed by hand (it comes back with every write); it must agree
/// with Foundation's decoding of the same JSON for every shape DynamoDB sends.
@Suite("ConsumedCapacity: the hand parser agrees with Foundation's decoder")
struct ConsumedCapacityTests {
    static func parse(_ json: String) throws -> DynamoDBClient.BatchWriteItemOutput {
        let client = DynamoDBClient(
            executor: AWSRequestExecutor(
                transport: ScriptedTransport([]),
                credentials: StaticCredentialProvider(.init(accessKeyId: "A", secretAccessKey: "s"), label: "t"),
                endpoint: try EndpointResolver(environment: [:]).resolve(.dynamodb, region: "us-east-1")
            )
        )
        return try client.parseBatchWriteOutput(Array(json.utf8))
    }

    @Test(
        "TOTAL, INDEXES with GSIs and LSIs, read/write splits, exponents, unknown members, empty list",
        arguments: [
            #"[{"TableName":"t","CapacityUnits":25.0}]"#,
            #"[{"TableName":"t","CapacityUnits":37.5,"WriteCapacityUnits":37.5,"Table":{"CapacityUnits":25,"WriteCapacityUnits":25},"GlobalSecondaryIndexes":{"by-name":{"CapacityUnits":12.5,"WriteCapacityUnits":12.5}},"LocalSecondaryIndexes":{"lsi":{"CapacityUnits":1E0}}}]"#,
            #"[ { "TableName" : "a" , "CapacityUnits" : 2 , "Extra" : {"x":[1,2,{"y":null}]} } , {"TableName":"b","ReadCapacityUnits":0.5,"GlobalSecondaryIndexes":{}} ]"#,
            #"[]"#,
        ]
    )
    func agrees(_ list: String) throws {
        let output = try Self.parse(#"{"UnprocessedItems":{},"ConsumedCapacity":"# + list + "}")
        let foundation = try JSONDecoder().decode([ConsumedCapacity].self, from: Data(list.utf8))
        #expect(output.consumedCapacity == foundation)
    }

    @Test("a shape the hand parser does not know falls back to Foundation's decoder (and its error)")
    func fallback() throws {
        #expect(throws: (any Error).self) { try Self.parse(#"{"ConsumedCapacity":[{"CapacityUnits":"lots"}]}"#) }
        let output = try Self.parse(
            #"{"ConsumedCapacity":[{"TableName":"t","CapacityUnits":3}],"UnprocessedItems":{}}"#
        )
        #expect(output.consumedCapacity.first?.CapacityUnits == 3)
    }
}
