import AWSClient
import ArgumentParser
import FerryCore
import Foundation

struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "Show what applying a plan would change in the target (dry run; reads only).",
        discussion: """
            Compares the plan's expected state with a parallel Scan of the target table, by primary key and with \
            DynamoDB's equality (numbers by value, sets unordered, binary by bytes). Each key is one of: would put \
            (missing in the target), would overwrite (differs; the differing attributes are named), would delete \
            (an incremental export deletes it and the target has it), extra (in the target, never in the plan), \
            unchanged.
            Expected state: by default the END OF THE PLAN — every window applied, what the target holds after a \
            completed `ferry apply` (so after a completed apply the diff is empty). With --at-checkpoint, the \
            CHECKPOINT'S POSITION — the windows and files `apply` has completed so far (files in flight may show as \
            differences).
            The scan is held to --read-percent of the table's read capacity (provisioned, or the on-demand maximum / \
            --max-read-units), corrected by the consumed capacity DynamoDB reports and slowed on throttling. \
            Memory stays bounded: both sides are spilled to disk by key hash under --work-dir (about twice the \
            table's JSON size; removed afterwards) and compared one bucket at a time.
            Exit codes: 0 done (and, with --exit-code, no difference); 1 with --exit-code when the target differs; \
            2 usage; 3 invalid export or plan; 4 AWS error; 7 the work directory cannot be written.
            """
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(
        name: .customLong("read-percent"),
        help: "Share of the target's read capacity to use, 0 < P <= 100 (default: the plan's)."
    ) var readPercent: Percent?
    @Option(
        name: .customLong("max-read-units"),
        help: "Read-unit ceiling for on-demand tables without a maximum of their own."
    ) var maxReadUnits: Int?
    @Flag(
        name: .customLong("at-checkpoint"),
        help: "Compare with the checkpoint's position instead of the end of the plan."
    ) var atCheckpoint = false
    @Option(help: "Checkpoint file for --at-checkpoint (default: next to the plan, <plan>.checkpoint.json).")
    var checkpoint: String?
    @Option(help: "Examples shown of each kind of difference.") var limit = 5
    @Flag(help: "Print the whole diff as JSON on stdout: counts and every difference.") var json = false
    @Flag(name: .customLong("exit-code"), help: "Exit 1 when the target differs, 0 when it matches.") var exitCode =
        false
    @Option(
        name: .customLong("work-dir"),
        help: "Directory for the spill files (default: next to the plan, <plan>.diff-work)."
    ) var workDir: String?
    @Option(help: "Scan segments (default: from the table's size and the read budget).") var segments: Int?
    @Option(
        help:
            "The run record the verdict is appended to, for ferry report; no item data (default: next to the checkpoint, <plan>.journal.jsonl)."
    ) var journal: String?
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func validate() throws {
        try readPercent?.validate("--read-percent")
        if let maxReadUnits, maxReadUnits <= 0 {
            throw ValidationError("--max-read-units must be a positive number of read units")
        }
        if limit < 0 { throw ValidationError("--limit must be 0 or more") }
        if let segments, !(1...1_000_000).contains(segments) {
            throw ValidationError("--segments must be between 1 and 1000000")
        }
        if checkpoint != nil && !atCheckpoint {
            throw ValidationError("--checkpoint is only used with --at-checkpoint")
        }
    }

    func run() async throws {
        try logging.bootstrap()
        let differs: Bool = try await runReportingErrorsReturning {
            let loaded = try PlanFile.read(plan)
            let position: DiffEngine.Position
            if atCheckpoint {
                let path = checkpoint ?? CheckpointFile.defaultPath(forPlan: plan)
                guard let saved = try CheckpointFile(path: path).load(for: loaded.planId) else {
                    throw ValidationError(
                        "--at-checkpoint: there is no checkpoint at \(path) (nothing applied yet?); give its path with --checkpoint"
                    )
                }
                position = .checkpoint(saved)
            } else {
                position = .endOfPlan
            }
            return try await AsyncHTTPClientTransport.withTransport { transport in
                let clients = try PlanClients(
                    plan: loaded,
                    sourceAWS: sourceAWS,
                    targetAWS: targetAWS,
                    transport: transport
                )
                let base = plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan
                var engine = DiffEngine(
                    plan: loaded,
                    source: clients.source,
                    dynamo: clients.dynamo,
                    readPercent: readPercent?.value ?? loaded.throttle.readPercent,
                    workDirectory: workDir.map { $0 + "/ferry-diff-\(getpid())" } ?? base + ".diff-work"
                )
                engine.maxReadUnits = maxReadUnits
                engine.position = position
                engine.segments = segments
                engine.exampleLimit = limit
                engine.listAll = json
                engine.progress = { printError($0) }
                engine.journal = try RunJournal(
                    path: RunJournal.path(journal: journal, checkpoint: checkpoint, plan: plan)
                )
                defer { engine.removeWorkDirectory() }
                let report = try await engine.run()
                if json {
                    try Self.writeJSON(report, differences: engine.differencesPath)
                } else {
                    print(report.text(exampleLimit: limit))
                }
                return report.differs
            }
        }
        if exitCode && differs { throw ExitCode(1) }
    }

    /// One JSON document: the report, with `differences` holding every difference (streamed from the spill list,
    /// so a large diff is never held in memory).
    static func writeJSON(_ report: DiffReport, differences path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var head = try encoder.encode(report)
        head.removeLast()  // the closing brace
        let out = FileHandle.standardOutput
        out.write(head + Data(#","differences":["#.utf8))
        if let input = FileHandle(forReadingAtPath: path) {
            var first = true
            var pending = Data()
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                pending += chunk
                var lines = pending.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
                pending = Data(lines.removeLast())
                var buffer = Data()
                for line in lines where !line.isEmpty {
                    if !first { buffer.append(UInt8(ascii: ",")) }
                    buffer += line
                    first = false
                }
                out.write(buffer)
            }
        }
        out.write(Data("]}\n".utf8))
    }
}
