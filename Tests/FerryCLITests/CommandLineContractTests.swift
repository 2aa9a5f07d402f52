import Foundation
import Testing

/// Runs the built `ferry` binary: the command-line contract's exit codes and messages.
@Suite("ferry's command-line contract")
struct CommandLineContractTests {
    /// The `ferry` executable next to the test bundle in the build folder.
    static var ferry: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1
            && !FileManager.default.fileExists(atPath: url.appendingPathComponent("ferry").path)
        {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("ferry")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = ferry
        process.arguments = arguments
        // Only loopback here: the credential chain must never fall back to the EC2 metadata address.
        process.environment = ProcessInfo.processInfo.environment.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 }
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (
            process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self)
        )
    }

    @Test(
        "a percentage out of range is a usage error (exit 2) naming the flag and the range",
        arguments: [
            ["plan", "--source", "dir", "--target-table", "t", "--write-percent", "150"],
            ["plan", "--source", "dir", "--target-table", "t", "--read-percent", "0"],
            ["apply", "plan.json", "--write-percent=-5"],
            ["diff", "plan.json", "--read-percent", "100.5"],
        ]
    )
    func percentOutOfRange(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains("must be a percentage greater than 0 and at most 100"))
        #expect(result.stdout.isEmpty)
    }

    @Test(
        "a --spool-limit that is not a size is a usage error (exit 2) naming the flag",
        arguments: ["4X", "0", "-1Gi", "1.5Gi", "Gi", "4 Gi", "99999999999Ti"]
    )
    func spoolLimitUsage(_ value: String) throws {
        let result = try Self.run(["apply", "plan.json", "--spool-limit", value])
        #expect(result.status == 2, "\(result)")
        #expect(result.stderr.contains("--spool-limit"), "\(result.stderr)")
    }

    @Test("a --spool-limit that is a size is accepted (the run then fails on the missing plan, not on the flag)")
    func spoolLimitAccepted() throws {
        for value in ["4Gi", "500M", "1048576"] {
            let result = try Self.run(["apply", "/nonexistent/plan.json", "--spool-limit", value])
            #expect(result.status != 2 && !result.stderr.contains("--spool-limit"), "\(value): \(result)")
        }
    }

    @Test(
        "missing arguments and unknown subcommands are usage errors (exit 2)",
        arguments: [["plan"], ["bogus"], ["apply"]]
    )
    func usageErrors(_ arguments: [String]) throws {
        #expect(try Self.run(arguments).status == 2)
    }

    @Test(
        "apply's follow options: durations are checked and need --follow (usage errors, exit 2)",
        arguments: [
            ["apply", "plan.json", "--follow", "--until-lag", "soon"], ["apply", "plan.json", "--until-lag", "15m"],
            ["apply", "plan.json", "--follow", "--poll-interval", "0s"],
            ["diff", "plan.json", "--checkpoint", "c.json"],
        ]
    )
    func followUsage(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2)
        #expect(result.stdout.isEmpty)
    }

    @Test("plan → status on a generated chain; --json prints the plan; a gap exits 3 naming the exports")
    func planAndStatus() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-cli-\(UUID().uuidString)")
            .path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let generator = Self.ferry.deletingLastPathComponent().appendingPathComponent("ferry-exportgen")
        let gen = Process()
        gen.executableURL = generator
        gen.arguments = ["generate", "--out", directory, "--items", "30", "--windows", "3", "--changes", "5"]
        gen.standardOutput = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        #expect(gen.terminationStatus == 0)

        let planPath = directory + "/plan.json"
        let planned = try Self.run([
            "plan", "--source", directory + "/exports", "--target-table", "orders", "--out", planPath,
        ])
        #expect(planned.status == 0, "\(planned.stderr)")
        #expect(planned.stdout.contains("FULL export") && planned.stdout.contains("3 INCREMENTAL windows"))
        let json = try Self.run([
            "plan", "--source", directory + "/exports", "--target-table", "orders", "--out", planPath, "--json",
        ])
        #expect(json.status == 0)
        let document = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((document?["windows"] as? [Any])?.count == 4)
        #expect(
            FileManager.default.contents(atPath: planPath) == Data(json.stdout.utf8),
            "the file and --json are the same bytes"
        )

        let status = try Self.run(["status", planPath])
        #expect(status.status == 0)
        #expect(status.stdout.contains("0 of 4 windows applied"))
        let statusJSON = try Self.run(["status", planPath, "--json"])
        #expect(
            (try JSONSerialization.jsonObject(with: Data(statusJSON.stdout.utf8)) as? [String: Any])?["windows"] as? Int
                == 4
        )

        // Remove the middle window: a gap.
        let exportsFolder = directory + "/exports/exports/AWSDynamoDB"
        let ids = try FileManager.default.contentsOfDirectory(atPath: exportsFolder).filter { $0 != "data" }.sorted()
        try FileManager.default.removeItem(atPath: exportsFolder + "/" + ids[2])
        let gap = try Self.run([
            "plan", "--source", directory + "/exports", "--target-table", "orders", "--out", directory + "/gap.json",
        ])
        #expect(gap.status == 3)
        #expect(
            gap.stderr.contains("gap in the export chain") && gap.stderr.contains(ids[1])
                && gap.stderr.contains(ids[3]),
            "\(gap.stderr)"
        )

        // A tampered plan: status refuses it with exit 3.
        let text = try String(contentsOfFile: planPath, encoding: .utf8).replacingOccurrences(
            of: "\"orders\"",
            with: "\"other\""
        )
        try text.write(toFile: planPath, atomically: true, encoding: .utf8)
        let tampered = try Self.run(["status", planPath])
        #expect(tampered.status == 3)
        #expect(tampered.stderr.contains("does not match its planId"))
    }

    @Test("apply with a missing plan names it and exits 3")
    func applyMissingPlan() throws {
        let result = try Self.run(["apply", "/nonexistent/plan.json"])
        #expect(result.status == 3)
        #expect(result.stderr.contains("/nonexistent/plan.json: not a Ferry plan (no such file)"))
    }

    @Test("--help documents the exit codes")
    func help() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("2   usage error"))
        #expect(result.stdout.contains("5   interrupted; the run can be resumed"))
    }
}
