/// What a live credential provider must do to obtain credentials. Produced by
/// ``ProfileResolver`` and ``CredentialChain`` from configuration alone; executing it (STS
/// calls, spawning `credential_process`, HTTP to the container or IMDS endpoint) is someone
/// else's job.
///
/// Printing a plan is safe: every secret inside is a ``SensitiveString``.
public indirect enum CredentialPlan: Sendable, Hashable {
    /// Use `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN` as is.
    case environment(Credentials)
    /// Use the long-lived (or pasted temporary) keys stored in a profile.
    case staticKeys(Credentials, profile: String, file: String)
    /// Call STS AssumeRole with credentials obtained by executing `source`.
    case assumeRole(AssumeRolePlan)
    /// Call STS AssumeRoleWithWebIdentity with the token read from a file.
    case webIdentity(WebIdentityPlan)
    /// Exchange a cached IAM Identity Center (SSO) token for role credentials.
    case sso(SSOPlan)
    /// Run `command` (split shell-style, no shell) and parse its JSON with ``ProcessCredentialsParser``.
    case process(command: String, profile: String)
    /// GET credentials from the ECS/EKS container credentials endpoint.
    case container(ContainerPlan)
    /// Fetch role credentials from EC2 IMDSv2. Also the chain's last resort.
    case instanceMetadata
}

/// Parameters for STS AssumeRole. Optional fields are `nil` when not configured, so the live
/// layer can apply its own defaults (for example a generated session name).
public struct AssumeRolePlan: Sendable, Hashable {
    public var roleArn: String
    public var source: CredentialPlan
    public var externalId: String?
    public var sessionName: String?
    public var durationSeconds: Int?
    /// When set, the live layer must prompt for an MFA code and send it as `TokenCode`.
    public var mfaSerial: String?
    /// The profile that asked for this role, or `nil` when it came from `--role-arn`.
    public var profile: String?

    public init(
        roleArn: String,
        source: CredentialPlan,
        externalId: String? = nil,
        sessionName: String? = nil,
        durationSeconds: Int? = nil,
        mfaSerial: String? = nil,
        profile: String? = nil
    ) {
        self.roleArn = roleArn
        self.source = source
        self.externalId = externalId
        self.sessionName = sessionName
        self.durationSeconds = durationSeconds
        self.mfaSerial = mfaSerial
        self.profile = profile
    }
}

/// Parameters for STS AssumeRoleWithWebIdentity (EKS IRSA, GitHub OIDC, …).
public struct WebIdentityPlan: Sendable, Hashable {
    public var roleArn: String
    /// Path of the OIDC token; re-read on every refresh because the orchestrator rotates it.
    public var tokenFile: String
    public var sessionName: String?

    public init(roleArn: String, tokenFile: String, sessionName: String? = nil) {
        self.roleArn = roleArn
        self.tokenFile = tokenFile
        self.sessionName = sessionName
    }
}

/// Parameters for SSO GetRoleCredentials.
public struct SSOPlan: Sendable, Hashable {
    public var profile: String
    /// The `[sso-session NAME]` used, or `nil` for the legacy profile-only form; it decides the
    /// token cache file name.
    public var sessionName: String?
    public var startURL: String
    public var region: String
    public var accountId: String
    public var roleName: String

    public init(
        profile: String,
        sessionName: String?,
        startURL: String,
        region: String,
        accountId: String,
        roleName: String
    ) {
        self.profile = profile
        self.sessionName = sessionName
        self.startURL = startURL
        self.region = region
        self.accountId = accountId
        self.roleName = roleName
    }
}

/// Where to fetch container credentials and how to authorize the request.
public struct ContainerPlan: Sendable, Hashable {
    /// Absolute URL. A relative URI from the environment is resolved against `http://169.254.170.2`.
    public var url: String
    public var authorization: ContainerAuthorization

    public init(url: String, authorization: ContainerAuthorization = .none) {
        self.url = url
        self.authorization = authorization
    }
}

/// The `Authorization` header source for container credentials.
public enum ContainerAuthorization: Sendable, Hashable {
    case none
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN`; secret.
    case token(SensitiveString)
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`; read per request because it may rotate.
    case tokenFile(String)
}
