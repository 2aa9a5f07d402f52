import DynamoModel
import Testing

/// The scanner (hot path: validate and measure in place) and the parser (build values) must accept exactly the
/// same documents, refuse the rest with the same error at the same offset, and agree on item sizes.
@Suite("DynamoJSONScanner agrees with DynamoJSONParser")
struct ScannerParserAgreementTests {
    static func scan(_ text: String) throws(DynamoJSONError) -> Int {
        try withBytes(text) { (buffer) throws(DynamoJSONError) -> Int in
            var scanner = DynamoJSONScanner()
            scanner.reset(buffer)
            let size = try scanner.scanItem()
            try scanner.structure.expectEnd()
            // Strict, as `DynamoJSONParser.item(from:)` is: a broken DynamoDB limit counts as refused.
            if let violation = scanner.violation { throw violation }
            return size
        }
    }

    static func withBytes<T>(
        _ text: String,
        _ body: (UnsafeBufferPointer<UInt8>) throws(DynamoJSONError) -> T
    ) throws(DynamoJSONError) -> T {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(DynamoJSONError) -> T in try body(buffer) }
        }.get()
    }

    static let accepted: [String] = [
        DynamoJSONTests.everyType,
        #"{}"#,
        #"{"a":{"S":"\u00e9\ud83d\udea2\t\/\b\f\r\u0001 plain ascii run longer than eight bytes"}}"#,
        #"{"é":{"S":"日本語 🚢 mixed ünïcode and ascii runs"},"b":{"SS":["x","\u0079"]}}"#,
        #"{"n":{"NS":["1","2","3.5","-1E-130","99999999999999999999999999999999999999"]},"bs":{"BS":["AA==","AQ","Ag=="]}}"#,
        " { \"a\" : { \"L\" : [ { \"M\" : { } } , { \"NULL\" : true } ] } } ",
        #"{"m":{"M":{"a":{"M":{"b":{"L":[{"L":[{"N":"0.000"}]}]}}}}}}"#,
        #"{"\u0061":{"S":"escaped name"},"b":{"B":""}}"#,
    ]

    @Test("accepted alike, same size", arguments: accepted)
    func acceptedAlike(_ text: String) throws {
        let item = try DynamoJSONParser.item(from: text)
        #expect(try Self.scan(text) == ItemSize.bytes(of: item))
    }

    static let refused: [String] = [
        #"{"a":{"X":"1"}}"#, #"{"a":{"N":"123456789012345678901234567890123456789"}}"#, #"{"a":{"N":"1x"}}"#,
        #"{"a":{"B":"not base64!"}}"#, #"{"a":{"B":"Zh=="}}"#, #"{"a":{"SS":[]}}"#, #"{"a":{"NS":["1","1.0"]}}"#,
        #"{"a":{"SS":["x","x"]}}"#, #"{"a":{"SS":["x","\u0078"]}}"#, #"{"a":{"BS":["AA==","AA"]}}"#,
        #"{"a":{"S":"x"},"a":{"S":"y"}}"#, #"{"a":{"S":"x"},"\u0061":{"S":"y"}}"#, #"{"a":{"S":"x","N":"1"}}"#,
        #"{"a":{}}"#,
        #"{"a":{"BOOL":"true"}}"#, #"{"a":{"NULL":false}}"#, #"{"a":{"S":"x"}"#, #"{"a":{"S":"x}}"#,
        #"{"a":{"S":"\q"}}"#,
        #"{"a":{"S":"\ud800"}}"#, #"{"a":{"S":"\udc00"}}"#, #"{"a":{"S":"x"}} x"#, #"{"a":{"L":{"S":"x"}}}"#,
        #"{"a":{"M":[]}}"#,
        "{\"a\":{\"S\":\"tab\tinside\"}}", #"{"a":{"N":"1E+126"}}"#, #"{"a":{"S":1}}"#, #"{"a" {"S":"x"}}"#,
        #"{"a":{"S":"x"};}"#,
        #"{"a":{"L":[{"S":"x"},]}}"#, "", "{", #"{"a":{"S":"\u12"}}"#,
    ]

    @Test("refused alike, same error and offset", arguments: refused)
    func refusedAlike(_ text: String) {
        var parserError: DynamoJSONError?
        var scannerError: DynamoJSONError?
        do { _ = try DynamoJSONParser.item(from: text) } catch { parserError = error }
        do { _ = try Self.scan(text) } catch { scannerError = error }
        #expect(parserError != nil, "the parser accepted \(text)")
        #expect(parserError == scannerError)
    }

    @Test(
        "invalid UTF-8 refused alike",
        arguments: [[0xC3, 0x28], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF], [0xE2, 0x82]] as [[UInt8]]
    )
    func invalidUTF8(_ bad: [UInt8]) {
        let bytes = Array(#"{"a":{"S":"ok "#.utf8) + bad + Array(#" ok"}}"#.utf8)
        var errors: [DynamoJSONError?] = [nil, nil]
        bytes.withUnsafeBufferPointer { buffer in
            do throws(DynamoJSONError) {
                var parser = DynamoJSONParser(buffer)
                _ = try parser.parseItem()
            } catch { errors[0] = error }
            do throws(DynamoJSONError) {
                var scanner = DynamoJSONScanner()
                scanner.reset(buffer)
                _ = try scanner.scanItem()
            } catch { errors[1] = error }
        }
        #expect(errors[0] == DynamoJSONError(offset: 11, problem: .invalidUTF8))
        #expect(errors[0] == errors[1])
    }
}
