import DynamoModel
import Testing

@Suite("DynamoNumber: exact decimals by DynamoDB's rules")
struct DynamoNumberTests {
    @Test(
        "equal by value",
        arguments: [
            ("1.50", "1.5"), ("-0", "0"), ("1E+2", "100"), ("1e2", "100"), ("0.0", "0"), ("+7", "7"), ("007", "7"),
            ("1.0E-3", "0.001"), (".5", "0.5"), ("5.", "5"),
            ("12345678901234567890123456789012345678", "1.2345678901234567890123456789012345678E+37"),
            ("-1E-130", "-0." + String(repeating: "0", count: 129) + "1"),
        ]
    )
    func equalByValue(_ a: String, _ b: String) throws {
        let x = try DynamoNumber(a)
        let y = try DynamoNumber(b)
        #expect(x == y)
        #expect(x.hashValue == y.hashValue)
        #expect(x.canonicalText == y.canonicalText)
        #expect(x.text == a, "the text is kept exactly as written")
    }

    @Test(
        "different values differ",
        arguments: [("1", "-1"), ("1.5", "1.05"), ("100", "10"), ("1E-130", "1E-129"), ("0.1", "1")]
    )
    func differentValues(_ a: String, _ b: String) throws {
        #expect(try DynamoNumber(a) != DynamoNumber(b))
    }

    @Test(
        "canonical text",
        arguments: [
            ("1.50", "1.5"), ("-0.000", "0"), ("1E+2", "100"), ("-12.3400", "-12.34"), ("0.00120", "0.0012"),
            ("1E-130", "1E-130"),
            ("9.9999999999999999999999999999999999999E+125", "9.9999999999999999999999999999999999999E+125"),
            ("123456789012345678901234567890", "123456789012345678901234567890"),
        ]
    )
    func canonicalText(_ text: String, _ canonical: String) throws {
        #expect(try DynamoNumber(text).canonicalText == canonical)
    }

    @Test(
        "accepted at the limits",
        arguments: [
            "99999999999999999999999999999999999999",  // 38 digits
            "-99999999999999999999999999999999999999",
            "9.9999999999999999999999999999999999999E+125",
            "-9.9999999999999999999999999999999999999E+125",
            "1E-130", "-1E-130", "1000000000000000000000000000000000000000000000000",  // trailing zeros are not significant
            "0.00000000000000000000000000000000000000000000000000000000001",
        ]
    )
    func acceptedAtLimits(_ text: String) throws {
        _ = try DynamoNumber(text)
    }

    @Test("39 significant digits are refused")
    func tooManyDigits() {
        #expect(
            throws: DynamoNumber.Error.tooManyDigits("123456789012345678901234567890123456789", significantDigits: 39)
        ) {
            try DynamoNumber("123456789012345678901234567890123456789")
        }
        #expect(
            throws: DynamoNumber.Error.tooManyDigits("1.00000000000000000000000000000000000001", significantDigits: 39)
        ) {
            try DynamoNumber("1.00000000000000000000000000000000000001")
        }
    }

    @Test(
        "outside DynamoDB's range",
        arguments: ["1E+126", "-1E+126", "1E-131", "0.01E-129", "1E999999999999999", "10E+125"]
    )
    func outOfRange(_ text: String) {
        #expect(throws: DynamoNumber.Error.outOfRange(text)) { try DynamoNumber(text) }
    }

    @Test(
        "malformed",
        arguments: ["", "-", ".", "1e", "1e+", "abc", "1.2.3", " 1", "1 ", "0x10", "NaN", "Infinity", "1_000", "--1"]
    )
    func malformed(_ text: String) {
        #expect(throws: DynamoNumber.Error.self) { try DynamoNumber(text) }
    }

    @Test(
        "significant digits for item size",
        arguments: [("0", 0), ("100", 1), ("0.001", 1), ("1.05", 3), ("-12.340", 4), ("1E+10", 1)]
    )
    func significantDigits(_ text: String, _ digits: Int) throws {
        #expect(try DynamoNumber(text).significantDigitCount == digits)
    }
}
