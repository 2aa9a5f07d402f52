/// What the user chose on the command line. `nil` means "not given".
public struct CommandLineOptions: Sendable, Hashable {
    public var profile: String?
    public var roleArn: String?
    public var roleSessionName: String?
    public var externalId: String?
    public var region: String?
    /// The flag `profile` came from, for messages (`--source-profile` in a command with two sides).
    public var profileFlag = "--profile"

    public init(
        profile: String? = nil,
        roleArn: String? = nil,
        roleSessionName: String? = nil,
        externalId: String? = nil,
        region: String? = nil
    ) {
        self.profile = profile
        self.roleArn = roleArn
        self.roleSessionName = roleSessionName
        self.externalId = externalId
        self.region = region
    }
}

/// How the active profile was chosen.
public enum ProfileSelection: String, Sendable, Hashable {
    case flag = "--profile"
    case environment = "AWS_PROFILE"
    case `default` = "default"
}

/// The outcome of walking the chain: which provider won and what it must do.
public struct CredentialChainResolution: Sendable, Hashable {
    public var profileName: String
    public var profileSelection: ProfileSelection
    public var provider: CredentialProviderKind
    public var plan: CredentialPlan
}

/// Where the region came from.
public enum RegionSource: Sendable, Hashable {
    case flag
    case environment(variable: String)
    case profile(name: String, file: String, line: Int)
}

/// A resolved region and its origin (for `--explain`-style output).
public struct RegionResolution: Sendable, Hashable {
    public var region: String
    public var source: RegionSource
}

/// The default credential chain, as a pure function of flags, environment and files.
///
/// Order (botocore 1.43, `create_credential_resolver`):
/// 1. `--role-arn` wraps whatever the rest of the chain finds as its source.
/// 2. Environment keys, unless a profile was chosen with `--profile` (`AWS_PROFILE` does not
///    disable them).
/// 3. Assume-role profile (`role_arn` + `source_profile`/`credential_source`).
/// 4. Web identity (environment, or the profile's keys), SSO, credentials-file keys,
///    `credential_process`, config-file keys.
/// 5. Container credentials, then EC2 instance metadata as the final fallback.
///
/// Note that step 3 beats environment web identity: that is botocore's order, and differs
/// from a naive "web identity before shared files" reading of the AWS docs.
public enum CredentialChain {
    /// The profile to use: `--profile`, else `AWS_PROFILE`, else `default`.
    public static func selectProfile(
        options: CommandLineOptions,
        environment: [String: String]
    ) -> (name: String, selection: ProfileSelection) {
        if let name = ConfigFileLoader.nonEmpty(options.profile) { return (name, .flag) }
        if let name = ConfigFileLoader.nonEmpty(environment["AWS_PROFILE"]) { return (name, .environment) }
        return ("default", .default)
    }

    /// Decides which provider will supply credentials and how.
    /// - Throws: ``AWSConfigError`` when a provider is configured but broken, or when an
    ///   explicitly selected profile does not exist (even if environment keys are set, as in botocore).
    public static func resolve(
        options: CommandLineOptions,
        environment: [String: String],
        config: SharedConfig
    ) throws(AWSConfigError) -> CredentialChainResolution {
        let (name, selection) = selectProfile(options: options, environment: environment)
        if selection != .default, config.profile(named: name) == nil {
            throw .profileNotFound(
                profile: name,
                selectedBy: selection == .flag ? options.profileFlag : selection.rawValue,
                configFile: config.configFile.path,
                credentialsFile: config.credentialsFile.path
            )
        }
        let explicit = selection == .flag
        let resolver = ProfileResolver(config: config, environment: environment)
        var (provider, plan): (CredentialProviderKind, CredentialPlan)
        if !explicit, let creds = try resolver.environmentCredentials() {
            (provider, plan) = (.environment, .environment(creds))
        } else if let found = try resolver.plan(forProfile: name, useEnvironmentWebIdentity: !explicit) {
            (provider, plan) = found
        } else if let container = resolver.containerPlan() {
            (provider, plan) = (.container, .container(container))
        } else {
            (provider, plan) = (.instanceMetadata, .instanceMetadata)
        }
        if let roleArn = ConfigFileLoader.nonEmpty(options.roleArn) {
            provider = .commandLineRole
            plan = .assumeRole(
                AssumeRolePlan(
                    roleArn: roleArn,
                    source: plan,
                    externalId: options.externalId,
                    sessionName: options.roleSessionName
                )
            )
        }
        return CredentialChainResolution(profileName: name, profileSelection: selection, provider: provider, plan: plan)
    }

    /// Region: `--region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`, else the selected
    /// profile's `region`. `nil` when none is set; callers must then ask the user rather than
    /// guess, because DynamoDB tables are regional.
    public static func resolveRegion(
        options: CommandLineOptions,
        environment: [String: String],
        config: SharedConfig
    ) -> RegionResolution? {
        if let region = ConfigFileLoader.nonEmpty(options.region) {
            return RegionResolution(region: region, source: .flag)
        }
        for variable in ["AWS_REGION", "AWS_DEFAULT_REGION"] {
            if let region = ConfigFileLoader.nonEmpty(environment[variable]) {
                return RegionResolution(region: region, source: .environment(variable: variable))
            }
        }
        let name = selectProfile(options: options, environment: environment).name
        guard let profile = config.profile(named: name), let region = profile.string("region"),
            let setting = profile.settings["region"]
        else { return nil }
        return RegionResolution(region: region, source: .profile(name: name, file: setting.file, line: setting.line))
    }
}
