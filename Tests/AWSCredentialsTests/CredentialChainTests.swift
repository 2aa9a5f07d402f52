import Testing

@testable import AWSCredentials

let envKeys = ["AWS_ACCESS_KEY_ID": "ENVID", "AWS_SECRET_ACCESS_KEY": "ENVSECRET", "AWS_SESSION_TOKEN": "ENVTOKEN"]
let twoProfiles = """
    [default]
    aws_access_key_id = DEFID
    aws_secret_access_key = DEFSECRET
    region = us-east-1
    [profile dev]
    aws_access_key_id = DEVID
    aws_secret_access_key = DEVSECRET
    region = eu-west-1
    """

struct CredentialChainTests {
    @Test func environmentBeatsFiles() throws {
        let r = try chain(try load(twoProfiles), env: envKeys)
        #expect(r.provider == .environment)
        #expect(r.plan == .environment(keys("ENVID", "ENVSECRET", "ENVTOKEN")))
    }

    @Test func profileFlagSkipsEnvironmentKeys() throws {
        let r = try chain(try load(twoProfiles), env: envKeys, .init(profile: "dev"))
        #expect(r.profileSelection == .flag)
        #expect(r.plan == .staticKeys(keys("DEVID", "DEVSECRET"), profile: "dev", file: configPath))
    }

    @Test func awsProfileDoesNotSkipEnvironmentKeys() throws {
        let r = try chain(try load(twoProfiles), env: envKeys.merging(["AWS_PROFILE": "dev"]) { a, _ in a })
        #expect(r.profileName == "dev")
        #expect(r.profileSelection == .environment)
        #expect(r.provider == .environment)
    }

    @Test func awsProfileSelectsProfile() throws {
        let r = try chain(try load(twoProfiles), env: ["AWS_PROFILE": "dev"])
        #expect(r.plan == .staticKeys(keys("DEVID", "DEVSECRET"), profile: "dev", file: configPath))
    }

    @Test func profileFlagBeatsAwsProfile() throws {
        #expect(
            try chain(try load(twoProfiles), env: ["AWS_PROFILE": "dev"], .init(profile: "default")).profileName
                == "default"
        )
    }

    @Test func profileFlagDisablesEnvironmentWebIdentity() throws {
        let c = try load("[profile p]\nregion=r\n")
        let env = ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/w"]
        #expect(try chain(c, env: env, .init(profile: "p")).plan == .instanceMetadata)
        #expect(try chain(c, env: env.merging(["AWS_PROFILE": "p"]) { a, _ in a }).provider == .webIdentity)
    }

    @Test func roleArnFlagWrapsTheRestOfTheChain() throws {
        let r = try chain(
            try load(twoProfiles),
            env: envKeys,
            .init(roleArn: "arn:aws:iam::9:role/Flag", roleSessionName: "ferry", externalId: "x")
        )
        #expect(r.provider == .commandLineRole)
        #expect(
            r.plan
                == .assumeRole(
                    AssumeRolePlan(
                        roleArn: "arn:aws:iam::9:role/Flag",
                        source: .environment(keys("ENVID", "ENVSECRET", "ENVTOKEN")),
                        externalId: "x",
                        sessionName: "ferry"
                    )
                )
        )
    }

    /// botocore: an assume-role profile is tried before web identity, but web identity beats
    /// static keys.
    @Test func webIdentityOrdering() throws {
        let webEnv = ["AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/w"]
        let role = try load(
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=default\naws_access_key_id=K\naws_secret_access_key=S\n"
        )
        #expect(try chain(role, env: webEnv).provider == .assumeRoleProfile)
        let statics = try load("[default]\naws_access_key_id=K\naws_secret_access_key=S\n")
        #expect(try chain(statics, env: webEnv).provider == .webIdentity)
    }

    @Test(arguments: [
        (
            [
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/x",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://ignored",
            ],
            ContainerPlan(url: "http://169.254.170.2/v2/x")
        ),
        (
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/tok", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "T",
            ],
            ContainerPlan(url: "http://169.254.170.23/v1/credentials", authorization: .tokenFile("/var/run/tok"))
        ),
        (
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://localhost/c", "AWS_CONTAINER_AUTHORIZATION_TOKEN": "TOKEN"],
            ContainerPlan(url: "http://localhost/c", authorization: .token(SensitiveString("TOKEN")))
        ),
    ])
    func containerAfterFilesBeforeIMDS(env: [String: String], expected: ContainerPlan) throws {
        #expect(try chain(try load(""), env: env).plan == .container(expected))
        #expect(try chain(try load(twoProfiles), env: env).provider == .sharedConfigFile)
    }

    @Test func nothingConfiguredFallsBackToInstanceMetadata() throws {
        let r = try chain(try load(""))
        #expect(r.provider == .instanceMetadata)
        #expect(r.profileName == "default")
    }

    @Test func missingProfileFromAwsProfileIsAnErrorEvenWithEnvironmentKeys() throws {
        expectError(
            "profile \"nope\" (selected by AWS_PROFILE) was not found: add [profile nope] to /c/config or [nope] to /c/credentials"
        ) {
            _ = try chain(try load(twoProfiles), env: envKeys.merging(["AWS_PROFILE": "nope"]) { a, _ in a })
        }
    }

    // MARK: broken configurations stop the chain

    @Test(arguments: [
        (
            "[default]\naws_access_key_id=K\n", "",
            "profile \"default\" in /c/config has only half of an access key pair: set aws_secret_access_key"
        ),
        (
            "", "[default]\naws_secret_access_key=S\n",
            "profile \"default\" in /c/credentials has only half of an access key pair: set aws_access_key_id"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=x\n", "",
            "profile \"default\" in /c/config line 3: source_profile \"x\" does not exist; fix source_profile or add that profile"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=environment\n", "",
            "profile \"default\" in /c/config line 3: credential_source \"environment\" is not valid; use Environment, Ec2InstanceMetadata or EcsContainer"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=Environment\nsource_profile=x\n", "",
            "profile \"default\" in /c/config sets both source_profile and credential_source; remove one of them"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\n", "",
            "profile \"default\" in /c/config sets role_arn but neither source_profile nor credential_source; add one of them"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=x\n[profile x]\nregion=r\n", "",
            "profile \"default\" in /c/config: source_profile \"x\" has no credentials; give it aws_access_key_id/aws_secret_access_key, role_arn, credential_process, SSO or web identity settings"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=Environment\n", "",
            "profile \"default\" in /c/config: credential_source Environment has no credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=EcsContainer\n", "",
            "profile \"default\" in /c/config: credential_source EcsContainer has no credentials: set AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI"
        ),
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=s\nduration_seconds=1h\n[profile s]\naws_access_key_id=K\naws_secret_access_key=S\n",
            "",
            "profile \"default\" in /c/config line 4: duration_seconds must be a whole number"
        ),
        (
            "[default]\nweb_identity_token_file=/t\n", "",
            "a web identity token file is configured (AWS_WEB_IDENTITY_TOKEN_FILE or web_identity_token_file in profile \"default\") but no role: set AWS_ROLE_ARN or role_arn"
        ),
        (
            "[default]\nsso_session=corp\nsso_account_id=1\nsso_role_name=R\n", "",
            "profile \"default\" in /c/config is configured for SSO but is missing an [sso-session corp] section"
        ),
        (
            "[default]\nsso_start_url=https://x\nsso_account_id=1\n", "",
            "profile \"default\" in /c/config is configured for SSO but is missing sso_region, sso_role_name"
        ),
    ])
    func brokenConfigurationStopsTheChain(configText: String, credentialsText: String, message: String) throws {
        let c = try load(configText, credentialsText)
        // IMDS is always the final fallback, so only a hard error can produce an error here.
        expectError(message) { _ = try chain(c) }
    }

    @Test func partialEnvironmentKeys() throws {
        expectError("partial credentials in the environment: AWS_SECRET_ACCESS_KEY is not set") {
            _ = try chain(try load(twoProfiles), env: ["AWS_ACCESS_KEY_ID": "ENVID"])
        }
        // A secret alone is not a configured provider (botocore keys on the access key id).
        #expect(try chain(try load(twoProfiles), env: ["AWS_SECRET_ACCESS_KEY": "X"]).provider == .sharedConfigFile)
    }

    // MARK: region

    @Test(arguments: [
        (
            CommandLineOptions(region: "ap-south-1"), ["AWS_REGION": "x", "AWS_DEFAULT_REGION": "y"], "ap-south-1",
            RegionSource.flag
        ),
        (
            CommandLineOptions(), ["AWS_REGION": "x", "AWS_DEFAULT_REGION": "y"], "x",
            .environment(variable: "AWS_REGION")
        ),
        (
            CommandLineOptions(), ["AWS_REGION": "", "AWS_DEFAULT_REGION": "y"], "y",
            .environment(variable: "AWS_DEFAULT_REGION")
        ),
        (CommandLineOptions(), [:], "us-east-1", .profile(name: "default", file: configPath, line: 4)),
        (CommandLineOptions(), ["AWS_PROFILE": "dev"], "eu-west-1", .profile(name: "dev", file: configPath, line: 8)),
        (
            CommandLineOptions(profile: "dev"), ["AWS_PROFILE": "default"], "eu-west-1",
            .profile(name: "dev", file: configPath, line: 8)
        ),
    ])
    func region(options: CommandLineOptions, env: [String: String], region: String, source: RegionSource) throws {
        let resolved = CredentialChain.resolveRegion(options: options, environment: env, config: try load(twoProfiles))
        #expect(resolved == RegionResolution(region: region, source: source))
    }

    @Test func clientSettings() throws {
        let c = try load(
            """
            [profile local]
            services = dev
            max_attempts = 5
            retry_mode = adaptive
            endpoint_url = http://profile-wide
            [services dev]
            dynamodb =
              endpoint_url = http://localhost:8000
            """
        )
        let p = c.profile(named: "local")
        #expect(
            try ClientSettings.resolve(profile: p, config: c, environment: [:], service: "dynamodb")
                == ClientSettings(maxAttempts: 5, retryMode: "adaptive", endpointURL: "http://localhost:8000")
        )
        #expect(
            try ClientSettings.resolve(profile: p, config: c, environment: [:], service: "sts").endpointURL
                == "http://profile-wide"
        )
        #expect(
            try ClientSettings.resolve(
                profile: p,
                config: c,
                environment: ["AWS_ENDPOINT_URL_DYNAMODB": "http://env", "AWS_MAX_ATTEMPTS": "2"],
                service: "dynamodb"
            )
                == ClientSettings(maxAttempts: 2, retryMode: "adaptive", endpointURL: "http://env")
        )
    }
}
