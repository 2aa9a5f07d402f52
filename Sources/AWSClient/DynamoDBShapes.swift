import DynamoModel
import Foundation

/// The parts of `DescribeTable`'s `TableDescription` Ferry uses (capacity, keys, status). Absent fields stay nil.
public struct TableDescription: Sendable, Decodable, Hashable {
    public struct KeySchemaElement: Sendable, Decodable, Hashable {
        public var AttributeName: String
        public var KeyType: String
    }
    public struct AttributeDefinition: Sendable, Decodable, Hashable {
        public var AttributeName: String
        public var AttributeType: String
    }
    public struct ProvisionedThroughput: Sendable, Decodable, Hashable {
        public var ReadCapacityUnits: Int64?
        public var WriteCapacityUnits: Int64?
    }
    public struct OnDemandThroughput: Sendable, Decodable, Hashable {
        public var MaxReadRequestUnits: Int64?
        public var MaxWriteRequestUnits: Int64?
    }
    public struct WarmThroughput: Sendable, Decodable, Hashable {
        public var ReadUnitsPerSecond: Int64?
        public var WriteUnitsPerSecond: Int64?
        public var Status: String?
    }
    public struct BillingModeSummary: Sendable, Decodable, Hashable {
        public var BillingMode: String?
    }
    public struct GlobalSecondaryIndex: Sendable, Decodable, Hashable {
        public var IndexName: String
        public var KeySchema: [KeySchemaElement]?
        public var Projection: Projection?
        public var IndexStatus: String?
        public var ProvisionedThroughput: ProvisionedThroughput?
        public var OnDemandThroughput: OnDemandThroughput?
        public var WarmThroughput: WarmThroughput?
    }
    public struct Projection: Sendable, Decodable, Hashable {
        /// `ALL`, `KEYS_ONLY` or `INCLUDE`.
        public var ProjectionType: String?
        public var NonKeyAttributes: [String]?
    }
    /// A local secondary index: its writes draw on the table's write capacity.
    public struct LocalSecondaryIndex: Sendable, Decodable, Hashable {
        public var IndexName: String
        public var KeySchema: [KeySchemaElement]?
        public var Projection: Projection?
    }

    public var TableName: String
    public var TableArn: String?
    public var TableStatus: String?
    public var KeySchema: [KeySchemaElement]
    public var AttributeDefinitions: [AttributeDefinition]?
    public var BillingModeSummary: BillingModeSummary?
    public var ProvisionedThroughput: ProvisionedThroughput?
    public var OnDemandThroughput: OnDemandThroughput?
    public var WarmThroughput: WarmThroughput?
    public var GlobalSecondaryIndexes: [GlobalSecondaryIndex]?
    public var LocalSecondaryIndexes: [LocalSecondaryIndex]?
    public var ItemCount: Int64?
    public var TableSizeBytes: Int64?
    public struct StreamSpecification: Sendable, Decodable, Hashable {
        public var StreamEnabled: Bool?
        public var StreamViewType: String?
    }
    public struct SSEDescription: Sendable, Decodable, Hashable {
        public var Status: String?
        public var SSEType: String?
        public var KMSMasterKeyArn: String?
    }
    public struct TableClassSummary: Sendable, Decodable, Hashable {
        public var TableClass: String?
    }
    public var StreamSpecification: StreamSpecification?
    public var SSEDescription: SSEDescription?
    public var DeletionProtectionEnabled: Bool?
    public var TableClassSummary: TableClassSummary?

    /// PAY_PER_REQUEST or PROVISIONED; a table created without a billing mode has no summary and is provisioned.
    public var isOnDemand: Bool { self.BillingModeSummary?.BillingMode == "PAY_PER_REQUEST" }
    /// Key attribute names, partition key first.
    public var keyNames: [String] {
        KeySchema.sorted { $0.KeyType == "HASH" && $1.KeyType != "HASH" }.map(\.AttributeName)
    }
}

/// `ConsumedCapacity` as returned with `ReturnConsumedCapacity=INDEXES`.
public struct ConsumedCapacity: Sendable, Decodable, Hashable {
    public struct Units: Sendable, Decodable, Hashable {
        public var CapacityUnits: Double?
        public var ReadCapacityUnits: Double?
        public var WriteCapacityUnits: Double?
        public init(CapacityUnits: Double? = nil, ReadCapacityUnits: Double? = nil, WriteCapacityUnits: Double? = nil) {
            self.CapacityUnits = CapacityUnits
            self.ReadCapacityUnits = ReadCapacityUnits
            self.WriteCapacityUnits = WriteCapacityUnits
        }
    }
    public var TableName: String?
    public var CapacityUnits: Double?
    public var ReadCapacityUnits: Double?
    public var WriteCapacityUnits: Double?
    public var Table: Units?
    public var GlobalSecondaryIndexes: [String: Units]?
    public var LocalSecondaryIndexes: [String: Units]?

    public init(
        TableName: String? = nil,
        CapacityUnits: Double? = nil,
        ReadCapacityUnits: Double? = nil,
        WriteCapacityUnits: Double? = nil,
        Table: Units? = nil,
        GlobalSecondaryIndexes: [String: Units]? = nil,
        LocalSecondaryIndexes: [String: Units]? = nil
    ) {
        self.TableName = TableName
        self.CapacityUnits = CapacityUnits
        self.ReadCapacityUnits = ReadCapacityUnits
        self.WriteCapacityUnits = WriteCapacityUnits
        self.Table = Table
        self.GlobalSecondaryIndexes = GlobalSecondaryIndexes
        self.LocalSecondaryIndexes = LocalSecondaryIndexes
    }
}

/// Builds a `BatchWriteItem` request body from raw DynamoDB JSON, so export records go out byte for byte as read.
public struct BatchWriteRequestBuilder: Sendable {
    public private(set) var body: [UInt8] = []
    public private(set) var count = 0
    private let tableName: String

    public init(tableName: String) {
        self.tableName = tableName
        body.reserveCapacity(64 << 10)
        body += #"{"RequestItems":{"#.utf8
        DynamoJSONEncoder.appendString(tableName, to: &body)
        body += #":["#.utf8
    }

    /// Adds a put of an item given as DynamoDB JSON (`{"attr":{"S":"…"},…}`).
    public mutating func put(itemJSON: some Collection<UInt8>) {
        separator()
        body += #"{"PutRequest":{"Item":"#.utf8
        body += itemJSON
        body += "}}".utf8
    }

    /// Adds a delete of a key given as DynamoDB JSON.
    public mutating func delete(keyJSON: some Collection<UInt8>) {
        separator()
        body += #"{"DeleteRequest":{"Key":"#.utf8
        body += keyJSON
        body += "}}".utf8
    }

    public mutating func put(_ item: Item) {
        var json: [UInt8] = []
        DynamoJSONEncoder.append(item, to: &json)
        put(itemJSON: json)
    }

    public mutating func delete(key: Item) {
        var json: [UInt8] = []
        DynamoJSONEncoder.append(key, to: &json)
        delete(keyJSON: json)
    }

    private mutating func separator() {
        if count > 0 { body.append(UInt8(ascii: ",")) }
        count += 1
    }

    /// The finished body, asking for per-index consumed capacity.
    public func finished() -> [UInt8] {
        body + #"]},"ReturnConsumedCapacity":"INDEXES"}"#.utf8
    }
}
