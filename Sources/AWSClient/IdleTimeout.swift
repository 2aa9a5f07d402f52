import AWSCore
import Synchronization

/// Bounds how long a response may keep Ferry waiting for its next bytes.
///
/// `run` runs the read in a child task beside a watchdog. The read marks itself `busy` while the caller consumes a
/// chunk (a slow consumer is back-pressure, not a dead connection) and `waiting` otherwise; once it has been waiting
/// `limit` in one stretch, the watchdog fails the attempt with `TransportError(kind: .readTimeout)` and the read is
/// cancelled (AsyncHTTPClient then closes the connection). A half-open connection therefore ends in `limit`, and the
/// caller's ranged resume or retry takes over.
struct IdleTimeout: Sendable {
    var limit: Duration

    /// Runs `read`; the timer starts at once (waiting for the response head counts as waiting).
    func run<T: Sendable>(_ read: (IdleProgress) async throws -> T) async throws -> T {
        let progress = IdleProgress()
        let limit = limit
        return try await withoutActuallyEscaping(read) { read in
            let reader = UncheckedSendable(read)
            return try await withThrowingTaskGroup(of: T?.self) { group in
                group.addTask { try await reader.value(progress) }
                group.addTask {
                    try await progress.watch(limit: limit)
                    return nil
                }
                defer { group.cancelAll() }
                // The first to finish decides: the read's result, or the watchdog's timeout (which cancels the read).
                guard let first = try await group.next(), let value = first else {
                    throw TransportError(kind: .readTimeout, detail: "no response")
                }
                return value
            }
        }
    }
}

/// Whether a read is waiting for the network (and since when) or busy with what it received.
final class IdleProgress: Sendable {
    private enum State {
        case waiting(since: ContinuousClock.Instant)
        case busy
    }
    private let state = Mutex(State.waiting(since: .now))

    /// The caller is consuming a chunk: the clock stops.
    func busy() { state.withLock { $0 = .busy } }
    /// The read waits for the network again: the clock restarts.
    func waiting() { state.withLock { $0 = .waiting(since: .now) } }

    /// Returns never; throws `.readTimeout` once one wait lasts `limit`, or `CancellationError` when cancelled.
    func watch(limit: Duration) async throws {
        while true {
            let current = state.withLock { $0 }
            switch current {
            case .busy:
                try await Task.sleep(for: limit)
            case .waiting(let since):
                let idle = ContinuousClock.now - since
                if idle >= limit {
                    throw TransportError(
                        kind: .readTimeout,
                        detail: "no data received for \(limit.secondsText) (idle read timeout)"
                    )
                }
                try await Task.sleep(for: limit - idle)
            }
        }
    }
}

/// Carries a non-`Sendable` closure into the one child task that calls it.
///
/// Invariant: the wrapped value is used by exactly one task at a time — the child task of `IdleTimeout.run`, while
/// the task that created it is suspended awaiting that group; the group's completion orders every effect of the
/// closure before the caller resumes.
struct UncheckedSendable<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}

extension Duration {
    /// "30 s", "0.3 s": for messages.
    var secondsText: String {
        let value = Double(components.seconds) + Double(components.attoseconds) / 1e18
        return value == value.rounded() ? "\(Int(value)) s" : "\(value) s"
    }
}
