import Synchronization

/// A clock for tests of code that waits while other work goes on: a sleep suspends until the test moves time past
/// its deadline (`advance(by:)`, `advanceToNextDeadline(within:)`), so the test decides when each wait ends and
/// never waits on a real clock. Every sleep is recorded; cancelling a sleeper ends its sleep with
/// `CancellationError`, as `ContinuousClock`'s does.
public final class ManualClock: Clock, Sendable {
    public typealias Duration = Swift.Duration
    public typealias Instant = ImmediateClock.Instant

    private struct Sleeper {
        var id: Int
        var deadline: Instant
        var requested: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleeps: [Duration] = []
        var sleepers: [Sleeper] = []
        var nextId = 0
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }
    /// How long each sleep asked for, in order.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }
    /// How long each sleep still waiting asked for.
    public var pendingSleeps: [Duration] { state.withLock { $0.sleepers.map(\.requested) } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            state.nextId += 1
            return state.nextId
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // Registered under the lock that `onCancel` takes: a cancellation either comes first (and is seen
                // here) or finds the sleeper to resume.
                let result: Result<Void, any Error>? = state.withLock { state in
                    let requested = state.now.duration(to: deadline)
                    state.sleeps.append(requested)
                    if Task.isCancelled { return .failure(CancellationError()) }
                    guard deadline > state.now else { return .success(()) }
                    state.sleepers.append(
                        Sleeper(id: id, deadline: deadline, requested: requested, continuation: continuation)
                    )
                    return nil
                }
                if let result { continuation.resume(with: result) }
            }
        } onCancel: {
            let sleeper = state.withLock { state in
                state.sleepers.firstIndex { $0.id == id }.map { state.sleepers.remove(at: $0) }
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time on by `duration`, waking every sleeper whose deadline it reaches.
    public func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.deadline <= now }
            state.sleepers.removeAll { $0.deadline <= now }
            return due
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Moves time to the earliest deadline a sleeper waits for, if one is at most `limit` ahead; returns whether it did.
    @discardableResult
    public func advanceToNextDeadline(within limit: Duration) -> Bool {
        let step: Duration? = state.withLock { state in
            guard let next = state.sleepers.map(\.deadline).min() else { return nil }
            let step = state.now.duration(to: next)
            return step <= limit ? step : nil
        }
        guard let step else { return false }
        advance(by: step)
        return true
    }
}

extension ManualClock {
    /// Lets the code under test run until `done()` holds, moving time to each deadline it waits for that is at most
    /// `limit` ahead (so a longer wait — the one a test means to observe — is left alone). Returns false if `done()`
    /// still fails after `timeout` of real time: a bound on the work the code does, not on its timing.
    public func run(
        until done: () -> Bool,
        advancingWithin limit: Duration,
        timeout: Duration = .seconds(120)
    ) async throws -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !done() {
            guard ContinuousClock.now < deadline else { return false }
            advanceToNextDeadline(within: limit)
            // Real time only to let the work go on between steps; what it is timed by is this clock.
            try await Task.sleep(for: .milliseconds(1))
        }
        return true
    }
}
