import ExportReader

/// Why a plan cannot be made or used. Each case names what to fix: the exports and the missing interval of a gap,
/// the tables that were mixed, the file that changed.
public enum PlanError: Error, Sendable, Hashable, CustomStringConvertible {
    case noExports(location: String)
    case onlyInProgress(location: String, exportIds: [String])
    case severalTables(location: String, tables: [String])
    case unknownSourceTable(selector: String, location: String, tables: [String])
    case noFullExport(location: String)
    case unknownFullExport(id: String, available: [String])
    case gap(after: String, afterEnd: String, before: String, beforeStart: String)
    case untilBeforeFull(until: String, fullExportTime: String)
    case invalidUntil(String)
    case unreadablePlan(path: String, reason: String)
    case tamperedPlan(path: String, recorded: String, actual: String)
    case sourceChanged(window: Int, exportId: String, reason: String)

    public var description: String {
        switch self {
        case .noExports(let location):
            "no DynamoDB exports under \(location) (looked for …/AWSDynamoDB/<ExportId>/manifest-summary.json)"
        case let .onlyInProgress(location, ids):
            "the only exports under \(location) are still in progress (\(ids.joined(separator: ", ")) have _started but no manifest-summary.json); wait for them to finish"
        case let .severalTables(location, tables):
            "exports of \(tables.count) tables under \(location): \(tables.joined(separator: "; ")); choose one with --source-table NAME|ARN"
        case let .unknownSourceTable(selector, location, tables):
            "--source-table \(selector): no exports of that table under \(location); it holds \(tables.joined(separator: "; "))"
        case .noFullExport(let location):
            "no FULL export under \(location): a migration starts from one (ExportTableToPointInTime with ExportType FULL_EXPORT)"
        case let .unknownFullExport(id, available):
            "--full-export \(id) is not a FULL export here; FULL exports found: \(available.joined(separator: ", "))"
        case let .gap(after, afterEnd, before, beforeStart):
            "gap in the export chain: nothing covers \(afterEnd) … \(beforeStart) between export \(after) (ends \(afterEnd)) and export \(before) (starts \(beforeStart)); changes in that interval would be lost. Export the missing window (INCREMENTAL, from \(afterEnd) to \(beforeStart)) or start from a newer FULL export"
        case let .untilBeforeFull(until, full):
            "--until \(until) is before the FULL export's point in time \(full)"
        case .invalidUntil(let text):
            "--until \(text) is not an ISO 8601 time (e.g. 2026-01-14T10:35:00Z)"
        case let .unreadablePlan(path, reason):
            "\(path): not a Ferry plan (\(reason))"
        case let .tamperedPlan(path, recorded, actual):
            "\(path): the plan's content does not match its planId (recorded \(recorded), content hashes to \(actual)); it was edited after `ferry plan` wrote it — make a new plan"
        case let .sourceChanged(window, exportId, reason):
            "window \(window) (export \(exportId)) changed in the source since the plan was made: \(reason); make a new plan"
        }
    }
}
