/// One DynamoDB attribute value: all ten types of the DynamoDB data model.
///
/// Values keep the exact form they were read in — a number's text, a set's element order, a map's attribute
/// order — so that decoding and re-encoding a document gives the same document.
///
/// Equality and hashing are DynamoDB's, not Swift's — the one definition every comparison in Ferry uses (the
/// reader's duplicate checks, the write batcher, `UnprocessedItems` matching, the diff):
/// - strings (`S`, `SS` members) and attribute names compare by their **UTF-8 bytes** (`BytewiseString`): `"café"`
///   precomposed (U+00E9) and decomposed (`e` + U+0301) are different, although Swift's `String ==` calls them equal;
/// - numbers compare by value (`1.50 == 1.5`, `1E+2 == 100`);
/// - binary compares by bytes;
/// - sets and maps are unordered; lists are ordered.
public enum AttributeValue: Sendable {
    case s(String)
    case n(DynamoNumber)
    case b([UInt8])
    case bool(Bool)
    case null
    case ss([String])
    case ns([DynamoNumber])
    case bs([[UInt8]])
    case l([AttributeValue])
    case m(Item)

    /// The DynamoDB JSON type tag (`"S"`, `"N"`, …).
    public var typeTag: String {
        switch self {
        case .s: "S"
        case .n: "N"
        case .b: "B"
        case .bool: "BOOL"
        case .null: "NULL"
        case .ss: "SS"
        case .ns: "NS"
        case .bs: "BS"
        case .l: "L"
        case .m: "M"
        }
    }
}

extension AttributeValue: Hashable {
    public static func == (lhs: AttributeValue, rhs: AttributeValue) -> Bool {
        switch (lhs, rhs) {
        case let (.s(a), .s(b)): return a.bytewiseEquals(b)
        case let (.n(a), .n(b)): return a == b
        case let (.b(a), .b(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        case let (.ss(a), .ss(b)): return Set(a.map(BytewiseString.init)) == Set(b.map(BytewiseString.init))
        case let (.ns(a), .ns(b)): return Set(a) == Set(b)
        case let (.bs(a), .bs(b)): return Set(a) == Set(b)
        case let (.l(a), .l(b)): return a == b
        case let (.m(a), .m(b)): return a == b
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(typeTag)
        switch self {
        case .s(let v): v.hashBytes(into: &hasher)
        case .n(let v): hasher.combine(v)
        case .b(let v): hasher.combine(v)
        case .bool(let v): hasher.combine(v)
        case .null: break
        // Sets are unordered: combine an order-independent digest of the members.
        case .ss(let v): hasher.combine(Set(v.map(BytewiseString.init)))
        case .ns(let v): hasher.combine(Set(v))
        case .bs(let v): hasher.combine(Set(v))
        case .l(let v): hasher.combine(v)
        case .m(let v): hasher.combine(v)
        }
    }
}
