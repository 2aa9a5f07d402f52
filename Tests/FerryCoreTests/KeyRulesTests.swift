import DynamoModel
import Testing

@testable import FerryCore

@Suite("Key rules: the one-pass path for canonical keys agrees with the parser on every key")
struct KeyRulesTests {
    /// What a check decided, comparable.
    static func outcome(_ checked: KeyRules.Checked) -> String {
        switch checked {
        case .key(let bytes): "key " + String(decoding: bytes, as: UTF8.self)
        case .refused(let reason): "refused " + reason
        }
    }

    static let stringAndNumber = KeyRules(names: ["pk", "sk"], types: ["S", "N"])

    @Test(
        "canonical keys are recognised without the parser",
        arguments: [
            #"{"pk":{"S":"a"},"sk":{"N":"1"}}"#,
            #"{"pk":{"S":"café"},"sk":{"N":"-42"}}"#,
            #"{"pk":{"S":"x y/z"},"sk":{"N":"0"}}"#,
            #"{"pk":{"S":"a"},"sk":{"N":"12345678901234567890123456789012345678"}}"#,
        ]
    )
    func canonical(json: String) {
        let rules = Self.stringAndNumber
        #expect(Array(json.utf8).withUnsafeBufferPointer(rules.isCanonical))
        #expect(Self.outcome(rules.check(keyJSON: Array(json.utf8))) == "key " + json)
    }

    @Test(
        "anything unusual or refused is left to the parser",
        arguments: [
            #"{"pk":{"S":"a\u0041"},"sk":{"N":"1"}}"#,  // an escape
            #"{"pk":{"S":"a"},"sk":{"N":"01"}}"#,  // a leading zero
            #"{"pk":{"S":"a"},"sk":{"N":"-0"}}"#,
            #"{"pk":{"S":"a"},"sk":{"N":"1.0"}}"#,
            #"{"pk":{"S":"a"},"sk":{"N":"1e3"}}"#,
            #"{"pk":{"S":"a"},"sk":{"N":"123456789012345678901234567890123456789"}}"#,  // 39 digits
            #"{"pk":{"S":""},"sk":{"N":"1"}}"#,  // empty
            #"{"pk":{"N":"1"},"sk":{"N":"1"}}"#,  // the wrong type
            #"{"pk":{"B":"YQ=="},"sk":{"N":"1"}}"#,
            #"{"sk":{"N":"1"},"pk":{"S":"a"}}"#,  // not in schema order
            #"{"pk":{"S":"a"}}"#,  // the sort key missing
            #"{"pk":{"S":"a"},"sk":{"N":"1"},"x":{"S":"b"}}"#,
            #"{"pk": {"S":"a"},"sk":{"N":"1"}}"#,  // a space
        ]
    )
    func leftToTheParser(json: String) {
        #expect(!Array(json.utf8).withUnsafeBufferPointer(Self.stringAndNumber.isCanonical))
    }

    @Test("a partition key over 2048 bytes and a sort key over 1024 are never taken for canonical")
    func limits() {
        let rules = KeyRules(names: ["pk", "sk"], types: ["S", "S"])
        func key(_ pk: Int, _ sk: Int) -> [UInt8] {
            Array(
                #"{"pk":{"S":"\#(String(repeating: "p", count: pk))"},"sk":{"S":"\#(String(repeating: "s", count: sk))"}}"#
                    .utf8
            )
        }
        #expect(key(2048, 1024).withUnsafeBufferPointer(rules.isCanonical))
        #expect(!key(2049, 1).withUnsafeBufferPointer(rules.isCanonical))
        #expect(!key(1, 1025).withUnsafeBufferPointer(rules.isCanonical))
        #expect(Self.outcome(rules.check(keyJSON: key(1, 1025))).hasPrefix("refused the sort key \"sk\" is 1025 bytes"))
    }

    /// Generated keys in every form the fast path meets: each must be decided exactly as the parser decides it.
    @Test("on 20,000 generated keys, check and the parser give the same bytes or the same refusal")
    func agreement() {
        var seed: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next(_ bound: Int) -> Int {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int((seed >> 33) % UInt64(bound))
        }
        let pieces = ["a", "Z", "0", " ", "é", "e\u{301}", "\\u0041", "\\\"", "\\\\", "\\n", "/", "日本", "\u{7F}"]
        let numbers = [
            "0", "-0", "1", "-1", "10", "100", "007", "1.5", "1.0", "1e2", "-3.25e-4", "0.0",
            "9" + String(repeating: "9", count: 37),
            String(repeating: "9", count: 39), "12345678901234567890", "-12345678901234567890123456789012345678",
        ]
        let types: [String?] = ["S", "N", "B", nil]
        var fast = 0
        for _ in 0..<20_000 {
            let rules = KeyRules(names: ["pk", "sk"], types: [types[next(4)], types[next(4)]])
            // Mostly of the type the table defines (so that many keys are canonical), sometimes of any type.
            func value(_ index: Int) -> String {
                let tag = next(10) < 7 ? rules.types[index] ?? ["S", "N"][next(2)] : ["S", "N", "B"][next(3)]
                switch tag {
                case "S":
                    let text = (0..<next(4)).map { _ in pieces[next(pieces.count)] }.joined()
                    return #"{"S":"\#(text)"}"#
                case "N": return #"{"N":"\#(numbers[next(numbers.count)])"}"#
                default: return #"{"B":"YWJj"}"#
                }
            }
            let json: String
            switch next(10) {
            case 0: json = #"{"sk":\#(value(1)),"pk":\#(value(0))}"#
            case 1: json = #"{"pk":\#(value(0))}"#
            default: json = #"{"pk":\#(value(0)),"sk":\#(value(1))}"#
            }
            let bytes = Array(json.utf8)
            if bytes.withUnsafeBufferPointer(rules.isCanonical) { fast += 1 }
            #expect(
                Self.outcome(rules.check(keyJSON: bytes)) == Self.outcome(rules.checkParsed(keyJSON: bytes)),
                "\(json) with types \(rules.types)"
            )
        }
        // Both paths were exercised: the comparison above is not of the parser with itself.
        #expect(fast > 500 && fast < 19_500, "\(fast) of 20,000 took the one-pass path")
    }
}
