import Foundation
import SigV4
import Testing

/// The four examples of the S3 guide "Signature Calculations for the
/// Authorization Header: Transferring Payload in a Single Chunk".
struct S3DocVector: Sendable, CustomTestStringConvertible {
    let name: String
    let method: String
    /// The raw key path; the test encodes it as a client would for the URL.
    let rawPath: String
    var query: [(name: String, value: String)] = []
    var headers: [(name: String, value: String)] = []
    var body = ""
    let creq: String
    let signature: String
    var testDescription: String { name }
}

@Suite("S3 documentation examples")
struct S3DocTests {
    static let credentials = SigningCredentials(
        accessKeyId: "AKIAIOSFODNN7EXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    )
    /// 2013-05-24T00:00:00Z
    static let date = Date(timeIntervalSince1970: 1_369_353_600)
    static let signer = SigV4Signer(region: "us-east-1", service: "s3")
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static let vectors: [S3DocVector] = [
        S3DocVector(
            name: "GET object",
            method: "GET",
            rawPath: "/test.txt",
            headers: [("Range", "bytes=0-9")],
            creq: """
                GET
                /test.txt

                host:examplebucket.s3.amazonaws.com
                range:bytes=0-9
                x-amz-content-sha256:\(emptyHash)
                x-amz-date:20130524T000000Z

                host;range;x-amz-content-sha256;x-amz-date
                \(emptyHash)
                """,
            signature: "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        ),
        S3DocVector(
            name: "PUT object",
            method: "PUT",
            rawPath: "/test$file.text",
            headers: [("Date", "Fri, 24 May 2013 00:00:00 GMT"), ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
            body: "Welcome to Amazon S3.",
            creq: """
                PUT
                /test%24file.text

                date:Fri, 24 May 2013 00:00:00 GMT
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                x-amz-date:20130524T000000Z
                x-amz-storage-class:REDUCED_REDUNDANCY

                date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class
                44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072
                """,
            signature: "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
        ),
        S3DocVector(
            name: "GET bucket lifecycle",
            method: "GET",
            rawPath: "/",
            query: [("lifecycle", "")],
            creq: """
                GET
                /
                lifecycle=
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:\(emptyHash)
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                \(emptyHash)
                """,
            signature: "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"
        ),
        S3DocVector(
            name: "GET bucket (list objects)",
            method: "GET",
            rawPath: "/",
            query: [("prefix", "J"), ("max-keys", "2")],
            creq: """
                GET
                /
                max-keys=2&prefix=J
                host:examplebucket.s3.amazonaws.com
                x-amz-content-sha256:\(emptyHash)
                x-amz-date:20130524T000000Z

                host;x-amz-content-sha256;x-amz-date
                \(emptyHash)
                """,
            signature: "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"
        ),
    ]

    @Test(arguments: vectors)
    func sign(_ vector: S3DocVector) {
        let request = SigningRequest(
            method: vector.method,
            path: SigV4Encoding.encodePath(vector.rawPath),
            query: vector.query,
            headers: [("Host", "examplebucket.s3.amazonaws.com")] + vector.headers,
            payload: .utf8(vector.body)
        )
        let signed = Self.signer.sign(request, credentials: Self.credentials, date: Self.date)
        #expect(signed.canonicalRequest == vector.creq)
        #expect(signed.signature == vector.signature)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=\(signedHeaders(of: vector.creq)), Signature=\(vector.signature)"
        )
        // The header sent is the payload hash that ends the canonical request.
        #expect(signed["x-amz-content-sha256"] == vector.creq.split(separator: "\n").last.map(String.init))
        #expect(signed.headers.map(\.name) == ["X-Amz-Date", "X-Amz-Content-SHA256", "Authorization"])
    }

    @Test func precomputedHashSignsLikeTheBody() {
        let vector = Self.vectors[1]
        let request = SigningRequest(
            method: "PUT",
            path: "/test%24file.text",
            headers: [("Host", "examplebucket.s3.amazonaws.com")] + vector.headers,
            payload: .sha256Hex("44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        )
        #expect(Self.signer.sign(request, credentials: Self.credentials, date: Self.date).signature == vector.signature)
    }
}
