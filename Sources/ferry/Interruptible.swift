import ArgumentParser
import Foundation
import Synchronization
import UnixSignals

/// SIGINT/SIGTERM for the commands that wait on DynamoDB's exports (`ferry export`, `ferry migrate`'s FULL export):
/// the first signal cancels the work — the exports already requested go on in DynamoDB, the run record says
/// `interrupted` — and the process exits 5; running the same command again continues the chain. A second signal
/// exits 5 at once (a request the network never answers is still bounded by its timeout, but nobody need wait).
enum Interruptible {
    final class Signals: Sendable {
        private let count = Atomic(0)
        /// Counts one more signal; returns how many so far.
        func next() -> Int { count.wrappingAdd(1, ordering: .relaxed).newValue }
        var seen: Bool { count.load(ordering: .relaxed) > 0 }
    }

    static func run<T: Sendable>(
        _ what: String,
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
        let task = Task { try await work() }
        let received = Signals()
        let watcher = Task {
            for await signal in signals {
                if received.next() > 1 {
                    printError("\(signal) again: stopping now; \(what)")
                    Foundation.exit(5)
                }
                printError("\(signal): stopping (a second signal stops at once) …")
                task.cancel()
            }
        }
        // The signals stay with libdispatch's handler afterwards (restoring SIG_DFL would take them from the next
        // step's trap): between two trapped steps a signal has no effect.
        defer { watcher.cancel() }
        let result = await task.result
        // A run that ended on its own before the signal took effect ended as it says (and as its journal does).
        if received.seen, case .failure = result {
            printError("interrupted: \(what)")
            throw ExitCode(5)
        }
        return try result.get()
    }
}
