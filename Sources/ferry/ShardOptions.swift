import AWSClient
import ArgumentParser
import FerryCore
import Foundation

/// `apply`'s sharding options: which shard this worker is, where the workers share their state, and the lease.
struct ShardOptions: ParsableArguments {
    @Option(help: "This worker's shard of a sharded run, INDEX/COUNT with a 0-based index (e.g. 0/4); needs --state.")
    var shard: String?
    @Option(
        help:
            "The number of workers of a sharded run; this worker's 0-based index comes from JOB_COMPLETION_INDEX (Kubernetes Indexed Job) or AWS_BATCH_JOB_ARRAY_INDEX (AWS Batch array job); needs --state."
    )
    var shards: Int?
    @OptionGroup var stateStore: StateStoreOptions
    @Option(
        name: .customLong("shard-lease"),
        help:
            "How long a worker's claim on its shard lasts unless renewed (renewed every third of it), e.g. 30s; a restarted worker takes over after 1.5 leases."
    )
    var shardLease: String?
    /// How often the barrier is read (tests shorten it).
    @Option(name: .customLong("barrier-poll"), help: .hidden) var barrierPoll: String?

    var isSharded: Bool { shard != nil || shards != nil }

    func validate() throws {
        if shard != nil && shards != nil {
            throw ValidationError("give --shard I/N or --shards N (with the index in the environment), not both")
        }
        if let shard { do { _ = try ShardSpec(argument: shard) } catch { throw ValidationError("\(error)") } }
        if let shards, shards < 1 || shards > ShardSpec.maxCount {
            throw ValidationError("--shards must be 1 … \(ShardSpec.maxCount) (got \(shards))")
        }
        let state = stateStore.state
        if isSharded && state == nil {
            throw ValidationError("--shard/--shards need --state s3://bucket/prefix, where the workers share their state")
        }
        if let state {
            guard isSharded else { throw ValidationError("--state needs --shard I/N or --shards N") }
            do { _ = try S3SharedStateStore.parse(state) } catch { throw ValidationError("\(error)") }
        }
        for (flag, value) in [("--shard-lease", shardLease), ("--barrier-poll", barrierPoll)] {
            if let value, (DurationArgument(value)?.seconds ?? 0) <= 0 {
                throw ValidationError("\(flag) must be a positive duration such as 30s (got \(value))")
            }
        }
        if !isSharded && (shardLease != nil || stateStore.region != nil || stateStore.endpointURL != nil) {
            throw ValidationError("--shard-lease, --state-region and --state-endpoint-url need --shard or --shards")
        }
    }

    /// This worker's shard, or nil when the run is not sharded.
    func spec(environment: [String: String]) throws -> ShardSpec? {
        if let shard { return try ShardSpec(argument: shard) }
        if let shards { return try ShardSpec.fromEnvironment(environment, count: shards) }
        return nil
    }

    func coordinator(
        shard: ShardSpec,
        plan: Plan,
        target: AWSSideOptions,
        transport: any HTTPTransport,
        environment: [String: String]
    ) throws -> ShardCoordinator {
        guard let store = try stateStore.store(target: target, transport: transport, environment: environment) else {
            throw ShardError.badSpec("a sharded run needs --state s3://bucket/prefix")
        }
        var coordinator = ShardCoordinator(store: store, shard: shard, planId: plan.planId)
        if let seconds = shardLease.flatMap(DurationArgument.init)?.seconds {
            coordinator.leaseDuration = .milliseconds(Int64(seconds * 1000))
        }
        if let seconds = barrierPoll.flatMap(DurationArgument.init)?.seconds {
            coordinator.pollInterval = .milliseconds(Int64(seconds * 1000))
        }
        coordinator.notice = { printError("notice: \($0)") }
        return coordinator
    }
}

/// Where a sharded run's workers share their state, and how it is reached (`apply` and `status`).
struct StateStoreOptions: ParsableArguments {
    @Option(
        help:
            "Where the workers of a sharded run share their state (claims, window markers, the barrier): s3://bucket/prefix, one prefix per plan; read and written with the target side's credentials."
    )
    var state: String?
    @Option(name: .customLong("state-region"), help: "Region of the --state bucket (default: the target's).")
    var region: String?
    @Option(name: .customLong("state-endpoint-url"), help: "S3 endpoint override for --state (default: the target's).")
    var endpointURL: String?

    /// The state store, reached with the target side's credentials (its region and endpoint unless overridden).
    func store(
        target: AWSSideOptions,
        transport: any HTTPTransport,
        environment: [String: String]
    ) throws -> S3SharedStateStore? {
        guard let state else { return nil }
        let (bucket, prefix) = try S3SharedStateStore.parse(state)
        var side = target
        side.side = "state"
        side.region = region ?? target.region
        side.endpointURL = endpointURL ?? target.endpointURL
        let session = try AWSSession.make(side, environment: environment, transport: transport)
        return S3SharedStateStore(s3: S3Client(executor: try session.executor(.s3)), bucket: bucket, prefix: prefix)
    }
}
