import Testing

@testable import AWSCore

struct RedactionTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    static let token = "FwoGZXIvYXdzEBYaDHqa0AP1/FAKE/TOKEN+xyz=="
    static let accessKey = "AKIAIOSFODNN7EXAMPLE"

    static let leakyResponses: [(AWSService, HTTPErrorResponse)] = [
        (
            .dynamodb,
            .init(
                status: 400,
                headers: [
                    "Authorization": "AWS4-HMAC-SHA256 Credential=\(accessKey)/x, Signature=abc",
                    "X-Amz-Security-Token": token,
                ],
                body: Array(
                    #"{"__type":"x#ValidationException","message":"bad secret \#(secret) token \#(token)"}"#.utf8
                )
            )
        ),
        (
            .dynamodb,
            .init(
                status: 403,
                body: Array("<html><body>denied for key \(accessKey) secret=\(secret)</body></html>".utf8)
            )
        ),
        (
            .s3,
            .init(
                status: 403,
                body: Array(
                    "<Error><Code>SignatureDoesNotMatch</Code><Message>sig \(secret)</Message><AWSAccessKeyId>\(accessKey)</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 \(token)</StringToSign><SignatureProvided>9f2a3e4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f</SignatureProvided></Error>"
                        .utf8
                )
            )
        ),
        (.sts, .init(status: 400, body: Array("not xml \(Self.secret.prefix(20))\n\(Self.secret)".utf8))),
    ]

    @Test(arguments: leakyResponses)
    func descriptionsNeverEchoSecrets(service: AWSService, response: HTTPErrorResponse) {
        for secrets in [[Self.secret, Self.token], []] {  // known secrets, and heuristics alone
            let e = AWSErrorDecoder.decode(
                service: service,
                operation: "Op",
                response: response,
                context: AWSErrorContext(credentialSource: "profile p"),
                secrets: secrets
            )
            for text in [e.description, String(reflecting: e)] {
                #expect(!text.contains(Self.secret))
                #expect(!text.contains(Self.token))
                #expect(!text.contains(Self.accessKey))
                #expect(!text.contains("Authorization"))
                #expect(!text.contains("Signature=abc"))
                #expect(!text.contains("9f2a3e4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f"))
            }
        }
    }

    @Test func scrubKeepsOrdinaryText() {
        let requestID = "K2QH8DNOU907N97FNA2GDLL8OBVV4KQNSO5AEMVJF66Q9ASUAAJG"
        #expect(
            Redaction.scrub("Table: orders not found, id \(requestID)") == "Table: orders not found, id \(requestID)"
        )
        #expect(Redaction.scrub("key=\(Self.secret);") == "key=[REDACTED];")
        #expect(Redaction.scrub("id \(Self.accessKey).") == "id [REDACTED].")
    }

    @Test func excerptIsOneShortLine() {
        #expect(Redaction.sanitizeExcerpt("  a\n\tb\u{0}c  ") == "a b c")
        let long = String(repeating: "x", count: 500)
        #expect(Redaction.sanitizeExcerpt(long) == String(repeating: "x", count: 199) + "…")
        #expect(Redaction.sanitizeExcerpt(String(repeating: "y", count: 200)).count == 200)
    }
}
