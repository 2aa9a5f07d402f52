import AWSClient
import DynamoModel
import FerryCore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ferry apply` as a process against moto: killed with SIGKILL or stopped with SIGTERM part-way, then resumed to the
/// exact expected state.
@Suite("apply survives SIGKILL and SIGTERM", .serialized)
struct ApplyCrashTests {
    static func ferry(_ arguments: [String], environment: [String: String], stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = CommandLineContractTests.ferry
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    /// When to stop the first run.
    enum StopPoint: Sendable, CustomStringConvertible {
        /// After a fixed delay.
        case after(Duration)
        /// As soon as the run reports `event` for 1-based `window` (progress JSON lines on stderr), plus `delay`.
        case on(event: String, window: Int, delay: Duration)

        var description: String {
            switch self {
            case .after(let delay): "after \(delay)"
            case let .on(event, window, delay): "on \(event) of window \(window) + \(delay)"
            }
        }
    }

    /// Reads the run's JSON-lines progress until `event` for `window` appears; false if the run ended first.
    static func waitFor(event: String, window: Int, in pipe: Pipe) async -> Bool {
        let handle = pipe.fileHandleForReading
        return await Task.detached {
            var pending = Data()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { return false }
                pending += chunk
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = pending[pending.startIndex..<newline]
                    pending = Data(pending[(newline + 1)...])
                    if let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any],
                        object["event"] as? String == event, object["window"] as? Int == window
                    {
                        return true
                    }
                }
            }
        }.value
    }

    static func diff(_ arguments: [String], environment: [String: String]) throws -> (status: Int32, stdout: Data) {
        let process = Process()
        process.executableURL = CommandLineContractTests.ferry
        process.arguments = ["diff"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, data)
    }

    static func scenario(signal: Int32, at stop: StopPoint) async throws {
        try await withTemporaryDirectory { directory in
            let generator = Process()
            generator.executableURL = CommandLineContractTests.ferry.deletingLastPathComponent().appendingPathComponent(
                "ferry-exportgen"
            )
            generator.arguments = [
                "generate", "--out", directory, "--items", "3000", "--windows", "4", "--changes", "300", "--item-bytes",
                "600",
            ]
            generator.standardOutput = FileHandle.nullDevice
            try generator.run()
            generator.waitUntilExit()

            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                try await dynamo.createTable(
                    json:
                        #"{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"ProvisionedThroughput":{"ReadCapacityUnits":5000,"WriteCapacityUnits":5000}}"#,
                    table: "orders"
                )
                let environment = [
                    "AWS_ACCESS_KEY_ID": fixture.info.admin.accessKeyId,
                    "AWS_SECRET_ACCESS_KEY": fixture.info.admin.secretAccessKey,
                    "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": fixture.info.endpoint,
                    "AWS_EC2_METADATA_DISABLED": "true",
                ]
                let plan = directory + "/plan.json"
                let planning = try Self.ferry(
                    ["plan", "--source", directory + "/exports", "--target-table", "orders", "--out", plan],
                    environment: environment
                )
                planning.waitUntilExit()
                #expect(planning.terminationStatus == 0)

                let events = Pipe()
                // Held to a fifth of the table's 5,000 WCU, so the FULL window lasts seconds: a stop "0.3 s into
                // window 1" lands inside it however fast the machine is (unthrottled, a fast run had finished the
                // whole chain by then, and there was nothing left to kill).
                let first = try Self.ferry(
                    ["apply", plan, "--write-percent", "20"],
                    environment: environment,
                    stderr: events
                )
                switch stop {
                case .after(let delay):
                    try await Task.sleep(for: delay)
                case let .on(event, window, delay):
                    let seen = await Self.waitFor(event: event, window: window, in: events)
                    #expect(seen, "the run reported \(event) for window \(window) before ending")
                    try await Task.sleep(for: delay)
                }
                kill(first.processIdentifier, signal)
                // Keep draining its stderr so a full pipe never blocks it.
                let drain = Task.detached { _ = events.fileHandleForReading.readDataToEndOfFile() }
                first.waitUntilExit()
                _ = await drain.value
                if signal == SIGTERM {
                    #expect(
                        first.terminationStatus == 5 || first.terminationStatus == 0,
                        "a SIGTERM drains and exits 5 (0 if it had finished)"
                    )
                } else {
                    #expect(first.terminationReason == .uncaughtSignal)
                }
                // The checkpoint survives the stop intact (atomic writes) and belongs to this plan.
                let planId = try PlanFile.read(plan).planId
                let saved = try #require(
                    try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: planId)
                )
                #expect(saved.windowsDone <= 5 && saved.itemsApplied >= 0)
                if saved.windowsDone < 5 {
                    // Part-way: the diff sees differences (exit 1 with --exit-code), and reports at the checkpoint too.
                    #expect(try Self.diff([plan, "--exit-code"], environment: environment).status == 1)
                    let atCheckpoint = try Self.diff([plan, "--at-checkpoint", "--json"], environment: environment)
                    #expect(atCheckpoint.status == 0)
                    let report = try JSONSerialization.jsonObject(with: atCheckpoint.stdout) as? [String: Any]
                    #expect(report?["position"] as? String == "checkpoint")
                }

                let progress = Pipe()
                let second = try Self.ferry(["apply", plan], environment: environment, stderr: progress)
                let output = progress.fileHandleForReading.readDataToEndOfFile()
                second.waitUntilExit()
                #expect(second.terminationStatus == 0)
                // Not a terminal: progress comes as JSON lines, ending with the last window done.
                let progressEvents = String(decoding: output, as: UTF8.self).split(separator: "\n")
                    .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(!progressEvents.isEmpty)
                #expect(progressEvents.last?["event"] as? String == "windowDone")
                #expect(progressEvents.last?["window"] as? Int == progressEvents.last?["windows"] as? Int)
                // The run record survived the stop: both runs are in it, every line whole, the last one completed, and
                // its last checkpoint is the one on disk; no credential in it.
                let journalPath = directory + "/plan.journal.jsonl"
                let journal = try RunJournal.read(journalPath)
                let journalText = try String(contentsOfFile: journalPath, encoding: .utf8)
                #expect(journalText.split(separator: "\n").count == journal.count, "every line of the journal parses")
                // Both apply runs (a diff appends its own run, with its verdict).
                let applyRuns = Set(journal.filter { $0.kind == .runStarted && $0.command == "apply" }.map(\.run))
                let applyEntries = journal.filter { applyRuns.contains($0.run) }
                #expect(applyRuns.count == 2)
                #expect(applyEntries.last?.kind == .runEnded && applyEntries.last?.outcome == "completed")
                let finalCheckpoint = try CheckpointFile(path: directory + "/plan.checkpoint.json").load(for: planId)
                #expect(journal.last { $0.kind == .checkpoint }?.itemsApplied == finalCheckpoint?.itemsApplied)
                #expect(!journalText.contains(fixture.info.admin.secretAccessKey))

                var target: [Item: Item] = [:]
                var start: Item?
                repeat {
                    let page = try await dynamo.scan(table: "orders", exclusiveStartKey: start)
                    for item in page.items { target[item.projected(onto: ["pk", "sk"])!] = item }
                    start = page.lastEvaluatedKey
                } while start != nil
                let states = try FileManager.default.contentsOfDirectory(atPath: directory + "/expected").filter {
                    $0.hasSuffix(".jsonl")
                }.sorted()
                let expected = try loadState(directory + "/expected/" + states.last!, keyNames: ["pk", "sk"])
                #expect(target.count == expected.count)
                #expect(target == expected)

                // After a completed apply the diff is empty: exit 0 with --exit-code, every item unchanged.
                let after = try Self.diff([plan, "--exit-code", "--json"], environment: environment)
                #expect(after.status == 0)
                let report = try JSONSerialization.jsonObject(with: after.stdout) as? [String: Any]
                let counts = report?["counts"] as? [String: Any]
                #expect(counts?["unchanged"] as? Int == expected.count)
                #expect((report?["differences"] as? [Any])?.isEmpty == true)
            }
        }
    }

    @Test(
        "SIGKILL, then resume: the exact expected state, and diff agrees",
        arguments: [
            // Mid-file: the FULL export's files are being written (8 at a time; none finished yet).
            StopPoint.on(event: "windowStarted", window: 1, delay: .milliseconds(300)),
            // Between files: as the first data file of the FULL export is checkpointed.
            StopPoint.on(event: "fileDone", window: 1, delay: .zero),
            // Between windows: as window 2 (the first incremental) is checkpointed as done.
            StopPoint.on(event: "windowDone", window: 2, delay: .zero),
            // Mid-file in an incremental window.
            StopPoint.on(event: "windowStarted", window: 4, delay: .milliseconds(20)),
        ]
    )
    func sigkill(at stop: StopPoint) async throws {
        try await Self.scenario(signal: SIGKILL, at: stop)
    }

    @Test("SIGTERM: drains, saves the checkpoint, exits 5; resume reaches the exact expected state")
    func sigterm() async throws {
        try await Self.scenario(signal: SIGTERM, at: .on(event: "windowStarted", window: 2, delay: .milliseconds(100)))
    }
}
