import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The run record (`<plan>.journal.jsonl`): every run of `apply` appends what happened — its start, every progress
/// snapshot the state machine reported (the same figures as the status line and the JSON progress), every checkpoint
/// it saved, and its end with the outcome — one JSON line each, stamped with wall time. Every `diff` appends its start,
/// its verdict (the counts of each kind of difference and the position compared; never a key) and its end. It is synced to disk before
/// each checkpoint is saved, so it always reaches at least as far as the checkpoint: the history of a migration
/// survives crashes and resumes. `ferry export` (and `migrate`'s export steps) appends what it requested and what
/// completed (`ExportJournalEvent`). It holds no item data and no secret (keys, values and credentials never reach it).
///
/// A line left half-written by a crash is cut off when the journal is opened again (see `cutPartialLine`).
public final class RunJournal: Sendable {
    public let path: String
    /// This run's id (wall time in milliseconds at its start, and the process id): tells resumed runs apart.
    public let run: String
    private let now: @Sendable () -> Int64
    private let fd: Mutex<Int32>

    /// The default place, next to the checkpoint: `<plan>.journal.jsonl`.
    public static func defaultPath(forCheckpoint checkpoint: String) -> String {
        let suffix = ".checkpoint.json"
        let base = checkpoint.hasSuffix(suffix) ? String(checkpoint.dropLast(suffix.count)) : checkpoint
        return base + ".journal.jsonl"
    }

    /// The journal a command uses: `journal` when given, else the default next to the checkpoint (given, or the
    /// plan's default checkpoint).
    public static func path(journal: String?, checkpoint: String?, plan: String) -> String {
        journal ?? defaultPath(forCheckpoint: checkpoint ?? CheckpointFile.defaultPath(forPlan: plan))
    }

    /// Opens (or creates) the journal at `path` for appending; `now` is wall time in epoch milliseconds.
    /// `label` tells apart two runs of one process writing the same journal (`migrate`'s export and apply steps).
    public init(
        path: String,
        label: String? = nil,
        now: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
    )
        throws
    {
        self.path = path
        self.now = now
        run = "\(now())-\(getpid())" + (label.map { "-" + $0 } ?? "")
        Self.cutPartialLine(at: path)
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CheckpointError.io(path: path, reason: String(cString: strerror(errno))) }
        self.fd = Mutex(fd)
    }

    deinit { fd.withLock { _ = close($0) } }

    public struct Entry: Sendable, Codable, Hashable {
        public enum Kind: String, Sendable, Codable {
            case runStarted, progress, checkpoint, verified, runEnded, export
        }
        public var kind: Kind
        public var run: String
        /// Wall time, epoch milliseconds.
        public var at: Int64
        public var command: String?
        public var planId: String?
        public var progress: ApplyProgress?
        public var windowsDone: Int?
        public var filesDone: Int?
        public var itemsApplied: Int64?
        public var rejects: Int64?
        public var appliedThrough: String?
        /// At `runEnded`: `completed`, `interrupted` or `failed`, and the error of a failed run.
        public var outcome: String?
        public var error: String?
        public var throttles: Int?
        public var retries: Int?
        public var windowsApplied: Int?
        /// At `verified`: what a `diff` found.
        public var diff: Verdict?
        /// At an `export` run's start: the table exported (its ARN). At `export`: what `ferry export` did or saw.
        public var table: String?
        public var export: ExportJournalEvent?
    }

    /// A `diff`'s verdict as the journal keeps it: where it compared and how many keys of each kind it found. The
    /// examples (keys and attribute names) stay out: the journal holds no item data.
    public struct Verdict: Sendable, Codable, Hashable {
        /// `end of plan` or `checkpoint`.
        public var position: String
        /// The source time the expected state reaches.
        public var expectedThrough: String
        public var windowsCompared: Int
        /// Files of a window in progress that were compared (a checkpoint in the middle of a window).
        public var partialWindowFiles: Int
        public var counts: DiffReport.Counts
        public var itemsScanned: Int64
        public var seconds: Double

        public init(_ report: DiffReport) {
            position = report.position
            expectedThrough = report.expectedThrough
            windowsCompared = report.windowsCompared
            partialWindowFiles = report.partialWindowFiles
            counts = report.counts
            itemsScanned = report.scan.itemsScanned
            seconds = report.seconds
        }

        public var differs: Bool { counts.differences > 0 }
    }

    func started(command: String, planId: String, checkpoint: Checkpoint?) {
        var entry = entry(.runStarted)
        entry.command = command
        entry.planId = planId
        if let checkpoint { fill(&entry, checkpoint) }
        append(entry)
    }

    /// A diff's verdict, synced: the report's verification rests on it.
    func verified(_ report: DiffReport) throws {
        var entry = entry(.verified)
        entry.diff = Verdict(report)
        append(entry)
        try sync()
    }

    /// The end of a run that applies nothing (a diff).
    func ended(_ outcome: String, error: (any Error)?) throws {
        var entry = entry(.runEnded)
        entry.outcome = outcome
        entry.error = error.map { "\($0)" }
        append(entry)
        try sync()
    }

    func progress(_ snapshot: ApplyProgress) {
        var entry = entry(.progress)
        entry.progress = snapshot
        append(entry)
    }

    /// Recorded and synced before the checkpoint itself is saved.
    func checkpoint(_ checkpoint: Checkpoint) throws {
        var entry = entry(.checkpoint)
        fill(&entry, checkpoint)
        append(entry)
        try sync()
    }

    func ended(_ outcome: String, report: ApplyEngine.Report, error: (any Error)? = nil) throws {
        var entry = entry(.runEnded)
        entry.outcome = outcome
        entry.error = error.map { "\($0)" }
        entry.windowsApplied = report.windowsApplied
        entry.itemsApplied = report.itemsApplied
        entry.rejects = report.rejects
        entry.throttles = report.throttles
        entry.retries = report.unprocessedRetries
        entry.appliedThrough = report.appliedThrough
        append(entry)
        try sync()
    }

    func entry(_ kind: Entry.Kind) -> Entry { Entry(kind: kind, run: run, at: now()) }

    private func fill(_ entry: inout Entry, _ checkpoint: Checkpoint) {
        entry.windowsDone = checkpoint.windowsDone
        entry.filesDone = checkpoint.filesDone.count
        entry.itemsApplied = checkpoint.itemsApplied
        entry.rejects = checkpoint.rejects
        entry.appliedThrough = checkpoint.appliedThrough
    }

    /// One line, written with one `write` (O_APPEND): lines of one run never interleave. A failed write is not
    /// fatal to the run (the checkpoint is what a resume needs); `sync` reports it.
    func append(_ entry: Entry) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard var line = try? encoder.encode(entry) else { return }
        line.append(UInt8(ascii: "\n"))
        fd.withLock { fd in
            // Shared: appenders do not wait for each other, only a cut of a crash's half line waits for them.
            flock(fd, LOCK_SH)
            defer { flock(fd, LOCK_UN) }
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
    }

    func sync() throws {
        let failed = fd.withLock { fsync($0) != 0 }
        if failed { throw CheckpointError.io(path: path, reason: "could not sync the journal") }
    }

    /// Every entry of the journal at `path`, oldest first (lines that do not parse are skipped).
    public static func read(_ path: String) throws -> [Entry] {
        guard let data = FileManager.default.contents(atPath: path) else { return [] }
        let decoder = JSONDecoder()
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(Entry.self, from: $0) }
    }

    /// Cuts off a last line a crash left without its newline. Under an exclusive lock on the file, which every
    /// append holds shared while it writes: a line another writer (`migrate`'s apply, beside its export step) is
    /// writing at that moment is never taken for a crash's. `blocking: false` (tests) gives up when the file is
    /// busy; returns whether it looked.
    @discardableResult
    static func cutPartialLine(at path: String, blocking: Bool = true) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC)
        guard fd >= 0 else { return true }  // no journal yet
        defer { close(fd) }
        guard flock(fd, LOCK_EX | (blocking ? 0 : LOCK_NB)) == 0 else { return false }
        // The last byte first: only after a crash is the whole journal (hours of snapshots) read.
        var info = stat()
        var last: UInt8 = 0
        guard fstat(fd, &info) == 0, info.st_size > 0, pread(fd, &last, 1, info.st_size - 1) == 1,
            last != UInt8(ascii: "\n"), let data = FileManager.default.contents(atPath: path)
        else { return true }
        let keep = data.lastIndex(of: UInt8(ascii: "\n")).map { data.distance(from: data.startIndex, to: $0) + 1 } ?? 0
        ftruncate(fd, off_t(keep))
        return true
    }
}
