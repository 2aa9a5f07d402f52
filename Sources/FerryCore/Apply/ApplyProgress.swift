import Foundation

/// What `apply` reports as it goes: one event per window start, data file and window end. On a terminal the CLI
/// turns them into a status line; otherwise it writes them as JSON lines on stderr.
public struct ApplyProgress: Sendable, Codable, Hashable {
    public enum Event: String, Sendable, Codable { case windowStarted, fileDone, windowDone }

    public var event: Event
    /// 1-based window number and the plan's window count.
    public var window: Int
    public var windows: Int
    public var exportId: String
    public var file: String?
    /// Items written so far, all windows, and the plan's total records.
    public var itemsApplied: Int64
    public var itemsTotal: Int64
    public var rejects: Int64
    public var elapsedSeconds: Double

    /// Items per second so far.
    public var itemsPerSecond: Double { elapsedSeconds > 0 ? Double(itemsApplied) / elapsedSeconds : 0 }

    /// A one-line human rendering: window k/n, items/s, remaining time at the current pace.
    public var line: String {
        let rate = itemsPerSecond
        let remaining = rate > 0 ? PlanSummary.durationText(Double(max(0, itemsTotal - itemsApplied)) / rate) : "?"
        return "window \(window)/\(windows) \(exportId)  \(itemsApplied)/\(itemsTotal) items  \(Int(rate)) items/s  \(rejects) rejects  ETA \(remaining)"
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}
