import Foundation

/// A sharded run's part of the driver: where a worker resumes from, and the barrier between windows (the `--follow`
/// agreement is in `findExports`).
extension ApplyEngine {
    /// The checkpoint to go on from: the store's, or — sharded — the shard's newest window marker when it is further
    /// (a worker replaced on another machine has no local checkpoint).
    func startingCheckpoint() async throws -> Checkpoint {
        let local = try store.load(for: plan.planId)
        guard let coordinator else { return local ?? Checkpoint(planId: plan.planId) }
        if let local, local.shard != coordinator.shard.description {
            throw ShardError.checkpointOfOtherShard(
                path: store.path,
                recorded: local.shard.map { "shard \($0)" } ?? "a single worker",
                given: coordinator.shard.description
            )
        }
        var saved = local ?? Checkpoint(planId: plan.planId)
        saved.shard = coordinator.shard.description
        if let marked = try await coordinator.latestCheckpoint(from: saved.windowsDone),
            marked.planId == plan.planId, marked.windowsDone > saved.windowsDone
        {
            coordinator.notice(
                "shard \(coordinator.shard): resuming after window \(marked.windowsDone) from its marker at \(coordinator.store.location) (the local checkpoint had \(saved.windowsDone))"
            )
            saved = marked
        }
        return saved
    }

    /// Sharded: records this shard's completion of `window` (when `marker` is given), then reads the other shards'
    /// markers every poll until all are there, saying which are missing whenever that changes.
    func barrier(after window: Int, marker: Checkpoint?, events: AsyncStream<Machine.Event>.Continuation) async {
        guard let coordinator else {
            events.yield(.failed(ApplyError.internalState("a barrier in a run that is not sharded")))
            return
        }
        do {
            if let marker { try await coordinator.publish(window: window, checkpoint: marker) }
            var seen = Set<Int>()
            var reported: [Int]?
            while true {
                let missing = try await coordinator.missing(window: window, seen: &seen)
                if marker == nil, missing.contains(coordinator.shard.index) {
                    throw ShardError.markerMissing(
                        shard: coordinator.shard.description,
                        window: window,
                        state: coordinator.store.location
                    )
                }
                if missing.isEmpty {
                    events.yield(.barrierPassed(window: window))
                    return
                }
                if missing != reported {
                    events.yield(.barrierWaiting(window: window, missing: missing))
                    reported = missing
                }
                try await clock.sleep(for: coordinator.pollInterval)
            }
        } catch is CancellationError {
        } catch {
            events.yield(.failed(error))
        }
    }
}
