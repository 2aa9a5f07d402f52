import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs a profile's `credential_process` command (`/bin/sh -c`), bounded in time and never on a concurrency thread.
///
/// - The wait happens on a dedicated thread, resumed through a continuation: a slow helper must not hold one of the
///   few cooperative threads the whole run shares.
/// - stdout and stderr are drained together with `poll(2)`, so a helper that writes a lot to one of them before the
///   other cannot deadlock on a full pipe. Each keeps at most `captureLimit` bytes; the rest is read and dropped.
/// - After `timeout` the helper's whole process group is killed (it is spawned as a group leader, so the
///   commands a shell started die with it) and the run reports `timedOut`.
enum CredentialProcess {
    /// What a helper did.
    struct Output: Sendable {
        var exitStatus: Int32?
        var signal: Int32?
        var stdout: [UInt8]
        var stderr: [UInt8]
        var timedOut: Bool
    }

    struct SpawnError: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    static let captureLimit = 1 << 20

    static func run(_ command: String, timeout: Duration) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runBlocking(command, timeout: timeout) })
            }
            thread.name = "ferry credential_process"
            thread.start()
        }
    }

    /// Blocks the calling (dedicated) thread until the helper ends or is killed.
    static func runBlocking(_ command: String, timeout: Duration) throws -> Output {
        var outPipe: [Int32] = [-1, -1]
        var errPipe: [Int32] = [-1, -1]
        guard pipe(&outPipe) == 0 else {
            throw SpawnError(reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        guard pipe(&errPipe) == 0 else {
            close(outPipe[0])
            close(outPipe[1])
            throw SpawnError(reason: "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        // Close-on-exec, so that other processes spawned meanwhile do not inherit (and hold open) these pipes; the
        // helper gets its ends through dup2, which clears the flag. (Glibc does not export pipe2 to Swift.)
        for fd in outPipe + errPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1)
        posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let words: [String] = ["/bin/sh", "-c", command]
        let arguments: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) }
        defer { arguments.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/sh", &actions, &attributes, arguments + [nil], environ)
        close(outPipe[1])
        close(errPipe[1])
        defer {
            close(outPipe[0])
            close(errPipe[0])
        }
        guard spawned == 0 else {
            throw SpawnError(reason: "cannot start /bin/sh: \(String(cString: strerror(spawned)))")
        }

        let deadline = ContinuousClock.now + timeout
        var output = Output(stdout: [], stderr: [], timedOut: false)
        var fds = [
            pollfd(fd: outPipe[0], events: Int16(POLLIN), revents: 0),
            pollfd(fd: errPipe[0], events: Int16(POLLIN), revents: 0),
        ]
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while fds.contains(where: { $0.fd >= 0 }) {
            let left = deadline - ContinuousClock.now
            guard left > .zero else {
                output.timedOut = true
                break
            }
            let ready = poll(
                &fds,
                nfds_t(fds.count),
                Int32(
                    min(
                        left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1,
                        60_000
                    )
                )
            )
            if ready < 0 && errno != EINTR { break }
            for index in fds.indices where fds[index].fd >= 0 && fds[index].revents != 0 {
                let count = read(fds[index].fd, &buffer, buffer.count)
                if count > 0 {
                    if index == 0 {
                        if output.stdout.count < captureLimit { output.stdout += buffer[..<count] }
                    } else if output.stderr.count < captureLimit {
                        output.stderr += buffer[..<count]
                    }
                } else if count == 0 || (errno != EINTR && errno != EAGAIN) {
                    fds[index].fd = -1  // closed: poll ignores negative descriptors
                }
            }
        }
        // Both pipes are closed (or time is up): reap the helper, still within the deadline.
        var status: Int32 = 0
        while !output.timedOut {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR { return output }
            if ContinuousClock.now >= deadline {
                output.timedOut = true
                break
            }
            usleep(5_000)
        }
        if output.timedOut {
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        }
        if status & 0x7f == 0 { output.exitStatus = (status >> 8) & 0xff } else { output.signal = status & 0x7f }
        return output
    }

    /// The secret values a helper's (possibly partial or rejected) output holds, to scrub from its stderr.
    static func secretValues(in stdout: [UInt8]) -> [String] {
        guard let object = try? JSONSerialization.jsonObject(with: Data(stdout)) as? [String: Any] else { return [] }
        return ["AccessKeyId", "SecretAccessKey", "SessionToken"].compactMap { object[$0] as? String }
    }
}
