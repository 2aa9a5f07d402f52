/// DynamoDB's own limits on items, in one place, next to the rule each check enforces.
///
/// Ferry must be never stricter than DynamoDB (a record DynamoDB accepts must never stop a run) and never looser
/// (a record DynamoDB would refuse is not sent; it goes to the rejects file naming the rule, as a
/// `ValidationException` would). Sources: "Service, account, and table quotas" and "Supported data types and naming
/// rules" in the DynamoDB Developer Guide
/// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html,
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html).
///
/// | rule | limit | checked by |
/// |---|---|---|
/// | nested attributes (maps and lists) | 32 levels | scanner, parser (`nestedTooDeep`) |
/// | item size, attribute names included | 400 KB (409,600 bytes, by `ItemSize`) | record scanner (`itemTooLarge`) |
/// | partition key value | 1 … 2048 bytes | apply, against the table's key schema |
/// | sort key value | 1 … 1024 bytes | apply, against the table's key schema |
/// | key attribute type | the table's `AttributeDefinitions` (S, N or B) | apply |
/// | number | 38 significant digits; magnitude 1E-130 … 9.99…E+125, or 0 | scanner, parser (`invalidNumber`) |
/// | sets (SS, NS, BS) | at least one element, no duplicates (strings and binary by bytes, numbers by value) | scanner, parser |
/// | empty S and B | allowed outside keys (inside maps, lists and sets too) | apply refuses them in keys |
/// | attribute name | 1 byte … 65,535 bytes (< 64 KB) | scanner, parser (`attributeName`) |
/// | key / index-key / projected attribute names | ≤ 255 bytes | the table defines them (DynamoDB enforced it then) |
///
/// Strings and names are compared as UTF-8 bytes everywhere (see `AttributeValue`). Empty strings and binaries are
/// allowed outside keys since 2020 ("empty values for non-key String and Binary attributes"); this reader accepts
/// them as set members too (not verified against DynamoDB: if it refuses one, the write's `ValidationException`
/// still lands it in the rejects file).
public enum DynamoLimits {
    /// Levels of nested maps and lists: a top-level `M` or `L` is level 1.
    public static let maxNestingLevels = 32
    /// Past this many levels the input is not read at all (stack protection against hostile input): the line is
    /// treated as damaged, not as a record DynamoDB would refuse.
    public static let structuralNestingLimit = 256
    /// The largest item DynamoDB stores, names included.
    public static let maxItemBytes = 400 * 1024
    public static let maxPartitionKeyBytes = 2048
    public static let maxSortKeyBytes = 1024
    /// Attribute names are at least 1 byte and under 64 KB.
    public static let maxAttributeNameBytes = 65_535
    /// Names of key, index-key and projected attributes.
    public static let maxKeyAttributeNameBytes = 255
    /// The longest line of an export data file Ferry reads (16 MiB). A legal record is at most two 400 KB images
    /// plus its keys; in DynamoDB JSON a byte of item size takes at most ~12 bytes of text (a 1-byte name escaped as
    /// `"\u0001":{"NULL":true},` is 23 bytes for 2 bytes of size), so the longest legal line is under 10 MB, and
    /// Ion text is shorter. A longer line is hostile or damaged input: it is refused, with file:line, as soon as it
    /// passes the bound, before it can grow a buffer without end.
    public static let maxExportLineBytes = 16 << 20
}

extension DynamoJSONError.Problem {
    /// True for input that is well-formed DynamoDB JSON but breaks one of DynamoDB's limits: such a record is
    /// refused (rejects file), not treated as a damaged data file.
    public var isLimitViolation: Bool {
        switch self {
        case .invalidNumber(.tooManyDigits), .invalidNumber(.outOfRange), .emptySet, .duplicateSetMember,
            .nestedTooDeep, .attributeName, .itemTooLarge, .keyAttribute:
            true
        default:
            false
        }
    }
}

/// The parser's (and the scanner's, through its lexer) limit checks: they note a violation and read on.
extension DynamoJSONParser {
    /// Keeps the first limit violation of the document; reading goes on (a later syntax error still throws).
    @inline(__always)
    package mutating func noteViolation(_ error: DynamoJSONError) {
        if violation == nil { violation = error }
    }

    /// Entering a map or list at nesting `level` (1 for a top-level attribute's value).
    @inline(__always)
    package mutating func enterContainer(level: Int) throws(DynamoJSONError) {
        if level > DynamoLimits.maxNestingLevels {
            guard level <= DynamoLimits.structuralNestingLimit else {
                throw fail(.tooDeep(limit: DynamoLimits.structuralNestingLimit))
            }
            noteViolation(fail(.nestedTooDeep(limit: DynamoLimits.maxNestingLevels)))
        }
    }

    /// Attribute names are 1 byte to under 64 KB.
    @inline(__always)
    package mutating func checkName(byteCount: Int, at nameOffset: Int) {
        if byteCount == 0 || byteCount > DynamoLimits.maxAttributeNameBytes {
            noteViolation(at(nameOffset, .attributeName(bytes: byteCount)))
        }
    }
}
