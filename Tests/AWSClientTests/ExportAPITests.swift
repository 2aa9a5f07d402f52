import AWSClient
import AWSCore
import Foundation
import Testing

/// Issue 14 (groundwork): the DynamoDB export operations `ferry export` needs, on the wire.
@Suite("DynamoDB export operations: request documents, PITR window, export descriptions, paged ListExports")
struct ExportAPITests {
    static func respond(_ json: String) -> ScriptedTransport.Step { .respond(status: 200, body: Array(json.utf8)) }

    static func body(_ request: HTTPRequestData) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any])
    }

    @Test("epoch times: milliseconds exactly, both ways")
    func epochTimes() throws {
        #expect(EpochMilliseconds(1_764_583_200_123).jsonNumber == "1764583200.123")
        #expect(EpochMilliseconds(1_764_583_200_000).jsonNumber == "1764583200")
        #expect(EpochMilliseconds(1_764_583_200_005).jsonNumber == "1764583200.005")
        struct Box: Decodable { var t: EpochMilliseconds }
        #expect(
            try JSONDecoder().decode(Box.self, from: Data(#"{"t":1764583200.123}"#.utf8)).t.value == 1_764_583_200_123
        )
        #expect(
            try JSONDecoder().decode(Box.self, from: Data(#"{"t":1.764583200999E9}"#.utf8)).t.value == 1_764_583_200_999
        )
    }

    @Test("an INCREMENTAL request carries the window, the view, the format, the bucket owner and the client token")
    func incrementalRequest() async throws {
        let transport = ScriptedTransport([
            Self.respond(
                #"{"ExportDescription":{"ExportArn":"arn:aws:dynamodb:us-east-1:1:table/t/export/01","ExportStatus":"IN_PROGRESS","ExportType":"INCREMENTAL_EXPORT","IncrementalExportSpecification":{"ExportFromTime":1764583200,"ExportToTime":1764584100,"ExportViewType":"NEW_AND_OLD_IMAGES"}}}"#
            )
        ])
        let client = DynamoDBClient(executor: ExecutorTests.executor(transport))
        let request = ExportRequest(
            tableArn: "arn:aws:dynamodb:us-east-1:1:table/t",
            bucket: "b",
            prefix: "exports",
            bucketOwner: "222233334444",
            kind: .incremental(from: 1_764_583_200_000, to: 1_764_584_100_000, viewType: "NEW_AND_OLD_IMAGES"),
            clientToken: "0123456789abcdef0123456789abcdef"
        )
        let description = try await client.exportTableToPointInTime(request)
        #expect(description.ExportStatus == "IN_PROGRESS")
        #expect(description.IncrementalExportSpecification?.ExportToTime == EpochMilliseconds(1_764_584_100_000))
        let sent = try #require(transport.requests.first)
        #expect(
            sent.headers.contains {
                $0.name.lowercased() == "x-amz-target" && $0.value == "DynamoDB_20120810.ExportTableToPointInTime"
            }
        )
        let body = try Self.body(sent)
        #expect(
            body["TableArn"] as? String == "arn:aws:dynamodb:us-east-1:1:table/t" && body["S3Bucket"] as? String == "b"
        )
        #expect(body["S3Prefix"] as? String == "exports" && body["S3BucketOwner"] as? String == "222233334444")
        #expect(
            body["ExportType"] as? String == "INCREMENTAL_EXPORT" && body["ExportFormat"] as? String == "DYNAMODB_JSON"
        )
        #expect(body["ClientToken"] as? String == "0123456789abcdef0123456789abcdef" && body["ExportTime"] == nil)
        let spec = try #require(body["IncrementalExportSpecification"] as? [String: Any])
        #expect(
            (spec["ExportFromTime"] as? NSNumber)?.int64Value == 1_764_583_200
                && (spec["ExportToTime"] as? NSNumber)?.int64Value == 1_764_584_100
        )
        #expect(
            String(decoding: sent.body, as: UTF8.self).contains(
                #""ExportFromTime":1764583200,"ExportToTime":1764584100"#
            )
        )
    }

    @Test("a FULL request carries its export time and the encryption asked for, and no window")
    func fullRequest() {
        let request = ExportRequest(
            tableArn: "arn:aws:dynamodb:us-east-1:1:table/t",
            bucket: "b",
            prefix: nil,
            format: "ION",
            sse: .init(algorithm: "KMS", kmsKeyId: "arn:aws:kms:us-east-1:1:key/k"),
            kind: .full(exportTime: 1_764_583_200_123),
            clientToken: "tok"
        )
        let body = String(decoding: request.body, as: UTF8.self)
        #expect(
            body
                == #"{"TableArn":"arn:aws:dynamodb:us-east-1:1:table/t","S3Bucket":"b","S3SseAlgorithm":"KMS","S3SseKmsKeyId":"arn:aws:kms:us-east-1:1:key/k","ExportFormat":"ION","ExportType":"FULL_EXPORT","ExportTime":1764583200.123,"ClientToken":"tok"}"#
        )
    }

    @Test("PITR window from DescribeContinuousBackups; PITR off reads as disabled")
    func pitrWindow() async throws {
        let transport = ScriptedTransport([
            Self.respond(
                #"{"ContinuousBackupsDescription":{"ContinuousBackupsStatus":"ENABLED","PointInTimeRecoveryDescription":{"PointInTimeRecoveryStatus":"ENABLED","RecoveryPeriodInDays":35,"EarliestRestorableDateTime":1.7645832E9,"LatestRestorableDateTime":1764590400.5}}}"#
            ),
            Self.respond(
                #"{"ContinuousBackupsDescription":{"ContinuousBackupsStatus":"ENABLED","PointInTimeRecoveryDescription":{"PointInTimeRecoveryStatus":"DISABLED"}}}"#
            ),
        ])
        let client = DynamoDBClient(executor: ExecutorTests.executor(transport))
        let on = try await client.describeContinuousBackups("t")
        #expect(on.isEnabled && on.RecoveryPeriodInDays == 35)
        #expect(
            on.EarliestRestorableDateTime?.value == 1_764_583_200_000
                && on.LatestRestorableDateTime?.value == 1_764_590_400_500
        )
        let off = try await client.describeContinuousBackups("t")
        #expect(!off.isEnabled && off.LatestRestorableDateTime == nil)
    }

    @Test("ListExports follows NextToken; DescribeExport reports a failure's code and message")
    func listAndDescribe() async throws {
        let transport = ScriptedTransport([
            Self.respond(
                #"{"ExportSummaries":[{"ExportArn":"a1","ExportStatus":"COMPLETED","ExportType":"FULL_EXPORT"}],"NextToken":"n/2+"}"#
            ),
            Self.respond(
                #"{"ExportSummaries":[{"ExportArn":"a2","ExportStatus":"IN_PROGRESS","ExportType":"INCREMENTAL_EXPORT"}]}"#
            ),
            Self.respond(
                #"{"ExportDescription":{"ExportArn":"a2","ExportStatus":"FAILED","FailureCode":"S3AccessDenied","FailureMessage":"Access Denied","ItemCount":0}}"#
            ),
        ])
        let client = DynamoDBClient(executor: ExecutorTests.executor(transport))
        let listed = try await client.listExports(tableArn: "arn:aws:dynamodb:us-east-1:1:table/t")
        #expect(listed.map(\.ExportArn) == ["a1", "a2"] && listed[1].ExportStatus == "IN_PROGRESS")
        #expect(try Self.body(transport.requests[1])["NextToken"] as? String == "n/2+")
        let failed = try await client.describeExport("a2")
        #expect(
            failed.ExportStatus == "FAILED" && failed.FailureCode == "S3AccessDenied"
                && failed.FailureMessage == "Access Denied"
        )
    }
}
