import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation
import Synchronization

/// The table `apply` writes to, as the apply core sees it: one call of at most 25 writes and what became of it, in
/// domain terms. The core never matches AWS error codes; `DynamoTargetTable` does, and `MemoryTargetTable` stands in
/// for DynamoDB in tests.
public protocol TargetTable: Sendable {
    /// The table's name, for messages.
    var name: String { get }
    func describe() async throws -> TableDescription
    /// Writes `writes` in one call (no two share a key). Throws only what no retry can fix (access denied, the table
    /// gone); everything else is an outcome.
    func write(_ writes: [PendingWrite]) async throws -> TargetWriteOutcome
}

public enum TargetWriteOutcome: Sendable {
    /// Every write was applied; `consumed` is the capacity the call used, by resource (`"table"`, each GSI).
    case written(consumed: [String: Double])
    /// Some writes were not processed (DynamoDB's `UnprocessedItems`): these are sent again after a backoff.
    case unprocessed([PendingWrite], consumed: [String: Double])
    /// The whole call was refused for capacity: the controller slows down and the call is sent again.
    case throttled(reason: String)
    /// A transaction holds one of the keys: sent again after a backoff, a bounded number of times.
    case conflict(reason: String)
    /// The call was refused because of one of its items (a validation error, an LSI item collection at its 10 GB
    /// limit): no retry can help. A call of several writes is split; a single write refused is a reject.
    case refused(reason: String)
}

/// The target as DynamoDB: `BatchWriteItem`, and its errors mapped to outcomes.
public struct DynamoTargetTable: TargetTable {
    public let client: DynamoDBClient
    public let name: String

    public init(client: DynamoDBClient, table: String) {
        self.client = client
        name = table
    }

    public func describe() async throws -> TableDescription { try await client.describeTable(name) }

    public func write(_ writes: [PendingWrite]) async throws -> TargetWriteOutcome {
        var request = BatchWriteRequestBuilder(tableName: name)
        for write in writes {
            if write.record.isDelete {
                request.delete(keyJSON: write.key)
            } else {
                request.put(itemJSON: write.record.json(write.record.newImageRange!))
            }
        }
        let output: DynamoDBClient.BatchWriteItemOutput
        do {
            output = try await client.batchWriteItem(request, table: name)
        } catch let error as AWSClientError where error.isThrottling {
            guard case .service(let service, _, _) = error else { return .throttled(reason: "throttled") }
            // What throttled, as DynamoDB names it (the table or an index, and which limit); else its code.
            let reasons = service.throttlingReasons.map(\.text)
            return .throttled(reason: reasons.isEmpty ? service.code : reasons.joined(separator: ", "))
        } catch let AWSClientError.service(error, _, _) where error.code == "TransactionConflictException" {
            return .conflict(reason: error.message ?? error.code)
        } catch let AWSClientError.service(error, _, _) where Self.itemRefusals.contains(error.code) {
            let reason =
                error.code == "ValidationException"
                ? error.message ?? error.code
                : "\(error.code): \(error.message ?? "")"
                    + (error.code == "ItemCollectionSizeLimitExceededException"
                        ? " (the item collection of this partition key in a local secondary index is at DynamoDB's 10 GB limit)"
                        : "")
            return .refused(reason: reason)
        }
        let consumed = output.consumedCapacity.unitsByResource
        guard !output.unprocessed.isEmpty else { return .written(consumed: consumed) }
        // Match what DynamoDB left unprocessed back to our writes, by key.
        let keyNames = Self.keyNames(of: writes)
        let leftKeys = Set(
            output.unprocessed.map { request -> Item in
                switch request {
                case .put(let item): item.projected(onto: keyNames) ?? item
                case .delete(let key): key
                }
            }
        )
        let left = writes.filter { write in
            (try? DynamoJSONParser.item(from: String(decoding: write.key, as: UTF8.self))).map(leftKeys.contains)
                ?? true
        }
        return .unprocessed(left, consumed: consumed)
    }

    /// Errors DynamoDB gives for one item that no retry can fix.
    static let itemRefusals: Set<String> = ["ValidationException", "ItemCollectionSizeLimitExceededException"]

    static func keyNames(of writes: [PendingWrite]) -> [String] {
        guard let first = writes.first,
            let key = try? DynamoJSONParser.item(from: String(decoding: first.key, as: UTF8.self))
        else { return [] }
        return key.names
    }
}

/// A target table in memory: the items by canonical key bytes, every write in the order it was applied, and faults
/// chosen per call by a script — so the apply core's tests run thousands of runs a second without a server.
public final class MemoryTargetTable: TargetTable {
    /// What a call meets, decided by the test per call (`call` counts from 0).
    public enum Fault: Sendable {
        case none
        /// Throttled, for this reason (as `DynamoTargetTable` reports DynamoDB's `ThrottlingReasons`, e.g.
        /// `ProvisionedThroughputExceededException` when DynamoDB gives none).
        case throttle(String)
        case conflict
        /// These writes (by index in the call) are left unprocessed; the rest are applied.
        case unprocessed(Set<Int>)
        /// The call is refused for an item in it.
        case refuse(String)
        /// Thrown: a failure no retry can fix.
        case fatal(String)
    }

    public struct FatalError: Error, CustomStringConvertible {
        public let description: String
    }

    public struct Applied: Sendable, Hashable {
        /// The item's canonical key, and its new JSON (nil: deleted).
        public var key: [UInt8]
        public var item: [UInt8]?
    }

    public let name: String
    private let description: TableDescription
    private let script: @Sendable (_ call: Int, _ writes: [PendingWrite]) -> Fault
    private let state = Mutex<(items: [KeyBytes: [UInt8]], log: [Applied], calls: Int)>(([:], [], 0))

    /// A table keyed by `partitionKey` (and `sortKey`), each of type `S`, `N` or `B`, with `writeUnits` provisioned.
    public init(
        name: String = "memory-target",
        partitionKey: (name: String, type: String),
        sortKey: (name: String, type: String)? = nil,
        writeUnits: Int = 1_000_000,
        script: @escaping @Sendable (_ call: Int, _ writes: [PendingWrite]) -> Fault = { _, _ in .none }
    ) {
        self.name = name
        self.script = script
        var keys = [partitionKey]
        if let sortKey { keys.append(sortKey) }
        let schema = keys.enumerated().map { index, key in
            ["AttributeName": key.name, "KeyType": index == 0 ? "HASH" : "RANGE"]
        }
        let definitions = keys.map { ["AttributeName": $0.name, "AttributeType": $0.type] }
        let document: [String: Any] = [
            "TableName": name,
            "TableStatus": "ACTIVE",
            "TableArn": "arn:aws:dynamodb:local:000000000000:table/\(name)",
            "KeySchema": schema,
            "AttributeDefinitions": definitions,
            "ProvisionedThroughput": ["ReadCapacityUnits": writeUnits, "WriteCapacityUnits": writeUnits],
        ]
        let data = try! JSONSerialization.data(withJSONObject: document)
        description = try! JSONDecoder().decode(TableDescription.self, from: data)
    }

    public func describe() async throws -> TableDescription { description }

    public func write(_ writes: [PendingWrite]) async throws -> TargetWriteOutcome {
        let call = state.withLock { state -> Int in
            defer { state.calls += 1 }
            return state.calls
        }
        let fault = script(call, writes)
        var left: [PendingWrite] = []
        switch fault {
        case .throttle(let reason): return .throttled(reason: reason)
        case .conflict: return .conflict(reason: "TransactionConflictException")
        case .refuse(let reason): return .refused(reason: reason)
        case .fatal(let reason): throw FatalError(description: reason)
        case .unprocessed(let indexes): left = writes.enumerated().filter { indexes.contains($0.offset) }.map(\.element)
        case .none: break
        }
        let leftKeys = Set(left.map { KeyBytes($0.key) })
        var units = 0.0
        state.withLock { state in
            for write in writes where !leftKeys.contains(KeyBytes(write.key)) {
                let item = write.record.isDelete ? nil : Array(write.record.json(write.record.newImageRange!))
                state.items[KeyBytes(write.key)] = item
                state.log.append(Applied(key: write.key, item: item))
                units += Double(write.units)
            }
        }
        return left.isEmpty ? .written(consumed: ["table": units]) : .unprocessed(left, consumed: ["table": units])
    }

    /// The items now in the table, by canonical key.
    public var items: [KeyBytes: [UInt8]] { state.withLock { $0.items } }
    /// Every write applied, in order.
    public var log: [Applied] { state.withLock { $0.log } }
    public var calls: Int { state.withLock { $0.calls } }
}
