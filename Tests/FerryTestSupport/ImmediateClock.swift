import Synchronization

/// A clock for tests of code that waits: a sleep returns at once and moves the clock's time to its deadline, so a
/// test sees exactly when the code would have woken, without waiting on a real clock. `advance(by:)` moves time
/// as the world would between calls (a response arriving later). Every sleep is recorded.
public final class ImmediateClock: Clock, Sendable {
    public typealias Duration = Swift.Duration

    public struct Instant: InstantProtocol {
        /// Time since the clock was made.
        public var offset: Swift.Duration
        public func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let state = Mutex((now: Instant(offset: .zero), sleeps: [Duration]()))

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }
    /// How long each sleep asked for, in order.
    public var sleeps: [Duration] { state.withLock { $0.sleeps } }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        state.withLock { state in
            state.sleeps.append(state.now.duration(to: deadline))
            if deadline > state.now { state.now = deadline }
        }
        await Task.yield()
    }

    public func advance(by duration: Duration) { state.withLock { $0.now = $0.now.advanced(by: duration) } }
}
