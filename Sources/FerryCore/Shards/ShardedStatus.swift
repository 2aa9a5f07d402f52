import ExportReader

/// What `ferry status PLAN --state …` reports for a sharded run: every shard's completed windows and claim, and the
/// barrier (the last window every shard has finished: the point in time the target has reached).
public struct ShardedStatus: Sendable, Codable, Hashable {
    public var planId: String
    public var state: String
    /// Nil: no worker has joined this state yet.
    public var shardCount: Int?
    public var windows: Int
    /// Windows every shard has finished.
    public var barrierWindowsDone: Int
    public var appliedThrough: String?
    public var lagSeconds: Double?
    public var itemsApplied: Int64
    public var rejects: Int64
    public var shards: [ShardCoordinator.ShardStatus]

    /// Reads the state of `plan` from `store`; `now` is epoch milliseconds, for the lag.
    public static func read(_ plan: Plan, store: any SharedStateStore, now: Int64) async throws -> ShardedStatus {
        let count = try await ShardCoordinator.recordedShards(store: store, planId: plan.planId)
        var shards: [ShardCoordinator.ShardStatus] = []
        // The plan's windows and those `--follow` announced after them.
        var windows = plan.windows
        if let count {
            windows += try await ShardCoordinator.followedWindows(store: store)
            shards = try await ShardCoordinator.status(store: store, count: count, windows: windows.count)
        }
        let barrier = shards.map(\.windowsDone).min() ?? 0
        let through = barrier > 0 ? windows[barrier - 1].to : nil
        return ShardedStatus(
            planId: plan.planId,
            state: store.location,
            shardCount: count,
            windows: windows.count,
            barrierWindowsDone: barrier,
            appliedThrough: through,
            lagSeconds: through.flatMap(ExportTime.init).map { Double(now - $0.epochMilliseconds) / 1000 },
            itemsApplied: shards.map(\.itemsApplied).reduce(0, +),
            rejects: shards.map(\.rejects).reduce(0, +),
            shards: shards
        )
    }

    public var text: String {
        guard let shardCount else {
            return "plan \(planId): no sharded run has started at \(state)"
        }
        var lines = ["plan \(planId): sharded over \(shardCount) workers, state at \(state)"]
        if barrierWindowsDone == windows {
            lines.append(
                "all \(windows) windows applied by every shard; the target is at \(appliedThrough ?? "?")"
                    + (lagSeconds.map { ", \(PlanSummary.durationText(max(0, $0))) before now" } ?? "")
            )
        } else if barrierWindowsDone == 0 {
            lines.append("barrier: no window finished by every shard yet (window 1/\(windows) in progress)")
        } else {
            lines.append(
                "barrier: every shard has finished window \(barrierWindowsDone)/\(windows); the target is at \(appliedThrough ?? "?")"
                    + (lagSeconds.map { ", \(PlanSummary.durationText(max(0, $0))) before now" } ?? "")
            )
        }
        for shard in shards {
            let where_ =
                shard.windowsDone > barrierWindowsDone
                ? " (at the barrier after window \(shard.windowsDone))"
                : shard.windowsDone < windows ? " (applying window \(shard.windowsDone + 1))" : ""
            lines.append(
                "shard \(shard.shard): \(shard.windowsDone)/\(windows) windows\(where_), \(shard.itemsApplied) items applied through its last window, \(shard.rejects) rejects; claim \(shard.claim)"
                    + (shard.holder.map { " by \($0)" } ?? "")
            )
        }
        lines.append(
            "in total \(itemsApplied) items applied through each shard's last finished window, \(rejects) rejects"
        )
        return lines.joined(separator: "\n")
    }
}
