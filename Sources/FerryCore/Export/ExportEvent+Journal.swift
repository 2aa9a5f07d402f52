import ExportReader
import Foundation

/// `ferry export`'s events as the run record keeps them (`RunJournal`, kind `export`): what was requested and
/// completed, with the service's own times and figures. No item data, no credentials: the same fields as its JSON
/// progress lines.
public struct ExportJournalEvent: Sendable, Codable, Hashable {
    /// `pitrEnabled`, `requested`, `completed`, `waiting`, `caughtUp` or `deferred`, as in the progress lines.
    public var event: String
    /// `FULL` or `INCREMENTAL`, and the window (ISO 8601, the service's times).
    public var kind: String?
    public var from: String?
    public var to: String?
    public var exportArn: String?
    public var status: String?
    public var itemCount: Int64?
    public var billedSizeBytes: Int64?
    /// At `completed`: the export's own running time (its start to its end, as the service reports them).
    public var seconds: Double?
    /// At `caughtUp`: the chain's end behind the latest restorable time.
    public var lagSeconds: Double?
    /// At `waiting`: how many exports are running. At `deferred`: the service's code and the attempt.
    public var running: Int?
    public var code: String?
    public var attempt: Int?

    public init(_ event: ExportEvent) {
        switch event {
        case .pitrEnabled:
            self.event = "pitrEnabled"
        case let .requested(kind, from, to, arn, status):
            self.event = "requested"
            (self.kind, self.from, self.to, exportArn, self.status) = (kind.rawValue, from?.text, to.text, arn, status)
        case let .completed(kind, from, to, export):
            self.event = "completed"
            (self.kind, self.from, self.to, exportArn) = (kind.rawValue, from?.text, to.text, export.ExportArn)
            (itemCount, billedSizeBytes, seconds) = (
                export.ItemCount, export.BilledSizeBytes, ExportEvent.seconds(export)
            )
        case .waiting(let arns):
            self.event = "waiting"
            running = arns.count
        case let .caughtUp(end, _, latest):
            self.event = "caughtUp"
            to = end.text
            lagSeconds = Double(latest.epochMilliseconds - end.epochMilliseconds) / 1000
        case let .deferred(code, _, attempt):
            // The service's message is left out: it is free text.
            self.event = "deferred"
            (self.code, self.attempt) = (code, attempt)
        }
    }
}

extension RunJournal {
    /// The exports `entries` show requested but never completed: an earlier run stopped before it saw them finish.
    /// (The report's export rows, read the same way.)
    public static func exportsAwaitingCompletion(_ entries: [Entry]) -> Set<String> {
        Set(
            RunReport.exports(entries, applied: []).filter { $0.requestedAt != nil && $0.completedAt == nil }.map(
                \.exportArn
            )
        )
    }

    /// The start of a `ferry export` run (or of `migrate`'s export steps) for the table `tableArn`.
    public func exportStarted(tableArn: String) {
        var entry = entry(.runStarted)
        entry.command = "export"
        entry.table = tableArn
        append(entry)
    }

    /// One export event; a request and a completion are synced (they are what the report's export table rests on).
    /// Throws when the sync fails: the caller decides whether the run goes on (an export run does, saying so).
    public func exported(_ event: ExportEvent) throws {
        var entry = entry(.export)
        entry.export = ExportJournalEvent(event)
        append(entry)
        switch event {
        case .requested, .completed: try sync()
        default: break
        }
    }

    /// The end of an export run: `completed` (caught up, `--once`, `--until-lag`), `interrupted` or `failed`.
    public func exportEnded(_ outcome: String, error: (any Error)?) throws {
        try ended(outcome, error: error)
    }
}
