import Foundation
import SigV4
import Testing

@Suite("Secrets never printed")
struct RedactionTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let token = "FwoGZXIvYXdzETOKENexample"

    /// Everything a log line or a failed assertion might show of a value.
    func renderings<T>(_ value: T) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return ["\(value)", String(describing: value), String(reflecting: value), dumped]
    }

    func expectClean(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(!text.contains(Self.secret), "secret leaked: \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains(Self.token), "token leaked: \(text)", sourceLocation: sourceLocation)
    }

    @Test(arguments: [nil, token])
    func credentialsHideSecretAndToken(token: String?) {
        let credentials = SigningCredentials(
            accessKeyId: "AKIDEXAMPLE",
            secretAccessKey: Self.secret,
            sessionToken: token
        )
        for text in renderings(credentials) + renderings([credentials]) + renderings(Optional(credentials)) {
            expectClean(text)
            #expect(text.contains("AKIDEXAMPLE"))
        }
        #expect(
            credentials.description
                == (token == nil
                    ? "AKIDEXAMPLE (secret redacted)" : "AKIDEXAMPLE (secret and session token redacted)")
        )
    }

    @Test func signedRequestHidesToken() {
        let credentials = SigningCredentials(
            accessKeyId: "AKIDEXAMPLE",
            secretAccessKey: Self.secret,
            sessionToken: Self.token
        )
        let signed = Suite.signer.sign(
            SigningRequest(method: "GET", headers: [("Host", "example.amazonaws.com")]),
            credentials: credentials,
            date: Suite.date
        )
        #expect(signed["X-Amz-Security-Token"] == Self.token, "the token is still sent")
        for text in renderings(signed) { expectClean(text) }
        #expect(signed.description.contains("X-Amz-Security-Token: <redacted>"))
    }

    @Test(arguments: [
        SigningCredentials(accessKeyId: "", secretAccessKey: secret, sessionToken: token),
        SigningCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "", sessionToken: token),
        SigningCredentials(accessKeyId: "AKID\r\nX-Evil: 1", secretAccessKey: secret, sessionToken: token),
        SigningCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: secret, sessionToken: token + "\n"),
    ])
    func validationErrorsHideSecrets(credentials: SigningCredentials) {
        #expect(throws: SigV4Error.self) { try credentials.validated() }
        do {
            _ = try credentials.validated()
        } catch {
            for text in renderings(error) + [error.localizedDescription] { expectClean(text) }
        }
    }

    @Test func validCredentialsPass() throws {
        let credentials = SigningCredentials(
            accessKeyId: "AKIDEXAMPLE",
            secretAccessKey: Self.secret,
            sessionToken: Self.token
        )
        #expect(try credentials.validated() == credentials)
    }
}
