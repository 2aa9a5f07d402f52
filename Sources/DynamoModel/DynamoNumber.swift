/// An exact DynamoDB number: the decimal text as written, validated against DynamoDB's rules.
///
/// Never converted through `Double`. DynamoDB numbers carry up to 38 significant digits, positive magnitudes from
/// 1E-130 to 9.9999999999999999999999999999999999999E+125 (and the same negative range), and zero.
/// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html#HowItWorks.DataTypes.Number
///
/// Equality and hashing use the canonical value, so `"1.50" == "1.5"`, `"-0" == "0"`, `"1E+2" == "100"`.
public struct DynamoNumber: Sendable {
    /// The text exactly as read (or as given), e.g. `"1.50"`.
    public let text: String

    /// Parses and validates `text`; throws `DynamoNumber.Error` naming the rule it breaks.
    /// Sign and significant digits, kept so that item sizes need no second pass over the text.
    public let summary: Summary

    public init(_ text: String) throws(DynamoNumber.Error) {
        summary = try withBytes(of: text) { (bytes) throws(DynamoNumber.Error) in try DynamoNumber.validate(bytes) }
        self.text = text
    }

    /// Wraps text already checked by `validate`, with the summary it returned.
    package init(validatedText: String, summary: Summary) {
        text = validatedText
        self.summary = summary
    }

    /// The most significant digits DynamoDB keeps.
    public static let maxSignificantDigits = 38
    /// The range of the decimal exponent of the leading significant digit (1E-130 … 9.99…E+125).
    public static let exponentRange = -130...125

    public enum Error: Swift.Error, Hashable, Sendable, CustomStringConvertible {
        case empty
        case malformed(String)
        case tooManyDigits(String, significantDigits: Int)
        case outOfRange(String)

        public var description: String {
            switch self {
            case .empty: "empty number"
            case .malformed(let text): "malformed number \"\(text)\""
            case .tooManyDigits(let text, let digits):
                "number \"\(text)\" has \(digits) significant digits; DynamoDB keeps at most 38"
            case .outOfRange(let text):
                "number \"\(text)\" is outside DynamoDB's range (magnitude 1E-130 to 9.99…E+125)"
            }
        }
    }

    /// What validation learns about a number without allocating: enough for item size and range checks.
    public struct Summary: Sendable, Hashable {
        public var isNegative: Bool
        /// Significant digits (leading and trailing zeros trimmed); 0 for zero.
        public var significantDigits: Int
        /// Decimal exponent of the leading significant digit: 1 for "12", -1 for "0.5"; 0 for zero.
        public var leadingExponent: Int
    }

    /// The shape of a number: its significant digits and the decimal exponent of the first of them.
    /// Two numbers are equal exactly when their shapes are equal.
    public struct Shape: Sendable, Hashable {
        public var isNegative: Bool
        /// Significant digits as ASCII, no leading or trailing zeros. Empty for zero.
        public var digits: [UInt8]
        /// Decimal exponent of the leading significant digit. 0 for zero.
        public var leadingExponent: Int
        public var isZero: Bool { digits.isEmpty }
    }

    /// Validates number text given as UTF-8 bytes. Accepts an optional sign, digits with an optional decimal point
    /// (at least one digit), and an optional `e`/`E` exponent with an optional sign. Allocates nothing unless
    /// `digits` is given, which then receives the significant digits.
    @inline(__always)
    public static func validate(_ bytes: UnsafeBufferPointer<UInt8>) throws(DynamoNumber.Error) -> Summary {
        var none: [UInt8]? = nil
        return try scan(bytes, digits: &none)
    }

    static func scan(_ bytes: UnsafeBufferPointer<UInt8>, digits: inout [UInt8]?) throws(DynamoNumber.Error) -> Summary
    {
        var limit: DynamoNumber.Error?
        let summary = try scan(bytes, digits: &digits, limitViolation: &limit)
        if let limit { throw limit }
        return summary
    }

    /// Validates the syntax (throws) and reports a broken DynamoDB limit — too many digits, out of range — in
    /// `limitViolation` instead of throwing, so a reader can tell a damaged line from a record DynamoDB would refuse.
    package static func validateSyntax(
        _ bytes: UnsafeBufferPointer<UInt8>,
        limitViolation: inout DynamoNumber.Error?
    ) throws(DynamoNumber.Error) -> Summary {
        var none: [UInt8]? = nil
        return try scan(bytes, digits: &none, limitViolation: &limitViolation)
    }

    static func scan(
        _ bytes: UnsafeBufferPointer<UInt8>,
        digits: inout [UInt8]?,
        limitViolation: inout DynamoNumber.Error?
    ) throws(DynamoNumber.Error) -> Summary {
        let text = { String(decoding: bytes, as: UTF8.self) }
        let n = bytes.count
        guard n > 0 else { throw .empty }
        var i = 0
        var negative = false
        if bytes[0] == UInt8(ascii: "-") || bytes[0] == UInt8(ascii: "+") {
            negative = bytes[0] == UInt8(ascii: "-")
            i = 1
        }
        var sawDigit = false
        var sawPoint = false
        var significant = 0  // digits from the first non-zero one through the last non-zero one
        var pendingZeros = 0  // zeros seen after the last non-zero digit
        var integerDigits = 0  // integer-part digits from the first significant one on
        var fractionLeadingZeros = 0  // zeros after the point before the first significant digit
        while i < n {
            let c = bytes[i]
            if c &- 0x30 < 10 {
                sawDigit = true
                if significant == 0 {
                    if c == 0x30 {
                        if sawPoint { fractionLeadingZeros += 1 }
                    } else {
                        significant = 1
                        if !sawPoint { integerDigits = 1 }
                        digits?.append(c)
                    }
                } else {
                    if !sawPoint { integerDigits += 1 }
                    if c == 0x30 {
                        pendingZeros += 1
                    } else {
                        if pendingZeros > 0 {
                            digits?.append(contentsOf: repeatElement(0x30, count: pendingZeros))
                        }
                        significant += pendingZeros + 1
                        pendingZeros = 0
                        digits?.append(c)
                    }
                }
            } else if c == UInt8(ascii: ".") && !sawPoint {
                sawPoint = true
            } else {
                break
            }
            i += 1
        }
        guard sawDigit else { throw .malformed(text()) }
        var exponent = 0
        if i < n {
            guard bytes[i] | 0x20 == UInt8(ascii: "e") else { throw .malformed(text()) }
            i += 1
            var expNegative = false
            if i < n && (bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+")) {
                expNegative = bytes[i] == UInt8(ascii: "-")
                i += 1
            }
            guard i < n else { throw .malformed(text()) }
            while i < n {
                let c = bytes[i]
                guard c &- 0x30 < 10 else { throw .malformed(text()) }
                // Saturate: anything past a million is out of range anyway.
                if exponent < 1_000_000 { exponent = exponent * 10 + Int(c - 0x30) }
                i += 1
            }
            if expNegative { exponent = -exponent }
        }
        if significant == 0 { return Summary(isNegative: false, significantDigits: 0, leadingExponent: 0) }
        let leading = (integerDigits > 0 ? integerDigits - 1 : -fractionLeadingZeros - 1) + exponent
        if significant > maxSignificantDigits {
            limitViolation = .tooManyDigits(text(), significantDigits: significant)
        } else if !exponentRange.contains(leading) {
            limitViolation = .outOfRange(text())
        }
        return Summary(isNegative: negative, significantDigits: significant, leadingExponent: leading)
    }

    /// The number's shape (sign, significant digits, exponent).
    public var shape: Shape {
        var digits: [UInt8]? = []
        // `text` was validated on construction, so the scan cannot fail.
        let summary =
            (try? withBytes(of: text) { (bytes) throws(DynamoNumber.Error) in
                try DynamoNumber.scan(bytes, digits: &digits)
            }) ?? self.summary
        return Shape(isNegative: summary.isNegative, digits: digits ?? [], leadingExponent: summary.leadingExponent)
    }

    /// Significant digits, as DynamoDB counts them for item size (leading and trailing zeros trimmed).
    public var significantDigitCount: Int { summary.significantDigits }

    /// The canonical text: no superfluous zeros, no `+`, `-0` → `0`; plain notation for moderate exponents,
    /// otherwise `d.dddE±x`. Two numbers are equal exactly when their canonical texts are equal.
    public var canonicalText: String { Self.render(shape) }

    static func render(_ shape: Shape) -> String {
        if shape.isZero { return "0" }
        var out: [UInt8] = shape.isNegative ? [UInt8(ascii: "-")] : []
        let digits = shape.digits
        let e = shape.leadingExponent
        if e >= 0 && e < 40 {
            if digits.count > e + 1 {
                out += digits[..<(e + 1)]
                out.append(UInt8(ascii: "."))
                out += digits[(e + 1)...]
            } else {
                out += digits
                out += repeatElement(UInt8(ascii: "0"), count: e + 1 - digits.count)
            }
        } else if e < 0 && e > -10 {
            out += Array("0.".utf8)
            out += repeatElement(UInt8(ascii: "0"), count: -e - 1)
            out += digits
        } else {
            out.append(digits[0])
            if digits.count > 1 {
                out.append(UInt8(ascii: "."))
                out += digits[1...]
            }
            out += Array("E\(e >= 0 ? "+" : "")\(e)".utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension DynamoNumber: Hashable {
    public static func == (lhs: DynamoNumber, rhs: DynamoNumber) -> Bool {
        lhs.text == rhs.text || lhs.shape == rhs.shape
    }
    public func hash(into hasher: inout Hasher) { hasher.combine(shape) }
}

extension DynamoNumber: CustomStringConvertible {
    public var description: String { text }
}

extension DynamoNumber: ExpressibleByIntegerLiteral {
    public init(integerLiteral value: Int) {
        // Every Int is a valid DynamoDB number (19 digits at most).
        try! self.init(String(value))
    }
}
