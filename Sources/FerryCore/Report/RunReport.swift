import ExportReader
import Foundation

/// What a migration or a DR rehearsal did, from its plan, its checkpoint and its run record (`RunJournal`), with
/// nothing else: how long recovery took (RTO) and where the time went, how stale the target is (RPO), each window's
/// figures, and the throughput against the budget over time. `build` is pure (time comes in as arguments);
/// `RunReportHTML` renders it as one self-contained page.
public struct RunReport: Sendable, Codable, Hashable {
    public var reportVersion = 1
    public var planId: String
    public var source: String
    public var target: String
    /// Wall time the report was made at, and the time the RPO is measured against (epoch milliseconds).
    public var generatedAt: Int64
    public var asOf: Int64
    public var runs: [Run]
    public var rto: RTO
    public var rpo: RPO
    public var windows: [Window]
    public var throughput: [Sample]
    public var totals: Totals
    /// Not yet recorded by `diff` into the journal: the report says so rather than guessing.
    public var verification: String

    public struct Run: Sendable, Codable, Hashable {
        public var id: String
        public var startedAt: Int64
        /// The last entry of the run (its end, or the last thing it recorded before a crash).
        public var lastSeenAt: Int64
        /// `completed`, `interrupted`, `failed`, or `crashed` (no end recorded: killed, or still running).
        public var outcome: String
        public var error: String?
    }

    public struct RTO: Sendable, Codable, Hashable {
        /// From the first run's start to the last window applied (nil while not caught up).
        public var firstStartAt: Int64?
        public var caughtUpAt: Int64?
        public var wallSeconds: Double?
        /// Time between runs (stopped, crashed, waiting for a resume), and time running.
        public var stoppedSeconds: Double
        public var runningSeconds: Double?
    }

    public struct RPO: Sendable, Codable, Hashable {
        /// The point in time the target has reached (the end of the last window applied).
        public var appliedThrough: String?
        /// `asOf` minus that point, in seconds.
        public var lagSeconds: Double?
    }

    public struct Window: Sendable, Codable, Hashable {
        /// 1-based, as progress shows it.
        public var number: Int
        public var exportId: String
        public var kind: String
        public var from: String?
        public var to: String
        public var records: Int64
        public var files: Int
        public var compressedBytes: Int64
        public var startedAt: Int64?
        public var doneAt: Int64?
        public var seconds: Double?
        public var applied: Bool
    }

    /// One progress tick: items/s since the previous tick of the same run, WCU/s consumed and the budget.
    public struct Sample: Sendable, Codable, Hashable {
        public var at: Int64
        public var itemsPerSecond: Double
        public var writeUnitsPerSecond: Double
        public var writeBudget: Double
    }

    public struct Totals: Sendable, Codable, Hashable {
        public var windows: Int
        public var windowsApplied: Int
        public var records: Int64
        public var itemsApplied: Int64
        public var rejects: Int64
        public var throttles: Int
        public var retries: Int
    }

    /// The report of `plan` from its checkpoint (nil: nothing applied yet) and journal entries, as of `asOf`, made at
    /// `now` (both epoch milliseconds).
    public static func build(
        plan: Plan,
        checkpoint: Checkpoint?,
        journal: [RunJournal.Entry],
        asOf: Int64,
        now: Int64
    ) -> RunReport {
        let chain = plan.chain(with: checkpoint)
        let windowsDone = checkpoint?.windowsDone ?? 0

        // Runs, in the order they started.
        var runs: [Run] = []
        var index: [String: Int] = [:]
        for entry in journal {
            if index[entry.run] == nil {
                index[entry.run] = runs.count
                runs.append(Run(id: entry.run, startedAt: entry.at, lastSeenAt: entry.at, outcome: "crashed"))
            }
            let i = index[entry.run]!
            runs[i].lastSeenAt = max(runs[i].lastSeenAt, entry.at)
            if entry.kind == .runEnded {
                runs[i].outcome = entry.outcome ?? "crashed"
                runs[i].error = entry.error
            }
        }

        // Windows: the first start and the last completion seen for each.
        var started: [Int: Int64] = [:]
        var done: [Int: Int64] = [:]
        var samples: [Sample] = []
        var lastTick: [String: (at: Int64, items: Int64)] = [:]
        var throttles = 0
        var retries = 0
        for entry in journal where entry.kind == .progress {
            guard let progress = entry.progress else { continue }
            switch progress.event {
            case .windowStarted: started[progress.window] = started[progress.window] ?? entry.at
            case .windowDone: done[progress.window] = entry.at
            case .tick:
                if let last = lastTick[entry.run], entry.at > last.at {
                    samples.append(
                        Sample(
                            at: entry.at,
                            itemsPerSecond: Double(progress.itemsApplied - last.items) * 1000
                                / Double(entry.at - last.at),
                            writeUnitsPerSecond: progress.writeUnitsPerSecond,
                            writeBudget: progress.writeBudget
                        )
                    )
                }
                lastTick[entry.run] = (entry.at, progress.itemsApplied)
            default: break
            }
        }
        // Throttles and retries are counted per run: the last figure each run reported, summed.
        var lastCounts: [String: (throttles: Int, retries: Int)] = [:]
        for entry in journal {
            if let progress = entry.progress {
                lastCounts[entry.run] = (progress.throttles, progress.retries)
            } else if entry.kind == .runEnded {
                lastCounts[entry.run] = (entry.throttles ?? 0, entry.retries ?? 0)
            }
        }
        for counts in lastCounts.values {
            throttles += counts.throttles
            retries += counts.retries
        }

        let windows = chain.windows.map { window -> Window in
            let number = window.index + 1
            let start = started[number]
            let end = window.index < windowsDone ? done[number] : nil
            return Window(
                number: number,
                exportId: window.exportId,
                kind: window.kind.rawValue,
                from: window.from,
                to: window.to,
                records: window.itemCount,
                files: window.files.count,
                compressedBytes: window.compressedBytes,
                startedAt: start,
                doneAt: end,
                seconds: start.flatMap { s in end.map { Double($0 - s) / 1000 } },
                applied: window.index < windowsDone
            )
        }

        let firstStart = runs.first?.startedAt
        let caughtUp = windowsDone == chain.windows.count && !chain.windows.isEmpty ? done[chain.windows.count] : nil
        var stopped = 0.0
        for (earlier, later) in zip(runs, runs.dropFirst()) {
            stopped += Double(max(0, later.startedAt - earlier.lastSeenAt)) / 1000
        }
        let wall = firstStart.flatMap { s in caughtUp.map { Double($0 - s) / 1000 } }
        let through = checkpoint?.appliedThrough
        let lag = through.flatMap { ExportTime($0) }.map { Double(asOf - $0.epochMilliseconds) / 1000 }

        return RunReport(
            planId: plan.planId,
            source: plan.source.location,
            target: plan.target.table + (plan.target.region.map { " (\($0))" } ?? ""),
            generatedAt: now,
            asOf: asOf,
            runs: runs,
            rto: RTO(
                firstStartAt: firstStart,
                caughtUpAt: caughtUp,
                wallSeconds: wall,
                stoppedSeconds: stopped,
                runningSeconds: wall.map { $0 - stopped }
            ),
            rpo: RPO(appliedThrough: through, lagSeconds: lag),
            windows: windows,
            throughput: samples,
            totals: Totals(
                windows: chain.windows.count,
                windowsApplied: windowsDone,
                records: chain.totals.items,
                itemsApplied: checkpoint?.itemsApplied ?? 0,
                rejects: checkpoint?.rejects ?? 0,
                throttles: throttles,
                retries: retries
            ),
            verification: "not recorded: run `ferry diff PLAN --exit-code` to verify the target"
        )
    }

    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
