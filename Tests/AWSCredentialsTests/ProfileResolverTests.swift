import Testing

@testable import AWSCredentials

let configPath = "/c/config"
let credentialsPath = "/c/credentials"

func load(_ configText: String, _ credentialsText: String = "") throws -> SharedConfig {
    try SharedConfig.parse(
        configText: configText,
        configPath: configPath,
        credentialsText: credentialsText,
        credentialsPath: credentialsPath
    )
}

func keys(_ id: String, _ secret: String, _ token: String? = nil) -> Credentials {
    Credentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token)
}

/// Resolves `profile` with no command-line flags unless given.
func chain(
    _ config: SharedConfig,
    env: [String: String] = [:],
    _ options: CommandLineOptions = .init()
) throws -> CredentialChainResolution {
    try CredentialChain.resolve(options: options, environment: env, config: config)
}

func expectError(_ expected: String, _ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
    do {
        try body()
        Issue.record("expected error: \(expected)", sourceLocation: sourceLocation)
    } catch {
        #expect("\(error)" == expected, sourceLocation: sourceLocation)
    }
}

struct ProfileResolverTests {
    @Test func staticKeysFromConfigProfileSection() throws {
        let c = try load(
            "[profile dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SECRETDEV\naws_session_token = TOKENDEV\n"
        )
        let r = try chain(c, .init(profile: "dev"))
        #expect(r.provider == .sharedConfigFile)
        #expect(r.plan == .staticKeys(keys("AKIDDEV", "SECRETDEV", "TOKENDEV"), profile: "dev", file: configPath))
    }

    @Test func staticKeysFromCredentialsBareSection() throws {
        let c = try load("", "[dev]\naws_access_key_id = AKIDDEV\naws_secret_access_key = SECRETDEV\n")
        let r = try chain(c, .init(profile: "dev"))
        #expect(r.provider == .sharedCredentialsFile)
        #expect(r.plan == .staticKeys(keys("AKIDDEV", "SECRETDEV"), profile: "dev", file: credentialsPath))
    }

    @Test(arguments: [
        ("[dev]\naws_access_key_id=A\naws_secret_access_key=S\n", ""),  // no "profile " prefix in config
        ("", "[profile dev]\naws_access_key_id=A\naws_secret_access_key=S\n"),  // prefix in credentials
    ])
    func wrongSectionStyleIsNotFound(configText: String, credentialsText: String) throws {
        let c = try load(configText, credentialsText)
        expectError(
            "profile \"dev\" (selected by --profile) was not found: add [profile dev] to /c/config or [dev] to /c/credentials"
        ) {
            _ = try chain(c, .init(profile: "dev"))
        }
    }

    @Test func credentialsFileKeysBeatConfigFileKeys() throws {
        let c = try load(
            "[default]\naws_access_key_id=CFGID\naws_secret_access_key=CFGSECRET\nregion=us-west-2\n",
            "[default]\naws_access_key_id=CREDID\naws_secret_access_key=CREDSECRET\n"
        )
        #expect(
            try chain(c).plan == .staticKeys(keys("CREDID", "CREDSECRET"), profile: "default", file: credentialsPath)
        )
    }

    @Test func threeDeepRoleChainWithAllOptions() throws {
        let c = try load(
            """
            [profile a]
            role_arn = arn:aws:iam::111:role/A
            source_profile = b
            external_id = ext-a
            role_session_name = ferry-a
            duration_seconds = 3600
            mfa_serial = arn:aws:iam::999:mfa/me
            [profile b]
            role_arn = arn:aws:iam::222:role/B
            source_profile = c
            [profile c]
            aws_access_key_id = AKIDC
            aws_secret_access_key = SECRETC
            """
        )
        let r = try chain(c, .init(profile: "a"))
        #expect(r.provider == .assumeRoleProfile)
        let expected = CredentialPlan.assumeRole(
            AssumeRolePlan(
                roleArn: "arn:aws:iam::111:role/A",
                source: .assumeRole(
                    AssumeRolePlan(
                        roleArn: "arn:aws:iam::222:role/B",
                        source: .staticKeys(keys("AKIDC", "SECRETC"), profile: "c", file: configPath),
                        profile: "b"
                    )
                ),
                externalId: "ext-a",
                sessionName: "ferry-a",
                durationSeconds: 3600,
                mfaSerial: "arn:aws:iam::999:mfa/me",
                profile: "a"
            )
        )
        #expect(r.plan == expected)
    }

    @Test func selfSourceWithStaticKeysIsAllowed() throws {
        let c = try load(
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=default\naws_access_key_id=K\naws_secret_access_key=S\n"
        )
        #expect(
            try chain(c).plan
                == .assumeRole(
                    AssumeRolePlan(
                        roleArn: "arn:aws:iam::1:role/r",
                        source: .staticKeys(keys("K", "S"), profile: "default", file: configPath),
                        profile: "default"
                    )
                )
        )
    }

    /// A source profile with static keys supplies them even if it also has role_arn, so a -> b
    /// -> a is not a cycle when b has keys (botocore returns assume-role here too).
    @Test func sourceProfileKeysBeatItsOwnRole() throws {
        let c = try load(
            "[profile a]\nrole_arn=arn:aws:iam::1:role/A\nsource_profile=b\n[profile b]\nrole_arn=arn:aws:iam::1:role/B\nsource_profile=a\naws_access_key_id=K\naws_secret_access_key=S\n"
        )
        #expect(
            try chain(c, .init(profile: "a")).plan
                == .assumeRole(
                    AssumeRolePlan(
                        roleArn: "arn:aws:iam::1:role/A",
                        source: .staticKeys(keys("K", "S"), profile: "b", file: configPath),
                        profile: "a"
                    )
                )
        )
    }

    @Test(arguments: [
        (
            "[default]\nrole_arn=arn:aws:iam::1:role/r\nsource_profile=default\n", "default",
            "source_profile cycle in /c/config: default -> default; change source_profile in one of these profiles"
        ),
        (
            "[profile a]\nrole_arn=arn:aws:iam::1:role/A\nsource_profile=b\n[profile b]\nrole_arn=arn:aws:iam::1:role/B\nsource_profile=c\n[profile c]\nrole_arn=arn:aws:iam::1:role/C\nsource_profile=a\n",
            "a",
            "source_profile cycle in /c/config: a -> b -> c -> a; change source_profile in one of these profiles"
        ),
        (
            "[profile a]\nrole_arn=arn:aws:iam::1:role/A\nsource_profile=b\n[profile b]\nrole_arn=arn:aws:iam::1:role/B\nsource_profile=b\n",
            "a",
            "source_profile cycle in /c/config: a -> b -> b; change source_profile in one of these profiles"
        ),
    ])
    func cyclesAreBroken(text: String, profile: String, message: String) throws {
        let c = try load(text)
        expectError(message) { _ = try chain(c, .init(profile: profile)) }
    }

    @Test func credentialSourceEnvironment() throws {
        let c = try load("[profile ci]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=Environment\n")
        // Works with --profile too: credential_source reads the environment even though the
        // chain's own environment provider is disabled.
        let r = try chain(
            c,
            env: ["AWS_ACCESS_KEY_ID": "EID", "AWS_SECRET_ACCESS_KEY": "ESECRET"],
            .init(profile: "ci")
        )
        #expect(
            r.plan
                == .assumeRole(
                    AssumeRolePlan(
                        roleArn: "arn:aws:iam::1:role/r",
                        source: .environment(keys("EID", "ESECRET")),
                        profile: "ci"
                    )
                )
        )
    }

    @Test(arguments: [
        ("Ec2InstanceMetadata", [String: String](), CredentialPlan.instanceMetadata),
        (
            "EcsContainer", ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/creds/x"],
            .container(ContainerPlan(url: "http://169.254.170.2/v2/creds/x"))
        ),
    ])
    func otherCredentialSources(source: String, env: [String: String], expected: CredentialPlan) throws {
        let c = try load("[default]\nrole_arn=arn:aws:iam::1:role/r\ncredential_source=\(source)\n")
        #expect(
            try chain(c, env: env).plan
                == .assumeRole(AssumeRolePlan(roleArn: "arn:aws:iam::1:role/r", source: expected, profile: "default"))
        )
    }

    @Test func credentialProcess() throws {
        let c = try load("[profile p]\ncredential_process = /usr/bin/get-creds --account \"my acct\"\n")
        let r = try chain(c, .init(profile: "p"))
        #expect(r.provider == .process)
        #expect(r.plan == .process(command: "/usr/bin/get-creds --account \"my acct\"", profile: "p"))
    }

    /// botocore order: credentials-file keys, then credential_process, then config-file keys.
    @Test(arguments: [
        (
            "[default]\ncredential_process=/bin/x\n", "[default]\naws_access_key_id=K\naws_secret_access_key=S\n",
            CredentialProviderKind.sharedCredentialsFile
        ),
        ("[default]\ncredential_process=/bin/x\naws_access_key_id=K\naws_secret_access_key=S\n", "", .process),
    ])
    func processVersusStaticKeys(configText: String, credentialsText: String, winner: CredentialProviderKind) throws {
        #expect(try chain(try load(configText, credentialsText)).provider == winner)
    }

    @Test func webIdentityViaProfile() throws {
        let c = try load(
            "[profile k8s]\nrole_arn=arn:aws:iam::1:role/w\nweb_identity_token_file=/var/run/token\nrole_session_name=pod\n"
        )
        let r = try chain(c, .init(profile: "k8s"))
        #expect(r.provider == .webIdentity)
        #expect(
            r.plan
                == .webIdentity(
                    WebIdentityPlan(roleArn: "arn:aws:iam::1:role/w", tokenFile: "/var/run/token", sessionName: "pod")
                )
        )
    }

    @Test func webIdentityViaEnvironmentOverridesProfileKeyByKey() throws {
        let c = try load(
            "[default]\nrole_arn=arn:aws:iam::1:role/profile\nweb_identity_token_file=/profile/token\nrole_session_name=from-profile\n"
        )
        let r = try chain(
            c,
            env: ["AWS_WEB_IDENTITY_TOKEN_FILE": "/env/token", "AWS_ROLE_ARN": "arn:aws:iam::1:role/env"]
        )
        #expect(
            r.plan
                == .webIdentity(
                    WebIdentityPlan(
                        roleArn: "arn:aws:iam::1:role/env",
                        tokenFile: "/env/token",
                        sessionName: "from-profile"
                    )
                )
        )
    }

    @Test func webIdentityViaEnvironmentOnly() throws {
        let r = try chain(
            try load(""),
            env: [
                "AWS_WEB_IDENTITY_TOKEN_FILE": "/t", "AWS_ROLE_ARN": "arn:aws:iam::1:role/w",
                "AWS_ROLE_SESSION_NAME": "s",
            ]
        )
        #expect(
            r.plan == .webIdentity(WebIdentityPlan(roleArn: "arn:aws:iam::1:role/w", tokenFile: "/t", sessionName: "s"))
        )
    }

    @Test func ssoWithSession() throws {
        let c = try load(
            """
            [profile sso]
            sso_session = corp
            sso_account_id = 123456789012
            sso_role_name = Admin
            [sso-session corp]
            sso_start_url = https://corp.awsapps.com/start
            sso_region = us-east-1
            """
        )
        #expect(
            try chain(c, .init(profile: "sso")).plan
                == .sso(
                    SSOPlan(
                        profile: "sso",
                        sessionName: "corp",
                        startURL: "https://corp.awsapps.com/start",
                        region: "us-east-1",
                        accountId: "123456789012",
                        roleName: "Admin"
                    )
                )
        )
    }

    @Test func subSectionsAndCommentsDoNotDisturbResolution() throws {
        let c = try load(
            """
            # my config
            [default]
            ; the region
            region = eu-central-1
            s3 =
              max_concurrent_requests = 10
              # nested comment
            aws_access_key_id = AKID
            aws_secret_access_key = SECRET
            """
        )
        #expect(try chain(c).plan == .staticKeys(keys("AKID", "SECRET"), profile: "default", file: configPath))
    }

    @Test func defaultIsNotInherited() throws {
        let c = try load(
            "[default]\naws_access_key_id=K\naws_secret_access_key=S\nregion=r\n[profile other]\noutput=json\n"
        )
        let r = try chain(c, .init(profile: "other"))
        #expect(r.plan == .instanceMetadata)
        #expect(CredentialChain.resolveRegion(options: .init(profile: "other"), environment: [:], config: c) == nil)
    }
}
