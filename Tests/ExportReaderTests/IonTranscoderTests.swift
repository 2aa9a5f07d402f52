import DynamoModel
import Testing

@testable import ExportReader

@Suite("ION lines become the same records as DynamoDB JSON")
struct IonTranscoderTests {
    static func json(_ ion: String, kind: ExportKind = .full) throws(IonTranscoder.Failure) -> String {
        var transcoder = IonTranscoder()
        defer { transcoder.out.deallocate() }
        let bytes = Array(ion.utf8)
        try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(IonTranscoder.Failure) in try transcoder.transcode(buffer, kind: kind) }
        }.get()
        return String(decoding: transcoder.out.bytes(from: 0), as: UTF8.self)
    }

    static func item(_ ion: String) throws -> Item {
        let text = try json(ion)
        guard
            case .m(let item)? = try DynamoJSONParser.item(
                from: text.replacingOccurrences(of: #"{"Item":"#, with: #"{"Item":{"M":"#) + "}"
            )["Item"]
        else {
            throw IonTranscoder.Failure(offset: 0, reason: "no Item")
        }
        return item
    }

    /// The AWS documentation's example ION item (S3DataExport.Output: "Amazon Ion").
    @Test("the AWS documentation's example item")
    func awsDocumentationExample() throws {
        let line =
            #"$ion_1_0 {Item:{Authors:$dynamodb_SS::["Author1","Author2"],Dimensions:"8.5 x 11.0 x 1.5",ISBN:"333-3333333333",Id:103.,InPublication:false,PageCount:6d2,Price:2d3,ProductCategory:"Book",Title:"Book 103 Title"}}"#
        let item = try Self.item(line)
        #expect(
            item
                == Item([
                    "Authors": .ss(["Author1", "Author2"]), "Dimensions": .s("8.5 x 11.0 x 1.5"),
                    "ISBN": .s("333-3333333333"),
                    "Id": .n(103), "InPublication": .bool(false), "PageCount": .n(600), "Price": .n(2000),
                    "ProductCategory": .s("Book"), "Title": .s("Book 103 Title"),
                ])
        )
        #expect(try Self.json(line).contains(#""PageCount":{"N":"6E2"}"#), "numbers keep Ion's exact digits")
    }

    @Test(
        "numbers convert exactly",
        arguments: [
            ("103.", "103"), ("6d2", "6E2"), ("1.5", "1.5"), ("-1d-5", "-1E-5"), ("1.5D3", "1.5E3"), ("0.", "0"),
            ("-0.", "-0"),
            ("42", "42"), ("-7", "-7"), ("1_000_000", "1000000"), ("0x1F", "31"), ("-0xff", "-255"), ("0b101", "5"),
            ("0xF_F", "255"),
            ("1.5e3", "1.5E3"), ("2e0", "2E0"), ("0xFFFFFFFFFFFFFFFFFFFFFFFF", "79228162514264337593543950335"),
            ("12345678901234567890123456789012345678.", "12345678901234567890123456789012345678"), ("1d-130", "1E-130"),
        ]
    )
    func numbers(_ ion: String, _ n: String) throws {
        #expect(try Self.json("{Item:{n:\(ion)}}") == #"{"Item":{"n":{"N":"\#(n)"}}}"#)
    }

    @Test("strings, names, escapes, long strings and comments")
    func strings() throws {
        let line =
            #"$ion_1_0 /* header */ {Item:{'a-b':"x\"y\\z\n\t\x41\u00e9\U0001F6A2",'it\'s':'''long ''' /* joined */ '''string''',"quoted name":"",$dollar:"日本語",'ünï':"\/\?\0\a"}} // trailing comment"#
        let item = try Self.item(line)
        #expect(item["a-b"] == .s("x\"y\\z\n\tAé🚢"))
        #expect(item["it's"] == .s("long string"))
        #expect(item["quoted name"] == .s(""))
        #expect(item["$dollar"] == .s("日本語"))
        #expect(item["ünï"] == .s("/?\u{0}\u{7}"))
    }

    @Test("every other type: bool, null and typed nulls, blobs, lists, structs, the three sets")
    func otherTypes() throws {
        let item = try Self.item(
            #"{Item:{t:true,f:false,n:null,ns:null.string,b:{{ aGVs bG8= }},e:{{}},l:[1.,"x",[],{}],m:{k:{deep:[null]}},ss:$dynamodb_SS::["a","b"],nn:$dynamodb_NS::[1.,2.5,3d1],bs:$dynamodb_BS::[{{AA==}},{{AQ==}}]}}"#
        )
        #expect(
            item
                == Item([
                    "t": .bool(true), "f": .bool(false), "n": .null, "ns": .null, "b": .b(Array("hello".utf8)),
                    "e": .b([]),
                    "l": .l([.n(1), .s("x"), .l([]), .m(Item())]),
                    "m": .m(Item(["k": .m(Item(["deep": .l([.null])]))])),
                    "ss": .ss(["a", "b"]), "nn": .ns([1, try DynamoNumber("2.5"), 30]), "bs": .bs([[0], [1]]),
                ])
        )
    }

    @Test("incremental lines: Metadata, Keys, NewImage, OldImage; the timestamp as int, string or {N:…}")
    func incremental() throws {
        #expect(
            try Self.json(
                #"$ion_1_0 {Metadata:{WriteTimestampMicros:1768386096366933},Keys:{pk:"a"},NewImage:{pk:"a",v:1.}}"#,
                kind: .incremental
            )
                == #"{"Metadata":{"WriteTimestampMicros":{"N":"1768386096366933"}},"Keys":{"pk":{"S":"a"}},"NewImage":{"pk":{"S":"a"},"v":{"N":"1"}}}"#
        )
        #expect(
            try Self.json(
                #"{Metadata:{WriteTimestampMicros:{N:"17"},Other:[1,2]},Keys:{pk:"a"},OldImage:{pk:"a"}}"#,
                kind: .incremental
            )
                == #"{"Metadata":{"WriteTimestampMicros":{"N":"17"}},"Keys":{"pk":{"S":"a"}},"OldImage":{"pk":{"S":"a"}}}"#
        )
        #expect(
            try Self.json(#"{Keys:{pk:"a"},Metadata:{WriteTimestampMicros:"17"}}"#, kind: .incremental)
                == #"{"Keys":{"pk":{"S":"a"}},"Metadata":{"WriteTimestampMicros":"17"}}"#
        )
    }

    @Test(
        "outside the subset or malformed: refused with the column",
        arguments: [
            (#"{Item:{a:"unterminated}}"#, 10, "unterminated string"),
            (#"{Item:{a:{{not base64!}}}}"#, 10, "blob is not valid base64"),
            (#"{Item:{a:{{AAAA}}"#, 18, "unexpected end of line"),
            (#"{Item:{a:{{"clob"}}}}"#, 10, "clobs are not part of DynamoDB exports"),
            (#"{Item:{a:other::[1]}}"#, 10, #"unsupported annotation "other""#),
            (#"{Item:{a:$dynamodb_SS::[1.]}}"#, 25, "a $dynamodb_SS set holds only strings"),
            (#"{Item:{a:$dynamodb_NS::[]}}"#, 10, "empty NS set"),
            (
                #"{Item:{a:1234567890123456789012345678901234567891.}}"#, 10,
                #"number "1234567890123456789012345678901234567891" has 40 significant digits"#
            ),
            (#"{Item:{a:2d126}}"#, 10, "is outside DynamoDB's range"),
            (#"{Item:{a:nan}}"#, 10, "unsupported Ion value"),
            (#"{Item:{a:+inf}}"#, 10, "+inf cannot be a DynamoDB number"),
            (#"{Item:{a:2026-01-14T10:18:50Z}}"#, 10, "malformed number"),
            (#"{Item:{a:(1 2)}}"#, 10, "Ion s-expressions are not part of DynamoDB exports"),
            (#"{Item:{a:someSymbol}}"#, 10, "unsupported Ion value"),
            (#"{Item:{a:"\q"}}"#, 11, "invalid escape sequence"),
            (#"{Item:{a:null.nothing}}"#, 15, "unknown typed null"),
            (#"{Keys:{a:"x"}}"#, 2, #"unknown field "Keys" in an ION FULL export line"#),
            (#"{Item:{a:"x"}} extra"#, 16, "unexpected data after the record"),
            (#"{Item:{a:1./* open"#, 12, "unterminated comment"),
        ]
    )
    func refused(_ ion: String, _ column: Int, _ reason: String) {
        do {
            _ = try Self.json(ion)
            Issue.record("accepted: \(ion)")
        } catch {
            #expect(error.column == column, "\(error.reason)")
            #expect(error.reason.contains(reason), "\(error.reason)")
        }
    }
}
