import AWSClient
import ArgumentParser
import ExportReader
import FerryCore
import Foundation
import UnixSignals

struct ApplyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apply",
        abstract: "Apply a plan to the target table, throttled, checkpointed and resumable.",
        discussion: """
            Writes each window in order (the FULL export, then every INCREMENTAL window) at --write-percent of the \
            target's write capacity (table and every GSI), saving a checkpoint after each data file and window \
            (default: next to the plan, <plan>.checkpoint.json). Run it again to resume. Records DynamoDB refuses \
            for the item itself go to <plan>.rejects.jsonl and the run exits 6.
            Progress goes to stderr: a status line on a terminal, JSON lines otherwise. SIGINT/SIGTERM finish the \
            batches in flight, save the checkpoint and exit 5; if that takes more than 25 s (the network hangs), or \
            at a second signal, the run saves the checkpoint as it stands and exits 5 at once (files in flight are \
            applied again on resume, which is safe).
            --follow: after the plan's last window, look for new INCREMENTAL exports in the source every \
            --poll-interval, check them against the chain exactly as `ferry plan` does (a gap stops the run with exit \
            3, unless exports still in progress may fill it: then it waits for them, saying so), apply them, and print the lag (now − the end of the last window applied). It runs until interrupted \
            (exit 5; run it again to go on), or with --until-lag until the lag is at most that long (then exit 0). \
            Windows found this way are recorded in the checkpoint, so `ferry status` and a resume see them.
            The table's capacity is re-read every minute, so auto-scaling is followed.
            No record of a data file is written before the whole file is verified (MD5, gzip integrity, item count): \
            each file is first copied to the spool directory (default: next to the checkpoint, <plan>.spool; owner-only) \
            and applied from that copy, which is removed once the file is done. It needs room for about two data \
            files per file applied at once; the run checks before it starts. A copy is kept as the file's inflated text \
            (read without a second gunzip) when it fits in half the space left free, shared by the files applied at \
            once (and in --spool-limit, when given); otherwise, or with --spool-compressed, as the .gz.
            Sharded (several machines, one plan): run N copies with --shard I/N (0-based), or --shards N with the \
            index from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array \
            job), all with the same --state s3://bucket/prefix. Each worker applies its part of every window (data \
            files split by items, the same way on every worker) at --write-percent / N, and no worker starts a window \
            before all have finished the one before. A worker holds its shard with a lease renewed in the state \
            prefix (S3 conditional writes): a second worker given the same index stops with exit 8 and writes \
            nothing; a worker started after a crash takes the shard over once the lease (--shard-lease, default \
            30s) has run out 1.5 times, and resumes from its checkpoint (the local one, or its last window's marker \
            in the state prefix). With --follow, the first worker to find new exports announces them in the state \
            prefix and every worker applies them, with the same barrier; --until-lag ends the run for all of them \
            once one finds the lag within it. `ferry status PLAN --state …` shows every shard and the barrier.
            """
    )

    @Argument(help: "The plan file.") var plan: String
    @Flag(help: "After the plan, keep applying new incremental exports as they appear.") var follow = false
    @Option(
        name: .customLong("until-lag"),
        help: "With --follow: stop (exit 0) once the lag is at most this long, e.g. 15m, 90s, 1h30m."
    ) var untilLag: String?
    @Option(name: .customLong("poll-interval"), help: "With --follow: how often to look for new exports (default 60s).")
    var pollInterval: String?
    @Option(
        help: "Checkpoint file (default: next to the plan, <plan>.checkpoint.json); the rejects file goes beside it."
    )
    var checkpoint: String?
    @Option(
        name: .customLong("spool-dir"),
        help:
            "Where verified copies of the data files being applied are kept (default: next to the checkpoint, <plan>.spool)."
    ) var spoolDir: String?
    @Flag(
        name: .customLong("spool-compressed"),
        help: "Keep only compressed copies in the spool: less disk, but each data file is inflated twice."
    ) var spoolCompressed = false
    @Option(
        name: .customLong("spool-limit"),
        help: ArgumentHelp(
            "The most the spool may hold, e.g. 4Gi or 500M (default: no limit beyond the disk's free space).",
            discussion:
                "Set it to a volume's size limit (a Kubernetes emptyDir sizeLimit) the free space does not show.",
            valueName: "size"
        )
    ) var spoolLimit: ByteSize?
    @Option(
        help:
            "The run record this run appends to: progress snapshots, checkpoints, outcome; no item data (default: next to the checkpoint, <plan>.journal.jsonl)."
    ) var journal: String?
    @Option(
        name: .customLong("write-percent"),
        help: "Share of the target's write capacity to use, 0 < P <= 100 (default: the plan's)."
    ) var writePercent: Percent?
    @Option(
        name: .customLong("max-write-units"),
        help: "Write-unit ceiling for on-demand tables (default: the plan's)."
    ) var maxWriteUnits: Int?
    @OptionGroup(title: "Sharding") var sharding: ShardOptions
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions
    /// How long a graceful stop may take before the hard stop (tests shorten it).
    @Option(name: .customLong("stop-grace"), help: .hidden) var stopGrace: String?

    func validate() throws {
        try writePercent?.validate("--write-percent")
        if let untilLag, DurationArgument(untilLag) == nil {
            throw ValidationError("--until-lag must be a duration such as 15m, 90s or 1h30m (got \(untilLag))")
        }
        if let pollInterval {
            guard let interval = DurationArgument(pollInterval), interval.seconds > 0 else {
                throw ValidationError(
                    "--poll-interval must be a positive duration such as 60s or 5m (got \(pollInterval))"
                )
            }
        }
        if !follow && (untilLag != nil || pollInterval != nil) {
            throw ValidationError("--until-lag and --poll-interval need --follow")
        }
        if let maxWriteUnits, maxWriteUnits <= 0 {
            throw ValidationError("--max-write-units must be a positive number of write units")
        }
        try sharding.validate()
        if let stopGrace, (DurationArgument(stopGrace)?.seconds ?? 0) <= 0 {
            throw ValidationError("--stop-grace must be a positive duration such as 25s (got \(stopGrace))")
        }
    }

    func run() async throws {
        try logging.bootstrap()
        try await apply()
    }

    /// What `ferry migrate` runs beside the apply: the export chain. `now` is the time the follow's lag is measured
    /// against (the service's); `work` runs until the apply ends (then it is cancelled) and may stop it gracefully.
    struct Companion: Sendable {
        var now: @Sendable () -> Int64
        var work: @Sendable (StopSignal) async -> Void
    }

    func apply(companion: Companion? = nil) async throws {
        let environment = ProcessInfo.processInfo.environment
        let wallNow: @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970 * 1000) }
        let followNow = companion?.now ?? wallNow
        try await runReportingErrors {
            let loaded = try PlanFile.read(plan)
            try await AsyncHTTPClientTransport.withTransport { transport in
                let clients = try PlanClients(
                    plan: loaded,
                    sourceAWS: sourceAWS,
                    targetAWS: targetAWS,
                    transport: transport,
                    environment: environment
                )
                let shard = try sharding.spec(environment: environment)
                // A sharded worker's files are its own: <plan>.shard-I-of-N.checkpoint.json, .rejects.jsonl, …
                let base =
                    (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan)
                    + (shard.map { ".shard-\($0.index)-of-\($0.count)" } ?? "")
                let checkpointPath = checkpoint ?? base + ".checkpoint.json"
                // With --checkpoint the rejects go beside it: the plan may be on a read-only mount (a ConfigMap).
                let rejectsBase =
                    checkpoint.map { path in
                        path.hasSuffix(".checkpoint.json")
                            ? String(path.dropLast(16)) : path.hasSuffix(".json") ? String(path.dropLast(5)) : path
                    } ?? base
                var engine = ApplyEngine(
                    plan: loaded,
                    source: clients.source,
                    dynamo: clients.dynamo,
                    store: CheckpointFile(path: checkpointPath),
                    rejectsPath: rejectsBase + ".rejects.jsonl",
                    writePercent: writePercent?.value ?? loaded.throttle.writePercent,
                    maxWriteUnits: maxWriteUnits ?? loaded.throttle.maxWriteUnits
                )
                engine.spoolDirectory = spoolDir
                engine.spoolCompressedOnly = spoolCompressed
                engine.spoolLimit = spoolLimit?.bytes
                engine.journal = try RunJournal(
                    path: RunJournal.path(journal: journal, checkpoint: checkpointPath, plan: plan)
                )
                if follow {
                    engine.follow = ApplyEngine.FollowOptions(
                        pollInterval: .seconds(pollInterval.flatMap(DurationArgument.init)?.seconds ?? 60),
                        untilLagSeconds: untilLag.flatMap(DurationArgument.init)?.seconds,
                        now: followNow
                    )
                }
                // A live status line on a terminal; JSON lines otherwise (for logs and scripts), ticks every 10 s.
                let renderer = ProgressRenderer(mode: isatty(2) == 1 ? .terminal : .jsonLines)
                engine.progress = { event in
                    if let text = renderer.render(event, at: ContinuousClock.now) {
                        FileHandle.standardError.write(Data(text.utf8))
                    }
                }
                if let shard {
                    engine.coordinator = try sharding.coordinator(
                        shard: shard,
                        plan: loaded,
                        target: clients.targetSide,
                        transport: transport,
                        environment: environment
                    )
                }
                let started = ContinuousClock.now
                let stop = engine.stop
                let ready = engine
                let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
                let grace = Duration.milliseconds(
                    Int64((stopGrace.flatMap(DurationArgument.init)?.seconds ?? 25) * 1000)
                )
                let report = try await withCompanion(
                    { try await ready.run() },
                    companion: { [companion] in
                        await Self.alongside(companion, stop: stop) {
                            await Self.handleSignals(signals, stop: stop, grace: grace, checkpoint: checkpointPath)
                        }
                    }
                )
                let now = followNow()
                for line in ProgressRenderer.summary(
                    report,
                    plan: loaded,
                    elapsed: ContinuousClock.now - started,
                    nowMilliseconds: now
                ) {
                    print(line)
                }
                if report.rejects > 0 {
                    printError(
                        "error: \(report.rejects) records were rejected by DynamoDB; they are in \(base).rejects.jsonl with the reason"
                    )
                    throw ExitCode(6)
                }
            }
        }
    }

    /// Runs `signals` (the signal handler) and the companion's work, if any, until both end or are cancelled.
    static func alongside(
        _ companion: Companion?,
        stop: StopSignal,
        signals: @escaping @Sendable () async -> Void
    ) async {
        guard let companion else { return await signals() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await signals() }
            group.addTask { await companion.work(stop) }
        }
    }

    /// The first SIGINT/SIGTERM asks for a graceful stop (batches in flight finish, then exit 5). If that has not
    /// ended the run within `grace` — a request the network never answers — or at a second signal, the checkpoint is
    /// saved as it stands and the process exits 5 at once: every wait is bounded.
    static func handleSignals(
        _ signals: UnixSignalsSequence,
        stop: StopSignal,
        grace: Duration,
        checkpoint: String
    ) async {
        @Sendable func hardStop(_ why: String) async -> Never {
            await stop.saveCheckpointNow()
            printError(
                "\(why): stopping now; the checkpoint at \(checkpoint) holds every file completed (files in flight are applied again on resume); run the same command again to resume"
            )
            Foundation.exit(5)
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                var count = 0
                for await signal in signals {
                    count += 1
                    if count > 1 { await hardStop("\(signal) again") }
                    printError(
                        "\(signal): finishing the batches in flight and saving the checkpoint (at most \(grace.formatted(.units(allowed: [.seconds]))); a second signal stops at once) …"
                    )
                    stop.set()
                }
            }
            group.addTask {
                do {
                    while !stop.isSet { try await Task.sleep(for: .milliseconds(50)) }
                    try await Task.sleep(for: grace)
                } catch { return }  // the run ended first
                await hardStop(
                    "the batches in flight did not finish within \(grace.formatted(.units(allowed: [.seconds])))"
                )
            }
        }
    }
}
