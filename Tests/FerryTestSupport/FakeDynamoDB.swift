import AWSClient
import AWSCore
import DynamoModel
import Foundation
import Synchronization

/// An in-memory DynamoDB behind the `HTTPTransport` seam: `DescribeTable`, `BatchWriteItem` (with consumed capacity)
/// and `Scan`, plus scripted faults — throttling, 500s, connection resets, UnprocessedItems, items it rejects and
/// access denied — so apply's handling of each is tested without a network.
public final class FakeDynamoDB: HTTPTransport {
    public enum Fault: Sendable {
        case throttle, serverError, reset, unprocessedHalf, none
        /// The whole call refused with TransactionConflictException (an application's transaction holds a key).
        case transactionConflict
    }

    public struct State: Sendable {
        public var items: [Item: Item] = [:]
        public var faults: [Fault] = []
        public var batchCalls = 0
        public var writesReceived = 0
        /// Each Scan call: when it arrived (seconds since the fake was made) and the read units it consumed.
        public var scans: [(time: Double, units: Double)] = []
        /// Scan calls to refuse with ProvisionedThroughputExceededException, first ones first.
        public var scanThrottles = 0
    }

    public let keyNames: [String]
    /// The write capacity DescribeTable reports (change it to imitate auto-scaling).
    public let currentWriteCapacity: Mutex<Int>
    public let readCapacity: Int
    private let started = ContinuousClock.now
    /// Partition-key values whose writes DynamoDB refuses (ValidationException for any batch holding one).
    public let rejectedKeys: Set<String>
    public let accessDenied: Bool
    /// Partition-key values whose LSI item collection is full (ItemCollectionSizeLimitExceededException for any
    /// batch holding one).
    public let fullCollections: Set<String>
    /// The ARN DescribeTable reports.
    public let tableArn: String
    public let state: Mutex<State>

    public init(
        keyNames: [String] = ["pk", "sk"],
        writeCapacity: Int = 1000,
        readCapacity: Int = 1000,
        faults: [Fault] = [],
        rejectedKeys: Set<String> = [],
        accessDenied: Bool = false,
        fullCollections: Set<String> = [],
        tableArn: String = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders-copy"
    ) {
        self.tableArn = tableArn
        self.fullCollections = fullCollections
        self.keyNames = keyNames
        currentWriteCapacity = Mutex(writeCapacity)
        self.readCapacity = readCapacity
        self.rejectedKeys = rejectedKeys
        self.accessDenied = accessDenied
        state = Mutex(State(faults: faults))
    }

    public func send(_ request: HTTPRequestData, timeout: Duration) async throws -> HTTPResponseData {
        let target = request.headers.first { $0.name.lowercased() == "x-amz-target" }?.value ?? ""
        switch target.split(separator: ".").last.map(String.init) ?? "" {
        case "DescribeTable":
            let (count, bytes) = state.withLock { state in
                (state.items.count, state.items.values.reduce(0) { $0 + ItemSize.bytes(of: $1) })
            }
            return Self.ok(
                #"{"Table":{"TableName":"orders-copy","TableArn":"\#(tableArn)","TableStatus":"ACTIVE","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"ProvisionedThroughput":{"ReadCapacityUnits":\#(readCapacity),"WriteCapacityUnits":\#(currentWriteCapacity.withLock { $0 })},"ItemCount":\#(count),"TableSizeBytes":\#(bytes)}}"#
            )
        case "Scan":
            return try scan(request.body)
        case "BatchWriteItem":
            return try batchWrite(request.body)
        default:
            return Self.error(400, "UnknownOperationException", "not faked: \(target)")
        }
    }

    public func stream(
        _ request: HTTPRequestData,
        timeout: Duration,
        onHead: (HTTPResponseData) throws -> Void,
        onChunk: ([UInt8]) async throws -> Void
    ) async throws -> HTTPResponseData {
        Self.error(400, "UnknownOperationException", "streaming is not faked")
    }

    private func batchWrite(_ body: [UInt8]) throws -> HTTPResponseData {
        if accessDenied {
            return Self.error(
                400,
                "com.amazon.coral.service#AccessDeniedException",
                "User: arn:aws:iam::1:user/ferry is not authorized to perform: dynamodb:BatchWriteItem on resource: table/orders-copy"
            )
        }
        let writes = try Self.parseRequest(body)
        let fault: Fault = state.withLock { state in
            state.batchCalls += 1
            return state.faults.isEmpty ? .none : state.faults.removeFirst()
        }
        switch fault {
        case .throttle:
            return Self.error(
                400,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded"
            )
        case .serverError:
            return Self.error(500, "com.amazonaws.dynamodb.v20120810#InternalServerError", "Internal server error")
        case .reset: throw TransportError(kind: .connectionReset, detail: "fake reset")
        case .transactionConflict:
            return Self.error(
                400,
                "com.amazonaws.dynamodb.v20120810#TransactionConflictException",
                "Transaction is ongoing for the item"
            )
        case .unprocessedHalf, .none: break
        }
        for write in writes {
            let key = write.item[keyNames[0]].flatMap { if case .s(let s) = $0 { s } else { nil } } ?? ""
            if rejectedKeys.contains(key) {
                return Self.error(
                    400,
                    "com.amazonaws.dynamodb.v20120810#ValidationException",
                    "Item size has exceeded the maximum allowed size"
                )
            }
            if fullCollections.contains(key) {
                return Self.error(
                    400,
                    "com.amazonaws.dynamodb.v20120810#ItemCollectionSizeLimitExceededException",
                    "Item collection size limit exceeded"
                )
            }
        }
        let processed = fault == .unprocessedHalf ? Array(writes.prefix(writes.count / 2)) : writes
        let unprocessed = fault == .unprocessedHalf ? Array(writes.dropFirst(writes.count / 2)) : []
        var units = 0
        state.withLock { state in
            for write in processed {
                let key = write.item.projected(onto: keyNames)!
                units += CapacityUnits.write(
                    bytes: max(
                        write.isDelete ? 0 : ItemSize.bytes(of: write.item),
                        state.items[key].map { ItemSize.bytes(of: $0) } ?? 0
                    )
                )
                state.items[key] = write.isDelete ? nil : write.item
                state.writesReceived += 1
            }
        }
        var json: [UInt8] = Array(#"{"UnprocessedItems":{"#.utf8)
        if !unprocessed.isEmpty {
            json += #""orders-copy":["#.utf8
            for (index, write) in unprocessed.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json += (write.isDelete ? #"{"DeleteRequest":{"Key":"# : #"{"PutRequest":{"Item":"#).utf8
                DynamoJSONEncoder.append(write.item, to: &json)
                json += "}}".utf8
            }
            json += "]".utf8
        }
        json +=
            #"},"ConsumedCapacity":[{"TableName":"orders-copy","CapacityUnits":\#(units),"Table":{"CapacityUnits":\#(units)}}]}"#
            .utf8
        return Self.ok(String(decoding: json, as: UTF8.self))
    }

    /// A page of a (parallel) scan in a stable key order, eventually consistent: half a unit per 4 KB read.
    private func scan(_ body: [UInt8]) throws -> HTTPResponseData {
        let request = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] ?? [:]
        let segment = request["Segment"] as? Int ?? 0
        let segments = request["TotalSegments"] as? Int ?? 1
        let limit = request["Limit"] as? Int ?? Int.max
        var startAfter: String?
        if let start = request["ExclusiveStartKey"] {
            let json = String(decoding: try JSONSerialization.data(withJSONObject: start), as: UTF8.self)
            startAfter = DynamoJSONEncoder.string(try DynamoJSONParser.item(from: json).projected(onto: keyNames)!)
        }
        let now = ContinuousClock.now - started
        let time = Double(now.components.seconds) + Double(now.components.attoseconds) / 1e18
        let throttled = state.withLock { state in
            guard state.scanThrottles > 0 else { return false }
            state.scanThrottles -= 1
            return true
        }
        if throttled {
            return Self.error(
                400,
                "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "The level of configured provisioned throughput for the table was exceeded"
            )
        }
        let page: [(String, Item)] = state.withLock { state in
            let keyed = state.items.map { (DynamoJSONEncoder.string($0.key.projected(onto: keyNames)!), $0.value) }
                .filter { Self.fnv($0.0) % UInt64(segments) == UInt64(segment) }
                .sorted { $0.0 < $1.0 }
            return Array(keyed.drop { startAfter != nil && $0.0 <= startAfter! }.prefix(limit))
        }
        let bytes = page.reduce(0) { $0 + ItemSize.bytes(of: $1.1) }
        let units = Double((bytes + 4095) / 4096) * 0.5
        state.withLock { $0.scans.append((time, units)) }
        var json: [UInt8] = Array(#"{"Count":\#(page.count),"Items":["#.utf8)
        for (index, entry) in page.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            DynamoJSONEncoder.append(entry.1, to: &json)
        }
        json += "]".utf8
        if page.count == limit, let last = page.last {
            json += #","LastEvaluatedKey":"#.utf8
            DynamoJSONEncoder.append(last.1.projected(onto: keyNames)!, to: &json)
        }
        json +=
            #","ConsumedCapacity":{"TableName":"orders-copy","CapacityUnits":\#(units),"Table":{"CapacityUnits":\#(units)}}}"#
            .utf8
        return Self.ok(String(decoding: json, as: UTF8.self))
    }

    private static func fnv(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }

    struct Write {
        var item: Item
        var isDelete: Bool
    }

    static func parseRequest(_ body: [UInt8]) throws -> [Write] {
        var writes: [Write] = []
        try body.withUnsafeBufferPointer { buffer in
            var parser = DynamoJSONParser(buffer)
            try parser.expect(UInt8(ascii: "{"), "{")
            repeat {
                let field = try parser.parseString()
                try parser.expect(UInt8(ascii: ":"), ":")
                guard field == "RequestItems" else {
                    try parser.skipJSONValue()
                    continue
                }
                try parser.expect(UInt8(ascii: "{"), "{")
                _ = try parser.parseString()
                try parser.expect(UInt8(ascii: ":"), ":")
                try parser.expect(UInt8(ascii: "["), "[")
                repeat {
                    try parser.expect(UInt8(ascii: "{"), "{")
                    let kind = try parser.parseString()
                    try parser.expect(UInt8(ascii: ":"), ":")
                    try parser.expect(UInt8(ascii: "{"), "{")
                    _ = try parser.parseString()
                    try parser.expect(UInt8(ascii: ":"), ":")
                    writes.append(Write(item: try parser.parseItem(), isDelete: kind == "DeleteRequest"))
                    try parser.expect(UInt8(ascii: "}"), "}")
                    try parser.expect(UInt8(ascii: "}"), "}")
                } while try parser.nextIsMember(closing: UInt8(ascii: "]"))
                try parser.expect(UInt8(ascii: "}"), "}")
            } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
        }
        return writes
    }

    static func ok(_ body: String) -> HTTPResponseData {
        let bytes = Array(body.utf8)
        return HTTPResponseData(
            status: 200,
            headers: [("x-amz-crc32", String(CRC32.checksum(bytes))), ("x-amzn-RequestId", "FAKE")],
            body: bytes
        )
    }

    static func error(_ status: Int, _ type: String, _ message: String) -> HTTPResponseData {
        HTTPResponseData(
            status: status,
            headers: [],
            body: Array(#"{"__type":"\#(type)","message":"\#(message)"}"#.utf8)
        )
    }
}
