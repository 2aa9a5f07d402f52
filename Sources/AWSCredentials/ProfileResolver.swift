/// The provider that produced a plan, in botocore's chain order.
public enum CredentialProviderKind: String, Sendable, Hashable, CaseIterable {
    case commandLineRole
    case environment
    case assumeRoleProfile
    case webIdentity
    case sso
    case sharedCredentialsFile
    case process
    case sharedConfigFile
    case container
    case instanceMetadata
}

/// Turns a profile (plus the environment, for `credential_source` and web identity) into a
/// ``CredentialPlan``, following `source_profile` chains.
///
/// Semantics follow botocore 1.43:
/// - A profile with `role_arn` and no `web_identity_token_file` is an assume-role profile and is
///   tried before every other profile-based provider.
/// - Otherwise: web identity, SSO, static keys from the credentials file, `credential_process`,
///   then static keys from the config file.
/// - A `source_profile` with static keys supplies those keys even if it also has `role_arn`
///   (this is what lets a profile name itself as its source). Revisiting a profile on the
///   chain is a cycle, except for that self-reference.
/// Deliberate difference: a profile with only `aws_secret_access_key` is an error here;
/// botocore silently skips it.
public struct ProfileResolver: Sendable {
    public var config: SharedConfig
    public var environment: [String: String]

    public init(config: SharedConfig, environment: [String: String]) {
        self.config = config
        self.environment = environment
    }

    /// The plan for `profileName`, or `nil` when the profile configures no credentials (the
    /// chain then moves on). A missing profile is treated as empty; the chain decides whether
    /// that is an error.
    /// - Parameter useEnvironmentWebIdentity: `false` when the profile was chosen with
    ///   `--profile`, which makes botocore ignore `AWS_ROLE_ARN`/`AWS_WEB_IDENTITY_TOKEN_FILE`.
    public func plan(
        forProfile profileName: String,
        useEnvironmentWebIdentity: Bool = true
    )
        throws(AWSConfigError) -> (provider: CredentialProviderKind, plan: CredentialPlan)?
    {
        let profile = config.profile(named: profileName) ?? Profile(name: profileName)
        if isAssumeRoleProfile(profile) {
            return (.assumeRoleProfile, try assumeRole(profile, visited: [profileName]))
        }
        return try profileProviders(profile, useEnvironmentWebIdentity: useEnvironmentWebIdentity)
    }

    /// Credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, `nil`
    /// when the access key id is unset, an error when only the id is set.
    public func environmentCredentials() throws(AWSConfigError) -> Credentials? {
        guard let id = value("AWS_ACCESS_KEY_ID") else { return nil }
        guard let secret = value("AWS_SECRET_ACCESS_KEY") else {
            throw .partialEnvironmentCredentials(missingVariable: "AWS_SECRET_ACCESS_KEY")
        }
        // AWS_SECURITY_TOKEN is the pre-2014 name; still honoured as botocore does.
        let token = value("AWS_SESSION_TOKEN") ?? value("AWS_SECURITY_TOKEN")
        return Credentials(
            accessKeyId: id,
            secretAccessKey: secret,
            sessionToken: token,
            accountId: value("AWS_ACCOUNT_ID")
        )
    }

    /// The container endpoint from `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (preferred) or
    /// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, or `nil` when neither is set.
    public func containerPlan() -> ContainerPlan? {
        let url: String
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            url = "http://169.254.170.2" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            url = full
        } else {
            return nil
        }
        // The file form wins, as in botocore, because it is what EKS Pod Identity rotates.
        if let file = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") {
            return ContainerPlan(url: url, authorization: .tokenFile(file))
        }
        if let token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN") {
            return ContainerPlan(url: url, authorization: .token(SensitiveString(token)))
        }
        return ContainerPlan(url: url)
    }

    // MARK: - Profile-based providers

    private func isAssumeRoleProfile(_ p: Profile) -> Bool {
        p.has("role_arn") && !p.has("web_identity_token_file")
    }

    private func hasStaticKeys(_ p: Profile) -> Bool {
        p.has("aws_access_key_id") || p.has("aws_secret_access_key")
    }

    /// botocore's ProfileProviderBuilder order, minus assume-role which callers handle first.
    private func profileProviders(
        _ p: Profile,
        useEnvironmentWebIdentity: Bool
    )
        throws(AWSConfigError) -> (provider: CredentialProviderKind, plan: CredentialPlan)?
    {
        if let plan = try webIdentity(p, useEnvironment: useEnvironmentWebIdentity) { return (.webIdentity, plan) }
        if let plan = try sso(p) { return (.sso, plan) }
        let keys = try staticKeys(p)
        // Keys from the credentials file beat credential_process; keys from the config file do
        // not, because botocore's ConfigProvider runs after its ProcessProvider.
        if let keys, keys.file == config.credentialsFile.path { return (.sharedCredentialsFile, keys.plan) }
        if let command = p.string("credential_process") {
            return (.process, .process(command: command, profile: p.name))
        }
        if let keys { return (.sharedConfigFile, keys.plan) }
        return nil
    }

    private func staticKeys(_ p: Profile) throws(AWSConfigError) -> (plan: CredentialPlan, file: String)? {
        let id = p.string("aws_access_key_id")
        let secret = p.string("aws_secret_access_key")
        switch (id, secret) {
        case (nil, nil):
            return nil
        case (_?, nil):
            throw .partialStaticCredentials(
                profile: p.name,
                file: p.file(of: "aws_access_key_id", fallback: ""),
                missingKey: "aws_secret_access_key"
            )
        case (nil, _?):
            throw .partialStaticCredentials(
                profile: p.name,
                file: p.file(of: "aws_secret_access_key", fallback: ""),
                missingKey: "aws_access_key_id"
            )
        case let (id?, secret?):
            let file = p.file(of: "aws_access_key_id", fallback: "")
            let token = p.string("aws_session_token") ?? p.string("aws_security_token")
            let creds = Credentials(
                accessKeyId: id,
                secretAccessKey: secret,
                sessionToken: token,
                accountId: p.string("aws_account_id")
            )
            return (.staticKeys(creds, profile: p.name, file: file), file)
        }
    }

    /// Environment values override profile values key by key, as in botocore.
    private func webIdentity(_ p: Profile, useEnvironment: Bool) throws(AWSConfigError) -> CredentialPlan? {
        func setting(_ key: String, _ variable: String) -> String? {
            (useEnvironment ? value(variable) : nil) ?? p.string(key)
        }
        guard let tokenFile = setting("web_identity_token_file", "AWS_WEB_IDENTITY_TOKEN_FILE") else { return nil }
        guard let roleArn = setting("role_arn", "AWS_ROLE_ARN") else {
            throw .webIdentityMissingRoleArn(profile: p.name)
        }
        return .webIdentity(
            WebIdentityPlan(
                roleArn: roleArn,
                tokenFile: tokenFile,
                sessionName: setting("role_session_name", "AWS_ROLE_SESSION_NAME")
            )
        )
    }

    private func sso(_ p: Profile) throws(AWSConfigError) -> CredentialPlan? {
        guard ["sso_session", "sso_start_url", "sso_account_id", "sso_role_name"].contains(where: p.has) else {
            return nil
        }
        let file = p.file(of: "sso_account_id", fallback: config.configFile.path)
        var startURL = p.string("sso_start_url")
        var region = p.string("sso_region")
        let sessionName = p.string("sso_session")
        if let sessionName {
            guard let section = config.ssoSession(named: sessionName) else {
                throw .incompleteSSOConfiguration(
                    profile: p.name,
                    file: file,
                    missing: "an [sso-session \(sessionName)] section"
                )
            }
            func get(_ key: String) -> String? {
                guard case .string(let v)? = section.entries[key]?.value, !v.isEmpty else { return nil }
                return v
            }
            startURL = get("sso_start_url") ?? startURL
            region = get("sso_region") ?? region
        }
        let required: [(String, String?)] = [
            ("sso_start_url", startURL), ("sso_region", region),
            ("sso_account_id", p.string("sso_account_id")), ("sso_role_name", p.string("sso_role_name")),
        ]
        let missing = required.filter { $0.1 == nil }.map(\.0)
        guard missing.isEmpty, let startURL, let region, let account = p.string("sso_account_id"),
            let role = p.string("sso_role_name")
        else {
            throw .incompleteSSOConfiguration(profile: p.name, file: file, missing: missing.joined(separator: ", "))
        }
        return .sso(
            SSOPlan(
                profile: p.name,
                sessionName: sessionName,
                startURL: startURL,
                region: region,
                accountId: account,
                roleName: role
            )
        )
    }

    // MARK: - Assume role

    /// `visited` is the source_profile path so far, starting with the top-level profile.
    private func assumeRole(_ p: Profile, visited: [String]) throws(AWSConfigError) -> CredentialPlan {
        let file = p.file(of: "role_arn", fallback: config.configFile.path)
        let sourceProfile = p.string("source_profile")
        let credentialSource = p.string("credential_source")
        var duration: Int?
        if let raw = p.string("duration_seconds") {
            guard let n = Int(raw) else {
                throw .invalidInteger(
                    profile: p.name,
                    key: "duration_seconds",
                    file: p.file(of: "duration_seconds", fallback: file),
                    line: p.line(of: "duration_seconds")
                )
            }
            duration = n
        }
        let source: CredentialPlan
        switch (sourceProfile, credentialSource) {
        case (_?, _?):
            throw .conflictingRoleSource(profile: p.name, file: file)
        case (nil, nil):
            throw .missingRoleSource(profile: p.name, file: file)
        case (nil, let named?):
            source = try credentialSourcePlan(named, profile: p)
        case (let name?, nil):
            guard let target = config.profile(named: name) else {
                throw .sourceProfileNotFound(
                    profile: p.name,
                    sourceProfile: name,
                    file: p.file(of: "source_profile", fallback: file),
                    line: p.line(of: "source_profile")
                )
            }
            // Self-reference is how a profile supplies its own keys for its own role.
            if visited.contains(name), name != p.name || !hasStaticKeys(target) {
                throw .sourceProfileCycle(path: visited + [name], file: p.file(of: "source_profile", fallback: file))
            }
            source = try sourceProfilePlan(target, parent: p, visited: visited + [name])
        }
        return .assumeRole(
            AssumeRolePlan(
                roleArn: p.string("role_arn") ?? "",
                source: source,
                externalId: p.string("external_id"),
                sessionName: p.string("role_session_name"),
                durationSeconds: duration,
                mfaSerial: p.string("mfa_serial"),
                profile: p.name
            )
        )
    }

    private func sourceProfilePlan(
        _ target: Profile,
        parent: Profile,
        visited: [String]
    ) throws(AWSConfigError) -> CredentialPlan {
        if hasStaticKeys(target) || !isAssumeRoleProfile(target) {
            // botocore disables environment variables when resolving a source profile.
            guard let found = try profileProviders(target, useEnvironmentWebIdentity: false) else {
                throw .sourceProfileHasNoCredentials(
                    profile: parent.name,
                    sourceProfile: target.name,
                    file: parent.file(of: "source_profile", fallback: "")
                )
            }
            return found.plan
        }
        return try assumeRole(target, visited: visited)
    }

    /// Canonical names are matched case-sensitively, as botocore's `is_supported` does.
    private func credentialSourcePlan(_ name: String, profile p: Profile) throws(AWSConfigError) -> CredentialPlan {
        let file = p.file(of: "credential_source", fallback: "")
        switch name {
        case "Environment":
            guard let creds = try environmentCredentials() else {
                throw .credentialSourceUnavailable(
                    profile: p.name,
                    source: name,
                    file: file,
                    hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
                )
            }
            return .environment(creds)
        case "EcsContainer":
            guard let plan = containerPlan() else {
                throw .credentialSourceUnavailable(
                    profile: p.name,
                    source: name,
                    file: file,
                    hint: "set AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI"
                )
            }
            return .container(plan)
        case "Ec2InstanceMetadata":
            return .instanceMetadata
        default:
            throw .unknownCredentialSource(
                profile: p.name,
                value: name,
                file: file,
                line: p.line(of: "credential_source")
            )
        }
    }

    private func value(_ variable: String) -> String? { ConfigFileLoader.nonEmpty(environment[variable]) }
}
