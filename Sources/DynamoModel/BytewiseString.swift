/// A string compared, hashed and ordered by its UTF-8 bytes: DynamoDB's equality for strings and attribute names.
///
/// Swift's `String` `==`, `Hashable` and `<` use Unicode canonical equivalence, so `"café"` written with U+00E9 and
/// `"café"` written `e` + U+0301 are one string to Swift and two to DynamoDB (two attribute names, two SS members,
/// two partition keys). Anything in Ferry that compares or collects DynamoDB strings goes through this type or
/// `String.bytewiseEquals`, never through `String ==` or `Set<String>`.
public struct BytewiseString: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let string: String

    public init(_ string: String) { self.string = string }

    public static func == (lhs: BytewiseString, rhs: BytewiseString) -> Bool { lhs.string.bytewiseEquals(rhs.string) }

    public static func < (lhs: BytewiseString, rhs: BytewiseString) -> Bool {
        lhs.string.utf8.lexicographicallyPrecedes(rhs.string.utf8)
    }

    public func hash(into hasher: inout Hasher) { string.hashBytes(into: &hasher) }

    public var description: String { string }
}

extension String {
    /// True when both strings hold the same UTF-8 bytes (DynamoDB's string equality; see `BytewiseString`).
    @inline(__always)
    public func bytewiseEquals(_ other: String) -> Bool {
        // Native strings hold their UTF-8 contiguously: compare the lengths, then the buffers (UTF8View's own
        // `elementsEqual` walks a byte at a time and was 2 % of a bulk apply, in the state machine's file lookups).
        guard utf8.count == other.utf8.count else { return false }
        let contiguous = utf8.withContiguousStorageIfAvailable { lhs in
            other.utf8.withContiguousStorageIfAvailable { rhs in lhs.elementsEqual(rhs) }
        }
        return (contiguous ?? nil) ?? utf8.elementsEqual(other.utf8)
    }

    /// Feeds the UTF-8 bytes to `hasher` in one call (the same bytes always hash the same).
    @inline(__always)
    func hashBytes(into hasher: inout Hasher) {
        var copy = self
        copy.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        hasher.combine(utf8.count)
    }
}
