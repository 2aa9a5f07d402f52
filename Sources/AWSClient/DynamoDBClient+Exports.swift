import AWSCore
import DynamoModel
import Foundation

/// A point in time as DynamoDB's JSON 1.0 protocol sends it: epoch seconds, a JSON number with up to millisecond
/// fractions. Kept as integer milliseconds (a `Double` holds 13-digit millisecond counts exactly; it is rounded once).
public struct EpochMilliseconds: Sendable, Hashable, Comparable, Decodable {
    public let value: Int64

    public init(_ value: Int64) { self.value = value }

    public init(from decoder: any Decoder) throws {
        value = Int64((try decoder.singleValueContainer().decode(Double.self) * 1000).rounded())
    }

    public static func < (a: EpochMilliseconds, b: EpochMilliseconds) -> Bool { a.value < b.value }

    /// The JSON number DynamoDB expects: seconds with exactly the milliseconds as a fraction (text, not a `Double`).
    public var jsonNumber: String {
        let seconds = value >= 0 ? value / 1000 : -((-value + 999) / 1000)
        let millis = value - seconds * 1000
        return millis == 0 ? "\(seconds)" : "\(seconds)." + String(String(millis + 1000).dropFirst())
    }
}

/// `DescribeContinuousBackups` → the table's point-in-time-recovery window.
public struct PointInTimeRecovery: Sendable, Hashable, Decodable {
    public var PointInTimeRecoveryStatus: String
    public var RecoveryPeriodInDays: Int?
    public var EarliestRestorableDateTime: EpochMilliseconds?
    public var LatestRestorableDateTime: EpochMilliseconds?

    public var isEnabled: Bool { PointInTimeRecoveryStatus == "ENABLED" }
}

/// `ExportDescription`, as `DescribeExport` and `ExportTableToPointInTime` return it.
public struct ExportDescription: Sendable, Hashable, Decodable {
    public struct Incremental: Sendable, Hashable, Decodable {
        public var ExportFromTime: EpochMilliseconds?
        public var ExportToTime: EpochMilliseconds?
        public var ExportViewType: String?
    }

    public var ExportArn: String
    public var ExportStatus: String
    public var ExportType: String?
    public var StartTime: EpochMilliseconds?
    public var EndTime: EpochMilliseconds?
    public var ExportTime: EpochMilliseconds?
    public var ExportManifest: String?
    public var S3Bucket: String?
    public var S3Prefix: String?
    public var ExportFormat: String?
    public var FailureCode: String?
    public var FailureMessage: String?
    public var BilledSizeBytes: Int64?
    public var ItemCount: Int64?
    public var ClientToken: String?
    public var IncrementalExportSpecification: Incremental?
}

/// One entry of `ListExports`.
public struct ExportSummaryEntry: Sendable, Hashable, Decodable {
    public var ExportArn: String
    public var ExportStatus: String?
    public var ExportType: String?
}

/// What `ExportTableToPointInTime` is asked for. Times are epoch milliseconds from the service (never the local clock).
public struct ExportRequest: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        case full(exportTime: Int64?)
        case incremental(from: Int64, to: Int64, viewType: String)
    }

    public var tableArn: String
    public var bucket: String
    public var prefix: String?
    public var bucketOwner: String?
    /// Server-side encryption of the export's objects (`S3SseAlgorithm`, `S3SseKmsKeyId`).
    public struct Encryption: Sendable, Hashable {
        public var algorithm: String
        public var kmsKeyId: String?
        public init(algorithm: String, kmsKeyId: String? = nil) {
            self.algorithm = algorithm
            self.kmsKeyId = kmsKeyId
        }
    }

    public var format: String
    public var sse: Encryption?
    public var kind: Kind
    public var clientToken: String

    public init(
        tableArn: String,
        bucket: String,
        prefix: String?,
        bucketOwner: String? = nil,
        format: String = "DYNAMODB_JSON",
        sse: Encryption? = nil,
        kind: Kind,
        clientToken: String
    ) {
        self.tableArn = tableArn
        self.bucket = bucket
        self.prefix = prefix
        self.bucketOwner = bucketOwner
        self.format = format
        self.sse = sse
        self.kind = kind
        self.clientToken = clientToken
    }

    /// The request document, members in a fixed order.
    public var body: [UInt8] {
        var members: [(String, String)] = [("TableArn", Self.string(tableArn)), ("S3Bucket", Self.string(bucket))]
        if let bucketOwner { members.append(("S3BucketOwner", Self.string(bucketOwner))) }
        if let prefix, !prefix.isEmpty { members.append(("S3Prefix", Self.string(prefix))) }
        if let sse {
            members.append(("S3SseAlgorithm", Self.string(sse.algorithm)))
            if let key = sse.kmsKeyId { members.append(("S3SseKmsKeyId", Self.string(key))) }
        }
        members.append(("ExportFormat", Self.string(format)))
        switch kind {
        case .full(let time):
            members.append(("ExportType", Self.string("FULL_EXPORT")))
            if let time { members.append(("ExportTime", EpochMilliseconds(time).jsonNumber)) }
        case let .incremental(from, to, view):
            members.append(("ExportType", Self.string("INCREMENTAL_EXPORT")))
            members.append(
                (
                    "IncrementalExportSpecification",
                    "{\"ExportFromTime\":\(EpochMilliseconds(from).jsonNumber),\"ExportToTime\":\(EpochMilliseconds(to).jsonNumber),"
                        + "\"ExportViewType\":\(Self.string(view))}"
                )
            )
        }
        members.append(("ClientToken", Self.string(clientToken)))
        return Array(("{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}").utf8)
    }

    static func string(_ value: String) -> String {
        var bytes: [UInt8] = []
        DynamoJSONEncoder.appendString(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension DynamoDBClient {
    /// The table's PITR window: `LatestRestorableDateTime` is the latest point an export can be taken at.
    public func describeContinuousBackups(_ table: String) async throws -> PointInTimeRecovery {
        struct Envelope: Decodable {
            struct Description: Decodable { var PointInTimeRecoveryDescription: PointInTimeRecovery? }
            var ContinuousBackupsDescription: Description
        }
        let envelope: Envelope = try await decoded(
            "DescribeContinuousBackups",
            body: Array("{\"TableName\":\(ExportRequest.string(table))}".utf8),
            table: table
        )
        return envelope.ContinuousBackupsDescription.PointInTimeRecoveryDescription
            ?? PointInTimeRecovery(PointInTimeRecoveryStatus: "DISABLED")
    }

    public func exportTableToPointInTime(_ request: ExportRequest) async throws -> ExportDescription {
        struct Envelope: Decodable { var ExportDescription: ExportDescription }
        let envelope: Envelope = try await decoded(
            "ExportTableToPointInTime",
            body: request.body,
            table: request.tableArn
        )
        return envelope.ExportDescription
    }

    public func describeExport(_ exportArn: String) async throws -> ExportDescription {
        struct Envelope: Decodable { var ExportDescription: ExportDescription }
        let envelope: Envelope = try await decoded(
            "DescribeExport",
            body: Array("{\"ExportArn\":\(ExportRequest.string(exportArn))}".utf8)
        )
        return envelope.ExportDescription
    }

    /// Every export of the table the service lists (all pages).
    public func listExports(tableArn: String) async throws -> [ExportSummaryEntry] {
        struct Page: Decodable {
            var ExportSummaries: [ExportSummaryEntry]?
            var NextToken: String?
        }
        var entries: [ExportSummaryEntry] = []
        var token: String?
        repeat {
            var body = "{\"TableArn\":\(ExportRequest.string(tableArn)),\"MaxResults\":25"
            if let token { body += ",\"NextToken\":\(ExportRequest.string(token))" }
            let page: Page = try await decoded("ListExports", body: Array((body + "}").utf8), table: tableArn)
            entries += page.ExportSummaries ?? []
            token = page.NextToken
        } while token != nil
        return entries
    }

    func decoded<T: Decodable>(_ operation: String, body: [UInt8], table: String? = nil) async throws -> T {
        let response = try await call(operation, body: body, table: table)
        do {
            return try JSONDecoder().decode(T.self, from: Data(response))
        } catch {
            throw AWSClientError.invalidResponse(service: .dynamodb, operation: operation, reason: "\(error)")
        }
    }
}

extension DynamoDBClient {
    /// Turns point-in-time recovery on (`ferry export --enable-pitr`). The PITR window starts now: an export can only
    /// be taken at or after it.
    public func enablePointInTimeRecovery(_ table: String) async throws {
        let body =
            "{\"TableName\":\(ExportRequest.string(table)),"
            + "\"PointInTimeRecoverySpecification\":{\"PointInTimeRecoveryEnabled\":true}}"
        _ = try await call("UpdateContinuousBackups", body: Array(body.utf8), table: table)
    }
}

extension DynamoDBClient {
    /// `DescribeTimeToLive`: the TTL attribute when TTL is on (or being turned on), nil when off.
    public func describeTimeToLive(_ table: String) async throws -> (status: String, attribute: String?) {
        struct Envelope: Decodable {
            struct Description: Decodable {
                var TimeToLiveStatus: String?
                var AttributeName: String?
            }
            var TimeToLiveDescription: Description?
        }
        let envelope: Envelope = try await decoded(
            "DescribeTimeToLive",
            body: Array("{\"TableName\":\(ExportRequest.string(table))}".utf8),
            table: table
        )
        return (
            envelope.TimeToLiveDescription?.TimeToLiveStatus ?? "DISABLED",
            envelope.TimeToLiveDescription?.AttributeName
        )
    }

    /// `ListTagsOfResource`, every page: the table's tags as (key, value) pairs in the service's order.
    public func listTags(ofResource arn: String) async throws -> [(key: String, value: String)] {
        struct Page: Decodable {
            struct Tag: Decodable {
                var Key: String
                var Value: String
            }
            var Tags: [Tag]?
            var NextToken: String?
        }
        var tags: [(key: String, value: String)] = []
        var token: String?
        repeat {
            var body = "{\"ResourceArn\":\(ExportRequest.string(arn))"
            if let token { body += ",\"NextToken\":\(ExportRequest.string(token))" }
            let page: Page = try await decoded("ListTagsOfResource", body: Array((body + "}").utf8), table: arn)
            tags += (page.Tags ?? []).map { ($0.Key, $0.Value) }
            token = page.NextToken
        } while token != nil
        return tags
    }
}
