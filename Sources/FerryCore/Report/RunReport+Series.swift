import ExportReader
import Foundation

/// The report's figures over time and per file, from the run record: the lag (RPO) as the run went, each data file's
/// timings, and the throttles by the reason DynamoDB gave.
extension RunReport {
    /// How far behind the source the target was at a moment of the run: that moment (or `--as-of`, when earlier)
    /// minus the end of the last window applied by then. In a live migration it grows while a window is written and
    /// drops when one is done (a saw-tooth); in a rehearsal of a past point (`--as-of` before the run) it is the
    /// distance still to that point, stepping down to the RPO.
    public struct LagSample: Sendable, Codable, Hashable {
        public var at: Int64
        public var lagSeconds: Double
    }

    /// One data file as its `fileDone` recorded it (the last time, when a crash made a run apply it again).
    public struct FileTiming: Sendable, Codable, Hashable {
        /// 1-based window number, as the windows table shows it.
        public var window: Int
        public var file: String
        public var doneAt: Int64
        /// From the file being opened to its last write acknowledged, and of that, verifying it (download, MD5,
        /// gzip, item count) before anything of it was written.
        public var seconds: Double
        public var verifySeconds: Double?
        public var puts: Int64
        public var deletes: Int64
        public var rejects: Int64
        public var writeUnits: Double
    }

    public struct ThrottleReason: Sendable, Codable, Hashable {
        public var reason: String
        public var count: Int
    }

    /// The lag at every checkpoint and progress entry after the first window was done, oldest first, measured at
    /// the entry's time or `asOf`, whichever is earlier, against the position applied by then (the last checkpoint
    /// entry before it, of any run). A `caughtUp` or `waiting` snapshot before `asOf` carries the lag the run
    /// measured itself (against the source service's clock, under `migrate`).
    static func lagSeries(_ journal: [RunJournal.Entry], asOf: Int64) -> [LagSample] {
        var through: Int64?
        var samples: [LagSample] = []
        for entry in journal.sorted(by: { $0.at < $1.at }) {
            if entry.kind == .checkpoint, let applied = entry.appliedThrough.flatMap(ExportTime.init) {
                through = applied.epochMilliseconds
            }
            if let measured = entry.progress?.lagSeconds, entry.at <= asOf {
                samples.append(LagSample(at: entry.at, lagSeconds: measured))
            } else if let through, entry.kind == .checkpoint || entry.kind == .progress {
                let lag = min(entry.at, asOf) - through
                samples.append(LagSample(at: entry.at, lagSeconds: Double(max(0, lag)) / 1000))
            }
        }
        return samples
    }

    /// Every data file's last `fileDone`, in the order they were done.
    static func fileTimings(_ journal: [RunJournal.Entry]) -> [FileTiming] {
        var timings: [FileTiming] = []
        var index: [String: Int] = [:]
        for entry in journal {
            guard let progress = entry.progress, progress.event == .fileDone, let file = progress.file,
                let figures = progress.fileFigures
            else { continue }
            let timing = FileTiming(
                window: progress.window,
                file: file,
                doneAt: entry.at,
                seconds: figures.seconds,
                verifySeconds: figures.verifySeconds,
                puts: figures.puts,
                deletes: figures.deletes,
                rejects: figures.rejects,
                writeUnits: figures.writeUnits
            )
            // Keys as bytes: two exports' files never share a key, and names that differ only in normalisation
            // are different objects.
            let id = "\(progress.window)/" + file.utf8.map { String($0, radix: 16) }.joined()
            if let at = index[id] {
                timings[at] = timing
            } else {
                index[id] = timings.count
                timings.append(timing)
            }
        }
        return timings
    }

    /// The throttles of all runs by reason: each run's last figures, summed; most frequent first.
    static func throttleReasons(_ journal: [RunJournal.Entry]) -> [ThrottleReason] {
        var last: [String: [String: Int]] = [:]
        for entry in journal {
            if let reasons = entry.progress?.throttleReasons { last[entry.run] = reasons }
        }
        var total: [String: Int] = [:]
        for reasons in last.values { total.merge(reasons, uniquingKeysWith: +) }
        return total.map { ThrottleReason(reason: $0.key, count: $0.value) }
            .sorted {
                $0.count != $1.count ? $0.count > $1.count : $0.reason.utf8.lexicographicallyPrecedes($1.reason.utf8)
            }
    }

    /// An export the run record saw requested or completed (`ferry export --journal`, `ferry migrate`).
    public struct ExportRow: Sendable, Codable, Hashable {
        public var exportArn: String
        public var kind: String?
        public var from: String?
        public var to: String?
        /// Wall time it was requested (or found running) and seen complete.
        public var requestedAt: Int64?
        public var completedAt: Int64?
        /// The export's own running time, as the service reports it.
        public var seconds: Double?
        public var itemCount: Int64?
        public var billedSizeBytes: Int64?
        /// One of the windows applied to the target (so it completed, even when no run recorded it: one requested
        /// before a stop that finished while nothing ran is recorded by the next export run with the same journal;
        /// until then it is known complete only as applied).
        public var applied = false

        init(exportArn: String) { self.exportArn = exportArn }
    }

    /// The exports in the run record, in the order of their windows.
    static func exports(_ journal: [RunJournal.Entry], applied: Set<String>) -> [ExportRow] {
        var rows: [String: ExportRow] = [:]
        for entry in journal {
            guard let event = entry.export, let arn = event.exportArn else { continue }
            var row = rows[arn] ?? ExportRow(exportArn: arn)
            row.kind = event.kind ?? row.kind
            row.from = event.from ?? row.from
            row.to = event.to ?? row.to
            if event.event == "requested" { row.requestedAt = row.requestedAt ?? entry.at }
            if event.event == "completed" {
                row.completedAt = row.completedAt ?? entry.at
                row.seconds = event.seconds
                row.itemCount = event.itemCount
                row.billedSizeBytes = event.billedSizeBytes
            }
            row.applied = applied.contains(arn)
            rows[arn] = row
        }
        // ISO 8601 times of one format sort as text; a FULL export (no `from`) before its windows.
        return rows.values.sorted {
            ($0.to ?? "", $0.kind ?? "", $0.exportArn) < ($1.to ?? "", $1.kind ?? "", $1.exportArn)
        }
    }
}
