import Foundation
import SigV4
import Testing

/// Rules of the signer that the vectors do not pin down on their own.
@Suite("Signer behaviour")
struct SignerBehaviourTests {
    static let host: (name: String, value: String) = ("Host", "example.amazonaws.com")

    func sign(_ headers: [(name: String, value: String)], token: String? = nil) -> SignedRequest {
        Suite.signer.sign(
            SigningRequest(method: "GET", headers: [Self.host] + headers),
            credentials: Suite.credentials(token: token),
            date: Suite.date
        )
    }

    @Test func staleHeadersOwnedBySignerAreReplaced() {
        let clean = sign([])
        let stale = sign([
            ("X-Amz-Date", "20000101T000000Z"), ("Authorization", "AWS4-HMAC-SHA256 old"),
        ])
        #expect(stale.canonicalRequest == clean.canonicalRequest)
        #expect(stale.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        let oldToken = sign([("x-amz-security-token", "old-token")], token: "new-token")
        #expect(!oldToken.canonicalRequest.contains("old-token"))
        #expect(oldToken["X-Amz-Security-Token"] == "new-token")
    }

    @Test(arguments: [
        "Connection", "Expect", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
        "Transfer-Encoding", "Upgrade", "User-Agent", "X-Amzn-Trace-Id",
    ])
    func hopByHopAndClientHeadersAreNotSigned(name: String) {
        let signed = sign([(name, "anything")])
        #expect(signed.signedHeaders == "host;x-amz-date")
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func duplicatesKeepSentOrderAcrossNameCase() {
        let signed = sign([("X-B", "2"), ("x-a", "1"), ("x-b", " 1 "), ("X-A", "0")])
        #expect(signed.canonicalRequest.contains("\nx-a:1,0\nx-amz-date:20150830T123600Z\nx-b:2,1\n"))
        #expect(signed.signedHeaders == "host;x-a;x-amz-date;x-b")
    }

    @Test func methodIsUpperCasedAndEmptyPathIsSlash() {
        let signed = Suite.signer.sign(
            SigningRequest(method: "get", path: "", headers: [Self.host]),
            credentials: Suite.credentials(),
            date: Suite.date
        )
        #expect(signed.signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    @Test func emptySessionTokenMeansNone() {
        let credentials = SigningCredentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "")
        #expect(credentials.sessionToken == nil)
    }

    @Test func s3RulesOnlyForS3() {
        #expect(SigV4Signer(region: "us-east-1", service: "s3").usesS3Rules)
        #expect(!SigV4Signer(region: "us-east-1", service: "dynamodb").usesS3Rules)
    }
}
