import AWSClient
import ArgumentParser
import UnixSignals
import ExportReader
import FerryCore
import Foundation

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
            batches in flight, save the checkpoint and exit 5. Not built yet: --follow.
            """
    )

    @Argument(help: "The plan file.") var plan: String
    @Flag(help: "After the plan, keep applying new incremental exports (not built yet).") var follow = false
    @Option(help: "Checkpoint file (default: next to the plan, <plan>.checkpoint.json).") var checkpoint: String?
    @Option(name: .customLong("write-percent"), help: "Share of the target's write capacity to use, 0 < P <= 100 (default: the plan's).") var writePercent: Percent?
    @Option(name: .customLong("max-write-units"), help: "Write-unit ceiling for on-demand tables (default: the plan's).") var maxWriteUnits: Int?
    @OptionGroup(title: "Source AWS options") var sourceAWS: SourceAWSOptions
    @OptionGroup(title: "Target AWS options") var targetAWS: TargetAWSOptions

    func validate() throws {
        try writePercent?.validate("--write-percent")
        if let maxWriteUnits, maxWriteUnits <= 0 { throw ValidationError("--max-write-units must be a positive number of write units") }
    }

    func run() async throws {
        if follow { try refuseNotBuilt("apply --follow", issue: 5) }
        let environment = ProcessInfo.processInfo.environment
        try await runReportingErrors {
            let loaded = try PlanFile.read(plan)
            try await AsyncHTTPClientTransport.withTransport { transport in
                let clients = try PlanClients(plan: loaded, sourceAWS: sourceAWS, targetAWS: targetAWS, transport: transport, environment: environment)
                let base = plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan
                var engine = ApplyEngine(
                    plan: loaded, source: clients.source, dynamo: clients.dynamo,
                    store: CheckpointStore(path: checkpoint ?? CheckpointStore.defaultPath(forPlan: plan)),
                    rejectsPath: base + ".rejects.jsonl",
                    writePercent: writePercent?.value ?? loaded.throttle.writePercent,
                    maxWriteUnits: maxWriteUnits ?? loaded.throttle.maxWriteUnits)
                // A status line on a terminal, JSON lines otherwise (for logs and scripts).
                let terminal = isatty(2) == 1
                engine.progress = { event in
                    if terminal {
                        FileHandle.standardError.write(Data(("\r\u{1B}[K" + event.line + (event.event == .windowDone ? "\n" : "")).utf8))
                    } else {
                        printError(event.json)
                    }
                }
                let started = ContinuousClock.now
                let stop = engine.stop
                let ready = engine
                let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
                let report = try await withThrowingTaskGroup(of: ApplyEngine.Report?.self) { group in
                    group.addTask { try await ready.run() }
                    group.addTask {
                        for await signal in signals {
                            printError("\(signal): finishing the batches in flight and saving the checkpoint …")
                            stop.set()
                        }
                        return nil
                    }
                    while let result = try await group.next() {
                        if let report = result {
                            group.cancelAll()
                            return report
                        }
                    }
                    throw CancellationError()
                }
                let elapsed = ContinuousClock.now - started
                print("applied \(report.windowsApplied) window\(report.windowsApplied == 1 ? "" : "s") to \(loaded.target.table): \(report.itemsApplied) items in total, "
                      + "\(report.rejects) rejects, \(report.throttles) throttles, \(report.unprocessedRetries) unprocessed retries, \(elapsed.formatted(.units(allowed: [.seconds], fractionalPart: .show(length: 1))))")
                print("the target is at \(loaded.totals.end)")
                if report.rejects > 0 {
                    printError("error: \(report.rejects) records were rejected by DynamoDB; they are in \(base).rejects.jsonl with the reason")
                    throw ExitCode(6)
                }
            }
        }
    }
}
