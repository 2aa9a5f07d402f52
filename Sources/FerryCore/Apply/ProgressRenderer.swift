import ExportReader
import Foundation
import Synchronization

/// How `apply`'s progress and its final summary look, in one place: the command only decides where the text goes.
/// On a terminal each event redraws one status line (a finished window, a catch-up or a wait ends it with a
/// newline); otherwise each event is a JSON line, with ticks at most one per `tickInterval` so logs stay readable.
/// Time comes in as an argument, so what is shown when is tested without a clock.
public final class ProgressRenderer: Sendable {
    public enum Mode: Sendable { case terminal, jsonLines }

    public let mode: Mode
    public let tickInterval: Duration
    private let lastTick: Mutex<ContinuousClock.Instant?>

    public init(mode: Mode, tickInterval: Duration = .seconds(10)) {
        self.mode = mode
        self.tickInterval = tickInterval
        lastTick = Mutex(nil)
    }

    /// The text to write to stderr for `event` at `now`, or nil when it is not shown (a tick too soon after the last).
    public func render(_ event: ApplyProgress, at now: ContinuousClock.Instant) -> String? {
        switch mode {
        case .terminal:
            let ends = event.event == .windowDone || event.event == .caughtUp || event.event == .waiting
            return "\r\u{1B}[K" + event.line + (ends ? "\n" : "")
        case .jsonLines:
            if event.event == .tick {
                let due = lastTick.withLock { last in
                    // The first tick is measured from the first event shown, as a run starts with one.
                    if let shown = last, now - shown < tickInterval { return false }
                    last = now
                    return true
                }
                guard due else { return nil }
            } else {
                lastTick.withLock { last in if last == nil { last = now } }
            }
            return event.json + "\n"
        }
    }

    /// The summary `apply` prints on stdout at the end: what it did and how long it took, then the point in time the
    /// target has reached and how far behind `nowMilliseconds` (wall time, epoch ms) that is — a DR rehearsal's RTO
    /// and RPO.
    public static func summary(
        _ report: ApplyEngine.Report,
        plan: Plan,
        elapsed: Duration,
        nowMilliseconds: Int64
    ) -> [String] {
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let windows = "\(report.windowsApplied) window\(report.windowsApplied == 1 ? "" : "s")"
        var lines = [
            "applied \(windows) to \(plan.target.table): \(report.itemsApplied) items in total, \(report.rejects) rejects, "
                + "\(report.throttles) throttles, \(report.unprocessedRetries) unprocessed retries, \(String(format: "%.1f", seconds)) sec"
        ]
        let through = report.appliedThrough ?? plan.totals.end
        if let time = ExportTime(through) {
            let lag = Double(nowMilliseconds - time.epochMilliseconds) / 1000
            lines.append("the target is at \(through), \(PlanSummary.durationText(max(0, lag))) before now")
        } else {
            lines.append("the target is at \(through)")
        }
        return lines
    }
}
