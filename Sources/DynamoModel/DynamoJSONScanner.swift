/// Validates DynamoDB JSON in place and measures it without building any value: the hot path of reading exports.
///
/// It accepts exactly what `DynamoJSONParser` accepts, with the same errors at the same offsets (the tests hold
/// the two to that), and returns item sizes by `ItemSize`'s rules. Records keep their raw bytes; values are built
/// only when something needs them. One scanner is reused line after line so its scratch space is allocated once.
/// Like the parser, it throws on input that is not well-formed and keeps the first broken DynamoDB limit in
/// `violation` (names and strings compare as UTF-8 bytes).
public struct DynamoJSONScanner {
    /// A top-level attribute seen by `scanItem(members:)`: where its name and value are in the bytes.
    public struct Member: Sendable, Hashable {
        public var nameStart: Int
        public var nameEnd: Int
        public var nameEscaped: Bool
        public var valueStart: Int
        public var valueEnd: Int
    }

    private var lexer: DynamoJSONParser
    /// Names of the objects being scanned, innermost last, to find duplicates without allocating.
    private var names: [(start: Int, end: Int, escaped: Bool, tag: UInt64)] = []
    /// Members of the set being scanned.
    private var setMembers: [(start: Int, end: Int, escaped: Bool, number: DynamoNumber.Summary?)] = []

    public init() {
        lexer = DynamoJSONParser(UnsafeBufferPointer(start: nil, count: 0))
        names.reserveCapacity(64)
        setMembers.reserveCapacity(16)
    }

    /// Starts on a new document.
    public mutating func reset(_ bytes: UnsafeBufferPointer<UInt8>, offset: Int = 0) {
        lexer = DynamoJSONParser(bytes, offset: offset)
    }

    public var bytes: UnsafeBufferPointer<UInt8> { lexer.bytes }
    /// The first DynamoDB limit the document breaks since `reset`, if any.
    public var violation: DynamoJSONError? { lexer.violation }
    public var offset: Int {
        get { lexer.offset }
        set { lexer.offset = newValue }
    }

    /// The lexer, for the record structure around items (`{"Item":…}`, `Metadata`).
    public var structure: DynamoJSONParser {
        _read { yield lexer }
        _modify { yield &lexer }
    }

    // MARK: Items and values

    /// Scans an item and returns its size in bytes; when `members` is given, appends each top-level attribute.
    public mutating func scanItem(
        level: Int = 0,
        members: UnsafeMutablePointer<[Member]>? = nil
    ) throws(DynamoJSONError) -> Int {
        try scanObject(level: level, members: members).size
    }

    /// Scans an object of attributes (inside `level` maps and lists): the sum of names and values, and how many.
    private mutating func scanObject(
        level: Int,
        members: UnsafeMutablePointer<[Member]>?
    ) throws(DynamoJSONError) -> (size: Int, count: Int) {
        try lexer.expect(UInt8(ascii: "{"), "'{'")
        if try lexer.peekNonSpace() == UInt8(ascii: "}") {
            lexer.offset += 1
            return (0, 0)
        }
        let base = names.count
        defer { names.removeLast(names.count - base) }
        var size = 0
        var count = 0
        while true {
            let nameOffset = lexer.offset
            let name = try scanString()
            let tag = nameTag(name.start, name.end)
            try checkUnique(name: (name.start, name.end, name.escaped), tag: tag, from: base, at: nameOffset)
            lexer.checkName(byteCount: name.length, at: nameOffset)
            names.append((name.start, name.end, name.escaped, tag))
            try lexer.expect(UInt8(ascii: ":"), "':'")
            lexer.skipSpace()
            let valueStart = lexer.offset
            size += name.length + (try scanValue(level: level))
            count += 1
            members?.pointee.append(
                Member(
                    nameStart: name.start,
                    nameEnd: name.end,
                    nameEscaped: name.escaped,
                    valueStart: valueStart,
                    valueEnd: lexer.offset
                )
            )
            if try lexer.nextIsMember(closing: UInt8(ascii: "}")) { continue }
            return (size, count)
        }
    }

    /// Scans one typed value inside `level` maps and lists and returns its size (without an attribute name).
    public mutating func scanValue(level: Int) throws(DynamoJSONError) -> Int {
        try lexer.expect(UInt8(ascii: "{"), "'{' opening a typed value")
        if try lexer.peekNonSpace() == UInt8(ascii: "}") { throw lexer.fail(.typeTagCount(0)) }
        let tagOffset = lexer.offset
        let tag = try lexer.parseTypeTag()
        try lexer.expect(UInt8(ascii: ":"), "':'")
        let size: Int
        switch tag {
        case .s: size = try scanString().length
        case .n: size = ItemSize.numberBytes(try scanNumber().summary)
        case .b: size = try scanBinary(tag: "B").length
        case .bool:
            lexer.skipSpace()
            guard lexer.matchLiteral("true") || lexer.matchLiteral("false") else {
                throw lexer.fail(.wrongValueType(tag: "BOOL", expected: "true or false"))
            }
            size = 1
        case .null:
            lexer.skipSpace()
            guard lexer.matchLiteral("true") else { throw lexer.fail(.wrongValueType(tag: "NULL", expected: "true")) }
            size = 1
        case .ss, .ns, .bs:
            size = try scanSet(tag, tagOffset: tagOffset)
        case .l:
            lexer.skipSpace()
            guard lexer.offset < bytes.count, bytes[lexer.offset] == UInt8(ascii: "[") else {
                throw lexer.fail(.wrongValueType(tag: "L", expected: "an array"))
            }
            try lexer.enterContainer(level: level + 1)
            lexer.offset += 1
            var total = 3
            if try lexer.peekNonSpace() == UInt8(ascii: "]") {
                lexer.offset += 1
            } else {
                repeat {
                    total += 1 + (try scanValue(level: level + 1))
                } while try lexer.nextIsMember(closing: UInt8(ascii: "]"))
            }
            size = total
        case .m:
            lexer.skipSpace()
            guard lexer.offset < bytes.count, bytes[lexer.offset] == UInt8(ascii: "{") else {
                throw lexer.fail(.wrongValueType(tag: "M", expected: "an object"))
            }
            try lexer.enterContainer(level: level + 1)
            size = try scanMap(level: level + 1)
        }
        if try lexer.peekNonSpace() == UInt8(ascii: ",") { throw lexer.fail(.typeTagCount(2)) }
        try lexer.expect(UInt8(ascii: "}"), "'}' closing a typed value")
        return size
    }

    /// A map's size: 3 bytes, plus for each element 1 byte, its name and its value.
    private mutating func scanMap(level: Int) throws(DynamoJSONError) -> Int {
        let (size, count) = try scanObject(level: level, members: nil)
        return 3 + count + size
    }

    private mutating func scanSet(_ tag: DynamoJSONParser.TypeTag, tagOffset: Int) throws(DynamoJSONError) -> Int {
        let name = tag == .ss ? "SS" : tag == .ns ? "NS" : "BS"
        lexer.skipSpace()
        guard lexer.offset < bytes.count, bytes[lexer.offset] == UInt8(ascii: "[") else {
            throw lexer.fail(.wrongValueType(tag: name, expected: "an array"))
        }
        let arrayStart = lexer.offset
        lexer.offset += 1
        if try lexer.peekNonSpace() == UInt8(ascii: "]") {
            lexer.noteViolation(DynamoJSONError(offset: arrayStart, problem: .emptySet(tag: name)))
            lexer.offset += 1
            return 0
        }
        setMembers.removeAll(keepingCapacity: true)
        var size = 0
        repeat {
            switch tag {
            case .ss:
                let s = try scanString()
                size += s.length
                setMembers.append((s.start, s.end, s.escaped, nil))
            case .ns:
                let n = try scanNumber()
                size += ItemSize.numberBytes(n.summary)
                setMembers.append((n.start, n.end, n.escaped, n.summary))
            default:
                let b = try scanBinary(tag: "BS")
                var end = b.end
                while end > b.start && bytes[end - 1] == UInt8(ascii: "=") { end -= 1 }  // unpadded base64 is canonical
                size += b.length
                setMembers.append((b.start, end, b.escaped, nil))
            }
        } while try lexer.nextIsMember(closing: UInt8(ascii: "]"))
        if setMembers.count > 1 && hasDuplicateMember(tag) {
            lexer.noteViolation(DynamoJSONError(offset: tagOffset, problem: .duplicateSetMember(tag: name)))
        }
        return size
    }

    private func hasDuplicateMember(_ tag: DynamoJSONParser.TypeTag) -> Bool {
        let numbers = tag == .ns
        if setMembers.contains(where: \.escaped) || setMembers.count > 64 {
            // Rare: escaped text or big sets. Compare decoded values.
            return slowHasDuplicate(tag)
        }
        for i in 1..<setMembers.count {
            for j in 0..<i {
                let a = setMembers[i]
                let b = setMembers[j]
                if numbers {
                    if a.number == b.number && DynamoNumber.sameValue(bytes, a.start, a.end, b.start, b.end) {
                        return true
                    }
                } else if rawEqual(a.start, a.end, b.start, b.end) {
                    return true
                }
            }
        }
        return false
    }

    private func slowHasDuplicate(_ tag: DynamoJSONParser.TypeTag) -> Bool {
        var seen = Set<AttributeValue>()
        for member in setMembers {
            var parser = DynamoJSONParser(bytes, offset: member.start - 1)
            let value: AttributeValue?
            switch tag {
            case .ns: value = (try? parser.parseNumber()).map(AttributeValue.n)
            case .ss: value = (try? parser.parseString()).map(AttributeValue.s)
            default: value = (try? parser.parseString()).flatMap(Base64.decode).map(AttributeValue.b)
            }
            guard let value, seen.insert(value).inserted else { return true }
        }
        return false
    }

    private func rawEqual(_ a0: Int, _ a1: Int, _ b0: Int, _ b1: Int) -> Bool {
        guard a1 - a0 == b1 - b0 else { return false }
        for k in 0..<(a1 - a0) where bytes[a0 + k] != bytes[b0 + k] { return false }
        return true
    }

    /// A cheap fingerprint of a name (length and its first and last bytes): most pairs of names differ in it, so
    /// the quadratic duplicate check costs an integer comparison per pair.
    @inline(__always)
    private func nameTag(_ start: Int, _ end: Int) -> UInt64 {
        let length = end - start
        guard length > 0 else { return 0 }
        return UInt64(length) << 48 ^ UInt64(bytes[start]) << 40 ^ UInt64(bytes[end - 1]) << 32
            ^ UInt64(bytes[start + length / 2])
    }

    private mutating func checkUnique(
        name: (Int, Int, Bool),
        tag: UInt64,
        from base: Int,
        at nameOffset: Int
    ) throws(DynamoJSONError) {
        for existing in names[base...] {
            let same: Bool
            if existing.tag != tag && !existing.escaped && !name.2 {
                continue
            } else if existing.escaped || name.2 {
                same = decodedName(existing.start).bytewiseEquals(decodedName(name.0))
            } else {
                same = rawEqual(existing.start, existing.end, name.0, name.1)
            }
            if same { throw DynamoJSONError(offset: nameOffset, problem: .duplicateAttribute(decodedName(name.0))) }
        }
    }

    private func decodedName(_ start: Int) -> String {
        var parser = DynamoJSONParser(bytes, offset: start - 1)
        return (try? parser.parseString()) ?? ""
    }

    // MARK: Scalars

    /// Validates a string; returns its content's extent and its decoded UTF-8 length.
    public mutating func scanString() throws(DynamoJSONError) -> (start: Int, end: Int, length: Int, escaped: Bool) {
        lexer.skipSpace()
        let b = bytes
        guard lexer.offset < b.count else { throw lexer.fail(.unexpectedEnd) }
        guard b[lexer.offset] == UInt8(ascii: "\"") else {
            throw lexer.fail(.unexpectedByte(found: b[lexer.offset], expected: "'\"' opening a string"))
        }
        let start = lexer.offset + 1
        var i = start
        var length = 0
        var escaped = false
        var validUTF8 = true
        let base = UnsafeRawPointer(b.baseAddress!)
        while i < b.count {
            // Skip 8 plain ASCII bytes at a time (no quote, backslash, control or non-ASCII byte among them).
            while i + 8 <= b.count {
                let w = base.loadUnaligned(fromByteOffset: i, as: UInt64.self)
                if Self.hasSpecialByte(w) { break }
                length += 8
                i += 8
            }
            guard i < b.count else { break }
            let c = b[i]
            if c == UInt8(ascii: "\"") {
                lexer.offset = i + 1
                guard validUTF8 else { throw DynamoJSONError(offset: start, problem: .invalidUTF8) }
                return (start, i, length, escaped)
            }
            if c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\\") {
                length += 1
                i += 1
            } else if c >= 0x80 {
                let n = UTF8Validation.sequenceLength(b, at: i, end: b.count)
                if n == 0 {
                    // Keep going: a later escape or control-character error is reported first, as the parser does.
                    validUTF8 = false
                    i += 1
                } else {
                    length += n
                    i += n
                }
            } else if c < 0x20 {
                throw DynamoJSONError(
                    offset: i,
                    problem: .unexpectedByte(
                        found: c,
                        expected: "a string character (control characters must be escaped)"
                    )
                )
            } else {
                escaped = true
                lexer.offset = i + 1
                guard lexer.offset < b.count else { throw DynamoJSONError(offset: b.count, problem: .unexpectedEnd) }
                let e = b[lexer.offset]
                lexer.offset += 1
                switch e {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"), UInt8(ascii: "f"),
                    UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
                    length += 1
                case UInt8(ascii: "u"):
                    let scalar = try lexer.parseHex4(i)
                    if scalar >= 0xD800 && scalar < 0xDC00 {
                        guard lexer.offset + 1 < b.count, b[lexer.offset] == UInt8(ascii: "\\"),
                            b[lexer.offset + 1] == UInt8(ascii: "u")
                        else {
                            throw DynamoJSONError(offset: i, problem: .invalidEscape)
                        }
                        lexer.offset += 2
                        let low = try lexer.parseHex4(i)
                        guard low >= 0xDC00 && low < 0xE000 else {
                            throw DynamoJSONError(offset: i, problem: .invalidEscape)
                        }
                        length += 4
                    } else if scalar >= 0xDC00 && scalar < 0xE000 {
                        throw DynamoJSONError(offset: i, problem: .invalidEscape)
                    } else {
                        length += scalar < 0x80 ? 1 : scalar < 0x800 ? 2 : 3
                    }
                default:
                    throw DynamoJSONError(offset: i, problem: .invalidEscape)
                }
                i = lexer.offset
            }
        }
        throw DynamoJSONError(offset: b.count, problem: .unexpectedEnd)
    }

    /// True when a word of 8 bytes may hold `"`, `\\`, a control character or a non-ASCII byte. May report a
    /// false positive (the caller then looks byte by byte), never a false negative.
    @inline(__always)
    static func hasSpecialByte(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let nonASCII = w & highs
        let control = (w &- 0x2020_2020_2020_2020) & ~w & highs
        let quote = hasZeroByte(w ^ (0x22 &* ones))
        let backslash = hasZeroByte(w ^ (0x5C &* ones))
        return (nonASCII | control | quote | backslash) != 0
    }

    private mutating func scanNumber() throws(DynamoJSONError) -> (
        start: Int, end: Int, escaped: Bool, summary: DynamoNumber.Summary
    ) {
        let (start, end, escaped) = try lexer.scanSimpleString()
        if escaped {
            lexer.offset = start - 1
            let number = try lexer.parseNumber()
            return (start, lexer.offset - 1, true, number.summary)
        }
        var limit: DynamoNumber.Error?
        do {
            let summary = try DynamoNumber.validateSyntax(
                UnsafeBufferPointer(rebasing: bytes[start..<end]),
                limitViolation: &limit
            )
            if let limit { lexer.noteViolation(DynamoJSONError(offset: start, problem: .invalidNumber(limit))) }
            return (start, end, false, summary)
        } catch {
            throw DynamoJSONError(offset: start, problem: .invalidNumber(error))
        }
    }

    private mutating func scanBinary(
        tag: String
    ) throws(DynamoJSONError) -> (start: Int, end: Int, escaped: Bool, length: Int) {
        let (start, end, escaped) = try lexer.scanSimpleString()
        let length: Int?
        if escaped {
            lexer.offset = start - 1
            length = Base64.decode(try lexer.parseString())?.count
        } else {
            length = Base64.validatedLength(UnsafeBufferPointer(rebasing: bytes[start..<end]))
        }
        guard let length else { throw DynamoJSONError(offset: start, problem: .invalidBase64(tag: tag)) }
        return (start, escaped ? lexer.offset - 1 : end, escaped, length)
    }
}

extension DynamoNumber {
    /// True when two validated number texts have the same value (same significant digits; the caller has
    /// already compared sign and exponent through their summaries).
    static func sameValue(_ b: UnsafeBufferPointer<UInt8>, _ a0: Int, _ a1: Int, _ b0: Int, _ b1: Int) -> Bool {
        var x: [UInt8]? = []
        var y: [UInt8]? = []
        _ = try? scan(UnsafeBufferPointer(rebasing: b[a0..<a1]), digits: &x)
        _ = try? scan(UnsafeBufferPointer(rebasing: b[b0..<b1]), digits: &y)
        return x == y
    }
}
