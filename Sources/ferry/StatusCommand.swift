import AWSClient
import ArgumentParser
import FerryCore
import Foundation

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a plan's progress: windows done, items applied, rejects, lag."
    )

    @Argument(help: "The plan file.") var plan: String
    @Option(help: "Checkpoint file (default: next to the plan, <plan>.checkpoint.json).") var checkpoint: String?
    @Flag(help: "Print the status as JSON on stdout.") var json = false
    @OptionGroup(title: "A sharded run's shared state") var stateStore: StateStoreOptions
    @OptionGroup(title: "Target AWS options (for --state)") var targetAWS: TargetAWSOptions
    @OptionGroup(title: "Logging") var logging: LoggingOptions

    func run() async throws {
        try logging.bootstrap()
        try await runReportingErrors {
            if stateStore.state != nil { return try await shardedStatus() }
            let progress = try PlanProgress(planPath: plan, checkpoint: checkpoint)
            let (loaded, checkpointPath, saved) = (progress.plan, progress.checkpointPath, progress.checkpoint)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            var status = PlanStatus.make(loaded, checkpoint: saved, path: checkpointPath, now: now)
            if status.rejects > 0 {
                // Where apply writes them: next to the plan (ApplyCommand).
                status.rejectsFile = (plan.hasSuffix(".json") ? String(plan.dropLast(5)) : plan) + ".rejects.jsonl"
            }
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(status) + Data("\n".utf8))
            } else {
                print(status.text)
            }
        }
    }

    /// `--state`: every shard of a sharded run and the barrier, from the shared state.
    func shardedStatus() async throws {
        let loaded = try PlanFile.read(plan)
        try await AsyncHTTPClientTransport.withTransport { transport in
            let side = targetAWS.side.filled(
                region: loaded.target.region,
                profile: loaded.target.profile,
                roleArn: loaded.target.roleArn,
                endpointURL: loaded.target.endpointUrl
            )
            let environment = ProcessInfo.processInfo.environment
            guard let store = try stateStore.store(target: side, transport: transport, environment: environment) else {
                return
            }
            let status = try await ShardedStatus.read(
                loaded,
                store: store,
                now: Int64(Date().timeIntervalSince1970 * 1000)
            )
            if json {
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                FileHandle.standardOutput.write(try encoder.encode(status) + Data("\n".utf8))
            } else {
                print(status.text)
            }
        }
    }
}
