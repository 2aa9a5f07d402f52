import DynamoModel
import FerryTestSupport
import Foundation
import Testing

@testable import ExportReader

/// A differential check of the whole value path: random DynamoDB items, hard cases included (canonically equivalent
/// spellings, combining marks, astral characters as `\ud83d\ude00` escapes, `\u0000`, BOM, U+2028, numbers
/// re-spelled, 32-level nesting, items near 400 KB), written by writers independent of Ferry's own (a JSON writer
/// that escapes at random and re-spells numbers, an Ion writer), must come back through the scanner, the parser,
/// the encoder and the Ion transcoder with one verdict and the same values by DynamoDB's equality.
///
/// Reproducible: `FERRY_PROPERTY_SEED=<n>` reruns one seed; failures print theirs. Cases that ever failed live in
/// `Tests/Corpus/value-corpus.jsonl`.
@Suite("The value path agrees with itself and with independent writers")
struct ValuePathPropertyTests {
    static let seeds: [UInt64] =
        ProcessInfo.processInfo.environment["FERRY_PROPERTY_SEED"].flatMap(UInt64.init).map { [$0] } ?? [1, 2, 3, 4]
    static let itemsPerSeed = 750

    @Test("random items: scanner, parser, encoder, Ion transcoder and equality agree", arguments: seeds)
    func randomItems(seed: UInt64) throws {
        var random = Random(seed: seed)
        for n in 0..<Self.itemsPerSeed {
            let item = random.item(large: n % 250 == 249)
            try Self.check(item, &random, context: "seed \(seed) item \(n)")
        }
    }

    @Test("the committed corpus of cases that once failed")
    func corpus() throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../Corpus/value-corpus.jsonl"
        ).standardizedFileURL.path
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var random = Random(seed: 99)
        var count = 0
        for (index, line) in text.split(separator: "\n").enumerated() {
            let item = try DynamoJSONParser.item(from: String(line))
            #expect(try Self.scan(Array(line.utf8)) == ItemSize.bytes(of: item), "corpus line \(index + 1)")
            try Self.check(item, &random, context: "corpus line \(index + 1)")
            count += 1
        }
        #expect(count >= 9)
    }

    @Test("the check can fail: an equivalent re-spelling is a different value")
    func checkCanFail() throws {
        let a = Item(["pk": .s("a"), "caf\u{E9}": .ss(["caf\u{E9}"])])
        let b = Item(["pk": .s("a"), "caf\u{E9}": .ss(["cafe\u{301}"])])
        let c = Item(["pk": .s("a"), "cafe\u{301}": .ss(["caf\u{E9}"])])
        #expect(a != b && a != c && b != c)
        #expect(try DynamoJSONParser.item(from: IndependentJSON.write(b, random: { 0 })) != a)
    }

    static func check(_ item: Item, _ random: inout Random, context: String) throws {
        // Ferry's encoder round-trips, byte for byte.
        let encoded = DynamoJSONEncoder.string(item)
        let decoded = try DynamoJSONParser.item(from: encoded)
        #expect(decoded == item, "\(context): encoder → parser")
        #expect(DynamoJSONEncoder.string(decoded) == encoded, "\(context): re-encoding changed bytes")
        let size = ItemSize.bytes(of: item)
        // An independent JSON writer: random escapes, whitespace, attribute order, number spellings.
        let independent = IndependentJSON.write(item, random: { random.next() })
        let parsed: Item
        do { parsed = try DynamoJSONParser.item(from: independent) } catch {
            Issue.record("\(context): parser refused \(independent.prefix(300)): \(error)")
            return
        }
        #expect(parsed == item, "\(context): independent JSON → parser: \(independent.prefix(300))")
        #expect(parsed.hashValue == item.hashValue, "\(context): equal values hash alike")
        #expect(try scan(Array(independent.utf8)) == size, "\(context): scanner size")
        // An independent Ion writer, through the transcoder, then the scanner and the parser.
        let ion = "$ion_1_0 {Item:" + IndependentIon.write(item, random: { random.next() }) + "}"
        var transcoder = IonTranscoder()
        defer { transcoder.out.deallocate() }
        do {
            try Array(ion.utf8).withUnsafeBufferPointer { buffer in
                try Result { () throws(IonTranscoder.Failure) in try transcoder.transcode(buffer, kind: .full) }.get()
            }
        } catch {
            Issue.record("\(context): Ion refused: \(error) in \(ion.prefix(300))")
            return
        }
        let record = Array(transcoder.out.bytes(from: 0))
        let prefix = Array(#"{"Item":"#.utf8)
        try #require(Array(record.prefix(prefix.count)) == prefix)
        let itemJSON = Array(record[prefix.count..<(record.count - 1)])
        #expect(
            try DynamoJSONParser.item(from: String(decoding: itemJSON, as: UTF8.self)) == item,
            "\(context): Ion → parser"
        )
        #expect(try scan(itemJSON) == size, "\(context): Ion → scanner size")
    }

    /// The scanner, strict: throws the first violation.
    static func scan(_ bytes: [UInt8]) throws -> Int {
        try bytes.withUnsafeBufferPointer { buffer in
            var scanner = DynamoJSONScanner()
            scanner.reset(buffer)
            let size = try scanner.scanItem()
            try scanner.structure.expectEnd()
            if let violation = scanner.violation { throw violation }
            return size
        }
    }
}

/// SplitMix64 with the generators of hard values.
struct Random {
    var generator: SplitMix64
    init(seed: UInt64) { generator = SplitMix64(seed: seed &* 0x9E37_79B9_7F4A_7C15) }
    mutating func next() -> UInt64 { generator.next() }
    mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func chance(_ percent: Int) -> Bool { int(100) < percent }

    /// Pieces strings are made of: each equivalent pair in both spellings, marks, controls, astral characters.
    static let pieces = [
        "a", "Z", " ", "0", "caf\u{E9}", "cafe\u{301}", "\u{212B}", "\u{C5}", "A\u{30A}", "\u{212A}", "K",
        "\u{AC00}", "\u{1100}\u{1161}", "\u{301}", "\u{323}\u{307}", "\u{307}\u{323}", "😀", "\u{10FFFF}",
        "\u{0}", "\u{FEFF}", "\u{2028}", "\u{2029}", "\"", "\\", "/", "\t", "\n", "\u{1F}", "\u{7F}", "日本", "ß",
    ]

    mutating func string(max: Int = 5) -> String {
        (0..<int(max + 1)).map { _ in Self.pieces[int(Self.pieces.count)] }.joined()
    }

    mutating func name() -> String {
        let s = string()
        return s.isEmpty ? "n" : s
    }

    mutating func number() -> DynamoNumber {
        let digits = 1 + int(38)
        var mantissa = String(1 + int(9))
        for _ in 1..<digits { mantissa += String(int(10)) }
        // Any leading exponent DynamoDB allows (-130 … 125), mostly moderate ones.
        let leading = chance(20) ? int(256) - 130 : int(40) - 20
        let exponent = leading - (digits - 1)
        return try! DynamoNumber((chance(30) ? "-" : "") + mantissa + "E" + String(exponent))
    }

    mutating func bytes() -> [UInt8] { (0..<int(20)).map { _ in UInt8(truncatingIfNeeded: next()) } }

    mutating func distinct<T: Hashable>(_ make: (inout Random) -> T) -> [T] {
        var seen = Set<T>()
        var out: [T] = []
        for _ in 0..<(1 + int(4)) {
            let v = make(&self)
            if seen.insert(v).inserted { out.append(v) }
        }
        return out
    }

    mutating func value(level: Int) -> AttributeValue {
        let kinds = level >= DynamoLimits.maxNestingLevels ? 8 : 10
        switch int(kinds) {
        case 0: return .s(string())
        case 1: return .n(number())
        case 2: return .b(bytes())
        case 3: return .bool(chance(50))
        case 4: return .null
        case 5: return .ss(distinct { BytewiseString($0.string(max: 3)) }.map(\.string))  // members distinct by bytes
        case 6: return .ns(distinct { $0.number() })
        case 7: return .bs(distinct { $0.bytes() })
        case 8: return .l((0..<int(level > 3 ? 2 : 4)).map { _ in value(level: level + 1) })
        default: return .m(map(level: level + 1, count: int(level > 3 ? 2 : 4)))
        }
    }

    mutating func map(level: Int, count: Int) -> Item {
        var item = Item()
        for _ in 0..<count { item[name()] = value(level: level) }
        return item
    }

    /// An item; now and then 32 levels deep, or (when `large`) just under 400 KB.
    mutating func item(large: Bool) -> Item {
        var item = map(level: 0, count: 1 + int(6))
        item["pk"] = .s("k" + string())
        if chance(5) {
            var deep = AttributeValue.s(string())
            for level in stride(from: DynamoLimits.maxNestingLevels, to: 0, by: -1) {
                deep = level % 2 == 0 ? .l([deep]) : .m(Item(["x\(level)": deep]))
            }
            item["deep"] = deep
        }
        if large {
            let room = DynamoLimits.maxItemBytes - ItemSize.bytes(of: item) - "big".utf8.count - 8
            item["big"] = .s(String(repeating: "é", count: room / 2))
        }
        return item
    }
}

/// A DynamoDB JSON writer independent of `DynamoJSONEncoder`: every character may be escaped (`\uXXXX`, surrogate
/// pairs for astral characters, the short escapes), whitespace goes between tokens, attribute order is shuffled and
/// numbers are re-spelled with the same value.
enum IndependentJSON {
    static func write(_ item: Item, random: () -> UInt64) -> String {
        var out = ""
        object(item, &out, random)
        return out
    }

    static func space(_ out: inout String, _ random: () -> UInt64) {
        if random() % 8 == 0 { out += [" ", "\n", "\t", "\r"][Int(random() % 4)] }
    }

    static func object(_ item: Item, _ out: inout String, _ random: () -> UInt64) {
        var attributes = item.attributes
        for i in attributes.indices.reversed() where i > 0 { attributes.swapAt(i, Int(random() % UInt64(i + 1))) }
        out += "{"
        for (index, attribute) in attributes.enumerated() {
            if index > 0 { out += "," }
            space(&out, random)
            string(attribute.name, &out, random)
            space(&out, random)
            out += ":"
            value(attribute.value, &out, random)
        }
        space(&out, random)
        out += "}"
    }

    static func value(_ value: AttributeValue, _ out: inout String, _ random: () -> UInt64) {
        out += "{\"\(value.typeTag)\":"
        space(&out, random)
        switch value {
        case .s(let s): string(s, &out, random)
        case .n(let n): out += "\"" + respell(n, random) + "\""
        case .b(let b): out += "\"" + Data(b).base64EncodedString() + "\""
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "true"
        case .ss(let set): list(set, &out) { string($0, &$1, random) }
        case .ns(let set): list(set, &out) { $1 += "\"" + respell($0, random) + "\"" }
        case .bs(let set): list(set, &out) { $1 += "\"" + Data($0).base64EncodedString() + "\"" }
        case .l(let values): list(values, &out) { Self.value($0, &$1, random) }
        case .m(let item): object(item, &out, random)
        }
        out += "}"
    }

    static func list<T>(_ elements: [T], _ out: inout String, _ each: (T, inout String) -> Void) {
        out += "["
        for (index, element) in elements.enumerated() {
            if index > 0 { out += ", " }
            each(element, &out)
        }
        out += "]"
    }

    static func string(_ s: String, _ out: inout String, _ random: () -> UInt64) {
        out += "\""
        for scalar in s.unicodeScalars {
            let v = scalar.value
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += random() % 2 == 0 ? "\\n" : "\\u000a"
            case "\t": out += "\\t"
            case "/" where random() % 2 == 0: out += "\\/"
            default:
                if v < 0x20 || random() % 3 == 0 {
                    if v >= 0x10000 {
                        let u = v - 0x10000
                        out += hex(0xD800 + (u >> 10)) + hex(0xDC00 + (u & 0x3FF))
                    } else {
                        out += hex(v)
                    }
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }

    static func hex(_ v: UInt32) -> String {
        let digits = String(v, radix: 16)
        return "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
    }

    /// The same number, spelled another way: `1E+2`, `100`, `100.0`, `0.1e3`, `10e1`.
    static func respell(_ n: DynamoNumber, _ random: () -> UInt64) -> String {
        let shape = n.shape
        if shape.isZero { return ["0", "0.0", "-0", "0E+5"][Int(random() % 4)] }
        let sign = shape.isNegative ? "-" : ""
        let digits = String(decoding: shape.digits, as: UTF8.self)
        // value = 0.digits × 10^(leadingExponent + 1)
        let exponent = shape.leadingExponent + 1 - digits.count
        switch random() % 4 {
        case 0: return sign + digits + "E" + (exponent >= 0 ? "+" : "") + String(exponent)
        case 1: return sign + "0." + digits + "e" + String(shape.leadingExponent + 1)
        case 2: return sign + "00" + digits + "000e" + String(exponent - 3)
        default: return n.text
        }
    }
}

/// An Ion text writer independent of `ExportGenerator`'s: field names as strings or quoted symbols, Ion escapes
/// (`\xHH`, `\uHHHH`, `\UHHHHHHHH`), numbers as Ion decimals with a `d` exponent.
enum IndependentIon {
    static func write(_ item: Item, random: () -> UInt64) -> String {
        var out = ""
        structure(item, &out, random)
        return out
    }

    static func structure(_ item: Item, _ out: inout String, _ random: () -> UInt64) {
        out += "{"
        for (index, attribute) in item.attributes.enumerated() {
            if index > 0 { out += ", " }
            string(attribute.name, quote: random() % 2 == 0 ? "\"" : "'", &out, random)
            out += ":"
            value(attribute.value, &out, random)
        }
        out += "}"
    }

    static func value(_ value: AttributeValue, _ out: inout String, _ random: () -> UInt64) {
        switch value {
        case .s(let s): string(s, quote: "\"", &out, random)
        case .n(let n): out += decimal(n)
        case .b(let b): out += "{{" + Data(b).base64EncodedString() + "}}"
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        case .ss(let set):
            out +=
                "$dynamodb_SS::["
                + set.map { s in
                    var o = ""
                    string(s, quote: "\"", &o, random)
                    return o
                }.joined(separator: ",") + "]"
        case .ns(let set): out += "$dynamodb_NS::[" + set.map(decimal).joined(separator: ",") + "]"
        case .bs(let set):
            out +=
                "$dynamodb_BS::[" + set.map { "{{" + Data($0).base64EncodedString() + "}}" }.joined(separator: ",")
                + "]"
        case .l(let values):
            out += "["
            for (index, element) in values.enumerated() {
                if index > 0 { out += "," }
                self.value(element, &out, random)
            }
            out += "]"
        case .m(let item): structure(item, &out, random)
        }
    }

    static func decimal(_ n: DynamoNumber) -> String {
        let shape = n.shape
        if shape.isZero { return "0." }
        let digits = String(decoding: shape.digits, as: UTF8.self)
        return (shape.isNegative ? "-" : "") + digits + "d" + String(shape.leadingExponent + 1 - digits.count)
    }

    static func string(_ s: String, quote: Character, _ out: inout String, _ random: () -> UInt64) {
        out.append(quote)
        for scalar in s.unicodeScalars {
            let v = scalar.value
            if scalar == "\\" || Character(scalar) == quote {
                out += "\\"
                out.unicodeScalars.append(scalar)
            } else if v < 0x20 || v == 0x7F || random() % 4 == 0 {
                let digits = String(v, radix: 16)
                if v < 0x100 {
                    out += "\\x" + String(repeating: "0", count: 2 - digits.count) + digits
                } else if v < 0x10000 {
                    out += "\\u" + String(repeating: "0", count: 4 - digits.count) + digits
                } else {
                    out += "\\U" + String(repeating: "0", count: 8 - digits.count) + digits
                }
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        out.append(quote)
    }
}
