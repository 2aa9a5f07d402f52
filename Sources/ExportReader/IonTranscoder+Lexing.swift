import DynamoModel

/// Ion's lexical level: whitespace and comments, field names, strings, blobs and numbers, each written straight
/// to the JSON output without building Swift values.
extension IonTranscoder {
    @inline(__always) func peek() -> UInt8? { i < b.count ? b[i] : nil }

    func isIdentifierStart(_ c: UInt8) -> Bool {
        (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
    }

    func isIdentifierPart(_ c: UInt8) -> Bool { isIdentifierStart(c) || (c >= 0x30 && c <= 0x39) }

    func isLongQuote(at k: Int) -> Bool {
        k + 2 < b.count && b[k] == UInt8(ascii: "'") && b[k + 1] == UInt8(ascii: "'") && b[k + 2] == UInt8(ascii: "'")
    }

    /// Skips whitespace and `//` or `/* */` comments.
    @inline(__always)
    mutating func skipSpaceAndComments() throws(Failure) {
        // Most calls land on a token straight away.
        if i < b.count && b[i] > 0x20 && b[i] != UInt8(ascii: "/") { return }
        try skipSpaceAndCommentsSlowly()
    }

    private mutating func skipSpaceAndCommentsSlowly() throws(Failure) {
        while i < b.count {
            let c = b[i]
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == 0x0B || c == 0x0C {
                i += 1
            } else if c == UInt8(ascii: "/") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "/") {
                while i < b.count && b[i] != 0x0A { i += 1 }
            } else if c == UInt8(ascii: "/") && i + 1 < b.count && b[i + 1] == UInt8(ascii: "*") {
                let start = i
                i += 2
                while i + 1 < b.count && !(b[i] == UInt8(ascii: "*") && b[i + 1] == UInt8(ascii: "/")) { i += 1 }
                guard i + 1 < b.count else { throw Failure(offset: start, reason: "unterminated comment") }
                i += 2
            } else {
                return
            }
        }
    }

    mutating func expect(_ byte: UInt8, _ what: String) throws(Failure) {
        try skipSpaceAndComments()
        guard let c = peek() else { throw Failure(offset: i, reason: "unexpected end of line, expected \(what)") }
        guard c == byte else {
            throw Failure(offset: i, reason: "expected \(what), found '\(Character(UnicodeScalar(c)))'")
        }
        i += 1
    }

    /// Matches a keyword that is not followed by an identifier character.
    mutating func matchWord(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= b.count else { return false }
        for k in 0..<n where b[i + k] != word.utf8Start[k] { return false }
        if i + n < b.count && isIdentifierPart(b[i + n]) { return false }
        i += n
        return true
    }

    /// A field name as text, for the record level where the name decides what follows.
    mutating func fieldName() throws(Failure) -> String {
        let offset = i
        let start = out.count
        defer { out.count = start }
        try fieldNameJSON()
        // The name was written as a JSON string; decode that little string, then take it back.
        var parser = DynamoJSONParser(out.bytes(from: start))
        let parsed = try? parser.parseString()
        guard let parsed else { throw Failure(offset: offset, reason: "invalid field name") }
        return parsed
    }

    /// A field name (identifier, quoted symbol or string), written as a JSON string.
    mutating func fieldNameJSON() throws(Failure) {
        try skipSpaceAndComments()
        guard let c = peek() else { throw Failure(offset: i, reason: "unexpected end of line, expected a field name") }
        if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
            try string()
        } else if isIdentifierStart(c) {
            let start = i
            while let d = peek(), isIdentifierPart(d) { i += 1 }
            out.put(UInt8(ascii: "\""))
            out.put(UnsafeBufferPointer(rebasing: b[start..<i]))
            out.put(UInt8(ascii: "\""))
        } else {
            throw Failure(offset: i, reason: "expected a field name, found '\(Character(UnicodeScalar(c)))'")
        }
    }

    /// A short `"…"` string, a quoted symbol `'…'`, or one or more concatenated long strings (three single
    /// quotes on each side), written as one JSON string.
    mutating func string() throws(Failure) {
        out.put(UInt8(ascii: "\""))
        if isLongQuote(at: i) {
            while true {
                i += 3
                try stringBody(until: .long)
                let save = i
                try skipSpaceAndComments()
                if !isLongQuote(at: i) {
                    i = save
                    break
                }
            }
        } else {
            let quote = b[i]
            i += 1
            try stringBody(until: quote == UInt8(ascii: "'") ? .singleQuote : .doubleQuote)
        }
        out.put(UInt8(ascii: "\""))
    }

    enum StringEnd { case doubleQuote, singleQuote, long }

    /// Copies string content to the JSON output, translating Ion escapes and escaping what JSON requires. Runs of
    /// plain text are copied in one piece; only quotes, backslashes and control characters are handled one by one.
    mutating func stringBody(until end: StringEnd) throws(Failure) {
        let start = i - (end == .long ? 3 : 1)
        let raw = UnsafeRawPointer(b.baseAddress!)
        while i < b.count {
            let runStart = i
            while i + 8 <= b.count && !Self.mayNeedAttention(raw.loadUnaligned(fromByteOffset: i, as: UInt64.self)) {
                i += 8
            }
            while i < b.count {
                let c = b[i]
                if c >= 0x20 && c < 0x80 && c != UInt8(ascii: "\"") && c != UInt8(ascii: "'") && c != UInt8(ascii: "\\")
                {
                    i += 1
                } else if c >= 0x80 {
                    let n = UTF8Validation.sequenceLength(b, at: i, end: b.count)
                    guard n > 0 else { throw Failure(offset: i, reason: "string is not valid UTF-8") }
                    i += n
                } else {
                    break
                }
            }
            if i > runStart { out.put(UnsafeBufferPointer(rebasing: b[runStart..<i])) }
            guard i < b.count else { break }
            let c = b[i]
            switch end {
            case .doubleQuote where c == UInt8(ascii: "\""), .singleQuote where c == UInt8(ascii: "'"):
                i += 1
                return
            case .long where isLongQuote(at: i):
                i += 3
                return
            default: break
            }
            if c == UInt8(ascii: "\\") {
                try escape()
            } else if c < 0x20 {
                guard end == .long || c == 0x09 else {
                    throw Failure(offset: i, reason: "unescaped control character in a string")
                }
                appendJSONEscaped(UInt32(c))
                i += 1
            } else {
                // A quote that does not end this string: `'` is plain in JSON, `"` needs a backslash.
                if c == UInt8(ascii: "\"") { out.put(UInt8(ascii: "\\")) }
                out.put(c)
                i += 1
            }
        }
        throw Failure(offset: start, reason: "unterminated string")
    }

    /// True when 8 bytes may hold a quote, an apostrophe, a backslash, a control or a non-ASCII byte (false
    /// positives allowed, never false negatives).
    @inline(__always)
    static func mayNeedAttention(_ w: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        @inline(__always) func hasZeroByte(_ x: UInt64) -> UInt64 { (x &- ones) & ~x & highs }
        let special =
            (w & highs) | ((w &- 0x2020_2020_2020_2020) & ~w & highs)
            | hasZeroByte(w ^ (0x22 &* ones)) | hasZeroByte(w ^ (0x27 &* ones)) | hasZeroByte(w ^ (0x5C &* ones))
        return special != 0
    }

    /// One Ion escape: `\a \b \t \n \f \r \v \? \0 \' \" \/ \\ \xHH \uHHHH \UHHHHHHHH`, or an escaped newline.
    mutating func escape() throws(Failure) {
        let at = i
        guard i + 1 < b.count else { throw Failure(offset: at, reason: "unterminated string") }
        let e = b[i + 1]
        i += 2
        var scalar: UInt32
        switch e {
        case UInt8(ascii: "a"): scalar = 0x07
        case UInt8(ascii: "b"): scalar = 0x08
        case UInt8(ascii: "t"): scalar = 0x09
        case UInt8(ascii: "n"): scalar = 0x0A
        case UInt8(ascii: "f"): scalar = 0x0C
        case UInt8(ascii: "r"): scalar = 0x0D
        case UInt8(ascii: "v"): scalar = 0x0B
        case UInt8(ascii: "?"): scalar = 0x3F
        case UInt8(ascii: "0"): scalar = 0x00
        case UInt8(ascii: "'"), UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: "\\"): scalar = UInt32(e)
        case 0x0A: return  // an escaped newline continues the string
        case UInt8(ascii: "x"): scalar = try hex(2, at)
        case UInt8(ascii: "u"): scalar = try hex(4, at)
        case UInt8(ascii: "U"): scalar = try hex(8, at)
        default: throw Failure(offset: at, reason: "invalid escape sequence")
        }
        if scalar >= 0xD800 && scalar < 0xDC00 {
            // A UTF-16 surrogate pair written as two \u escapes.
            guard i + 1 < b.count, b[i] == UInt8(ascii: "\\"), b[i + 1] == UInt8(ascii: "u") else {
                throw Failure(offset: at, reason: "invalid escape sequence (lone surrogate)")
            }
            i += 2
            let low = try hex(4, at)
            guard low >= 0xDC00 && low < 0xE000 else {
                throw Failure(offset: at, reason: "invalid escape sequence (lone surrogate)")
            }
            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let unicode = Unicode.Scalar(scalar) else { throw Failure(offset: at, reason: "invalid escape sequence") }
        appendJSONEscaped(unicode.value)
    }

    mutating func hex(_ count: Int, _ at: Int) throws(Failure) -> UInt32 {
        guard i + count <= b.count else { throw Failure(offset: at, reason: "invalid escape sequence") }
        var value: UInt32 = 0
        for _ in 0..<count {
            let c = b[i]
            let digit: UInt8
            switch c {
            case 0x30...0x39: digit = c - 0x30
            case 0x41...0x46: digit = c - 0x41 + 10
            case 0x61...0x66: digit = c - 0x61 + 10
            default: throw Failure(offset: at, reason: "invalid escape sequence")
            }
            value = value << 4 | UInt32(digit)
            i += 1
        }
        return value
    }

    /// Appends one code point inside a JSON string, escaped as JSON requires.
    mutating func appendJSONEscaped(_ scalar: UInt32) {
        switch scalar {
        case 0x22: out.put(#"\""#)
        case 0x5C: out.put(#"\\"#)
        case 0x0A: out.put(#"\n"#)
        case 0x0D: out.put(#"\r"#)
        case 0x09: out.put(#"\t"#)
        case 0..<0x20:
            out.put(#"\u00"#)
            out.put(DynamoJSONEncoder.hexDigit(UInt8(scalar >> 4)))
            out.put(DynamoJSONEncoder.hexDigit(UInt8(scalar & 15)))
        default:
            for byte in UTF8.encode(Unicode.Scalar(scalar)!)! { out.put(byte) }
        }
    }

    /// `{{ base64 }}`, whitespace allowed inside; written as the base64 text.
    mutating func blob() throws(Failure) {
        let start = i
        i += 2
        let outStart = out.count
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "}") {
                guard i + 1 < b.count, b[i + 1] == UInt8(ascii: "}") else { break }
                i += 2
                guard Base64.validatedLength(out.bytes(from: outStart)) != nil else {
                    throw Failure(offset: start, reason: "blob is not valid base64")
                }
                return
            }
            if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                i += 1
                continue
            }
            if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                throw Failure(offset: start, reason: "clobs are not part of DynamoDB exports")
            }
            out.put(c)
            i += 1
        }
        throw Failure(offset: start, reason: "unterminated blob")
    }

    /// An Ion int, decimal or float written as exact DynamoDB number text (`103.` → `103`, `6d2` → `6E2`,
    /// `0x1F` → `31`) and checked against DynamoDB's limits. No floating point on the way.
    mutating func number() throws(Failure) {
        let start = i
        let outStart = out.count
        if peek() == UInt8(ascii: "+") {
            throw Failure(
                offset: start,
                reason: peekWord(at: start + 1, "inf")
                    ? "+inf cannot be a DynamoDB number" : "Ion numbers have no '+' sign"
            )
        }
        if peek() == UInt8(ascii: "-") {
            if peekWord(at: start + 1, "inf") {
                throw Failure(offset: start, reason: "-inf cannot be a DynamoDB number")
            }
            out.put(UInt8(ascii: "-"))
            i += 1
        }
        if i + 1 < b.count && b[i] == UInt8(ascii: "0")
            && (b[i + 1] | 0x20 == UInt8(ascii: "x") || b[i + 1] | 0x20 == UInt8(ascii: "b"))
        {
            let radix: UInt64 = b[i + 1] | 0x20 == UInt8(ascii: "x") ? 16 : 2
            i += 2
            try radixInteger(radix, start: start)
        } else {
            try decimalDigits(start: start)
            if peek() == UInt8(ascii: ".") {
                i += 1
                if let c = peek(), c >= 0x30 && c <= 0x39 {
                    out.put(UInt8(ascii: "."))
                    try decimalDigits(start: start)
                }  // "103." is 103: no fraction digits, no point
            }
            if let c = peek(), c | 0x20 == UInt8(ascii: "d") || c | 0x20 == UInt8(ascii: "e") {
                i += 1
                out.put(UInt8(ascii: "E"))
                if peek() == UInt8(ascii: "-") || peek() == UInt8(ascii: "+") {
                    out.put(b[i])
                    i += 1
                }
                try decimalDigits(start: start)
            }
        }
        if let c = peek(),
            !(c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D || c == UInt8(ascii: ",") || c == UInt8(ascii: "]")
                || c == UInt8(ascii: "}") || c == UInt8(ascii: "/"))
        {
            throw Failure(offset: start, reason: "malformed number")
        }
        do throws(DynamoNumber.Error) {
            _ = try DynamoNumber.validate(out.bytes(from: outStart))
        } catch {
            throw Failure(offset: start, reason: error.description)
        }
    }

    func peekWord(at position: Int, _ word: String) -> Bool {
        let bytes = Array(word.utf8)
        guard position + bytes.count <= b.count else { return false }
        return b[position..<(position + bytes.count)].elementsEqual(bytes)
    }

    /// Digits, with single underscores allowed between them (dropped).
    mutating func decimalDigits(start: Int) throws(Failure) {
        var count = 0
        var runStart = i
        while let c = peek() {
            if c >= 0x30 && c <= 0x39 {
                count += 1
                i += 1
            } else if c == UInt8(ascii: "_") && count > 0 && i + 1 < b.count && b[i + 1] >= 0x30 && b[i + 1] <= 0x39 {
                out.put(UnsafeBufferPointer(rebasing: b[runStart..<i]))
                i += 1
                runStart = i
            } else {
                break
            }
        }
        out.put(UnsafeBufferPointer(rebasing: b[runStart..<i]))
        guard count > 0 else { throw Failure(offset: start, reason: "malformed number") }
    }

    /// A hex or binary integer, converted exactly to decimal text (base-1e9 limbs).
    mutating func radixInteger(_ radix: UInt64, start: Int) throws(Failure) {
        var limbs: [UInt64] = [0]
        var count = 0
        while let c = peek() {
            let digit: UInt64
            switch c {
            case 0x30...0x39: digit = UInt64(c - 0x30)
            case 0x41...0x46: digit = UInt64(c - 0x41 + 10)
            case 0x61...0x66: digit = UInt64(c - 0x61 + 10)
            case UInt8(ascii: "_") where count > 0:
                i += 1
                continue
            default: digit = UInt64.max
            }
            guard digit < radix else { break }
            var carry = digit
            for k in limbs.indices {
                let v = limbs[k] * radix + carry
                limbs[k] = v % 1_000_000_000
                carry = v / 1_000_000_000
            }
            if carry > 0 { limbs.append(carry) }
            count += 1
            i += 1
        }
        guard count > 0 else { throw Failure(offset: start, reason: "malformed number") }
        out.put(String(limbs.last!))
        for limb in limbs.dropLast().reversed() {
            let text = String(limb)
            for _ in 0..<(9 - text.utf8.count) { out.put(UInt8(ascii: "0")) }
            out.put(text)
        }
    }
}
