import ExportReader
import Foundation

/// What a migration or a DR rehearsal did, from its plan, its checkpoint and its run record (`RunJournal`), with
/// nothing else: how long recovery took (RTO) and where the time went, how stale the target is (RPO), each window's
/// figures, and the throughput against the budget over time. `build` is pure (time comes in as arguments);
/// `RunReportHTML` renders it as one self-contained page.
public struct RunReport: Sendable, Codable, Hashable {
    public var reportVersion = 3
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
    /// The lag behind the source over the run (the RPO as it went), each data file's timings, and the throttles by
    /// reason (`RunReport+Series.swift`).
    public var lag: [LagSample]
    public var files: [FileTiming]
    public var throttleReasons: [ThrottleReason]
    /// The exports `ferry export` / `migrate` recorded making (their service times and sizes).
    public var exports: [ExportRow]
    public var totals: Totals
    /// The proof: the last `diff`'s verdict, whether it covers what is applied now, and the rejects.
    public var verification: Verification
    /// Source and target tables' settings compared (`ferry report --compare-settings`); nil when not asked for.
    public var settings: SettingsDrift?

    public struct Run: Sendable, Codable, Hashable {
        public var id: String
        /// `apply`, `diff`, `export`, … (nil in journals written before commands were recorded: an apply).
        public var command: String?
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
        /// When the target was verified (the end of the passing diff that covers the applied position); RTO runs to
        /// it when there is one.
        public var verifiedAt: Int64?
        /// Where the time went.
        public var phases: [Phase]
        /// When a ferry run recorded here (`ferry migrate`, `ferry export --journal`) requested the FULL export the
        /// plan starts from, before the first write: a recovery that must make its FULL export first takes that
        /// long more. Nil when the journal does not show it (the export made elsewhere, or before the journal).
        public var fullExportRequestedAt: Int64?
        /// From that request to the end of the RTO (caught up, and verified when a diff passed after).
        public var wallSecondsFromFullExport: Double?
    }

    /// A share of the RTO: `waiting for exports`, `FULL bootstrap`, `incremental windows`, `verification (diff)`,
    /// `stopped`.
    public struct Phase: Sendable, Codable, Hashable {
        public var name: String
        public var seconds: Double
    }

    public struct Verification: Sendable, Codable, Hashable {
        public enum Status: String, Sendable, Codable, Hashable {
            /// The last diff found the target equal to the expected state at the position applied now.
            case matches
            /// The last diff found differences.
            case differs
            /// The last diff matched, but more has been applied since (or it compared another position).
            case stale
            /// The last diff did not finish.
            case failed
            case notVerified = "not verified"
        }

        public var status: Status
        /// True only when the status is `matches` and nothing was rejected: what `ferry report --exit-code` checks.
        public var passed: Bool
        /// One sentence for people.
        public var summary: String
        /// When the last diff ended, and its verdict.
        public var at: Int64?
        public var diff: RunJournal.Verdict?
        public var rejects: Int64
        /// Where the rejected records are, when there are any.
        public var rejectsFile: String?
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
        /// What its files wrote and the write units DynamoDB reported for them, as its `windowDone` said (absent
        /// for a window not done, or done by a version that did not record them).
        public var puts: Int64?
        public var deletes: Int64?
        public var writeUnits: Double?
    }

    /// One progress tick: items/s and throttles/s since the previous tick of the same run, WCU/s consumed and the
    /// budget.
    public struct Sample: Sendable, Codable, Hashable {
        public var at: Int64
        public var itemsPerSecond: Double
        public var writeUnitsPerSecond: Double
        public var writeBudget: Double
        public var throttlesPerSecond: Double
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
    /// `now` (both epoch milliseconds). `rejectsFile`: where `apply` put rejected records.
    public static func build(
        plan: Plan,
        checkpoint: Checkpoint?,
        journal: [RunJournal.Entry],
        asOf: Int64,
        now: Int64,
        rejectsFile: String? = nil
    ) -> RunReport {
        let chain = plan.chain(with: checkpoint)
        let windowsDone = checkpoint?.windowsDone ?? 0

        // Runs, in the order they started.
        var runs: [Run] = []
        var index: [String: Int] = [:]
        for entry in journal {
            if index[entry.run] == nil {
                index[entry.run] = runs.count
                runs.append(
                    Run(
                        id: entry.run,
                        command: entry.command,
                        startedAt: entry.at,
                        lastSeenAt: entry.at,
                        outcome: "crashed"
                    )
                )
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
        var figures: [Int: ApplyProgress.WindowFigures] = [:]
        var samples: [Sample] = []
        var lastTick: [String: (at: Int64, items: Int64, throttles: Int)] = [:]
        var throttles = 0
        var retries = 0
        for entry in journal where entry.kind == .progress {
            guard let progress = entry.progress else { continue }
            switch progress.event {
            case .windowStarted: started[progress.window] = started[progress.window] ?? entry.at
            case .windowDone:
                done[progress.window] = entry.at
                figures[progress.window] = progress.windowFigures
            case .tick:
                if let last = lastTick[entry.run], entry.at > last.at {
                    let seconds = Double(entry.at - last.at) / 1000
                    samples.append(
                        Sample(
                            at: entry.at,
                            itemsPerSecond: Double(progress.itemsApplied - last.items) / seconds,
                            writeUnitsPerSecond: progress.writeUnitsPerSecond,
                            writeBudget: progress.writeBudget,
                            throttlesPerSecond: Double(max(0, progress.throttles - last.throttles)) / seconds
                        )
                    )
                }
                lastTick[entry.run] = (entry.at, progress.itemsApplied, progress.throttles)
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
                applied: window.index < windowsDone,
                puts: end == nil ? nil : figures[number]?.puts,
                deletes: end == nil ? nil : figures[number]?.deletes,
                writeUnits: end == nil ? nil : figures[number]?.writeUnits
            )
        }

        let verification = Self.verification(
            journal: journal,
            runs: runs,
            checkpoint: checkpoint,
            windows: chain.windows.count,
            rejectsFile: rejectsFile
        )
        // RTO starts with the first run that writes (a dry-run diff before it does not count, nor making the
        // exports, which runs beside the apply) and ends when the target was caught up — and verified, when a
        // passing diff came after.
        let writing = runs.filter { $0.command != "diff" && $0.command != "export" }
        let firstStart = writing.first?.startedAt
        let caughtUp = windowsDone == chain.windows.count && !chain.windows.isEmpty ? done[chain.windows.count] : nil
        let verifiedAt = verification.passed ? verification.at.flatMap { at in caughtUp.map { max($0, at) } } : nil
        let end = verifiedAt ?? caughtUp
        let counted = runs.filter { run in
            run.command != "export" && firstStart.map { run.startedAt >= $0 } == true
                && end.map { run.startedAt <= $0 } ?? true
        }
        var stopped = 0.0
        for (earlier, later) in zip(counted, counted.dropFirst()) {
            stopped += Double(max(0, later.startedAt - earlier.lastSeenAt)) / 1000
        }
        let wall = firstStart.flatMap { s in end.map { Double($0 - s) / 1000 } }
        let through = checkpoint?.appliedThrough
        let lag = through.flatMap { ExportTime($0) }.map { Double(asOf - $0.epochMilliseconds) / 1000 }
        var phases = [
            Phase(name: "waiting for exports", seconds: Self.waitingSeconds(journal)),
            Phase(name: "FULL bootstrap", seconds: windows.first?.seconds ?? 0),
            Phase(name: "incremental windows", seconds: windows.dropFirst().compactMap(\.seconds).reduce(0, +)),
        ]
        if verifiedAt != nil, let diff = verification.diff {
            phases.append(Phase(name: "verification (diff)", seconds: diff.seconds))
        }
        phases.append(Phase(name: "stopped", seconds: stopped))
        let exports = Self.exports(journal, applied: Set(chain.windows.prefix(windowsDone).map(\.exportArn)))
        let fullRequested = exports.first { $0.exportArn == chain.windows.first?.exportArn }?.requestedAt
            .flatMap { at in firstStart.map { at <= $0 } == true ? at : nil }

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
                runningSeconds: wall.map { $0 - stopped },
                verifiedAt: verifiedAt,
                phases: phases,
                fullExportRequestedAt: fullRequested,
                wallSecondsFromFullExport: fullRequested.flatMap { at in end.map { Double($0 - at) / 1000 } }
            ),
            rpo: RPO(appliedThrough: through, lagSeconds: lag),
            windows: windows,
            throughput: samples,
            lag: Self.lagSeries(journal, asOf: asOf),
            files: Self.fileTimings(journal),
            throttleReasons: Self.throttleReasons(journal),
            exports: exports,
            totals: Totals(
                windows: chain.windows.count,
                windowsApplied: windowsDone,
                records: chain.totals.items,
                itemsApplied: checkpoint?.itemsApplied ?? 0,
                rejects: checkpoint?.rejects ?? 0,
                throttles: throttles,
                retries: retries
            ),
            verification: verification
        )
    }

    /// The last diff's verdict against what is applied now.
    static func verification(
        journal: [RunJournal.Entry],
        runs: [Run],
        checkpoint: Checkpoint?,
        windows: Int,
        rejectsFile: String?
    ) -> Verification {
        let rejects = checkpoint?.rejects ?? 0
        var result = Verification(
            status: .notVerified,
            passed: false,
            summary: "not verified: run `ferry diff PLAN --exit-code` after the apply to verify the target",
            rejects: rejects,
            rejectsFile: rejects > 0 ? rejectsFile : nil
        )
        guard let last = runs.last(where: { $0.command == "diff" }) else { return result }
        result.at = last.lastSeenAt
        guard let verdict = journal.last(where: { $0.run == last.id && $0.kind == .verified })?.diff else {
            result.status = .failed
            result.summary =
                last.outcome == "crashed"
                ? "the last diff did not finish (run \(last.id))"
                : "the last diff failed: \(last.error ?? last.outcome)"
            return result
        }
        result.diff = verdict
        let counts = verdict.counts
        let applied = checkpoint?.appliedThrough ?? "nothing"
        if verdict.differs {
            result.status = .differs
            result.summary =
                "the target differs from the expected state through \(verdict.expectedThrough) (\(verdict.position)): "
                + "\(counts.differences) keys — \(counts.wouldPut) missing, \(counts.wouldOverwrite) different, "
                + "\(counts.wouldDelete) not deleted, \(counts.extra) extra"
        } else if verdict.expectedThrough != checkpoint?.appliedThrough
            || verdict.windowsCompared != (checkpoint?.windowsDone ?? 0)
            || verdict.partialWindowFiles != (checkpoint?.filesDone.count ?? 0)
        {
            result.status = .stale
            result.summary =
                "the last diff matched through \(verdict.expectedThrough) (\(verdict.windowsCompared) windows), "
                + "but the target is applied through \(applied) (\(checkpoint?.windowsDone ?? 0) of \(windows) windows): "
                + "run `ferry diff PLAN --exit-code` again"
        } else {
            result.status = .matches
            result.summary =
                "the target matches the expected state through \(verdict.expectedThrough): "
                + "\(counts.unchanged) items equal, \(verdict.itemsScanned) scanned"
        }
        if rejects > 0 {
            result.summary += "; \(rejects) records were rejected" + (rejectsFile.map { " (in \($0))" } ?? "")
        }
        result.passed = result.status == .matches && rejects == 0
        return result
    }

    /// Time `apply --follow` spent waiting for the next export: from a `waiting` snapshot to the next window's start
    /// (or the run's last entry), per run.
    static func waitingSeconds(_ journal: [RunJournal.Entry]) -> Double {
        var since: [String: Int64] = [:]
        var total: Int64 = 0
        for entry in journal {
            if entry.progress?.event == .waiting {
                if since[entry.run] == nil { since[entry.run] = entry.at }
            } else if entry.progress?.event == .windowStarted || entry.kind == .runEnded,
                let start = since.removeValue(forKey: entry.run)
            {
                total += entry.at - start
            }
        }
        return Double(total) / 1000
    }

    public var json: Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(self)) ?? Data("{}".utf8)
    }
}
