/// A byte-level parser for DynamoDB JSON (`{"name":{"S":"…"},…}`), the hot path of reading exports.
///
/// Foundation's decoders are about 10× slower on export lines; this works on UTF-8 bytes, allocates only what
/// the resulting values need, and validates as it goes: type tags, exact numbers (38 digits, DynamoDB's range),
/// base64, non-empty sets without duplicates, unique attribute names, valid UTF-8.
///
/// Two kinds of problem are kept apart. Input that is not well-formed (syntax, UTF-8, base64, type tags, a name
/// twice in one map) throws: the line is damaged. Well-formed input that breaks one of DynamoDB's limits
/// (`DynamoLimits`: nesting, number digits and range, empty or duplicate-holding sets, attribute name length) is read
/// to the end and the first such problem is kept in `violation`: the record is one DynamoDB would refuse.
/// Names and strings compare as UTF-8 bytes, as DynamoDB compares them (see `AttributeValue`).
public struct DynamoJSONParser {
    /// The document being parsed.
    public let bytes: UnsafeBufferPointer<UInt8>
    /// The offset of the next unread byte.
    public internal(set) var offset: Int
    /// The first DynamoDB limit the document breaks (`Problem.isLimitViolation`), if any.
    public internal(set) var violation: DynamoJSONError?

    /// JSON nesting past which generic JSON is not read (stack protection against hostile input). Typed values are
    /// limited by `DynamoLimits.structuralNestingLimit` levels of maps and lists instead.
    public static let maxDepth = 2 * DynamoLimits.structuralNestingLimit + 8

    public init(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    // MARK: Items and values

    /// Parses an item: an object of attribute names to typed values. `level` is the number of maps and lists
    /// around it (0 for an item, 1 for the value of a top-level `M`).
    public mutating func parseItem(level: Int = 0) throws(DynamoJSONError) -> Item {
        try expect(UInt8(ascii: "{"), "'{'")
        var attributes: [Item.Attribute] = []
        if try peekNonSpace() == UInt8(ascii: "}") {
            offset += 1
            return Item(uniqueAttributes: attributes)
        }
        attributes.reserveCapacity(8)
        while true {
            let nameOffset = offset
            let name = try parseString()
            // By bytes: "café" precomposed and decomposed are two attributes to DynamoDB.
            for existing in attributes where existing.name.utf8.elementsEqual(name.utf8) {
                throw DynamoJSONError(offset: nameOffset, problem: .duplicateAttribute(name))
            }
            checkName(byteCount: name.utf8.count, at: nameOffset)
            try expect(UInt8(ascii: ":"), "':'")
            let value = try parseValue(level: level)
            attributes.append(Item.Attribute(name: name, value: value))
            if try nextIsMember(closing: UInt8(ascii: "}")) { continue }
            return Item(uniqueAttributes: attributes)
        }
    }

    /// Parses one typed value: `{"S":"x"}`, `{"N":"1"}`, `{"L":[…]}`, … `level` is the number of maps and lists
    /// around it (0 for a top-level attribute's value).
    public mutating func parseValue(level: Int = 0) throws(DynamoJSONError) -> AttributeValue {
        try expect(UInt8(ascii: "{"), "'{' opening a typed value")
        if try peekNonSpace() == UInt8(ascii: "}") { throw fail(.typeTagCount(0)) }
        let tagOffset = offset
        let tag = try parseTypeTag()
        try expect(UInt8(ascii: ":"), "':'")
        let value: AttributeValue
        switch tag {
        case .s: value = .s(try parseString())
        case .n: value = .n(try parseNumber())
        case .b: value = .b(try parseBinary(tag: "B"))
        case .bool:
            skipSpace()
            if matchLiteral("true") {
                value = .bool(true)
            } else if matchLiteral("false") {
                value = .bool(false)
            } else {
                throw fail(.wrongValueType(tag: "BOOL", expected: "true or false"))
            }
        case .null:
            skipSpace()
            guard matchLiteral("true") else { throw fail(.wrongValueType(tag: "NULL", expected: "true")) }
            value = .null
        case .ss:
            let members = try parseArray(tag: "SS") { (p: inout DynamoJSONParser) throws(DynamoJSONError) in
                try p.parseString()
            }
            if members.count > 1 && Set(members.lazy.map(BytewiseString.init)).count != members.count {
                noteViolation(at(tagOffset, .duplicateSetMember(tag: "SS")))
            }
            value = .ss(members)
        case .ns:
            let members = try parseArray(tag: "NS") { (p: inout DynamoJSONParser) throws(DynamoJSONError) in
                try p.parseNumber()
            }
            if members.count > 1 && Set(members).count != members.count {
                noteViolation(at(tagOffset, .duplicateSetMember(tag: "NS")))
            }
            value = .ns(members)
        case .bs:
            let members = try parseArray(tag: "BS") { (p: inout DynamoJSONParser) throws(DynamoJSONError) in
                try p.parseBinary(tag: "BS")
            }
            if members.count > 1 && Set(members).count != members.count {
                noteViolation(at(tagOffset, .duplicateSetMember(tag: "BS")))
            }
            value = .bs(members)
        case .l:
            try enterContainer(level: level + 1)
            value = .l(try parseList(level: level + 1))
        case .m:
            skipSpace()
            guard offset < bytes.count, bytes[offset] == UInt8(ascii: "{") else {
                throw fail(.wrongValueType(tag: "M", expected: "an object"))
            }
            try enterContainer(level: level + 1)
            value = .m(try parseItem(level: level + 1))
        }
        if try peekNonSpace() == UInt8(ascii: ",") { throw fail(.typeTagCount(2)) }
        try expect(UInt8(ascii: "}"), "'}' closing a typed value")
        return value
    }

    /// The elements of a list that is itself at nesting `level`.
    private mutating func parseList(level: Int) throws(DynamoJSONError) -> [AttributeValue] {
        skipSpace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "[") else {
            throw fail(.wrongValueType(tag: "L", expected: "an array"))
        }
        offset += 1
        var list: [AttributeValue] = []
        if try peekNonSpace() == UInt8(ascii: "]") {
            offset += 1
            return list
        }
        while true {
            list.append(try parseValue(level: level))
            if try nextIsMember(closing: UInt8(ascii: "]")) { continue }
            return list
        }
    }

    private mutating func parseArray<T>(
        tag: String,
        _ element: (inout DynamoJSONParser) throws(DynamoJSONError) -> T
    ) throws(DynamoJSONError) -> [T] {
        skipSpace()
        guard offset < bytes.count, bytes[offset] == UInt8(ascii: "[") else {
            throw fail(.wrongValueType(tag: tag, expected: "an array"))
        }
        let start = offset
        offset += 1
        var members: [T] = []
        if try peekNonSpace() == UInt8(ascii: "]") {
            noteViolation(at(start, .emptySet(tag: tag)))
            offset += 1
            return members
        }
        while true {
            members.append(try element(&self))
            if try nextIsMember(closing: UInt8(ascii: "]")) { continue }
            return members
        }
    }

    // MARK: Scalars

    /// Parses a JSON string into a Swift `String`, decoding escapes and rejecting invalid UTF-8.
    public mutating func parseString() throws(DynamoJSONError) -> String {
        skipSpace()
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        guard bytes[offset] == UInt8(ascii: "\"") else {
            throw fail(.unexpectedByte(found: bytes[offset], expected: "'\"' opening a string"))
        }
        let start = offset + 1
        var i = start
        // Fast path: no escapes.
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                offset = i + 1
                guard UTF8Validation.isValid(bytes, start, i) else { throw at(start, .invalidUTF8) }
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if c == UInt8(ascii: "\\") { break }
            if c < 0x20 {
                throw at(
                    i,
                    .unexpectedByte(found: c, expected: "a string character (control characters must be escaped)")
                )
            }
            i += 1
        }
        guard i < bytes.count else { throw at(bytes.count, .unexpectedEnd) }
        offset = i
        var decoded = Array(bytes[start..<i])
        try parseEscapedTail(into: &decoded)
        let valid = decoded.withUnsafeBufferPointer { UTF8Validation.isValid($0, 0, $0.count) }
        guard valid else { throw at(start, .invalidUTF8) }
        return String(decoding: decoded, as: UTF8.self)
    }

    /// Continues a string from an escape to the closing quote, appending decoded UTF-8 bytes.
    private mutating func parseEscapedTail(into out: inout [UInt8]) throws(DynamoJSONError) {
        while offset < bytes.count {
            let c = bytes[offset]
            if c == UInt8(ascii: "\"") {
                offset += 1
                return
            }
            if c < 0x20 {
                throw fail(
                    .unexpectedByte(found: c, expected: "a string character (control characters must be escaped)")
                )
            }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                offset += 1
                continue
            }
            let escapeOffset = offset
            offset += 1
            guard offset < bytes.count else { throw fail(.unexpectedEnd) }
            let e = bytes[offset]
            offset += 1
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try parseHex4(escapeOffset)
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    // A high surrogate must be followed by an escaped low surrogate.
                    guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"),
                        bytes[offset + 1] == UInt8(ascii: "u")
                    else {
                        throw at(escapeOffset, .invalidEscape)
                    }
                    offset += 2
                    let low = try parseHex4(escapeOffset)
                    guard low >= 0xDC00 && low < 0xE000 else { throw at(escapeOffset, .invalidEscape) }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw at(escapeOffset, .invalidEscape)
                }
                guard let unicode = Unicode.Scalar(scalar) else { throw at(escapeOffset, .invalidEscape) }
                out.append(contentsOf: UTF8.encode(unicode)!)
            default:
                throw at(escapeOffset, .invalidEscape)
            }
        }
        throw fail(.unexpectedEnd)
    }

    mutating func parseHex4(_ escapeOffset: Int) throws(DynamoJSONError) -> UInt32 {
        guard offset + 4 <= bytes.count else { throw at(escapeOffset, .invalidEscape) }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[offset]
            let digit: UInt8
            switch c {
            case 0x30...0x39: digit = c - 0x30
            case 0x41...0x46: digit = c - 0x41 + 10
            case 0x61...0x66: digit = c - 0x61 + 10
            default: throw at(escapeOffset, .invalidEscape)
            }
            value = value << 4 | UInt32(digit)
            offset += 1
        }
        return value
    }

    /// Parses the content of an `N` string: exact text, validated.
    public mutating func parseNumber() throws(DynamoJSONError) -> DynamoNumber {
        let (start, end, escaped) = try scanSimpleString()
        if escaped {
            offset = start - 1
            let text = try parseString()
            var limit: DynamoNumber.Error?
            do {
                let summary = try withBytes(of: text) { (b) throws(DynamoNumber.Error) in
                    try DynamoNumber.validateSyntax(b, limitViolation: &limit)
                }
                if let limit { noteViolation(at(start, .invalidNumber(limit))) }
                return DynamoNumber(validatedText: text, summary: summary)
            } catch {
                throw at(start, .invalidNumber(error))
            }
        }
        let slice = UnsafeBufferPointer(rebasing: bytes[start..<end])
        var limit: DynamoNumber.Error?
        do {
            let summary = try DynamoNumber.validateSyntax(slice, limitViolation: &limit)
            if let limit { noteViolation(at(start, .invalidNumber(limit))) }
            return DynamoNumber(validatedText: String(decoding: slice, as: UTF8.self), summary: summary)
        } catch {
            throw at(start, .invalidNumber(error))
        }
    }

    private mutating func parseBinary(tag: String) throws(DynamoJSONError) -> [UInt8] {
        let (start, end, escaped) = try scanSimpleString()
        let decoded: [UInt8]?
        if escaped {
            offset = start - 1
            decoded = Base64.decode(try parseString())
        } else {
            decoded = Base64.decode(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
        guard let decoded else { throw at(start, .invalidBase64(tag: tag)) }
        return decoded
    }

    /// Finds the extent of a string; reports whether it holds escapes (then the caller decodes it properly).
    mutating func scanSimpleString() throws(DynamoJSONError) -> (start: Int, end: Int, escaped: Bool) {
        skipSpace()
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        guard bytes[offset] == UInt8(ascii: "\"") else {
            throw fail(.unexpectedByte(found: bytes[offset], expected: "'\"' opening a string"))
        }
        let start = offset + 1
        var i = start
        while i < bytes.count {
            let c = bytes[i]
            if c == UInt8(ascii: "\"") {
                offset = i + 1
                return (start, i, false)
            }
            if c == UInt8(ascii: "\\") { return (start, i, true) }
            i += 1
        }
        throw at(bytes.count, .unexpectedEnd)
    }

    // MARK: Type tags

    enum TypeTag { case s, n, b, bool, null, ss, ns, bs, l, m }

    mutating func parseTypeTag() throws(DynamoJSONError) -> TypeTag {
        let (start, end, escaped) = try scanSimpleString()
        let length = end - start
        if !escaped {
            let c0 = bytes[start]
            switch length {
            case 1:
                switch c0 {
                case UInt8(ascii: "S"): return .s
                case UInt8(ascii: "N"): return .n
                case UInt8(ascii: "B"): return .b
                case UInt8(ascii: "L"): return .l
                case UInt8(ascii: "M"): return .m
                default: break
                }
            case 2 where bytes[start + 1] == UInt8(ascii: "S"):
                switch c0 {
                case UInt8(ascii: "S"): return .ss
                case UInt8(ascii: "N"): return .ns
                case UInt8(ascii: "B"): return .bs
                default: break
                }
            case 4:
                if matches(start, "BOOL") { return .bool }
                if matches(start, "NULL") { return .null }
            default: break
            }
        }
        offset = start - 1
        let name = try parseString()
        throw at(start - 1, .unknownTypeTag(name))
    }

    // MARK: Generic JSON (metadata we do not interpret)

    /// Skips any JSON value, checking its syntax.
    public mutating func skipJSONValue(depth: Int = 0) throws(DynamoJSONError) {
        guard depth < Self.maxDepth else { throw fail(.tooDeep(limit: Self.maxDepth)) }
        let c = try peekNonSpace()
        switch c {
        case UInt8(ascii: "\""): _ = try parseString()
        case UInt8(ascii: "{"):
            offset += 1
            if try peekNonSpace() == UInt8(ascii: "}") {
                offset += 1
                return
            }
            while true {
                _ = try parseString()
                try expect(UInt8(ascii: ":"), "':'")
                try skipJSONValue(depth: depth + 1)
                if try nextIsMember(closing: UInt8(ascii: "}")) { continue }
                return
            }
        case UInt8(ascii: "["):
            offset += 1
            if try peekNonSpace() == UInt8(ascii: "]") {
                offset += 1
                return
            }
            while true {
                try skipJSONValue(depth: depth + 1)
                if try nextIsMember(closing: UInt8(ascii: "]")) { continue }
                return
            }
        case UInt8(ascii: "t"):
            guard matchLiteral("true") else { throw fail(.unexpectedByte(found: c, expected: "a JSON value")) }
        case UInt8(ascii: "f"):
            guard matchLiteral("false") else { throw fail(.unexpectedByte(found: c, expected: "a JSON value")) }
        case UInt8(ascii: "n"):
            guard matchLiteral("null") else { throw fail(.unexpectedByte(found: c, expected: "a JSON value")) }
        case UInt8(ascii: "-"), 0x30...0x39:
            let start = offset
            while offset < bytes.count,
                bytes[offset] == UInt8(ascii: "-") || bytes[offset] == UInt8(ascii: "+")
                    || bytes[offset] == UInt8(ascii: ".") || bytes[offset] | 0x20 == UInt8(ascii: "e")
                    || bytes[offset] &- 0x30 < 10
            {
                offset += 1
            }
            if offset == start { throw fail(.unexpectedByte(found: c, expected: "a JSON value")) }
        default: throw fail(.unexpectedByte(found: c, expected: "a JSON value"))
        }
    }

    // MARK: Lexing helpers

    @inline(__always)
    public mutating func skipSpace() {
        while offset < bytes.count {
            let c = bytes[offset]
            guard c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09 else { return }
            offset += 1
        }
    }

    /// The next non-space byte, without consuming it.
    @inline(__always)
    public mutating func peekNonSpace() throws(DynamoJSONError) -> UInt8 {
        skipSpace()
        guard offset < bytes.count else { throw fail(.unexpectedEnd) }
        return bytes[offset]
    }

    @inline(__always)
    public mutating func expect(_ byte: UInt8, _ what: String) throws(DynamoJSONError) {
        let c = try peekNonSpace()
        guard c == byte else { throw fail(.unexpectedByte(found: c, expected: what)) }
        offset += 1
    }

    /// After a member: true on `,` (another follows), false on the closing bracket.
    @inline(__always)
    public mutating func nextIsMember(closing: UInt8) throws(DynamoJSONError) -> Bool {
        let c = try peekNonSpace()
        offset += 1
        if c == UInt8(ascii: ",") { return true }
        if c == closing { return false }
        offset -= 1
        throw fail(.unexpectedByte(found: c, expected: "',' or '\(Character(UnicodeScalar(closing)))'"))
    }

    /// Requires that only whitespace remains.
    public mutating func expectEnd() throws(DynamoJSONError) {
        skipSpace()
        if offset < bytes.count { throw fail(.trailingData) }
    }

    mutating func matchLiteral(_ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard offset + n <= bytes.count, matches(offset, literal) else { return false }
        offset += n
        return true
    }

    func matches(_ at: Int, _ literal: StaticString) -> Bool {
        let n = literal.utf8CodeUnitCount
        guard at + n <= bytes.count else { return false }
        let p = literal.utf8Start
        for k in 0..<n where bytes[at + k] != p[k] { return false }
        return true
    }

    /// Reads an object key as raw bytes (no escapes expected); for record fields like `Item` or `Keys`.
    public mutating func parseKey() throws(DynamoJSONError) -> UnsafeBufferPointer<UInt8> {
        let (start, end, escaped) = try scanSimpleString()
        if escaped {
            // Record field names never need escapes; treat one as an unknown field.
            offset = start - 1
            throw at(start, .unknownField(try parseString()))
        }
        return UnsafeBufferPointer(rebasing: bytes[start..<end])
    }

    public func fail(_ problem: DynamoJSONError.Problem) -> DynamoJSONError {
        DynamoJSONError(offset: offset, problem: problem)
    }

    func at(_ offset: Int, _ problem: DynamoJSONError.Problem) -> DynamoJSONError {
        DynamoJSONError(offset: offset, problem: problem)
    }
}

extension DynamoJSONParser {
    /// Parses a whole document holding one item, e.g. `{"id":{"S":"a"}}`. Strict: a limit violation throws too.
    /// With `strict: false` an item that breaks one of DynamoDB's limits is returned anyway.
    public static func item(from text: String, strict: Bool = true) throws(DynamoJSONError) -> Item {
        try withBytes(of: text) { (buffer) throws(DynamoJSONError) -> Item in
            var parser = DynamoJSONParser(buffer)
            let item = try parser.parseItem()
            try parser.expectEnd()
            if strict, let violation = parser.violation { throw violation }
            return item
        }
    }

    /// Parses a whole document holding one typed value, e.g. `{"N":"1.5"}`.
    public static func value(from text: String) throws(DynamoJSONError) -> AttributeValue {
        try withBytes(of: text) { (buffer) throws(DynamoJSONError) -> AttributeValue in
            var parser = DynamoJSONParser(buffer)
            let value = try parser.parseValue()
            try parser.expectEnd()
            if let violation = parser.violation { throw violation }
            return value
        }
    }
}

/// Runs `body` over a string's UTF-8 bytes, keeping the body's typed error (`withUTF8` only rethrows untyped).
package func withBytes<T, E: Error>(of text: String, _ body: (UnsafeBufferPointer<UInt8>) throws(E) -> T) throws(E) -> T
{
    var copy = text
    return try copy.withUTF8 { buffer in Result { () throws(E) -> T in try body(buffer) } }.get()
}
