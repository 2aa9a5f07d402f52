import AWSClient
import ExportReader
import Synchronization

/// The DynamoDB side of `ferry export` for one table: its PITR window and its exports. `DynamoExportControl` is the
/// live one; tests drive the chain runner with an in-memory one.
public protocol ExportControl: Sendable {
    func pointInTimeRecovery() async throws -> PointInTimeRecovery
    func enablePointInTimeRecovery() async throws
    func startExport(_ request: ExportRequest) async throws -> ExportDescription
    func describeExport(_ exportArn: String) async throws -> ExportDescription
    func listExports() async throws -> [ExportSummaryEntry]
}

/// The bucket side: the exports of the table that are complete under the destination (`manifest-summary.json`
/// written), read with the planner's own discovery — so what the runner counts as done is what `ferry plan` chains.
public protocol ExportBucket: Sendable {
    func completedExports(tableArn: String) async throws -> [ExportScheduler.Completed]
}

public struct DynamoExportControl: ExportControl {
    public let client: DynamoDBClient
    /// The table's ARN (`DescribeTable`'s `TableArn`): exports are requested and listed by ARN.
    public let tableArn: String

    public init(client: DynamoDBClient, tableArn: String) {
        self.client = client
        self.tableArn = tableArn
    }

    public func pointInTimeRecovery() async throws -> PointInTimeRecovery {
        try await client.describeContinuousBackups(tableArn)
    }
    public func enablePointInTimeRecovery() async throws { try await client.enablePointInTimeRecovery(tableArn) }
    public func startExport(_ request: ExportRequest) async throws -> ExportDescription {
        try await client.exportTableToPointInTime(request)
    }
    public func describeExport(_ exportArn: String) async throws -> ExportDescription {
        try await client.describeExport(exportArn)
    }
    public func listExports() async throws -> [ExportSummaryEntry] { try await client.listExports(tableArn: tableArn) }
}

/// Completed exports under `prefix` (no trailing `/`: exports are at `<prefix>/AWSDynamoDB/…`) of an export source
/// (S3, or a local copy in tests). A completed export never changes, so each summary is read once per process.
public actor DiscoveredExportBucket: ExportBucket {
    let source: any ExportSource
    let prefix: String
    private var known: [String: Export] = [:]

    public init(source: any ExportSource, prefix: String) {
        self.source = source
        self.prefix = prefix
    }

    public func completedExports(tableArn: String) async throws -> [ExportScheduler.Completed] {
        // Listed under the bare prefix (moto's SigV4 check refuses a ListObjectsV2 prefix ending in `/`), then held
        // to this prefix's own folder, so `chain2/AWSDynamoDB/…` is not taken for `chain`'s.
        let folder = prefix.isEmpty ? "AWSDynamoDB/" : prefix + "/AWSDynamoDB/"
        let found = try await ExportDiscovery.discover(source, prefix: prefix, location: source.location, known: known)
        for export in found.exports { known[export.summaryKey] = export }
        let mine = found.exports.filter { $0.summaryKey.hasPrefix(folder) && $0.summary.tableArn == tableArn }
        return mine.map(\.summary).compactMap { summary in
            switch summary.kind {
            case .full:
                summary.exportTime.map { .init(exportArn: summary.exportArn, kind: .full, from: nil, to: $0) }
            case .incremental:
                summary.exportToTime.map {
                    .init(exportArn: summary.exportArn, kind: .incremental, from: summary.exportFromTime, to: $0)
                }
            }
        }
    }
}

/// An `ExportControl` that remembers the latest `LatestRestorableDateTime` it has seen: the service's "now" (about
/// five minutes behind real time), which `ferry migrate` measures the target's lag against — the same time the
/// export chain is made by, so a skewed or emulated clock cannot make the two disagree.
public final class ServiceTimeRecorder: ExportControl {
    let wrapped: any ExportControl
    let onTime: @Sendable (Int64) -> Void
    private let latest = Mutex<Int64?>(nil)

    public init(_ wrapped: any ExportControl, onTime: @escaping @Sendable (Int64) -> Void = { _ in }) {
        self.wrapped = wrapped
        self.onTime = onTime
    }

    /// Epoch milliseconds of the latest restorable time seen so far, nil before the first look.
    public var latestRestorable: Int64? { latest.withLock { $0 } }

    public func pointInTimeRecovery() async throws -> PointInTimeRecovery {
        let pitr = try await wrapped.pointInTimeRecovery()
        if let time = pitr.LatestRestorableDateTime?.value {
            onTime(
                latest.withLock {
                    $0 = max($0 ?? time, time)
                    return $0!
                }
            )
        }
        return pitr
    }
    public func enablePointInTimeRecovery() async throws { try await wrapped.enablePointInTimeRecovery() }
    public func startExport(_ request: ExportRequest) async throws -> ExportDescription {
        try await wrapped.startExport(request)
    }
    public func describeExport(_ exportArn: String) async throws -> ExportDescription {
        try await wrapped.describeExport(exportArn)
    }
    public func listExports() async throws -> [ExportSummaryEntry] { try await wrapped.listExports() }
}
