import AWSClient
import AWSCore
import AWSCredentials
import ArgumentParser
import DynamoModel
import ExportGenerator
import ExportReader
import FerryCore
import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
let RUSAGE_SELF_WHO = __rusage_who_t(RUSAGE_SELF.rawValue)
#endif

/// `ferry diff` on a big table: a generated FULL export of N items against a target that holds the same items
/// (minus every 1,000th, plus an extra item every 10,000th), served from the export's own files by an in-process
/// Scan endpoint, so the figure is Ferry's: reading and spilling the plan's state, parsing Scan pages, spilling
/// them, and comparing bucket by bucket. Prints wall time, CPU time, peak RSS and the counts.
struct DiffBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract: "ferry diff's time and peak memory on an N-item table (in-process Scan endpoint)."
    )

    @Option(help: "Items in the table.") var items = 5_000_000
    @Option(help: "Approximate item size in bytes.") var itemBytes = 400
    @Option(help: "Where the generated export is cached between runs.") var data = ".bench-data"
    @Option(help: "Where the diff spills (default: <data>/diff-work).") var workDir: String?

    func run() async throws {
        let directory = "\(data)/diff-\(items)-\(itemBytes)"
        try generateFullExport(into: directory, items: items, itemBytes: itemBytes, partitions: 8)
        let source = LocalDirectorySource(root: directory + "/exports")
        let found = try await ExportDiscovery.discover(source, location: directory + "/exports")
        let plan = try PlanFile.decode(
            try PlanFile.encode(
                try ChainPlanner.plan(
                    found,
                    options: PlanOptions(
                        source: Plan.Source(location: directory + "/exports"),
                        target: Plan.Target(table: "bench", region: "us-east-1"),
                        throttle: Plan.Throttle(writePercent: 100, readPercent: 100)
                    )
                )
            ),
            path: "bench-plan.json"
        )
        let reader = ExportReader(source: source)
        let export = try await reader.export(summaryKey: plan.windows[0].summaryKey)
        let target = ExportBackedScan(
            root: directory + "/exports",
            files: export.files.map(\.dataFileS3Key),
            items: Int64(items),
            itemBytes: Int64(itemBytes)
        )
        let endpoint = try EndpointResolver(environment: [:]).resolve(.dynamodb, region: "us-east-1")
        let credentials = StaticCredentialProvider(
            Credentials(accessKeyId: "AKIDBENCH", secretAccessKey: "bench"),
            label: "bench"
        )
        let dynamo = DynamoDBClient(
            executor: AWSRequestExecutor(transport: target, credentials: credentials, endpoint: endpoint)
        )
        var engine = DiffEngine(
            plan: plan,
            source: source,
            dynamo: dynamo,
            readPercent: 100,
            workDirectory: workDir ?? "\(data)/diff-work"
        )
        engine.segments = export.files.count
        engine.progress = { print("  \($0)") }
        engine.exampleLimit = 2
        defer { engine.removeWorkDirectory() }
        let cpuBefore = Self.cpuSeconds()
        let started = ContinuousClock.now
        let report = try await engine.run()
        let wall = ContinuousClock.now - started
        let seconds = Double(wall.components.seconds) + Double(wall.components.attoseconds) / 1e18
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        print(report.text(exampleLimit: 2))
        print(
            String(
                format:
                    "diff of %d items: %.1f s wall, %.1f s CPU, peak RSS %d MB, %d buckets, %d segments (%.0f items/s)",
                items,
                seconds,
                Self.cpuSeconds() - cpuBefore,
                usage.ru_maxrss / 1024,
                report.buckets,
                report.scan.segments,
                Double(items) / seconds
            )
        )
        let expectedMissing = Int64((items + 999) / 1000)
        print(
            "check: would put \(report.counts.wouldPut) (expected \(expectedMissing)), extra \(report.counts.extra) (expected \(Int64((items + 9999) / 10000))), unchanged \(report.counts.unchanged) (expected \(Int64(items) - expectedMissing))"
        )
    }

    static func cpuSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF_WHO, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
            + Double(usage.ru_stime.tv_usec) / 1e6
    }
}

/// A DynamoDB endpoint (DescribeTable and Scan only) whose table is the export's items: segment i reads data file i
/// front to back, skipping every 1,000th item and adding an extra one every 10,000th. Pages follow the cursor (the
/// ExclusiveStartKey is not looked up: Ferry reads each segment in order).
final class ExportBackedScan: HTTPTransport {
    let root: String
    let files: [String]
    let items: Int64
    let itemBytes: Int64
    private let cursors: [Cursor]
    private let counter = Mutex<Int64>(0)

    /// One segment's position in its data file; its lock serialises that segment's pages.
    final class Cursor: @unchecked Sendable {
        let lock = NSLock()
        var handle: FileHandle?
        var decoder: DataFileDecoder
        var pending: [[UInt8]] = []
        var done = false
        init(handle: FileHandle?, decoder: DataFileDecoder) {
            self.handle = handle
            self.decoder = decoder
        }
    }

    init(root: String, files: [String], items: Int64, itemBytes: Int64) {
        self.root = root
        self.files = files
        self.items = items
        self.itemBytes = itemBytes
        cursors = files.map { key in
            Cursor(
                handle: FileHandle(forReadingAtPath: root + "/" + key),
                decoder: DataFileDecoder(fileKey: key, kind: .full, expectedMD5: nil)
            )
        }
    }

    func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        let target = request.headers.first { $0.name.lowercased() == "x-amz-target" }?.value ?? ""
        if target.hasSuffix("DescribeTable") {
            return Self.ok(
                Array(
                    #"{"Table":{"TableName":"bench","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"ProvisionedThroughput":{"ReadCapacityUnits":1000000,"WriteCapacityUnits":1000000},"ItemCount":\#(items),"TableSizeBytes":\#(items * itemBytes)}}"#
                        .utf8
                )
            )
        }
        guard target.hasSuffix("Scan") else {
            return HTTPResponseData(
                status: 400,
                headers: [],
                body: Array(#"{"__type":"UnknownOperationException"}"#.utf8)
            )
        }
        let object = try JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any] ?? [:]
        let segment = object["Segment"] as? Int ?? 0
        let limit = min(object["Limit"] as? Int ?? 10_000, 10_000)
        var page: [[UInt8]] = []
        var finished = false
        let cursor = cursors[segment]
        try cursor.lock.withLock {
            while cursor.pending.count < limit && !cursor.done {
                guard let chunk = try cursor.handle?.read(upToCount: 1 << 20), !chunk.isEmpty else {
                    _ = try cursor.decoder.finish { record in
                        cursor.pending.append(Array(record.json(record.newImageRange!)))
                    }
                    cursor.done = true
                    break
                }
                try chunk.withUnsafeBytes { bytes in
                    try cursor.decoder.feed(bytes) { record in
                        cursor.pending.append(Array(record.json(record.newImageRange!)))
                    }
                }
            }
            page = Array(cursor.pending.prefix(limit))
            cursor.pending.removeFirst(page.count)
            finished = cursor.done && cursor.pending.isEmpty
        }
        var body: [UInt8] = Array(#"{"Items":["#.utf8)
        var bytes = 0
        var first = true
        for item in page {
            let n = counter.withLock { value -> Int64 in
                value += 1
                return value
            }
            if n % 1000 == 1 { continue }  // missing from the target
            if !first { body.append(UInt8(ascii: ",")) }
            first = false
            body += item
            bytes += item.count
            if n % 10_000 == 2 {
                body += Array(#",{"pk":{"S":"extra#\#(n)"},"sk":{"N":"\#(n)"},"note":{"S":"only in the target"}}"#.utf8)
            }
        }
        body += "]".utf8
        if !finished { body += #","LastEvaluatedKey":{"pk":{"S":"cursor"},"sk":{"N":"0"}}"#.utf8 }
        body +=
            #","ConsumedCapacity":{"TableName":"bench","CapacityUnits":\#(Double((bytes + 4095) / 4096) / 2)}}"#.utf8
        return Self.ok(body)
    }

    func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        HTTPResponseData(status: 400, headers: [], body: [])
    }

    static func ok(_ body: [UInt8]) -> HTTPResponseData {
        HTTPResponseData(status: 200, headers: [("x-amz-crc32", String(CRC32.checksum(body)))], body: body)
    }
}
