import Foundation
import Testing

@testable import AWSCredentials

/// Section name → key → value, for comparing against botocore's `raw_config_parse` output.
func flatten(_ file: ParsedConfigFile) -> [String: [String: ConfigValue]] {
    Dictionary(uniqueKeysWithValues: file.sections.map { ($0.name, $0.entries.mapValues(\.value)) })
}

/// Expected values were produced by botocore 1.43.11 `configloader.raw_config_parse` on the same
/// text (see the report); tests never call Python.
struct SharedConfigParserTests {
    static let oracle: [(String, String, [String: [String: ConfigValue]])] = [
        (
            "no inline comments", "[default]\nregion = us-east-1 ; comment\nb = x # c\nc = x;y\nd = x#y\n",
            [
                "default": [
                    "region": .string("us-east-1 ; comment"), "b": .string("x # c"), "c": .string("x;y"),
                    "d": .string("x#y"),
                ]
            ]
        ),
        (
            "full-line comments", "# top\n; top2\n[default]\n  # indented comment\nregion=us-west-2\n",
            ["default": ["region": .string("us-west-2")]]
        ),
        (
            "keys lowercased, sections not", "[Default]\nAWS_Access_Key_ID = A\n[profile Foo]\nRegion = r\n",
            ["Default": ["aws_access_key_id": .string("A")], "profile Foo": ["region": .string("r")]]
        ),
        (
            "colon separator, first separator wins", "[default]\nrole_arn: arn:aws:iam::123:role/x\nx = a:b=c\n",
            ["default": ["role_arn": .string("arn:aws:iam::123:role/x"), "x": .string("a:b=c")]]
        ),
        (
            "sub-section with comment",
            "[default]\ns3 =\n  max_concurrent_requests = 10\n  # c\n  addressing_style = path\nregion = r\n",
            [
                "default": [
                    "s3": .subsection(["max_concurrent_requests": "10", "addressing_style": "path"]),
                    "region": .string("r"),
                ]
            ]
        ),
        (
            "sub-section with blank line", "[default]\ns3 =\n  a = 1\n\n  b = 2\nregion = r\n",
            ["default": ["s3": .subsection(["a": "1", "b": "2"]), "region": .string("r")]]
        ),
        ("empty values", "[default]\nfoo =\nbar=\n", ["default": ["foo": .string(""), "bar": .string("")]]),
        ("continuation lines", "[default]\nfoo = a\n  b\n  c\n", ["default": ["foo": .string("a\nb\nc")]]),
        (
            "section names keep spaces", "[ default ]\na=1\n[default]  \nb=2\n",
            [" default ": ["a": .string("1")], "default": ["b": .string("2")]]
        ),
        ("CRLF", "[default]\r\na = 1\r\n", ["default": ["a": .string("1")]]),
        ("indented first key", "[default]\n  a = 1\nb=2\n", ["default": ["a": .string("1"), "b": .string("2")]]),
        ("tab before semicolon", "[default]\na = x\t;c\n", ["default": ["a": .string("x\t;c")]]),
        ("spaces in keys", "[default]\n my key  =  v v  \n", ["default": ["my key": .string("v v")]]),
        (
            "greedy header", "[default] junk\na=1\n[a]b]\nc=1\n",
            ["default": ["a": .string("1")], "a]b": ["c": .string("1")]]
        ),
        (
            "empty sub-section is empty string", "[default]\ns3 =\n\nregion=r\n",
            ["default": ["s3": .string(""), "region": .string("r")]]
        ),
        ("blank line inside value", "[default]\nfoo = a\n\n  b\n", ["default": ["foo": .string("a\n\nb")]]),
        ("trailing blank dropped", "[default]\nfoo = a\n  b\n\n", ["default": ["foo": .string("a\nb")]]),
        (
            "indented header is continuation", "[default]\nfoo = a\n  [profile x]\n",
            ["default": ["foo": .string("a\n[profile x]")]]
        ),
        (
            "sub-section duplicate last wins", "[default]\ns3 =\n  a = 1\n  a = 2\n",
            ["default": ["s3": .subsection(["a": "2"])]]
        ),
        (
            "sub-section splits at first =", "[default]\ns3 =\n  a = b = c\n  =x\n",
            ["default": ["s3": .subsection(["a": "b = c", "": "x"])]]
        ),
        ("comment inside continuation", "[default]\nfoo = a\n# c\n  b\n", ["default": ["foo": .string("a\nb")]]),
        ("leading BOM skipped (botocore rejects)", "\u{FEFF}[default]\na=1\n", ["default": ["a": .string("1")]]),
    ]

    @Test(arguments: oracle)
    func matchesBotocore(name: String, text: String, expected: [String: [String: ConfigValue]]) throws {
        #expect(flatten(try SharedConfigParser.parse(text, path: "cfg")) == expected, "\(name)")
    }

    static let errors: [(String, String)] = [
        ("[default]\ns3 =\n  novalue\n", "cfg line 3: expected \"name = value\" inside the \"s3\" sub-section"),
        ("[default]\na=1\n[default]\nb=2\n", "cfg line 3: section [default] is already defined on line 1"),
        ("[default]\na=1\nA=2\n", "cfg line 3: \"a\" is already set in [default] on line 2"),
        ("a=1\n[default]\n", "cfg line 1: settings must come after a [section] header"),
        ("[default\na=1\n", "cfg line 1: settings must come after a [section] header"),
        ("[default]\nfoo\n", "cfg line 2: expected \"name = value\", a [section] header, or a # comment"),
        ("[default]\n= v\n", "cfg line 2: setting has no name before \"=\""),
        ("[default]\ns3 =\n  a: 1\n", "cfg line 3: expected \"name = value\" inside the \"s3\" sub-section"),
    ]

    @Test(arguments: errors)
    func rejectsWhatBotocoreRejects(text: String, message: String) {
        #expect(throws: AWSConfigError.self) { try SharedConfigParser.parse(text, path: "cfg") }
        do {
            _ = try SharedConfigParser.parse(text, path: "cfg")
        } catch {
            #expect(error.description == message)
        }
    }

    @Test func parseErrorDoesNotEchoLine() {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        do {
            _ = try SharedConfigParser.parse("[default]\n\(secret)\n", path: "cfg")
            Issue.record("expected an error")
        } catch {
            #expect(!error.description.contains(secret))
        }
    }

    @Test func keepsLineNumbers() throws {
        let file = try SharedConfigParser.parse("# c\n\n[profile a]\nregion = x\n\ns3 =\n  k = v\n", path: "cfg")
        #expect(file.sections[0].line == 3)
        #expect(file.sections[0].entries["region"]?.line == 4)
        #expect(file.sections[0].entries["s3"]?.line == 6)
    }

    /// botocore `build_profile_map` results for the same headers.
    @Test func configSectionsMapToProfiles() throws {
        let text = """
            [profile "my prof"]
            a=1
            [profile  spaced ]
            b=2
            [profilex]
            c=3
            [profile a b]
            d=4
            [profiles x]
            e=5
            [profile 'q x']
            f=6
            [profile "unterminated]
            g=7
            [sso-session s]
            sso_region=r
            [services dev]
            dynamodb =
              endpoint_url = http://localhost:8000
            [plain]
            h=8
            """
        let config = try SharedConfig.parse(configText: text, credentialsText: "")
        #expect(config.profileNames == ["my prof", "spaced", "x", "q x"])
        #expect(config.ssoSession(named: "s")?.entries["sso_region"]?.value == .string("r"))
        #expect(
            config.servicesSection(named: "dev")?.entries["dynamodb"]?.value
                == .subsection(["endpoint_url": "http://localhost:8000"])
        )
    }

    @Test(arguments: [
        ("[default]\na=1\n[profile default]\na=2\nb=3\n", ["a": "2", "b": "3"]),
        ("[profile default]\na=2\nb=3\n[default]\na=1\n", ["a": "1"]),
    ])
    func laterDefaultHeaderWins(text: String, expected: [String: String]) throws {
        let profile = try #require(
            try SharedConfig.parse(configText: text, credentialsText: "").profile(named: "default")
        )
        #expect(profile.settings.mapValues(\.value) == expected.mapValues { .string($0) })
    }

    @Test func credentialsFileUsesBareNamesAndWins() throws {
        let config = try SharedConfig.parse(
            configText: "[profile p]\nregion = eu-west-1\naws_access_key_id = CONFIGKEY\n[p2]\nregion = x\n",
            credentialsText: "[p]\naws_access_key_id = CREDKEY\n[profile q]\nregion = y\n"
        )
        let p = try #require(config.profile(named: "p"))
        #expect(p.string("aws_access_key_id") == "CREDKEY")
        #expect(p.settings["aws_access_key_id"]?.file == "~/.aws/credentials")
        #expect(p.string("region") == "eu-west-1")
        #expect(config.profile(named: "p2") == nil)  // [p2] in config is not a profile
        #expect(config.profile(named: "q") == nil)  // [profile q] in credentials is named "profile q"
        #expect(config.profile(named: "profile q") != nil)
    }
}

struct ConfigFileLoaderTests {
    @Test(arguments: [
        ([String: String](), "~/.aws/config", "~/.aws/credentials"),
        (["HOME": "/home/u"], "/home/u/.aws/config", "/home/u/.aws/credentials"),
        (
            ["HOME": "/home/u/", "AWS_CONFIG_FILE": "~/c", "AWS_SHARED_CREDENTIALS_FILE": "/etc/k"], "/home/u/c",
            "/etc/k"
        ),
        (
            ["HOME": "/h", "AWS_CONFIG_FILE": "~other/c", "AWS_SHARED_CREDENTIALS_FILE": ""], "~other/c",
            "/h/.aws/credentials"
        ),
    ])
    func paths(environment: [String: String], config: String, credentials: String) {
        let paths = ConfigFileLoader.paths(environment: environment)
        #expect(paths.config == config)
        #expect(paths.credentials == credentials)
    }

    @Test func missingFilesAreEmptyAndErrorsNameTheFile() throws {
        let files = ["/h/.aws/config": "[default]\nregion = r\n"]
        let config = try ConfigFileLoader.load(environment: ["HOME": "/h"]) { files[$0].map { Data($0.utf8) } }
        #expect(config.profile(named: "default")?.string("region") == "r")
        #expect(config.credentialsFile.sections.isEmpty)
        #expect(config.credentialsFile.path == "/h/.aws/credentials")

        #expect(
            throws: AWSConfigError.parse(
                file: "/h/.aws/credentials",
                line: 1,
                reason: "settings must come after a [section] header"
            )
        ) {
            try ConfigFileLoader.load(environment: ["HOME": "/h"]) {
                $0.hasSuffix("credentials") ? Data("x=1".utf8) : nil
            }
        }
        #expect(throws: AWSConfigError.unreadableFile(file: "/h/.aws/config", reason: "not valid UTF-8")) {
            try ConfigFileLoader.load(environment: ["HOME": "/h"]) {
                $0.hasSuffix("config") ? Data([0xFF, 0xFE, 0x00]) : nil
            }
        }
    }
}
