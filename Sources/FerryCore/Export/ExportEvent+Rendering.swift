import AWSClient
import ExportReader
import Foundation

/// `ferry export`'s progress, one line per event: readable text on a terminal, a JSON object per line otherwise (as
/// `apply` does). Times are the service's; nothing here holds item data or credentials.
extension ExportEvent {
    public var text: String {
        switch self {
        case .pitrEnabled:
            return "point-in-time recovery turned on; the first export can be taken once its window has started"
        case let .requested(kind, from, to, arn, status):
            return "requested \(Self.window(kind, from, to)): \(arn) (\(status))"
        case let .completed(kind, from, to, export):
            var parts = ["exported \(Self.window(kind, from, to)): \(export.ExportArn)"]
            if let items = export.ItemCount { parts.append("\(items) items") }
            if let billed = export.BilledSizeBytes { parts.append("\(billed) bytes billed") }
            if let seconds = Self.seconds(export) { parts.append("took \(Self.duration(seconds))") }
            return parts.joined(separator: ", ")
        case .waiting(let arns):
            return "waiting for \(arns.count) export\(arns.count == 1 ? "" : "s") to complete: "
                + arns.map { $0.split(separator: "/").last.map(String.init) ?? $0 }.joined(separator: ", ")
        case let .caughtUp(end, next, latest):
            return
                "caught up: the chain ends at \(end), \(Self.duration(Double(latest.epochMilliseconds - end.epochMilliseconds) / 1000)) "
                + "behind the latest restorable time \(latest); the next window is due when that reaches \(next)"
        case let .deferred(code, message, attempt):
            return "the service would not start the export yet (\(code)\(message.isEmpty ? "" : ": " + message)); "
                + "asking again (attempt \(attempt))"
        }
    }

    public var jsonLine: String {
        var object: [String: Any] = [:]
        switch self {
        case .pitrEnabled:
            object["event"] = "pitrEnabled"
        case let .requested(kind, from, to, arn, status):
            object = ["event": "requested", "kind": kind.rawValue, "to": to.text, "exportArn": arn, "status": status]
            if let from { object["from"] = from.text }
        case let .completed(kind, from, to, export):
            object = ["event": "completed", "kind": kind.rawValue, "to": to.text, "exportArn": export.ExportArn]
            if let from { object["from"] = from.text }
            if let items = export.ItemCount { object["itemCount"] = items }
            if let billed = export.BilledSizeBytes { object["billedSizeBytes"] = billed }
            if let seconds = Self.seconds(export) { object["seconds"] = seconds }
        case .waiting(let arns):
            object = ["event": "waiting", "exportArns": arns]
        case let .caughtUp(end, next, latest):
            object = [
                "event": "caughtUp", "chainEnd": end.text, "nextDue": next.text, "latestRestorable": latest.text,
                "lagSeconds": Double(latest.epochMilliseconds - end.epochMilliseconds) / 1000,
            ]
        case let .deferred(code, message, attempt):
            object = ["event": "deferred", "code": code, "message": message, "attempt": attempt]
        }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    static func window(_ kind: ExportKind, _ from: ExportTime?, _ to: ExportTime) -> String {
        if kind == .full { return "FULL export at \(to)" }
        return "INCREMENTAL [\(from.map(\.text) ?? "?"), \(to))"
    }

    /// The export's own running time, from the service's start and end times.
    static func seconds(_ export: ExportDescription) -> Double? {
        guard let start = export.StartTime, let end = export.EndTime else { return nil }
        return Double(end.value - start.value) / 1000
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 120 ? String(format: "%.0f s", seconds) : String(format: "%.1f min", seconds / 60)
    }
}
