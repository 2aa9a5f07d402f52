import AWSClient
import DynamoModel
import ExportReader

/// The target table's primary key as DynamoDB enforces it on every write (`DynamoLimits`): each key attribute
/// present, of the table's type (S, N or B), not empty, the partition key at most 2048 bytes and the sort key at
/// most 1024. A record that breaks one is refused before it is sent (the rejects file, with the rule), as DynamoDB
/// would refuse it with a `ValidationException`.
struct KeyRules: Sendable {
    /// Partition key first.
    let names: [String]
    /// `S`, `N` or `B` per key attribute, from `AttributeDefinitions` (nil when the description lacks it).
    let types: [String?]

    init(names: [String], types: [String?]) {
        self.names = names
        self.types = types
    }

    init(table: TableDescription) {
        let definitions = table.AttributeDefinitions ?? []
        names = table.keyNames
        types = names.map { name in definitions.first { $0.AttributeName.bytewiseEquals(name) }?.AttributeType }
    }

    enum Checked {
        /// The key in canonical form (key-schema order, canonical numbers, escapes decoded): equal bytes exactly
        /// when DynamoDB sees the same key.
        case key([UInt8])
        case refused(String)
    }

    /// Checks a record's key JSON (`ExportRecord.keyJSON`) and returns its canonical form.
    func check(keyJSON: [UInt8]) -> Checked {
        let key: Item
        do {
            key = try DynamoJSONParser.item(from: String(decoding: keyJSON, as: UTF8.self))
        } catch {
            return .refused("key attributes: \(error.description)")
        }
        for (index, name) in names.enumerated() {
            let role = index == 0 ? "partition key" : "sort key"
            guard let value = key[name] else { return .refused("the \(role) \"\(name)\" is missing") }
            if let type = types[index], value.typeTag != type {
                return .refused("the \(role) \"\(name)\" is \(value.typeTag); the table defines it as \(type)")
            }
            let bytes: Int
            switch value {
            case .s(let s): bytes = s.utf8.count
            case .b(let b): bytes = b.count
            case .n(let n): bytes = ItemSize.bytes(of: .n(n))
            default: return .refused("the \(role) \"\(name)\" is \(value.typeTag); key attributes are S, N or B")
            }
            if bytes == 0 {
                return .refused("the \(role) \"\(name)\" is empty (DynamoDB key values are at least 1 byte)")
            }
            let limit = index == 0 ? DynamoLimits.maxPartitionKeyBytes : DynamoLimits.maxSortKeyBytes
            if bytes > limit {
                return .refused("the \(role) \"\(name)\" is \(bytes) bytes; DynamoDB allows at most \(limit)")
            }
        }
        guard let canonical = CanonicalKey.make(from: key, keyNames: names) else {
            return .refused("a key attribute is missing")
        }
        return .key(canonical)
    }
}
