import AWSCore
import AWSCredentials
import Foundation

/// Turns a credential plan (worked out by `AWSCredentials.CredentialChain` in the AWS CLI's order) into a live
/// provider. Providers that talk to a service (STS, the container endpoint, instance metadata) go through the
/// given transport, so tests drive them with a scripted one.
public struct CredentialProviderFactory: Sendable {
    public let transport: any HTTPTransport
    public let environment: [String: String]
    public let region: String
    /// Override of the STS endpoint (`--*-endpoint-url` for a local emulator); nil uses the environment, then AWS.
    public let stsEndpointFlag: EndpointFlag?
    /// How long a `credential_process` helper may run before it is killed (the AWS SDK for Go's default, 1 minute).
    public var processTimeout: Duration = .seconds(60)

    public init(
        transport: any HTTPTransport,
        environment: [String: String],
        region: String,
        stsEndpointFlag: EndpointFlag? = nil
    ) {
        self.transport = transport
        self.environment = environment
        self.region = region
        self.stsEndpointFlag = stsEndpointFlag
    }

    public func provider(for plan: CredentialPlan) throws -> any CredentialProvider {
        switch plan {
        case .environment(let credentials):
            return StaticCredentialProvider(
                credentials,
                label: "environment variables AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
            )
        case let .staticKeys(credentials, profile, file):
            return StaticCredentialProvider(credentials, label: "profile \(profile) in \(file)")
        case .assumeRole(let role):
            let source = try provider(for: role.source)
            let sts = AWSRequestExecutor(transport: transport, credentials: source, endpoint: try stsEndpoint())
            return AssumeRoleProvider.make(
                .init(
                    roleArn: role.roleArn,
                    sessionName: role.sessionName ?? "ferry-\(Int(Date().timeIntervalSince1970))",
                    externalId: role.externalId,
                    durationSeconds: role.durationSeconds
                ),
                sts: sts
            )
        case .webIdentity(let web):
            let endpoint = try stsEndpoint()
            let transport = transport
            return CachingCredentialProvider(label: "web identity token \(web.tokenFile) for \(web.roleArn)") {
                try await Self.assumeRoleWithWebIdentity(web, endpoint: endpoint, transport: transport)
            }
        case .sso(let sso):
            throw AWSClientError.credentials(
                source: "profile \(sso.profile)",
                reason:
                    "SSO profiles are not supported yet; run `aws sso login --profile \(sso.profile)` and export the session with `aws configure export-credentials --profile \(sso.profile) --format env`"
            )
        case let .process(command, profile):
            let timeout = processTimeout
            return CachingCredentialProvider(label: "credential_process of profile \(profile)") {
                try await Self.runProcess(command, profile: profile, timeout: timeout)
            }
        case .container(let container):
            let transport = transport
            return CachingCredentialProvider(label: "container credentials \(container.url)") {
                try await Self.containerCredentials(container, transport: transport)
            }
        case .instanceMetadata:
            let transport = transport
            let environment = environment
            return CachingCredentialProvider(label: "EC2 instance metadata") {
                try await InstanceMetadataCredentials.fetch(environment: environment, transport: transport)
            }
        }
    }

    func stsEndpoint() throws -> ResolvedEndpoint {
        do {
            return try EndpointResolver(environment: environment).resolve(.sts, region: region, flag: stsEndpointFlag)
        } catch {
            throw AWSClientError.credentials(source: "STS endpoint", reason: error.description)
        }
    }

    /// `AssumeRoleWithWebIdentity` is not signed: the token is the proof.
    static func assumeRoleWithWebIdentity(
        _ web: WebIdentityPlan,
        endpoint: ResolvedEndpoint,
        transport: any HTTPTransport
    ) async throws -> Credentials {
        let token: String
        do {
            token = try String(contentsOfFile: web.tokenFile, encoding: .utf8).trimmingCharacters(
                in: .whitespacesAndNewlines
            )
        } catch {
            throw AWSClientError.credentials(
                source: "web identity token file \(web.tokenFile)",
                reason: "cannot read it (\(error.localizedDescription))"
            )
        }
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", web.roleArn),
            ("RoleSessionName", web.sessionName ?? "ferry-\(Int(Date().timeIntervalSince1970))"),
            ("WebIdentityToken", token),
        ]
        let body = form.map { S3Key.percentEncodeQueryComponent($0.0) + "=" + S3Key.percentEncodeQueryComponent($0.1) }
            .joined(separator: "&")
        let request = HTTPRequestData(
            method: "POST",
            origin: "\(endpoint.scheme)://\(endpoint.hostHeader)",
            path: endpoint.basePath.isEmpty ? "/" : endpoint.basePath,
            headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8)
        )
        let response = try await transport.send(request, timeout: .seconds(10))
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200 else {
            let error = STSResponseParser.parseError(text)
            throw AWSClientError.credentials(
                source: "web identity token \(web.tokenFile)",
                reason:
                    "STS AssumeRoleWithWebIdentity for \(web.roleArn) failed: \(error.map { "\($0.code): \($0.message ?? "")" } ?? "HTTP \(response.status)")"
            )
        }
        do { return try STSResponseParser.parseCredentials(text) } catch {
            throw AWSClientError.invalidResponse(
                service: .sts,
                operation: "AssumeRoleWithWebIdentity",
                reason: error.description
            )
        }
    }

    /// Runs a profile's `credential_process` (`CredentialProcess`: bounded by `timeout`, its output drained
    /// concurrently, off the concurrency threads) and parses its JSON. Errors give the exit status and a short excerpt
    /// of stderr scrubbed of the credentials stdout held and of anything shaped like a key — never stdout itself.
    static func runProcess(_ command: String, profile: String, timeout: Duration) async throws -> Credentials {
        let source = "credential_process of profile \(profile)"
        let output: CredentialProcess.Output
        do { output = try await CredentialProcess.run(command, timeout: timeout) } catch {
            throw AWSClientError.credentials(source: source, reason: "cannot start it: \(error)")
        }
        let excerpt = Redaction.bodyExcerpt(
            output.stderr,
            secrets: CredentialProcess.secretValues(in: output.stdout),
            limit: 200
        )
        let detail = excerpt.isEmpty ? "" : ": \(excerpt)"
        if output.timedOut {
            throw AWSClientError.credentials(
                source: source,
                reason: "did not finish within \(timeout.secondsText) and was killed\(detail)"
            )
        }
        if let signal = output.signal {
            throw AWSClientError.credentials(source: source, reason: "was killed by signal \(signal)\(detail)")
        }
        guard output.exitStatus == 0 else {
            throw AWSClientError.credentials(
                source: source,
                reason: "exited with status \(output.exitStatus ?? -1)\(detail)"
            )
        }
        do { return try ProcessCredentialsParser.parse(Data(output.stdout)) } catch {
            throw AWSClientError.credentials(source: source, reason: error.description)
        }
    }

    /// ECS/EKS container credentials: GET the full URI (or the relative URI on 169.254.170.2) with its token.
    static func containerCredentials(
        _ container: ContainerPlan,
        transport: any HTTPTransport
    ) async throws -> Credentials {
        var headers: [(String, String)] = []
        switch container.authorization {
        case .none: break
        case .token(let token): headers.append(("Authorization", token.revealed))
        case .tokenFile(let path):
            guard let token = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw AWSClientError.credentials(
                    source: "container credentials",
                    reason: "cannot read the token file \(path)"
                )
            }
            headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        guard let url = URLComponents(string: container.url), let scheme = url.scheme, let host = url.host else {
            throw AWSClientError.credentials(source: "container credentials", reason: "not a URL: \(container.url)")
        }
        let origin = "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
        let response = try await transport.send(
            HTTPRequestData(
                method: "GET",
                origin: origin,
                path: url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath,
                headers: headers
            ),
            timeout: .seconds(5)
        )
        guard response.status == 200 else {
            throw AWSClientError.credentials(
                source: "container credentials \(container.url)",
                reason: "HTTP \(response.status)"
            )
        }
        return try MetadataCredentials.decode(response.body, source: "container credentials \(container.url)")
    }
}

/// The JSON that the container endpoint and instance metadata return.
enum MetadataCredentials {
    struct Document: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    static func decode(_ body: [UInt8], source: String) throws -> Credentials {
        guard let document = try? JSONDecoder().decode(Document.self, from: Data(body)) else {
            throw AWSClientError.credentials(source: source, reason: "the answer is not a credentials document")
        }
        return Credentials(
            accessKeyId: document.AccessKeyId,
            secretAccessKey: document.SecretAccessKey,
            sessionToken: document.Token,
            expiration: document.Expiration.flatMap(ISO8601.parse)
        )
    }
}

/// EC2 instance metadata, IMDSv2: a session token first (PUT), then the role name and its credentials.
enum InstanceMetadataCredentials {
    static func fetch(environment: [String: String], transport: any HTTPTransport) async throws -> Credentials {
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            throw AWSClientError.credentials(
                source: "EC2 instance metadata",
                reason:
                    "no credentials found: none in flags, environment or profiles, and AWS_EC2_METADATA_DISABLED is set"
            )
        }
        let origin =
            environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"].map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
            ?? "http://169.254.169.254"
        func fail(_ reason: String) -> AWSClientError {
            .credentials(
                source: "EC2 instance metadata",
                reason: "no credentials found in flags, environment or profiles, and instance metadata \(reason)"
            )
        }
        let tokenResponse: HTTPResponseData
        do {
            tokenResponse = try await transport.send(
                HTTPRequestData(
                    method: "PUT",
                    origin: origin,
                    path: "/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")]
                ),
                timeout: .seconds(1)
            )
        } catch {
            throw fail("is not reachable (not on EC2?)")
        }
        guard tokenResponse.status == 200 else { throw fail("refused a session token (HTTP \(tokenResponse.status))") }
        let token = String(decoding: tokenResponse.body, as: UTF8.self)
        let headers = [("X-aws-ec2-metadata-token", token)]
        let roles = try await transport.send(
            HTTPRequestData(
                method: "GET",
                origin: origin,
                path: "/latest/meta-data/iam/security-credentials/",
                headers: headers
            ),
            timeout: .seconds(2)
        )
        guard roles.status == 200, let role = String(decoding: roles.body, as: UTF8.self).split(separator: "\n").first
        else {
            throw fail("has no instance role attached (HTTP \(roles.status))")
        }
        let credentials = try await transport.send(
            HTTPRequestData(
                method: "GET",
                origin: origin,
                path: "/latest/meta-data/iam/security-credentials/\(role)",
                headers: headers
            ),
            timeout: .seconds(2)
        )
        guard credentials.status == 200 else {
            throw fail("did not return the role's credentials (HTTP \(credentials.status))")
        }
        return try MetadataCredentials.decode(credentials.body, source: "EC2 instance metadata role \(role)")
    }
}
