import DynamoModel

/// A primary key in one canonical form, so the plan's key and the target's key compare as bytes: key-schema order,
/// numbers in canonical text (`"1.0"` and `"1"` are the same key in DynamoDB), strings and binary as they are.
enum CanonicalKey {
    /// Canonical key JSON from a key item (extra attributes ignored). Nil when a key attribute is missing.
    static func make(from item: Item, keyNames: [String]) -> [UInt8]? {
        var key = Item()
        for name in keyNames {
            guard let value = item[name] else { return nil }
            key[name] = canonical(value)
        }
        var out: [UInt8] = []
        DynamoJSONEncoder.append(key, to: &out)
        return out
    }

    /// Canonical key JSON from raw key JSON (`ExportRecord.keyJSON`).
    static func make(fromJSON json: [UInt8], keyNames: [String]) throws -> [UInt8]? {
        // Lenient: a key that breaks a DynamoDB limit still has an identity (apply rejects such a record).
        make(
            from: try DynamoJSONParser.item(from: String(decoding: json, as: UTF8.self), strict: false),
            keyNames: keyNames
        )
    }

    private static func canonical(_ value: AttributeValue) -> AttributeValue {
        guard case .n(let number) = value, number.text != number.canonicalText,
            let canonical = try? DynamoNumber(number.canonicalText)
        else { return value }
        return .n(canonical)
    }
}
