import DynamoModel
import Testing

@Suite("DynamoDB JSON: decode, encode, refuse")
struct DynamoJSONTests {
    /// Every attribute type, nesting, unicode, empty strings and binary, extreme numbers, in our compact encoding.
    static let everyType =
        #"{"id":{"S":"K3TXQk84Si"},"a":{"BOOL":false},"b":{"NULL":true},"c":{"SS":["8gfX8dh0xa","fRjHZJ2Ce9"]},"d":{"NS":["3","2"]},"e":{"L":[{"N":"1"},{"S":"Dsb87qc6Es"}]},"f":{"M":{"h":{"NULL":true},"i":{"BOOL":true},"g":{"N":"9"}}},"j":{"B":"aGVsbG8="},"k":{"BS":["aXMgZmFzdA==","c2N5bGxhZGI="]},"empty":{"S":""},"ünï 🔑":{"S":"日本語 \"quoted\" \\ back\nnew"},"big":{"N":"99999999999999999999999999999999999999"},"tiny":{"N":"-1E-130"},"kept":{"N":"1.50"},"nest":{"L":[{"M":{"x":{"L":[{"L":[]},{"M":{}},{"B":""}]}}}]}}"#

    @Test("decode → encode gives the same document")
    func roundTrip() throws {
        let item = try DynamoJSONParser.item(from: Self.everyType)
        #expect(DynamoJSONEncoder.string(item) == Self.everyType)
        #expect(item.count == 15)
        #expect(item["kept"] == .n(try DynamoNumber("1.5")))
        if case .n(let kept)? = item["kept"] {
            #expect(kept.text == "1.50")
        } else {
            Issue.record("kept is not a number")
        }
        #expect(item["j"] == .b(Array("hello".utf8)))
        #expect(item["ünï 🔑"] == .s("日本語 \"quoted\" \\ back\nnew"))
    }

    @Test("escapes decode to the same string, and re-encode minimally")
    func escapes() throws {
        let item = try DynamoJSONParser.item(from: #"{"k":{"S":"\u00e9\ud83d\udea2\t\/\b\f\r\u0001"}}"#)
        #expect(item["k"] == .s("é🚢\t/\u{08}\u{0C}\r\u{01}"))
        #expect(DynamoJSONEncoder.string(item) == #"{"k":{"S":"é🚢\t/\u0008\u000c\r\u0001"}}"#)
        #expect(try DynamoJSONParser.item(from: DynamoJSONEncoder.string(item)) == item)
    }

    @Test("whitespace between tokens is accepted")
    func whitespace() throws {
        let item = try DynamoJSONParser.item(from: " { \"a\" : { \"N\" : \"1\" } , \"b\" :{\"L\":[ {\"S\":\"x\"} ]} } ")
        #expect(item == Item(["a": .n(1), "b": .l([.s("x")])]))
    }

    @Test("equality is DynamoDB's: sets and maps unordered, numbers by value")
    func equality() throws {
        let a = try DynamoJSONParser.item(
            from: #"{"s":{"SS":["x","y"]},"n":{"NS":["1","2.0"]},"m":{"M":{"p":{"N":"1"},"q":{"S":"z"}}}}"#
        )
        let b = try DynamoJSONParser.item(
            from: #"{"m":{"M":{"q":{"S":"z"},"p":{"N":"1.0"}}},"n":{"NS":["2","1"]},"s":{"SS":["y","x"]}}"#
        )
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        let list1 = try DynamoJSONParser.value(from: #"{"L":[{"N":"1"},{"N":"2"}]}"#)
        let list2 = try DynamoJSONParser.value(from: #"{"L":[{"N":"2"},{"N":"1"}]}"#)
        #expect(list1 != list2, "lists are ordered")
        #expect(try DynamoJSONParser.value(from: #"{"S":"1"}"#) != DynamoJSONParser.value(from: #"{"N":"1"}"#))
        #expect(try DynamoJSONParser.value(from: #"{"B":"AA=="}"#) != DynamoJSONParser.value(from: #"{"B":"AQ=="}"#))
    }

    @Test(
        "bad input is refused at its position",
        arguments: [
            (#"{"a":{"X":"1"}}"#, 6, DynamoJSONError.Problem.unknownTypeTag("X")),
            (
                #"{"a":{"N":"123456789012345678901234567890123456789"}}"#, 11,
                .invalidNumber(.tooManyDigits("123456789012345678901234567890123456789", significantDigits: 39))
            ),
            (#"{"a":{"N":"1x"}}"#, 11, .invalidNumber(.malformed("1x"))),
            (#"{"a":{"B":"not base64!"}}"#, 11, .invalidBase64(tag: "B")),
            (#"{"a":{"SS":[]}}"#, 11, .emptySet(tag: "SS")),
            (#"{"a":{"NS":["1","1.0"]}}"#, 6, .duplicateSetMember(tag: "NS")),
            (#"{"a":{"S":"x"},"a":{"S":"y"}}"#, 15, .duplicateAttribute("a")),
            (#"{"a":{"S":"x","N":"1"}}"#, 13, .typeTagCount(2)),
            (#"{"a":{}}"#, 6, .typeTagCount(0)),
            (#"{"a":{"BOOL":"true"}}"#, 13, .wrongValueType(tag: "BOOL", expected: "true or false")),
            (#"{"a":{"NULL":false}}"#, 13, .wrongValueType(tag: "NULL", expected: "true")),
            (#"{"a":{"S":"x"}"#, 14, .unexpectedEnd),
            (#"{"a":{"S":"x}}"#, 14, .unexpectedEnd),
            (#"{"a":{"S":"\q"}}"#, 11, .invalidEscape),
            (#"{"a":{"S":"\ud800"}}"#, 11, .invalidEscape),
            (#"{"a":{"S":"x"}} x"#, 16, .trailingData),
            (#"{"a":{"L":{"S":"x"}}}"#, 10, .wrongValueType(tag: "L", expected: "an array")),
        ]
    )
    func refused(_ json: String, _ offset: Int, _ problem: DynamoJSONError.Problem) {
        #expect(throws: DynamoJSONError(offset: offset, problem: problem)) { try DynamoJSONParser.item(from: json) }
    }

    @Test("invalid UTF-8 is refused")
    func invalidUTF8() {
        let bytes: [UInt8] = Array(#"{"a":{"S":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)
        #expect(throws: DynamoJSONError(offset: 11, problem: .invalidUTF8)) {
            try bytes.withUnsafeBufferPointer { buffer in
                var parser = DynamoJSONParser(buffer)
                _ = try parser.parseItem()
            }
        }
    }

    @Test("nesting deeper than DynamoDB allows is refused, not a stack overflow")
    func tooDeep() {
        let depth = 200
        let json =
            #"{"a":"# + String(repeating: #"{"L":["#, count: depth) + #"{"S":"x"}"#
            + String(repeating: "]}", count: depth) + "}"
        #expect(throws: DynamoJSONError.self) { try DynamoJSONParser.item(from: json) }
    }

    @Test(
        "base64 codec",
        arguments: [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foobar", "Zm9vYmFy")]
    )
    func base64(_ plain: String, _ encoded: String) {
        #expect(Base64.encode(Array(plain.utf8)) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8))
    }

    @Test("base64 refuses garbage", arguments: ["Zg=", "Z", "Zh==", "Zm9v!", "=Zm9", "Zm==Zm9v"])
    func base64Refuses(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }
}
