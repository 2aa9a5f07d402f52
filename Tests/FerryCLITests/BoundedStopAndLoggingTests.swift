import FerryCore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `ferry` binary against `scripts/stalling-endpoint.py` (DescribeTable answered, every write left unanswered):
/// a stop is bounded whatever the network does (issue 13.5), and `--log-level`/`--debug` show each request without
/// a secret (issue 13.12).
@Suite("ferry: bounded stops and request logs", .serialized, .timeLimit(.minutes(2)))
struct BoundedStopAndLoggingTests {
    static let secret = "ferrySecretKey/0123456789abcdefghijXYZ+"
    static let token = "FerrySessionToken0123456789abcdefSECRET"

    static func environment(_ server: StallingEndpoint) -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": "AKIAFERRYLOGTEST0001", "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": token,
            "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
            "FERRY_LOG_LEVEL": "",
        ]
    }

    /// A generated chain under `directory` and a plan for it at `directory/plan.json`.
    static func planned(_ directory: String, environment: [String: String]) throws -> String {
        let generator = Process()
        generator.executableURL = CommandLineContractTests.ferry.deletingLastPathComponent().appendingPathComponent(
            "ferry-exportgen"
        )
        generator.arguments = ["generate", "--out", directory, "--items", "400", "--windows", "1", "--changes", "20"]
        generator.standardOutput = FileHandle.nullDevice
        try generator.run()
        generator.waitUntilExit()
        let plan = directory + "/plan.json"
        let planning = try ApplyCrashTests.ferry(
            ["plan", "--source", directory + "/exports", "--target-table", "orders", "--out", plan],
            environment: environment
        )
        planning.waitUntilExit()
        #expect(planning.terminationStatus == 0)
        return plan
    }

    /// Waits for `process` to end, at most `limit`; kills it (and records an issue) if it does not.
    static func waitForExit(_ process: Process, within limit: Duration) async throws -> Duration {
        let started = ContinuousClock.now
        while process.isRunning {
            if ContinuousClock.now - started > limit {
                kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                Issue.record("ferry did not exit within \(limit) of the signal")
                break
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        return ContinuousClock.now - started
    }

    /// `apply` of a plan whose writes the endpoint never answers: signalled once `window 1` started.
    static func stopWhileWritesHang(
        grace: String,
        signals: [Int32]
    ) async throws -> (status: Int32, elapsed: Duration, stderr: String, checkpoint: Checkpoint?) {
        try await withTemporaryDirectory { directory in
            try await StallingEndpoint.with { server in
                let environment = Self.environment(server)
                let plan = try planned(directory, environment: environment)
                let events = Pipe()
                let apply = try ApplyCrashTests.ferry(
                    ["apply", plan, "--stop-grace", grace],
                    environment: environment,
                    stderr: events
                )
                #expect(await ApplyCrashTests.waitFor(event: "windowStarted", window: 1, in: events))
                let rest = Task.detached {
                    String(decoding: events.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                }
                for signal in signals { kill(apply.processIdentifier, signal) }
                let elapsed = try await waitForExit(apply, within: .seconds(20))
                let stderr = await rest.value
                let checkpoint = try CheckpointFile(path: directory + "/plan.checkpoint.json").load(
                    for: try PlanFile.read(plan).planId
                )
                return (apply.terminationStatus, elapsed, stderr, checkpoint)
            }
        }
    }

    @Test("SIGTERM while BatchWriteItem hangs: after the grace period the checkpoint is saved and apply exits 5")
    func hardStopAfterGrace() async throws {
        let result = try await Self.stopWhileWritesHang(grace: "1s", signals: [SIGTERM])
        #expect(result.status == 5, "\(result.stderr)")
        // The endpoint stays silent for two minutes and each write may wait 30 s: only the 1 s grace explains this.
        #expect(result.elapsed < .seconds(15))
        #expect(result.stderr.contains("did not finish within 1 sec"), "\(result.stderr)")
        #expect(result.stderr.contains("run the same command again to resume"))
        let checkpoint = try #require(result.checkpoint, "the checkpoint was saved")
        #expect(checkpoint.windowsDone == 0)
        #expect(checkpoint.targetArn == "arn:aws:dynamodb:us-east-1:999999999999:table/orders")
    }

    @Test("a second signal stops at once, checkpoint saved, exit 5, without waiting for the grace period")
    func secondSignalStopsAtOnce() async throws {
        let result = try await Self.stopWhileWritesHang(grace: "120s", signals: [SIGTERM, SIGINT])
        #expect(result.status == 5, "\(result.stderr)")
        #expect(result.elapsed < .seconds(15))
        #expect(result.stderr.contains("again: stopping now"), "\(result.stderr)")
        #expect(result.checkpoint != nil)
    }

    struct LogCase: Sendable, CustomStringConvertible {
        var flags: [String]
        var level: String?
        var requests: Bool
        var headers: Bool
        var description: String { flags.joined(separator: " ") + (level.map { " FERRY_LOG_LEVEL=\($0)" } ?? "") }
    }

    @Test(
        "plan --json with --log-level/--debug/FERRY_LOG_LEVEL: request lines (and headers at trace) on stderr, never a secret, stdout one JSON document",
        arguments: [
            LogCase(flags: ["--log-level", "trace"], requests: true, headers: true),
            LogCase(flags: ["--debug"], requests: true, headers: false),
            LogCase(flags: [], level: "debug", requests: true, headers: false),
            LogCase(flags: [], level: "TRACE", requests: true, headers: true),
            LogCase(flags: ["--log-level", "info"], level: "trace", requests: false, headers: false),
            LogCase(flags: [], requests: false, headers: false),
        ]
    )
    func requestLogs(_ logCase: LogCase) async throws {
        try await withTemporaryDirectory { directory in
            try await StallingEndpoint.with { server in
                var environment = Self.environment(server)
                _ = try Self.planned(directory, environment: environment)
                environment["FERRY_LOG_LEVEL"] = logCase.level ?? ""
                let out = Pipe()
                let err = Pipe()
                let process = Process()
                process.executableURL = CommandLineContractTests.ferry
                process.arguments =
                    [
                        "plan", "--source", directory + "/exports", "--target-table", "orders", "--out",
                        directory + "/p.json", "--json",
                    ] + logCase.flags
                process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
                process.standardOutput = out
                process.standardError = err
                try process.run()
                let drained = Task.detached {
                    String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                }
                let stdout = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                let stderr = await drained.value
                #expect(process.terminationStatus == 0, "\(stderr)")
                #expect((try? JSONSerialization.jsonObject(with: stdout)) is [String: Any], "stdout is the plan alone")
                let requestLine = stderr.split(separator: "\n").first {
                    $0.contains("DescribeTable") && $0.contains("HTTP 200")
                }
                if logCase.requests {
                    let line = try #require(requestLine, "a response line at debug: \(stderr)")
                    #expect(line.contains("attempt 1") && line.contains(" ms") && line.contains("127.0.0.1"), "\(line)")
                    #expect(stderr.contains("→ DynamoDB DescribeTable POST"), "\(stderr)")
                } else {
                    #expect(requestLine == nil, "\(stderr)")
                }
                #expect(stderr.contains("headers") == logCase.headers, "\(stderr)")
                if logCase.headers {
                    #expect(
                        stderr.contains("Authorization") && stderr.contains("X-Amz-Security-Token")
                            && stderr.contains("[REDACTED]"),
                        "\(stderr)"
                    )
                }
                for secret in [Self.secret, Self.token, "Signature="] {
                    #expect(!stderr.contains(secret), "\(secret) in the log")
                    #expect(!String(decoding: stdout, as: UTF8.self).contains(secret))
                }
            }
        }
    }

    @Test(
        "every subcommand's --help documents --log-level and --debug",
        arguments: ["plan", "apply", "diff", "status"]
    )
    func helpDocumentsLogging(_ subcommand: String) throws {
        let result = try CommandLineContractTests.run([subcommand, "--help"])
        #expect(result.status == 0)
        #expect(
            result.stdout.contains("--log-level <level>") && result.stdout.contains("--debug")
                && result.stdout.contains("FERRY_LOG_LEVEL"),
            "\(result.stdout)"
        )
        #expect(!result.stdout.contains("--stop-grace"), "the test-only option stays hidden")
    }

    @Test(
        "an unknown log level is a usage error (exit 2) naming the flag or the variable",
        arguments: [
            (["--log-level", "loud"], "", "--log-level"), ([], "loud", "FERRY_LOG_LEVEL"),
        ]
    )
    func badLevel(_ flags: [String], _ variable: String, _ named: String) throws {
        let process = Process()
        process.executableURL = CommandLineContractTests.ferry
        process.arguments = ["status", "plan.json"] + flags
        process.environment = ProcessInfo.processInfo.environment.merging(["FERRY_LOG_LEVEL": variable]) { $1 }
        let err = Pipe()
        process.standardOutput = FileHandle.nullDevice
        process.standardError = err
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 2)
        #expect(stderr.contains(named) && stderr.contains("trace"), "\(stderr)")
    }
}
