import Foundation
import Testing

@testable import SigV4

@Suite("Encoding and canonicalisation helpers")
struct EncodingTests {
    @Test(arguments: [
        ("abcXYZ019-._~", "abcXYZ019-._~"),
        ("a b", "a%20b"),
        ("a+b=c&d/e", "a%2Bb%3Dc%26d%2Fe"),
        ("100%", "100%25"),
        ("\u{1234}", "%E1%88%B4"),
        ("\u{FC}", "%C3%BC"),
        ("*!'()$", "%2A%21%27%28%29%24"),
        ("", ""),
    ])
    func percentEncode(raw: String, encoded: String) {
        #expect(SigV4Encoding.percentEncode(raw) == encoded)
    }

    @Test(arguments: [
        ("/", "/"),
        ("/a b/c+d", "/a%20b/c%2Bd"),
        ("//x//y/", "//x//y/"),
        ("/test$file.text", "/test%24file.text"),
    ])
    func encodePathKeepsSlashes(raw: String, encoded: String) {
        #expect(SigV4Encoding.encodePath(raw) == encoded)
    }

    @Test(arguments: [
        ("", "/"),
        ("/", "/"),
        ("//", "/"),
        ("/./", "/"),
        ("/./example", "/example"),
        ("//example//", "/example/"),
        ("/example/..", "/"),
        ("/example1/example2/../..", "/"),
        ("/a/b/../c/./d", "/a/c/d"),
        ("/../../a", "/a"),
        ("/a/.", "/a"),
    ])
    func normalizePath(path: String, normalized: String) {
        #expect(SigV4Encoding.normalizePath(path) == normalized)
    }

    @Test(arguments: [
        ("value", "value"),
        ("  value1  ", "value1"),
        ("\"a   b   c\"", "\"a b c\""),
        ("a\tb\r\n  c", "a b c"),
        ("   ", ""),
        ("\u{FC}ber  alles", "\u{FC}ber alles"),
    ])
    func trimHeaderValue(value: String, trimmed: String) {
        #expect(SigV4Encoding.trimHeaderValue(value) == trimmed)
    }

    @Test func queryIsSortedByEncodedNameThenValue() {
        let query = SigV4Encoding.canonicalQueryString([
            ("b", "2"), ("a", "z"), ("a", "y"), ("B", "1"), ("\u{1234}", ""), ("a b", "c d"),
        ])
        // Upper case sorts before lower case, `%` before letters; empty value keeps its `=`.
        #expect(query == "%E1%88%B4=&B=1&a=y&a=z&a%20b=c%20d&b=2")
    }

    @Test(arguments: [
        (0.0, "19700101T000000Z"),
        (1_440_938_160.0, "20150830T123600Z"),
        (1_709_251_199.999, "20240229T235959Z"),  // leap day, fraction dropped
        (951_782_400.0, "20000229T000000Z"),  // century leap year
        (4_107_542_400.0, "21000301T000000Z"),  // 2100 is not a leap year
        (-1.0, "19691231T235959Z"),
    ])
    func amzDate(seconds: Double, timestamp: String) {
        let date = AMZDate(Date(timeIntervalSince1970: seconds))
        #expect(date.timestamp == timestamp)
        #expect(date.dateStamp == String(timestamp.prefix(8)))
    }

    /// The worked example of the AWS guide "Examples of how to derive a
    /// signing key for Signature Version 4" (20120215, us-east-1, iam).
    @Test func signingKeyDocExample() {
        let signer = SigV4Signer(region: "us-east-1", service: "iam")
        let key = signer.signingKey(
            secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            date: Date(timeIntervalSince1970: 1_329_264_000)
        )  // 2012-02-15T00:00:00Z
        #expect(SigV4Encoding.hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
        #expect(
            signer.credentialScope(date: Date(timeIntervalSince1970: 1_329_264_000))
                == "20120215/us-east-1/iam/aws4_request"
        )
    }
}
