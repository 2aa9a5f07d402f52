import AWSClient
import AWSCore
import AWSCredentials
import FerryTestSupport
import Foundation
import Testing

/// Issue 13.5: `credential_process` helpers are bounded in time, drained concurrently, kept off the concurrency
/// threads, and their stderr never carries a secret into an error.
@Suite("credential_process: bounded, drained, scrubbed, off the concurrency threads", .timeLimit(.minutes(1)))
struct CredentialProcessTests {
    static let json =
        #"{"Version":1,"AccessKeyId":"AKIAPROCESS","SecretAccessKey":"process-secret","SessionToken":"process-token","Expiration":"2099-01-01T00:00:00Z"}"#

    func provider(_ command: String, timeout: Duration? = nil) throws -> any CredentialProvider {
        var factory = CredentialProviderFactory(
            transport: ExpiredTokenTransport(),
            environment: [:],
            region: "eu-west-1"
        )
        if let timeout { factory.processTimeout = timeout }
        return try factory.provider(for: .process(command: command, profile: "tools"))
    }

    @Test("a helper that writes 1 MiB to stderr before its stdout does not deadlock")
    func chattyHelper() async throws {
        let command = "head -c 1048576 /dev/zero | tr '\\0' x >&2; printf '%s' '\(Self.json)'"
        #expect(try await provider(command).credentials().accessKeyId == "AKIAPROCESS")
    }

    @Test("a helper that hangs is killed after the timeout (with the commands it started) and the error says so")
    func hangingHelperIsKilled() async throws {
        let started = ContinuousClock.now
        // The shell forks `sleep`, which holds the pipes: only killing the process group ends the wait.
        do {
            _ = try await provider(
                "echo waiting for the token service >&2; sleep 30; printf '%s' '\(Self.json)'",
                timeout: .milliseconds(300)
            ).credentials()
            Issue.record("a hanging credential_process returned")
        } catch {
            #expect(
                "\(error)"
                    == "credentials from credential_process of profile tools: did not finish within 0.3 s and was killed: waiting for the token service"
            )
        }
        #expect(
            ContinuousClock.now - started < .seconds(10),
            "bounded by the 300 ms timeout, not by the helper's 30 s sleep"
        )
    }

    @Test("a failing helper's stderr is scrubbed of the credentials it printed and of anything shaped like a key")
    func stderrScrubbed() async throws {
        let printed =
            #"{"Version":1,"AccessKeyId":"AKIAHELPERKEY0000001","SecretAccessKey":"helper-secret-value-123","SessionToken":"helper-session-token-456"}"#
        let command =
            "printf '%s' '\(printed)'; echo 'refused AKIAHELPERKEY0000001 helper-secret-value-123 helper-session-token-456, also ASIAABCDEFGHIJKLMNOP and wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY' >&2; exit 1"
        do {
            _ = try await provider(command).credentials()
            Issue.record("a failing credential_process was accepted")
        } catch {
            let text = "\(error)" + String(reflecting: error)
            #expect(text.contains("exited with status 1: refused [REDACTED]"), "\(text)")
            for secret in [
                "AKIAHELPERKEY0000001", "helper-secret-value-123", "helper-session-token-456", "ASIAABCDEFGHIJKLMNOP",
                "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY",
            ] {
                #expect(!text.contains(secret), "\(secret) leaked: \(text)")
            }
        }
    }

    @Test("waiting for helpers does not hold the concurrency threads: more helpers than cores wait for this task")
    func helpersDoNotBlockTheCooperativePool() async throws {
        try await withTemporaryDirectory { directory in
            // More helpers than the cooperative pool has threads. Each says it started, then waits (at most ~8 s) for
            // `go`, which only this task writes: if the waits held the pool's threads, this task could not run.
            let count = ProcessInfo.processInfo.activeProcessorCount + 2
            let command =
                "touch \(directory)/started.$$; i=0; while [ ! -f \(directory)/go ] && [ $i -lt 400 ]; do sleep 0.02; i=$((i+1)); done; [ -f \(directory)/go ] && printf '%s' '\(Self.json)'"
            let providers = try (0..<count).map { _ in try provider(command) }
            try await withThrowingTaskGroup(of: String.self) { group in
                for provider in providers { group.addTask { try await provider.credentials().accessKeyId } }
                while (try FileManager.default.contentsOfDirectory(atPath: directory).filter {
                    $0.hasPrefix("started.")
                }.count) < count {
                    try await Task.sleep(for: .milliseconds(20))
                }
                try Data().write(to: URL(fileURLWithPath: directory + "/go"))
                for try await id in group { #expect(id == "AKIAPROCESS") }
            }
        }
    }
}
