import AWSCore
import DynamoModel
import Foundation

/// DynamoDB's JSON 1.0 API: the operations Ferry needs.
public struct DynamoDBClient: Sendable {
    public let executor: AWSRequestExecutor

    public init(executor: AWSRequestExecutor) { self.executor = executor }

    /// One call: `POST /` with `X-Amz-Target`. Returns the response body.
    public func call(_ operation: String, body: [UInt8], table: String? = nil) async throws -> [UInt8] {
        let framing = DynamoDBRequestFraming(operation: operation)
        let response = try await executor.send(
            operation: operation,
            method: DynamoDBRequestFraming.method,
            path: DynamoDBRequestFraming.path,
            headers: framing.headers.map { (name: $0.0, value: $0.1) },
            body: body,
            context: AWSErrorContext(
                action: "dynamodb:\(operation)",
                tableName: table,
                region: executor.endpoint.signingRegion
            )
        )
        return response.body
    }

    public func describeTable(_ name: String) async throws -> TableDescription {
        var body: [UInt8] = Array(#"{"TableName":"#.utf8)
        DynamoJSONEncoder.appendString(name, to: &body)
        body.append(UInt8(ascii: "}"))
        let response = try await call("DescribeTable", body: body, table: name)
        struct Envelope: Decodable { var Table: TableDescription }
        do {
            return try JSONDecoder().decode(Envelope.self, from: Data(response)).Table
        } catch {
            throw AWSClientError.invalidResponse(service: .dynamodb, operation: "DescribeTable", reason: "\(error)")
        }
    }

    /// `CreateTable` from a request document (tests and tooling; Ferry never creates the user's target itself).
    public func createTable(json: String, table: String) async throws {
        _ = try await call("CreateTable", body: Array(json.utf8), table: table)
    }

    /// What came back from `BatchWriteItem`.
    public struct BatchWriteItemOutput: Sendable {
        /// Writes DynamoDB did not process; resend them (with backoff). Empty when all were written.
        public var unprocessed: [WriteRequest]
        public var consumedCapacity: [ConsumedCapacity]
    }

    /// One write of a batch, as DynamoDB returns it in `UnprocessedItems`.
    public enum WriteRequest: Sendable, Hashable {
        case put(Item)
        case delete(key: Item)
    }

    public func batchWriteItem(_ request: BatchWriteRequestBuilder, table: String) async throws -> BatchWriteItemOutput
    {
        let response = try await call("BatchWriteItem", body: request.finished(), table: table)
        return try parseBatchWriteOutput(response)
    }

    func parseBatchWriteOutput(_ body: [UInt8]) throws -> BatchWriteItemOutput {
        var output = BatchWriteItemOutput(unprocessed: [], consumedCapacity: [])
        try Self.walkObject(body, operation: "BatchWriteItem") { key, parser in
            switch key {
            case "UnprocessedItems":
                try parser.expect(UInt8(ascii: "{"), "'{'")
                if try parser.peekNonSpace() == UInt8(ascii: "}") {
                    parser.skipSpace()
                    _ = try parser.nextIsMember(closing: UInt8(ascii: "}"))
                    return true
                }
                repeat {
                    _ = try parser.parseString()  // table name
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    try parser.expect(UInt8(ascii: "["), "'['")
                    if try parser.peekNonSpace() == UInt8(ascii: "]") {
                        parser.skipSpace()
                        _ = try parser.nextIsMember(closing: UInt8(ascii: "]"))
                        continue
                    }
                    repeat {
                        try parser.expect(UInt8(ascii: "{"), "'{'")
                        let kind = try parser.parseString()
                        try parser.expect(UInt8(ascii: ":"), "':'")
                        try parser.expect(UInt8(ascii: "{"), "'{'")
                        _ = try parser.parseString()  // "Item" or "Key"
                        try parser.expect(UInt8(ascii: ":"), "':'")
                        let item = try parser.parseItem()
                        try parser.expect(UInt8(ascii: "}"), "'}'")
                        try parser.expect(UInt8(ascii: "}"), "'}'")
                        output.unprocessed.append(kind == "PutRequest" ? .put(item) : .delete(key: item))
                    } while try parser.nextIsMember(closing: UInt8(ascii: "]"))
                } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
                return true
            case "ConsumedCapacity":
                output.consumedCapacity = try Self.parseConsumedCapacityList(&parser, operation: "BatchWriteItem")
                return true
            default:
                return false
            }
        }
        return output
    }

    /// What came back from one `Scan` page.
    public struct ScanOutput: Sendable {
        public var items: [Item]
        public var lastEvaluatedKey: Item?
        public var consumedCapacity: ConsumedCapacity?
    }

    /// One page of a (parallel) scan, strongly or eventually consistent, with consumed capacity.
    public func scan(
        table: String,
        segment: Int? = nil,
        totalSegments: Int? = nil,
        limit: Int? = nil,
        exclusiveStartKey: Item? = nil,
        consistentRead: Bool = false
    ) async throws -> ScanOutput {
        var body: [UInt8] = Array(#"{"TableName":"#.utf8)
        DynamoJSONEncoder.appendString(table, to: &body)
        if let segment, let totalSegments { body += #","Segment":\#(segment),"TotalSegments":\#(totalSegments)"#.utf8 }
        if let limit { body += #","Limit":\#(limit)"#.utf8 }
        if consistentRead { body += #","ConsistentRead":true"#.utf8 }
        if let exclusiveStartKey {
            body += #","ExclusiveStartKey":"#.utf8
            DynamoJSONEncoder.append(exclusiveStartKey, to: &body)
        }
        body += #","ReturnConsumedCapacity":"INDEXES"}"#.utf8
        let response = try await call("Scan", body: body, table: table)
        var output = ScanOutput(items: [], lastEvaluatedKey: nil, consumedCapacity: nil)
        try Self.walkObject(response, operation: "Scan") { key, parser in
            switch key {
            case "Items":
                try parser.expect(UInt8(ascii: "["), "'['")
                if try parser.peekNonSpace() == UInt8(ascii: "]") {
                    parser.skipSpace()
                    _ = try parser.nextIsMember(closing: UInt8(ascii: "]"))
                    return true
                }
                repeat {
                    output.items.append(try parser.parseItem())
                } while try parser.nextIsMember(closing: UInt8(ascii: "]"))
                return true
            case "LastEvaluatedKey":
                output.lastEvaluatedKey = try parser.parseItem()
                return true
            case "ConsumedCapacity":
                output.consumedCapacity = try Self.decodeValue(ConsumedCapacity.self, &parser, operation: "Scan")
                return true
            default:
                return false
            }
        }
        return output
    }

    /// Walks a response's top-level object; `handle` parses the members it knows (returning true) and the rest are
    /// skipped. Items are parsed with Ferry's exact parser (numbers stay decimal text), never through Foundation.
    static func walkObject(
        _ body: [UInt8],
        operation: String,
        _ handle: (String, inout DynamoJSONParser) throws -> Bool
    ) throws {
        do {
            try body.withUnsafeBufferPointer { buffer in
                var parser = DynamoJSONParser(buffer)
                try parser.expect(UInt8(ascii: "{"), "'{'")
                if try parser.peekNonSpace() == UInt8(ascii: "}") { return }
                repeat {
                    let key = try parser.parseString()
                    try parser.expect(UInt8(ascii: ":"), "':'")
                    if try !handle(key, &parser) { try parser.skipJSONValue() }
                } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
            }
        } catch let error as DynamoJSONError {
            throw AWSClientError.invalidResponse(
                service: .dynamodb,
                operation: operation,
                reason: "at byte \(error.offset): \(error)"
            )
        }
    }

    /// `ConsumedCapacity` lists, parsed by hand: they come back with every write call, and Foundation's decoder was 3 %
    /// of a bulk apply's profile. Unknown members are skipped; a value of another shape falls back to Foundation.
    static func parseConsumedCapacityList(
        _ parser: inout DynamoJSONParser,
        operation: String
    ) throws -> [ConsumedCapacity] {
        var attempt = parser
        do {
            var list: [ConsumedCapacity] = []
            try attempt.expect(UInt8(ascii: "["), "'['")
            if try attempt.peekNonSpace() == UInt8(ascii: "]") {
                attempt.skipSpace()
                _ = try attempt.nextIsMember(closing: UInt8(ascii: "]"))
            } else {
                repeat {
                    list.append(try parseConsumedCapacity(&attempt))
                } while try attempt.nextIsMember(closing: UInt8(ascii: "]"))
            }
            parser = attempt
            return list
        } catch {
            return try decodeValue([ConsumedCapacity].self, &parser, operation: operation)
        }
    }

    static func parseConsumedCapacity(_ parser: inout DynamoJSONParser) throws -> ConsumedCapacity {
        var result = ConsumedCapacity()
        try forEachMember(&parser) { name, parser in
            switch name {
            case "TableName": result.TableName = try parser.parseString()
            case "CapacityUnits": result.CapacityUnits = try parseJSONNumber(&parser)
            case "ReadCapacityUnits": result.ReadCapacityUnits = try parseJSONNumber(&parser)
            case "WriteCapacityUnits": result.WriteCapacityUnits = try parseJSONNumber(&parser)
            case "Table": result.Table = try parseUnits(&parser)
            case "GlobalSecondaryIndexes", "LocalSecondaryIndexes":
                var indexes: [String: ConsumedCapacity.Units] = [:]
                try forEachMember(&parser) { index, parser in indexes[index] = try parseUnits(&parser) }
                if name == "GlobalSecondaryIndexes" {
                    result.GlobalSecondaryIndexes = indexes
                } else {
                    result.LocalSecondaryIndexes = indexes
                }
            default: try parser.skipJSONValue()
            }
        }
        return result
    }

    static func parseUnits(_ parser: inout DynamoJSONParser) throws -> ConsumedCapacity.Units {
        var units = ConsumedCapacity.Units()
        try forEachMember(&parser) { name, parser in
            switch name {
            case "CapacityUnits": units.CapacityUnits = try parseJSONNumber(&parser)
            case "ReadCapacityUnits": units.ReadCapacityUnits = try parseJSONNumber(&parser)
            case "WriteCapacityUnits": units.WriteCapacityUnits = try parseJSONNumber(&parser)
            default: try parser.skipJSONValue()
            }
        }
        return units
    }

    static func forEachMember(
        _ parser: inout DynamoJSONParser,
        _ body: (String, inout DynamoJSONParser) throws -> Void
    ) throws {
        try parser.expect(UInt8(ascii: "{"), "'{'")
        if try parser.peekNonSpace() == UInt8(ascii: "}") {
            parser.skipSpace()
            _ = try parser.nextIsMember(closing: UInt8(ascii: "}"))
            return
        }
        repeat {
            let name = try parser.parseString()
            try parser.expect(UInt8(ascii: ":"), "':'")
            try body(name, &parser)
        } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
    }

    /// A plain JSON number (not a DynamoDB `N` string) as a Double — capacity units, never item data.
    static func parseJSONNumber(_ parser: inout DynamoJSONParser) throws -> Double {
        parser.skipSpace()
        let start = parser.offset
        try parser.skipJSONValue()
        let text = String(decoding: UnsafeBufferPointer(rebasing: parser.bytes[start..<parser.offset]), as: UTF8.self)
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else { throw ConsumedCapacityShape() }
        return value
    }

    struct ConsumedCapacityShape: Error {}

    /// Decodes the JSON value at the parser with Foundation (small, cold shapes).
    static func decodeValue<T: Decodable>(
        _ type: T.Type,
        _ parser: inout DynamoJSONParser,
        operation: String
    ) throws -> T {
        parser.skipSpace()
        let start = parser.offset
        try parser.skipJSONValue()
        let slice = Data(UnsafeBufferPointer(rebasing: parser.bytes[start..<parser.offset]))
        do { return try JSONDecoder().decode(type, from: slice) } catch {
            throw AWSClientError.invalidResponse(service: .dynamodb, operation: operation, reason: "\(error)")
        }
    }
}

extension DynamoDBClient {
    /// What came back from `BatchGetItem` (up to 100 keys per call).
    public struct BatchGetItemOutput: Sendable {
        public var items: [Item]
        /// Keys DynamoDB did not read; ask again with backoff.
        public var unprocessedKeys: [Item]
        public var consumedCapacity: [ConsumedCapacity]
    }

    public func batchGetItem(
        table: String,
        keys: [Item],
        consistentRead: Bool = false
    ) async throws -> BatchGetItemOutput {
        var body: [UInt8] = Array(#"{"RequestItems":{"#.utf8)
        DynamoJSONEncoder.appendString(table, to: &body)
        body += #":{"Keys":["#.utf8
        for (index, key) in keys.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            DynamoJSONEncoder.append(key, to: &body)
        }
        body += "]\(consistentRead ? #","ConsistentRead":true"# : "")}},\"ReturnConsumedCapacity\":\"INDEXES\"}".utf8
        let response = try await call("BatchGetItem", body: body, table: table)
        var output = BatchGetItemOutput(items: [], unprocessedKeys: [], consumedCapacity: [])
        try Self.walkObject(response, operation: "BatchGetItem") { key, parser in
            switch key {
            case "Responses":
                try Self.forEachTable(&parser) { parser in
                    try parser.expect(UInt8(ascii: "["), "'['")
                    if try parser.peekNonSpace() == UInt8(ascii: "]") {
                        parser.skipSpace()
                        _ = try parser.nextIsMember(closing: UInt8(ascii: "]"))
                        return
                    }
                    repeat {
                        output.items.append(try parser.parseItem())
                    } while try parser.nextIsMember(closing: UInt8(ascii: "]"))
                }
                return true
            case "UnprocessedKeys":
                try Self.forEachTable(&parser) { parser in
                    try parser.expect(UInt8(ascii: "{"), "'{'")
                    repeat {
                        let field = try parser.parseString()
                        try parser.expect(UInt8(ascii: ":"), "':'")
                        guard field == "Keys" else {
                            try parser.skipJSONValue()
                            continue
                        }
                        try parser.expect(UInt8(ascii: "["), "'['")
                        if try parser.peekNonSpace() == UInt8(ascii: "]") {
                            parser.skipSpace()
                            _ = try parser.nextIsMember(closing: UInt8(ascii: "]"))
                            continue
                        }
                        repeat {
                            output.unprocessedKeys.append(try parser.parseItem())
                        } while try parser.nextIsMember(closing: UInt8(ascii: "]"))
                    } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
                }
                return true
            case "ConsumedCapacity":
                output.consumedCapacity = try Self.decodeValue(
                    [ConsumedCapacity].self,
                    &parser,
                    operation: "BatchGetItem"
                )
                return true
            default:
                return false
            }
        }
        return output
    }

    /// Calls `body` on each table's value in `{"table": value, …}`.
    static func forEachTable(_ parser: inout DynamoJSONParser, _ body: (inout DynamoJSONParser) throws -> Void) throws {
        try parser.expect(UInt8(ascii: "{"), "'{'")
        if try parser.peekNonSpace() == UInt8(ascii: "}") {
            parser.skipSpace()
            _ = try parser.nextIsMember(closing: UInt8(ascii: "}"))
            return
        }
        repeat {
            _ = try parser.parseString()
            try parser.expect(UInt8(ascii: ":"), "':'")
            try body(&parser)
        } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
    }
}
