import Foundation
import Testing

/// Runs the built `ferry` binary: the command-line contract's exit codes and messages.
@Suite("ferry's command-line contract")
struct CommandLineContractTests {
    /// The `ferry` executable next to the test bundle in the build folder.
    static var ferry: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathComponents.count > 1 && !FileManager.default.fileExists(atPath: url.appendingPathComponent("ferry").path) {
            url.deleteLastPathComponent()
        }
        return url.appendingPathComponent("ferry")
    }

    static func run(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = ferry
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    @Test("a percentage out of range is a usage error (exit 2) naming the flag and the range", arguments: [
        ["plan", "--source", "dir", "--target-table", "t", "--write-percent", "150"],
        ["plan", "--source", "dir", "--target-table", "t", "--read-percent", "0"],
        ["apply", "plan.json", "--write-percent=-5"],
        ["diff", "plan.json", "--read-percent", "100.5"],
    ])
    func percentOutOfRange(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 2)
        #expect(result.stderr.contains("must be a percentage greater than 0 and at most 100"))
        #expect(result.stdout.isEmpty)
    }

    @Test("missing arguments and unknown subcommands are usage errors (exit 2)", arguments: [["plan"], ["bogus"], ["apply"]])
    func usageErrors(_ arguments: [String]) throws {
        #expect(try Self.run(arguments).status == 2)
    }

    @Test("subcommands not built yet say so on stderr and exit 69, printing nothing on stdout", arguments: [
        ["plan", "--source", "dir", "--target-table", "t"], ["apply", "plan.json"], ["diff", "plan.json"], ["status", "plan.json"],
    ])
    func notBuiltYet(_ arguments: [String]) throws {
        let result = try Self.run(arguments)
        #expect(result.status == 69)
        #expect(result.stderr.contains("is not built yet"))
        #expect(result.stdout.isEmpty)
    }

    @Test("--help documents the exit codes")
    func help() throws {
        let result = try Self.run(["--help"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("2   usage error"))
        #expect(result.stdout.contains("5   interrupted; the run can be resumed"))
    }
}
