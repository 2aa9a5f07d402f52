import ExportReader
import Foundation

/// The human summary of a plan: what a user needs to say yes.
public enum PlanSummary {
    public static func text(_ plan: Plan, path: String?, targetNote: String?) -> String {
        let incrementals = plan.windows.count - 1
        var lines: [String] = []
        lines.append("Plan \(plan.planId.prefix(19))…\(path.map { " written to \($0)" } ?? "")")
        lines.append("  source   \(plan.source.location)  (table \(plan.sourceTable.tableArn))")
        lines.append("  target   \(plan.target.table)\(plan.target.region.map { " in \($0)" } ?? "")")
        lines.append(
            "  chain    FULL export \(plan.windows[0].exportId) at \(plan.totals.start)"
                + (incrementals > 0
                    ? " + \(incrementals) INCREMENTAL window\(incrementals == 1 ? "" : "s") to \(plan.totals.end)" : "")
        )
        lines.append(
            "  covers   \(duration(from: plan.totals.start, to: plan.totals.end)) of changes; the target reaches \(plan.totals.end)\(plan.until.map { " (cut at --until \($0))" } ?? "")"
        )
        lines.append(
            "  data     \(plan.totals.items) records in \(plan.totals.files) files, \(bytes(plan.totals.compressedBytes)) compressed"
        )
        let formats = Set(plan.windows.map(\.format.rawValue)).sorted().joined(separator: ", ")
        lines.append(
            "  format   \(formats)\(plan.windows.contains { $0.viewType != nil } ? "; view \(Set(plan.windows.compactMap { $0.viewType?.rawValue }).sorted().joined(separator: ", "))" : "")"
        )
        lines.append(
            "  throttle \(number(plan.throttle.writePercent)) % of the target's write capacity, \(number(plan.throttle.readPercent)) % of its read capacity for diff"
                + (plan.throttle.maxWriteUnits.map { ", at most \($0) write units/s" } ?? "")
        )
        let accepted = plan.windows.reduce(0) { $0 + ($1.acceptedManifestMismatches?.count ?? 0) }
        if plan.source.acceptManifestChecksumMismatch == true {
            lines.append(
                "  checks   manifest .md5 mismatches accepted (--accept-manifest-checksum-mismatch): \(accepted) manifest\(accepted == 1 ? "" : "s") so far; data files always checked"
            )
        }
        if let targetNote { lines.append("  estimate \(targetNote)") }
        return lines.joined(separator: "\n")
    }

    /// A lower bound for the write: every record costs at least one write unit.
    public static func estimate(_ plan: Plan, writeCapacity: Double?) -> String {
        let units = plan.totals.items
        guard let writeCapacity, writeCapacity > 0 else { return "at least \(units) write units" }
        let budget = writeCapacity * plan.throttle.writePercent / 100
        let seconds = Double(units) / budget
        return
            "at least \(units) write units; at \(number(plan.throttle.writePercent)) % of \(number(writeCapacity)) WCU (\(number(budget))/s) that is at least \(durationText(seconds))"
    }

    static func number(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }

    static func bytes(_ count: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(count)
        var unit = 0
        while value >= 1000 && unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(count) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(from: String, to: String) -> String {
        guard let a = ExportTime(from), let b = ExportTime(to) else { return "?" }
        return durationText(Double(b.epochMilliseconds - a.epochMilliseconds) / 1000)
    }

    public static func durationText(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s) s" }
        if s < 3600 { return "\(s / 60) min \(s % 60) s" }
        if s < 86400 { return "\(s / 3600) h \(s % 3600 / 60) min" }
        return "\(s / 86400) d \(s % 86400 / 3600) h"
    }
}

/// What `ferry status` reports. Until `apply` writes checkpoints, a plan is reported as not started.
public struct PlanStatus: Sendable, Codable, Hashable {
    public var planId: String
    public var windows: Int
    public var windowsDone: Int
    public var itemsApplied: Int64
    /// Records rejected over the whole chain, every run counted (the checkpoint keeps the total).
    public var rejects: Int64
    /// The rejects file, when there are rejects.
    public var rejectsFile: String?
    public var checkpoint: String
    public var started: Bool
    /// The end of the last applied window; nil before the first.
    public var appliedThrough: String?
    /// Seconds between now and `appliedThrough`; nil before the first window.
    public var lagSeconds: Double?
    public var planEnd: String
    public var currentWindow: CurrentWindow?

    /// The status of `plan` from its checkpoint (nil: not started). `now` is epoch milliseconds, for the lag.
    public static func make(_ plan: Plan, checkpoint: Checkpoint?, path: String, now: Int64) -> PlanStatus {
        let plan = plan.chain(with: checkpoint)
        guard let checkpoint else {
            return PlanStatus(
                planId: plan.planId,
                windows: plan.windows.count,
                windowsDone: 0,
                itemsApplied: 0,
                rejects: 0,
                checkpoint: path,
                started: false,
                appliedThrough: nil,
                lagSeconds: nil,
                planEnd: plan.totals.end,
                currentWindow: nil
            )
        }
        let lag = checkpoint.appliedThrough.flatMap(ExportTime.init).map { Double(now - $0.epochMilliseconds) / 1000 }
        var current: CurrentWindow?
        if checkpoint.windowsDone < plan.windows.count,
            checkpoint.currentWindowItems > 0 || !checkpoint.filesDone.isEmpty
        {
            let window = plan.windows[checkpoint.windowsDone]
            current = CurrentWindow(
                index: window.index,
                exportId: window.exportId,
                filesDone: checkpoint.filesDone.count,
                files: window.files.count,
                itemsApplied: checkpoint.currentWindowItems,
                items: window.itemCount
            )
        }
        return PlanStatus(
            planId: plan.planId,
            windows: plan.windows.count,
            windowsDone: checkpoint.windowsDone,
            itemsApplied: checkpoint.itemsApplied,
            rejects: checkpoint.rejects,
            checkpoint: path,
            started: true,
            appliedThrough: checkpoint.appliedThrough,
            lagSeconds: lag,
            planEnd: plan.totals.end,
            currentWindow: current
        )
    }

    /// Progress inside the window being applied.
    public struct CurrentWindow: Sendable, Codable, Hashable {
        public var index: Int
        public var exportId: String
        public var filesDone: Int
        public var files: Int
        public var itemsApplied: Int64
        public var items: Int64
    }

    public var text: String {
        var lines = [
            "Plan \(planId.prefix(19))…: \(windowsDone) of \(windows) windows applied, \(itemsApplied) items, \(rejects) rejects"
        ]
        if rejects > 0, let rejectsFile {
            lines.append(
                "  \(rejects) records rejected over the whole chain, with file, line and reason in \(rejectsFile)"
            )
        }
        if let current = currentWindow {
            lines.append(
                "  window \(current.index) (\(current.exportId)) in progress: \(current.filesDone)/\(current.files) files, \(current.itemsApplied)/\(current.items) records"
            )
        }
        if started, let appliedThrough, let lagSeconds {
            lines.append("  the target is at \(appliedThrough); lag \(PlanSummary.durationText(lagSeconds))")
        } else if started {
            lines.append("  the FULL export is being applied; no window is complete yet")
        } else {
            lines.append("  not started: no checkpoint at \(checkpoint)")
        }
        lines.append("  the plan ends at \(planEnd)")
        return lines.joined(separator: "\n")
    }
}

/// A duration on the command line: `90`, `90s`, `15m`, `2h`, `1d`, or a sum such as `1h30m`.
public struct DurationArgument: Sendable, Hashable {
    public var seconds: Double

    public init?(_ text: String) {
        let text = text.lowercased()
        if let plain = Double(text), plain >= 0, plain.isFinite {
            seconds = plain
            return
        }
        var total = 0.0
        var number = ""
        var sawUnit = false
        for character in text {
            if character.isNumber || character == "." {
                number.append(character)
                continue
            }
            let unit: Double
            switch character {
            case "s": unit = 1
            case "m": unit = 60
            case "h": unit = 3600
            case "d": unit = 86400
            default: return nil
            }
            guard let value = Double(number), value.isFinite else { return nil }
            total += value * unit
            number = ""
            sawUnit = true
        }
        guard sawUnit, number.isEmpty else { return nil }
        seconds = total
    }
}
