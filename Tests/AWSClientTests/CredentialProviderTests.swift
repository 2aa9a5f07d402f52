import AWSClient
import AWSCore
import AWSCredentials
import Foundation
import Testing

@Suite("Live credential providers built from the chain's plans")
struct CredentialProviderTests {
    static let stsOK =
        #"<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><AccessKeyId>ASIAWEBIDENTITY</AccessKeyId><SecretAccessKey>web-secret-value</SecretAccessKey><SessionToken>web-token-value</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>"#
    static let metadataJSON =
        #"{"Code":"Success","AccessKeyId":"ASIAMETADATA","SecretAccessKey":"metadata-secret","Token":"metadata-token","Expiration":"2099-01-01T00:00:00Z"}"#

    func factory(_ transport: ScriptedTransport, environment: [String: String] = [:]) -> CredentialProviderFactory {
        CredentialProviderFactory(transport: transport, environment: environment, region: "eu-west-1")
    }

    @Test("a profile's static keys, resolved from config files, carry a label naming the profile and file")
    func staticProfile() async throws {
        let config = try SharedConfig.parse(
            configText: "[profile prod]\nregion = eu-west-1\n",
            configPath: "/home/u/.aws/config",
            credentialsText: "[prod]\naws_access_key_id = AKIAPROD\naws_secret_access_key = prod-secret\n",
            credentialsPath: "/home/u/.aws/credentials"
        )
        let resolution = try CredentialChain.resolve(
            options: CommandLineOptions(profile: "prod"),
            environment: ["AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "env-secret"],
            config: config
        )
        let provider = try factory(ScriptedTransport([])).provider(for: resolution.plan)
        #expect(
            try await provider.credentials().accessKeyId == "AKIAPROD",
            "an explicit --profile beats environment keys"
        )
        #expect(provider.label == "profile prod in /home/u/.aws/credentials")
    }

    @Test("web identity: the token file's token goes to STS unsigned; the answer's credentials are used")
    func webIdentity() async throws {
        try await withTemporaryFile("eyJhbGciOi.token.value\n") { tokenFile in
            let transport = ScriptedTransport([.respond(status: 200, body: Array(Self.stsOK.utf8))])
            let provider = try factory(transport).provider(
                for: .webIdentity(
                    WebIdentityPlan(roleArn: "arn:aws:iam::1:role/r", tokenFile: tokenFile, sessionName: "s1")
                )
            )
            let credentials = try await provider.credentials()
            #expect(credentials.accessKeyId == "ASIAWEBIDENTITY")
            #expect(credentials.sessionToken?.revealed == "web-token-value")
            let request = try #require(transport.requests.first)
            #expect(request.origin == "https://sts.eu-west-1.amazonaws.com")
            #expect(!request.headers.contains { $0.name == "Authorization" })
            #expect(String(decoding: request.body, as: UTF8.self).contains("WebIdentityToken=eyJhbGciOi.token.value"))
        }
    }

    @Test("credential_process: its JSON is used; a failing command names the profile, never stdout")
    func credentialProcess() async throws {
        let json =
            #"{"Version":1,"AccessKeyId":"AKIAPROCESS","SecretAccessKey":"process-secret","SessionToken":"process-token","Expiration":"2099-01-01T00:00:00Z"}"#
        let ok = try factory(ScriptedTransport([])).provider(
            for: .process(command: "printf '%s' '\(json)'", profile: "tools")
        )
        #expect(try await ok.credentials().accessKeyId == "AKIAPROCESS")
        let failing = try factory(ScriptedTransport([])).provider(
            for: .process(command: "echo process-secret; echo 'login expired' >&2; exit 3", profile: "tools")
        )
        do {
            _ = try await failing.credentials()
            Issue.record("a failing credential_process was accepted")
        } catch {
            #expect(
                "\(error)"
                    == "credentials from credential_process of profile tools: exited with status 3: login expired"
            )
        }
    }

    @Test("container credentials: GET with the authorization token from the plan")
    func container() async throws {
        let transport = ScriptedTransport([.respond(status: 200, body: Array(Self.metadataJSON.utf8))])
        let plan = ContainerPlan(
            url: "http://169.254.170.2/v2/credentials/abc",
            authorization: .token(SensitiveString("container-auth"))
        )
        let credentials = try await factory(transport).provider(for: .container(plan)).credentials()
        #expect(credentials.accessKeyId == "ASIAMETADATA")
        let request = try #require(transport.requests.first)
        #expect(request.origin == "http://169.254.170.2" && request.path == "/v2/credentials/abc")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "container-auth" })
    }

    @Test("EC2 instance metadata, IMDSv2: token, role name, credentials")
    func instanceMetadata() async throws {
        let transport = ScriptedTransport([
            .respond(status: 200, body: Array("imds-session-token".utf8)),
            .respond(status: 200, body: Array("ferry-instance-role\n".utf8)),
            .respond(status: 200, body: Array(Self.metadataJSON.utf8)),
        ])
        let credentials = try await factory(transport).provider(for: .instanceMetadata).credentials()
        #expect(credentials.sessionToken?.revealed == "metadata-token")
        #expect(transport.requests.map(\.method) == ["PUT", "GET", "GET"])
        #expect(transport.requests[2].path == "/latest/meta-data/iam/security-credentials/ferry-instance-role")
        #expect(
            transport.requests.dropFirst().allSatisfy {
                $0.headers.contains { $0.name == "X-aws-ec2-metadata-token" && $0.value == "imds-session-token" }
            }
        )
    }

    @Test("no credentials anywhere: one clear message listing what was tried")
    func nothingFound() async throws {
        let provider = try factory(ScriptedTransport([.fail(.connectTimeout)])).provider(for: .instanceMetadata)
        do {
            _ = try await provider.credentials()
            Issue.record("credentials appeared from nowhere")
        } catch {
            #expect(
                "\(error)".contains(
                    "no credentials found in flags, environment or profiles, and instance metadata is not reachable"
                )
            )
        }
    }
}

func withTemporaryFile<T>(_ contents: String, _ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-\(UUID().uuidString)").path
    try contents.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}
