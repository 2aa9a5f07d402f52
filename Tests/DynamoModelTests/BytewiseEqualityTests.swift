import DynamoModel
import Testing

/// DynamoDB compares strings and names by UTF-8 bytes; Swift's `String ==` uses canonical equivalence. These pairs
/// are equal to Swift and different to DynamoDB.
@Suite("Equality by DynamoDB's rules: strings and names by bytes, the real nesting limit")
struct BytewiseEqualityTests {
    static let equivalentPairs: [(String, String)] = [
        ("caf\u{E9}", "cafe\u{301}"),  // é precomposed / e + combining acute
        ("\u{212B}", "\u{C5}"),  // ANGSTROM SIGN / Å
        ("\u{212A}eys", "Keys"),  // KELVIN SIGN / K
        ("\u{AC00}", "\u{1100}\u{1161}"),  // Hangul syllable / jamo
        ("q\u{323}\u{307}", "q\u{307}\u{323}"),  // combining marks in either order
    ]

    @Test("Swift calls the pairs equal; Ferry's values do not", arguments: 0..<equivalentPairs.count)
    func pairsDiffer(_ index: Int) {
        let (a, b) = Self.equivalentPairs[index]
        #expect(a == b, "the premise: Swift's String == says equal")
        #expect(!a.bytewiseEquals(b))
        #expect(BytewiseString(a) != BytewiseString(b))
        #expect(Set([BytewiseString(a), BytewiseString(b)]).count == 2)
        #expect(AttributeValue.s(a) != .s(b))
        #expect(Set([AttributeValue.s(a), .s(b)]).count == 2)
        #expect(AttributeValue.ss([a, b]) != .ss([a]))
        #expect(AttributeValue.ss([a, b]) == .ss([b, a]), "sets stay unordered")
        #expect(Item([a: .n(1)]) != Item([b: .n(1)]))
        var item = Item()
        item[a] = .n(1)
        item[b] = .n(2)
        #expect(item.count == 2, "two attributes, as in DynamoDB")
        #expect(item[a] == .n(1) && item[b] == .n(2))
    }

    @Test("both spellings as names and as SS members are read as two, by the parser and the scanner")
    func bothSpellingsRead() throws {
        for text in [
            "{\"caf\u{E9}\":{\"S\":\"1\"},\"cafe\u{301}\":{\"SS\":[\"caf\u{E9}\",\"cafe\u{301}\"]}}",
            #"{"caf\u00e9":{"S":"1"},"cafe\u0301":{"SS":["caf\u00e9","cafe\u0301"]}}"#,
            "{\"caf\u{E9}\":{\"S\":\"1\"},\"cafe\\u0301\":{\"SS\":[\"caf\\u00e9\",\"cafe\u{301}\"]}}",
        ] {
            let item = try DynamoJSONParser.item(from: text)
            #expect(item.count == 2, "\(text)")
            #expect(item["cafe\u{301}"] == .ss(["caf\u{E9}", "cafe\u{301}"]))
            #expect(try ScannerParserAgreementTests.scan(text) == ItemSize.bytes(of: item))
            // Re-encoded, the bytes are the source's bytes.
            #expect(try DynamoJSONParser.item(from: DynamoJSONEncoder.string(item)) == item)
        }
        // A real duplicate is still one: same bytes, one spelled with an escape.
        #expect(throws: DynamoJSONError.self) {
            try DynamoJSONParser.item(from: #"{"caf\u00e9":{"S":"1"},"café":{"S":"2"}}"#)
        }
        #expect(throws: DynamoJSONError.self) {
            try ScannerParserAgreementTests.scan(#"{"caf\u00e9":{"S":"1"},"café":{"S":"2"}}"#)
        }
    }

    static func nested(_ levels: Int) -> String {
        // Maps and lists alternating: level 1 is the top-level attribute's M.
        var value = #"{"S":"leaf"}"#
        for level in stride(from: levels, to: 0, by: -1) {
            value = level % 2 == 1 ? #"{"M":{"k":"# + value + "}}" : #"{"L":["# + value + "]}"
        }
        return #"{"pk":{"S":"a"},"deep":"# + value + "}"
    }

    @Test(
        "32 levels of maps and lists are DynamoDB's limit: 30 and 32 pass, 33 is a violation, hostile depth is refused"
    )
    func nestingLimit() throws {
        for levels in [1, 30, 32] {
            let item = try DynamoJSONParser.item(from: Self.nested(levels))
            #expect(try ScannerParserAgreementTests.scan(Self.nested(levels)) == ItemSize.bytes(of: item))
        }
        let tooDeep = DynamoJSONError.Problem.nestedTooDeep(limit: 32)
        #expect(throws: DynamoJSONError.self) { try DynamoJSONParser.item(from: Self.nested(33)) }
        do { _ = try DynamoJSONParser.item(from: Self.nested(33)) } catch {
            #expect(error.problem == tooDeep && error.problem.isLimitViolation)
        }
        do { _ = try ScannerParserAgreementTests.scan(Self.nested(33)) } catch { #expect(error.problem == tooDeep) }
        // Far past any legal item: not read at all (stack protection), and not a mere limit violation.
        do {
            _ = try DynamoJSONParser.item(from: Self.nested(5000))
            Issue.record("5000 levels accepted")
        } catch {
            #expect(error.problem == .tooDeep(limit: DynamoLimits.structuralNestingLimit))
            #expect(!error.problem.isLimitViolation)
        }
    }

    @Test("attribute names: 1 byte to 65,535 bytes")
    func nameLength() throws {
        let longest = String(repeating: "n", count: 65_535)
        _ = try DynamoJSONParser.item(from: "{\"\(longest)\":{\"S\":\"x\"}}")
        for bad in ["", String(repeating: "n", count: 65_536)] {
            do {
                _ = try DynamoJSONParser.item(from: "{\"\(bad)\":{\"S\":\"x\"}}")
                Issue.record("a name of \(bad.utf8.count) bytes accepted")
            } catch {
                #expect(error.problem == .attributeName(bytes: bad.utf8.count))
            }
        }
    }

    @Test("limit violations are kept apart from damaged input")
    func violationsKeptApart() throws {
        let text = #"{"a":{"SS":[]},"b":{"N":"1E+126"}}"#
        try Array(text.utf8).withUnsafeBufferPointer { buffer in
            var parser = DynamoJSONParser(buffer)
            let item = try parser.parseItem()
            #expect(item.count == 2, "read to the end")
            #expect(parser.violation?.problem == .emptySet(tag: "SS"), "the first violation is kept")
            var scanner = DynamoJSONScanner()
            scanner.reset(buffer)
            _ = try scanner.scanItem()
            #expect(scanner.violation == parser.violation)
        }
    }
}
