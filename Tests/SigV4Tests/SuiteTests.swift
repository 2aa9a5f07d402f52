import Foundation
import SigV4
import Testing

/// One case of the AWS SigV4 test suite (`aws-sig-v4-test-suite`, as shipped
/// in botocore's `tests/unit/auth/aws4_testsuite` and aws-c-auth's
/// `tests/aws-signing-test-suite/v4`). `headers` are the request's headers
/// besides `Host` and `X-Amz-Date`, which every case has.
struct SuiteVector: Sendable, CustomTestStringConvertible {
    let name: String
    let method: String
    /// The request-line path, which the suite writes unencoded.
    let path: String
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body = ""
    /// Session token given to the credentials (the signer adds the header).
    var token: String? = nil
    let creq: String
    let sts: String
    let signature: String

    var testDescription: String { name }

    static let all = queryVectors + pathAndHeaderVectors + postAndTokenVectors
}

enum Suite {
    static let accessKeyId = "AKIDEXAMPLE"
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    /// 2015-08-30T12:36:00Z
    static let date = Date(timeIntervalSince1970: 1_440_938_160)
    static let signer = SigV4Signer(region: "us-east-1", service: "service")

    static func request(_ vector: SuiteVector) -> SigningRequest {
        SigningRequest(
            method: vector.method,
            path: vector.path,
            query: vector.query,
            headers: [("Host", "example.amazonaws.com"), ("X-Amz-Date", "20150830T123600Z")] + vector.headers,
            payload: .utf8(vector.body)
        )
    }

    static func credentials(token: String? = nil) -> SigningCredentials {
        SigningCredentials(accessKeyId: accessKeyId, secretAccessKey: secret, sessionToken: token)
    }
}

/// The signed-header list is the canonical request's second-to-last line.
func signedHeaders(of canonicalRequest: String) -> Substring {
    let lines = canonicalRequest.split(separator: "\n", omittingEmptySubsequences: false)
    return lines[lines.count - 2]
}

@Suite("AWS SigV4 test suite")
struct SuiteTests {
    @Test("signs like the suite", arguments: SuiteVector.all)
    func sign(_ vector: SuiteVector) {
        let credentials = Suite.credentials(token: vector.token)
        let signed = Suite.signer.sign(Suite.request(vector), credentials: credentials, date: Suite.date)

        #expect(signed.canonicalRequest == vector.creq)
        #expect(signed.stringToSign == vector.sts)
        #expect(signed.signature == vector.signature)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=\(signedHeaders(of: vector.creq)), Signature=\(vector.signature)"
        )
        #expect(signed["x-amz-date"] == "20150830T123600Z")
        #expect(signed["X-Amz-Security-Token"] == vector.token)
        #expect(signed["x-amz-content-sha256"] == nil, "only S3 sends the payload hash header")
    }

    @Test("each stage matches the suite on its own", arguments: SuiteVector.all)
    func stages(_ vector: SuiteVector) {
        let signer = Suite.signer
        let canonical = signer.canonicalRequest(
            Suite.request(vector),
            credentials: Suite.credentials(token: vector.token),
            date: Suite.date
        )
        #expect(canonical.text == vector.creq)
        #expect(canonical.signedHeaders[...] == signedHeaders(of: vector.creq))
        #expect(signer.stringToSign(canonicalRequest: vector.creq, date: Suite.date) == vector.sts)
        let key = signer.signingKey(secretAccessKey: Suite.secret, date: Suite.date)
        #expect(signer.signature(stringToSign: vector.sts, signingKey: key) == vector.signature)
    }

    @Test func coversTheRequestedCases() {
        let names = Set(SuiteVector.all.map(\.name))
        for required in [
            "get-vanilla", "get-vanilla-query", "get-vanilla-query-order-key-case", "get-vanilla-query-unreserved",
            "get-vanilla-utf8-query", "get-unreserved", "get-utf8", "get-header-value-trim",
            "get-header-key-duplicate", "get-header-value-multiline", "get-slash", "get-slash-dot-slash",
            "get-relative-relative", "post-vanilla", "post-vanilla-query", "post-header-key-case",
            "post-x-www-form-urlencoded", "get-vanilla-with-session-token",
        ] {
            #expect(names.contains(required), "missing \(required)")
        }
        #expect(names.count == SuiteVector.all.count, "duplicate case names")
    }

    /// Published signatures, written out again so that a regenerated vector
    /// file cannot silently change them.
    @Test(arguments: [
        ("get-vanilla", "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("get-utf8", "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"),
        ("get-vanilla-with-session-token", "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8"),
        ("get-header-key-duplicate", "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea"),
        ("post-sts-header-before", "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ])
    func publishedSignature(name: String, signature: String) throws {
        let vector = try #require(SuiteVector.all.first { $0.name == name })
        #expect(vector.signature == signature)
    }
}
