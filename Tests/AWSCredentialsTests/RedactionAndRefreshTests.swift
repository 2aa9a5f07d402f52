import Foundation
import Testing

@testable import AWSCredentials

struct RedactionTests {
    static let secret = "SUPERSECRETVALUE123"
    static let token = "SESSIONTOKENVALUE456"

    /// Every textual view of `value` that a developer might log.
    func renderings<T>(_ value: T) -> [String] {
        var dumped = ""
        dump(value, to: &dumped)
        return [
            String(describing: value), String(reflecting: value), "\(value)", dumped, "\([value])",
            "\(Optional(value) as Any)",
        ]
    }

    @Test func credentialsNeverPrintSecrets() {
        let creds = Credentials(
            accessKeyId: "AKIDVISIBLE",
            secretAccessKey: Self.secret,
            sessionToken: Self.token,
            expiration: Date(timeIntervalSince1970: 0)
        )
        for text in renderings(creds) {
            #expect(!text.contains(Self.secret) && !text.contains(Self.token), "\(text)")
        }
        #expect(String(describing: creds).contains("AKIDVISIBLE"))
        #expect(String(describing: creds).contains("1970-01-01T00:00:00Z"))
    }

    @Test func plansNeverPrintSecrets() throws {
        let plans: [CredentialPlan] = [
            .environment(Credentials(accessKeyId: "A", secretAccessKey: Self.secret, sessionToken: Self.token)),
            .assumeRole(
                AssumeRolePlan(
                    roleArn: "arn",
                    source: .staticKeys(
                        Credentials(accessKeyId: "A", secretAccessKey: Self.secret, sessionToken: Self.token),
                        profile: "p",
                        file: "f"
                    )
                )
            ),
            .container(ContainerPlan(url: "http://x", authorization: .token(SensitiveString(Self.token)))),
        ]
        for plan in plans {
            for text in renderings(plan) {
                #expect(!text.contains(Self.secret) && !text.contains(Self.token), "\(text)")
            }
        }
        let resolution = try chain(
            try load(
                "[default]\naws_access_key_id=A\naws_secret_access_key=\(Self.secret)\naws_session_token=\(Self.token)\n"
            )
        )
        for text in renderings(resolution) {
            #expect(!text.contains(Self.secret) && !text.contains(Self.token), "\(text)")
        }
    }

    @Test func parsedFilesAndProfilesNeverPrintSecrets() throws {
        let config = try load(
            "[default]\naws_access_key_id=A\naws_secret_access_key=\(Self.secret)\n",
            "[default]\naws_session_token=\(Self.token)\n[x]\naws_security_token=\(Self.token)\n"
        )
        let values: [Any] = [
            config, config.configFile, config.credentialsFile, config.profile(named: "default") as Any,
            config.profile(named: "x") as Any,
        ]
        for value in values {
            for text in renderings(value) {
                #expect(!text.contains(Self.secret) && !text.contains(Self.token), "\(text)")
            }
        }
        #expect(String(describing: config.profile(named: "default")!).contains("aws_access_key_id = A"))
    }

    /// Broken configurations whose inputs contain secrets: no message may repeat them.
    @Test(arguments: [
        ("[default]\naws_secret_access_key=\(secret)\naws_session_token=\(token)\n", [String: String]()),
        ("[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=x\naws_secret_access_key=\(secret)\n", [:]),
        (
            "[default]\nrole_arn=r\nsource_profile=default\n[profile x]\naws_secret_access_key=\(secret)\n",
            ["AWS_SESSION_TOKEN": token]
        ),
        ("[default]\n\(secret)\n", [:]),
        ("[default]\nregion=r\n", ["AWS_ACCESS_KEY_ID": "A", "AWS_SESSION_TOKEN": token]),
        (
            "[default]\naws_access_key_id=A\naws_session_token=\(token)\n",
            ["AWS_SECRET_ACCESS_KEY": secret, "AWS_PROFILE": "missing"]
        ),
        (
            "[default]\nrole_arn=r\ncredential_source=Bogus\naws_secret_access_key=\(secret)\n",
            ["AWS_SECRET_ACCESS_KEY": secret]
        ),
    ])
    func errorsNeverContainSecrets(configText: String, env: [String: String]) {
        do {
            _ = try chain(try load(configText, "[x]\naws_secret_access_key=\(Self.secret)\n"), env: env)
            Issue.record("expected an error")
        } catch {
            for text in renderings(error) {
                #expect(!text.contains(Self.secret) && !text.contains(Self.token), "\(text)")
            }
        }
    }
}

struct RefreshPolicyTests {
    static let now = Date(timeIntervalSince1970: 1_700_000_000)

    static func expiring(in seconds: TimeInterval?) -> Credentials {
        Credentials(
            accessKeyId: "A",
            secretAccessKey: "S",
            sessionToken: "T",
            expiration: seconds.map { now.addingTimeInterval($0) }
        )
    }

    @Test(arguments: [
        (Optional<TimeInterval>.none, false, RefreshDecision.useCached),  // long-lived keys
        (3600, false, .useCached),
        (301, false, .useCached),
        (300, false, .refreshInBackground),
        (120, false, .refreshInBackground),
        (61, false, .refreshInBackground),
        (61, true, .useCached),  // someone is already refreshing
        (60, false, .mustRefresh),
        (60, true, .mustRefresh),
        (1, false, .mustRefresh),
        (0, false, .mustRefresh),
        (-3600, false, .mustRefresh),
    ])
    func decides(remaining: TimeInterval?, inFlight: Bool, expected: RefreshDecision) {
        #expect(
            RefreshPolicy().decide(cached: Self.expiring(in: remaining), now: Self.now, refreshInFlight: inFlight)
                == expected
        )
    }

    @Test func emptyCacheMustRefresh() {
        #expect(RefreshPolicy().decide(cached: nil, now: Self.now) == .mustRefresh)
    }

    @Test func customWindows() {
        let policy = RefreshPolicy(advisoryWindow: 900, mandatoryWindow: 600)
        #expect(policy.decide(cached: Self.expiring(in: 800), now: Self.now) == .refreshInBackground)
        #expect(policy.decide(cached: Self.expiring(in: 500), now: Self.now) == .mustRefresh)
    }
}
