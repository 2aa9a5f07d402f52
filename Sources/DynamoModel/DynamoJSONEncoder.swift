/// Writes DynamoDB JSON as UTF-8 bytes: compact, attribute order and number text preserved.
///
/// Strings escape only what JSON requires (`"`, `\`, control characters); everything else is written as UTF-8.
/// Binary is standard padded base64.
public enum DynamoJSONEncoder {
    public static func append(_ item: Item, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        var first = true
        for attribute in item.attributes {
            if !first { out.append(UInt8(ascii: ",")) }
            first = false
            appendString(attribute.name, to: &out)
            out.append(UInt8(ascii: ":"))
            append(attribute.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    public static func append(_ value: AttributeValue, to out: inout [UInt8]) {
        out.append(contentsOf: #"{""#.utf8)
        out.append(contentsOf: value.typeTag.utf8)
        out.append(contentsOf: #"":"#.utf8)
        switch value {
        case .s(let s): appendString(s, to: &out)
        case .n(let n): appendString(n.text, to: &out)
        case .b(let b): appendBase64(b, to: &out)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .null: out.append(contentsOf: "true".utf8)
        case .ss(let set): appendArray(set, to: &out) { appendString($0, to: &$1) }
        case .ns(let set): appendArray(set, to: &out) { appendString($0.text, to: &$1) }
        case .bs(let set): appendArray(set, to: &out) { appendBase64($0, to: &$1) }
        case .l(let list): appendArray(list, to: &out) { append($0, to: &$1) }
        case .m(let map): append(map, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    /// The item as a compact DynamoDB JSON string.
    public static func string(_ item: Item) -> String {
        var out: [UInt8] = []
        append(item, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// The value as a compact DynamoDB JSON string.
    public static func string(_ value: AttributeValue) -> String {
        var out: [UInt8] = []
        append(value, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    private static func appendArray<T>(_ elements: [T], to out: inout [UInt8], _ each: (T, inout [UInt8]) -> Void) {
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            each(element, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    private static func appendBase64(_ bytes: [UInt8], to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        Base64.encode(bytes, into: &out)
        out.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A lowercase hex digit for 0…15.
    package static func hexDigit(_ value: UInt8) -> UInt8 { hexDigits[Int(value & 15)] }

    /// Appends `string` as a JSON string literal.
    public static func appendString(_ string: String, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var copy = string
        copy.withUTF8 { bytes in
            var runStart = 0
            for i in 0..<bytes.count {
                let c = bytes[i]
                guard c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") else { continue }
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                runStart = i + 1
                switch c {
                case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
                case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
                case 0x0A: out.append(contentsOf: #"\n"#.utf8)
                case 0x0D: out.append(contentsOf: #"\r"#.utf8)
                case 0x09: out.append(contentsOf: #"\t"#.utf8)
                default:
                    out.append(contentsOf: #"\u00"#.utf8)
                    out.append(hexDigits[Int(c >> 4)])
                    out.append(hexDigits[Int(c & 15)])
                }
            }
            out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<bytes.count]))
        }
        out.append(UInt8(ascii: "\""))
    }
}
