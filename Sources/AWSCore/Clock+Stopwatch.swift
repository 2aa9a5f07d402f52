extension Clock where Duration == Swift.Duration {
    /// Starts measuring on this clock: the function returned tells the time since. It lets code that holds an
    /// `any Clock<Duration>` (whose instants it cannot name) measure intervals on it.
    package func stopwatch() -> @Sendable () -> Duration {
        let start = now
        return { start.duration(to: self.now) }
    }
}
