/// A DynamoDB item (or the value of an `M` attribute): attributes by name.
///
/// Attribute order is kept as read, so a decoded document re-encodes to the same bytes; equality ignores order.
/// Names are looked up and compared by their UTF-8 bytes, as DynamoDB does (see `AttributeValue`).
/// Items are small (DynamoDB caps them at 400 KB), so a flat array beats a dictionary on the parsing hot path.
public struct Item: Sendable {
    public struct Attribute: Sendable, Hashable {
        public var name: String
        public var value: AttributeValue
        public init(name: String, value: AttributeValue) {
            self.name = name
            self.value = value
        }
        // Names by bytes, as DynamoDB compares them (see `AttributeValue`).
        public static func == (lhs: Attribute, rhs: Attribute) -> Bool {
            lhs.name.bytewiseEquals(rhs.name) && lhs.value == rhs.value
        }
        public func hash(into hasher: inout Hasher) {
            name.hashBytes(into: &hasher)
            hasher.combine(value)
        }
    }

    /// The attributes in the order they were read or added. Names are unique by their UTF-8 bytes.
    public private(set) var attributes: [Attribute]

    public init() { attributes = [] }

    /// Builds an item from pairs; a later pair with the same name replaces the earlier one.
    public init(_ pairs: KeyValuePairs<String, AttributeValue>) {
        attributes = []
        for (name, value) in pairs { self[name] = value }
    }

    /// Wraps attributes whose names the caller has already checked to be unique (the parser does).
    package init(uniqueAttributes: [Attribute]) { attributes = uniqueAttributes }

    public var count: Int { attributes.count }
    public var isEmpty: Bool { attributes.isEmpty }
    public var names: [String] { attributes.map(\.name) }

    public subscript(name: String) -> AttributeValue? {
        get { attributes.first { $0.name.bytewiseEquals(name) }?.value }
        set {
            if let index = attributes.firstIndex(where: { $0.name.bytewiseEquals(name) }) {
                if let newValue { attributes[index].value = newValue } else { attributes.remove(at: index) }
            } else if let newValue {
                attributes.append(Attribute(name: name, value: newValue))
            }
        }
    }

    /// The sub-item holding only `names` (e.g. the primary key), or nil when one of them is missing.
    public func projected(onto names: [String]) -> Item? {
        var result: [Attribute] = []
        result.reserveCapacity(names.count)
        for name in names {
            guard let value = self[name] else { return nil }
            result.append(Attribute(name: name, value: value))
        }
        return Item(uniqueAttributes: result)
    }

    /// Attributes sorted by name (UTF-8 byte order), the order used for canonical output and diffs.
    public var sortedAttributes: [Attribute] {
        attributes.sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}

extension Item: Hashable {
    public static func == (lhs: Item, rhs: Item) -> Bool {
        guard lhs.attributes.count == rhs.attributes.count else { return false }
        for attribute in lhs.attributes where rhs[attribute.name] != attribute.value { return false }
        return true
    }

    public func hash(into hasher: inout Hasher) {
        // Order-independent: XOR of per-attribute hashes.
        var digest = 0
        for attribute in attributes { digest ^= attribute.hashValue }
        hasher.combine(attributes.count)
        hasher.combine(digest)
    }
}

extension Item: Sequence {
    public func makeIterator() -> IndexingIterator<[Attribute]> { attributes.makeIterator() }
}
