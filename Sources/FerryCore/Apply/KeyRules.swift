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

    /// `"name":{"` per key attribute, as the canonical encoder writes it: what `isCanonical` matches.
    private let namePrefixes: [[UInt8]]
    /// The one-byte type tag the table defines per key attribute (nil: any, or a type no fast path knows).
    private let typeTags: [UInt8?]

    init(names: [String], types: [String?]) {
        self.names = names
        self.types = types
        namePrefixes = names.map { name in
            var bytes: [UInt8] = []
            DynamoJSONEncoder.appendString(name, to: &bytes)
            return bytes + Array(#":{""#.utf8)
        }
        typeTags = types.map { type in type.flatMap { $0.utf8.count == 1 ? $0.utf8.first : nil } }
    }

    init(table: TableDescription) {
        let definitions = table.AttributeDefinitions ?? []
        let names = table.keyNames
        self.init(
            names: names,
            types: names.map { name in definitions.first { $0.AttributeName.bytewiseEquals(name) }?.AttributeType }
        )
    }

    enum Checked {
        /// The key in canonical form (key-schema order, canonical numbers, escapes decoded): equal bytes exactly
        /// when DynamoDB sees the same key.
        case key([UInt8])
        case refused(String)
    }

    /// Checks a record's key JSON (`ExportRecord.keyJSON`) and returns its canonical form.
    ///
    /// Most keys arrive canonical already (plain strings, integers in their shortest form): those are recognised
    /// in one pass over the bytes and returned as they are. Anything else goes through the parser (`checkParsed`),
    /// which decides and says why; both give the same bytes for the same key (`KeyRulesTests`).
    func check(keyJSON: [UInt8]) -> Checked {
        if keyJSON.withUnsafeBufferPointer(isCanonical) { return .key(keyJSON) }
        return checkParsed(keyJSON: keyJSON)
    }

    /// True when `json` is exactly what `checkParsed` would return for it and breaks no rule: every key attribute
    /// in schema order, as the encoder writes it, each an `S` without escapes or control bytes (1 byte up to the
    /// key's limit) or an `N` that is an integer in canonical form (`0`, or no leading zero, at most 38 digits),
    /// of the table's type. False is not a refusal, only "not sure": the parser decides.
    func isCanonical(_ json: UnsafeBufferPointer<UInt8>) -> Bool {
        let quote = UInt8(ascii: "\"")
        let n = json.count
        guard n > 2, json[0] == UInt8(ascii: "{"), json[n - 1] == UInt8(ascii: "}") else { return false }
        var i = 1
        for index in names.indices {
            if index > 0 {
                guard i < n, json[i] == UInt8(ascii: ",") else { return false }
                i += 1
            }
            let prefix = namePrefixes[index]
            guard n - i > prefix.count + 4,
                UnsafeBufferPointer(rebasing: json[i..<i + prefix.count]).elementsEqual(prefix)
            else { return false }
            i += prefix.count
            let tag = json[i]
            guard json[i + 1] == quote, json[i + 2] == UInt8(ascii: ":"), json[i + 3] == quote else { return false }
            if types[index] != nil && typeTags[index] != tag { return false }
            i += 4
            let start = i
            switch tag {
            case UInt8(ascii: "S"):
                while i < n, json[i] != quote {
                    if json[i] < 0x20 || json[i] == UInt8(ascii: "\\") { return false }
                    i += 1
                }
                let limit = index == 0 ? DynamoLimits.maxPartitionKeyBytes : DynamoLimits.maxSortKeyBytes
                guard i > start, i - start <= limit else { return false }
            case UInt8(ascii: "N"):
                if i < n, json[i] == UInt8(ascii: "-") { i += 1 }
                let digitsStart = i
                while i < n, json[i] >= UInt8(ascii: "0"), json[i] <= UInt8(ascii: "9") { i += 1 }
                let digits = i - digitsStart
                guard digits >= 1, digits <= 38 else { return false }
                if json[digitsStart] == UInt8(ascii: "0") && (digits > 1 || digitsStart > start) { return false }
            default: return false
            }
            guard i + 1 < n, json[i] == quote, json[i + 1] == UInt8(ascii: "}") else { return false }
            i += 2
        }
        return i == n - 1
    }

    /// The rules through the parser: any key JSON, with the reason when a rule is broken.
    func checkParsed(keyJSON: [UInt8]) -> Checked {
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
