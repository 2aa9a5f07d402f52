import AWSClient
import DynamoModel
import FerryCore
import FerryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ferry apply` as a process against moto: killed with SIGKILL or stopped with SIGTERM part-way, then resumed to the
/// exact expected state.
@Suite("apply survives SIGKILL and SIGTERM", .serialized)
struct ApplyCrashTests {
    static func ferry(_ arguments: [String], environment: [String: String], stderr: Pipe? = nil) throws -> Process {
        let process = Process()
        process.executableURL = CommandLineContractTests.ferry
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = stderr ?? FileHandle.nullDevice
        try process.run()
        return process
    }

    static func scenario(signal: Int32, delay: Duration) async throws {
        try await withTemporaryDirectory { directory in
            let generator = Process()
            generator.executableURL = CommandLineContractTests.ferry.deletingLastPathComponent().appendingPathComponent("ferry-exportgen")
            generator.arguments = ["generate", "--out", directory, "--items", "6000", "--windows", "4", "--changes", "400", "--item-bytes", "600"]
            generator.standardOutput = FileHandle.nullDevice
            try generator.run()
            generator.waitUntilExit()

            try await MotoFixture.with { fixture, transport in
                let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
                try await dynamo.createTable(json: #"{"TableName":"orders","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"ProvisionedThroughput":{"ReadCapacityUnits":5000,"WriteCapacityUnits":5000}}"#, table: "orders")
                let environment = [
                    "AWS_ACCESS_KEY_ID": fixture.info.admin.accessKeyId, "AWS_SECRET_ACCESS_KEY": fixture.info.admin.secretAccessKey,
                    "AWS_REGION": "us-east-1", "AWS_ENDPOINT_URL_DYNAMODB": fixture.info.endpoint, "AWS_EC2_METADATA_DISABLED": "true",
                ]
                let plan = directory + "/plan.json"
                let planning = try Self.ferry(["plan", "--source", directory + "/exports", "--target-table", "orders", "--out", plan], environment: environment)
                planning.waitUntilExit()
                #expect(planning.terminationStatus == 0)

                let first = try Self.ferry(["apply", plan], environment: environment)
                try await Task.sleep(for: delay)
                kill(first.processIdentifier, signal)
                first.waitUntilExit()
                if signal == SIGTERM {
                    #expect(first.terminationStatus == 5 || first.terminationStatus == 0, "a SIGTERM drains and exits 5 (0 if it had finished)")
                } else {
                    #expect(first.terminationReason == .uncaughtSignal)
                }
                // The checkpoint survives the stop intact (atomic writes) and belongs to this plan.
                let planId = try PlanFile.read(plan).planId
                let saved = try #require(try CheckpointStore(path: directory + "/plan.checkpoint.json").load(for: planId))
                #expect(saved.windowsDone <= 5 && saved.itemsApplied >= 0)

                let progress = Pipe()
                let second = try Self.ferry(["apply", plan], environment: environment, stderr: progress)
                let output = progress.fileHandleForReading.readDataToEndOfFile()
                second.waitUntilExit()
                #expect(second.terminationStatus == 0)
                // Not a terminal: progress comes as JSON lines, ending with the last window done.
                let events = String(decoding: output, as: UTF8.self).split(separator: "\n")
                    .compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
                #expect(!events.isEmpty)
                #expect(events.last?["event"] as? String == "windowDone")
                #expect(events.last?["window"] as? Int == events.last?["windows"] as? Int)

                var target: [Item: Item] = [:]
                var start: Item?
                repeat {
                    let page = try await dynamo.scan(table: "orders", exclusiveStartKey: start)
                    for item in page.items { target[item.projected(onto: ["pk", "sk"])!] = item }
                    start = page.lastEvaluatedKey
                } while start != nil
                let states = try FileManager.default.contentsOfDirectory(atPath: directory + "/expected").filter { $0.hasSuffix(".jsonl") }.sorted()
                let expected = try loadState(directory + "/expected/" + states.last!, keyNames: ["pk", "sk"])
                #expect(target.count == expected.count)
                #expect(target == expected)
            }
        }
    }

    @Test("SIGKILL mid-run, then resume: the exact expected state")
    func sigkill() async throws {
        try await Self.scenario(signal: SIGKILL, delay: .milliseconds(2500))
    }

    @Test("SIGTERM: drains, saves the checkpoint, exits 5; resume reaches the exact expected state")
    func sigterm() async throws {
        try await Self.scenario(signal: SIGTERM, delay: .milliseconds(2500))
    }
}
