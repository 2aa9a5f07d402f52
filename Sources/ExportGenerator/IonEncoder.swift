import DynamoModel

/// Writes items as Amazon Ion text the way DynamoDB's ION exports do: field names as identifiers (or quoted
/// symbols when they are not), `N` as Ion decimals with trailing zeros moved to the exponent (`103.`, `6d2`),
/// blobs `{{base64}}`, sets as lists annotated `$dynamodb_SS::`, `$dynamodb_NS::`, `$dynamodb_BS::`.
enum IonEncoder {
    static func append(_ item: Item, to out: inout [UInt8]) {
        out.append(UInt8(ascii: "{"))
        for (index, attribute) in item.attributes.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            appendName(attribute.name, to: &out)
            out.append(UInt8(ascii: ":"))
            append(attribute.value, to: &out)
        }
        out.append(UInt8(ascii: "}"))
    }

    static func append(_ value: AttributeValue, to out: inout [UInt8]) {
        switch value {
        case .s(let s): appendString(s, quote: UInt8(ascii: "\""), to: &out)
        case .n(let n): out += decimal(n.text).utf8
        case .b(let b): appendBlob(b, to: &out)
        case .bool(let b): out += (b ? "true" : "false").utf8
        case .null: out += "null".utf8
        case .ss(let set):
            appendList(set, annotation: "$dynamodb_SS::", to: &out) {
                appendString($0, quote: UInt8(ascii: "\""), to: &$1)
            }
        case .ns(let set): appendList(set, annotation: "$dynamodb_NS::", to: &out) { $1 += decimal($0.text).utf8 }
        case .bs(let set): appendList(set, annotation: "$dynamodb_BS::", to: &out) { appendBlob($0, to: &$1) }
        case .l(let list): appendList(list, annotation: "", to: &out) { append($0, to: &$1) }
        case .m(let map): append(map, to: &out)
        }
    }

    /// DynamoDB number text → Ion decimal text: `103` → `103.`, `600` → `6d2`, `1.5E+3` → `1.5d3`.
    static func decimal(_ text: String) -> String {
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...].replacingOccurrences(of: "+", with: "")) ?? 0
        }
        if !mantissa.contains(".") {
            // An integer mantissa: move trailing zeros into the exponent, as DynamoDB's writer does.
            var digits = String(mantissa)
            while digits.count > 1 && digits.hasSuffix("0") && digits.last(where: { $0 != "0" && $0 != "-" }) != nil {
                digits.removeLast()
                exponent += 1
            }
            return exponent == 0 ? digits + "." : "\(digits)d\(exponent)"
        }
        return exponent == 0 ? String(mantissa) : "\(mantissa)d\(exponent)"
    }

    static func appendName(_ name: String, to out: inout [UInt8]) {
        let bytes = Array(name.utf8)
        let isIdentifier =
            !bytes.isEmpty && !["true", "false", "null", "nan"].contains(name)
            && bytes.enumerated().allSatisfy { index, c in
                (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
                    || (index > 0 && c >= 0x30 && c <= 0x39)
            }
        if isIdentifier { out += bytes } else { appendString(name, quote: UInt8(ascii: "'"), to: &out) }
    }

    static func appendString(_ string: String, quote: UInt8, to out: inout [UInt8]) {
        out.append(quote)
        for c in string.utf8 {
            switch c {
            case quote, UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(c)
            case 0x0A: out += #"\n"#.utf8
            case 0x09: out += #"\t"#.utf8
            case 0..<0x20:
                out += #"\x"#.utf8
                out.append(DynamoJSONEncoder.hexDigit(c >> 4))
                out.append(DynamoJSONEncoder.hexDigit(c & 15))
            default: out.append(c)
            }
        }
        out.append(quote)
    }

    static func appendBlob(_ bytes: [UInt8], to out: inout [UInt8]) {
        out += "{{".utf8
        Base64.encode(bytes, into: &out)
        out += "}}".utf8
    }

    private static func appendList<T>(
        _ elements: [T],
        annotation: String,
        to out: inout [UInt8],
        _ each: (T, inout [UInt8]) -> Void
    ) {
        out += annotation.utf8
        out.append(UInt8(ascii: "["))
        for (index, element) in elements.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            each(element, &out)
        }
        out.append(UInt8(ascii: "]"))
    }
}
