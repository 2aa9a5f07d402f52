/// Item size and capacity units by AWS's documented rules.
///
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
/// - String: UTF-8 bytes of the value. Binary: raw (decoded) bytes. Null and Boolean: 1 byte.
/// - Number: 1 byte per two significant digits (rounded up) + 1 byte; leading and trailing zeros trimmed.
///   Negative numbers take one more byte (observed and published by third-party sizers; AWS says "approximately").
/// - List and Map: 3 bytes of overhead + 1 byte per element + the elements (map elements include their names).
/// - Sets: the doc gives no rule; like the common sizers, the sum of the elements' sizes.
/// - Every top-level attribute also counts its name's UTF-8 bytes. The 100-byte per-item storage overhead does not
///   count toward capacity units.
public enum ItemSize {
    /// Bytes an item counts for capacity.
    public static func bytes(of item: Item) -> Int {
        var total = 0
        for attribute in item.attributes {
            total += attribute.name.utf8.count + bytes(of: attribute.value)
        }
        return total
    }

    /// Bytes a value counts for (without its attribute name).
    public static func bytes(of value: AttributeValue) -> Int {
        switch value {
        case .s(let s): return s.utf8.count
        case .n(let n): return numberBytes(n.summary)
        case .b(let b): return b.count
        case .bool, .null: return 1
        case .ss(let set): return set.reduce(0) { $0 + $1.utf8.count }
        case .ns(let set): return set.reduce(0) { $0 + numberBytes($1.summary) }
        case .bs(let set): return set.reduce(0) { $0 + $1.count }
        case .l(let list): return 3 + list.reduce(0) { $0 + 1 + bytes(of: $1) }
        case .m(let map):
            return 3 + map.attributes.reduce(0) { $0 + 1 + $1.name.utf8.count + bytes(of: $1.value) }
        }
    }

    /// Bytes of a number from its count of significant digits and sign.
    public static func numberBytes(significantDigits: Int, isNegative: Bool) -> Int {
        (significantDigits + 1) / 2 + 1 + (isNegative ? 1 : 0)
    }

    static func numberBytes(_ summary: DynamoNumber.Summary) -> Int {
        numberBytes(significantDigits: summary.significantDigits, isNegative: summary.isNegative)
    }

    /// The largest item DynamoDB stores: 400 KB, attribute names included.
    public static let maxItemBytes = DynamoLimits.maxItemBytes
}

/// Capacity units for one item of a given size.
public enum CapacityUnits {
    /// Write units: 1 per KB (1,024 bytes), rounded up, at least 1. A put that replaces an item is charged the
    /// larger of the old and new sizes; a delete is charged the deleted item's size, at least 1.
    public static func write(bytes: Int) -> Int { max(1, (bytes + 1023) / 1024) }

    /// Strongly consistent read units: 1 per 4 KB, rounded up, at least 1. Eventually consistent reads cost half.
    public static func read(bytes: Int) -> Int { max(1, (bytes + 4095) / 4096) }

    /// Write units for an item.
    public static func write(_ item: Item) -> Int { write(bytes: ItemSize.bytes(of: item)) }
    /// Strongly consistent read units for an item.
    public static func read(_ item: Item) -> Int { read(bytes: ItemSize.bytes(of: item)) }
}
