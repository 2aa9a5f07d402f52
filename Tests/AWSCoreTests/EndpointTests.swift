import Testing

@testable import AWSCore

// Expected URLs verified against botocore 1.43 `create_client(...).meta.endpoint_url`
// (STS with AWS_STS_REGIONAL_ENDPOINTS=regional) and partitions.json.
struct EndpointTests {
    static let defaults: [(AWSService, String, String, String)] = [
        (.dynamodb, "us-east-1", "dynamodb.us-east-1.amazonaws.com", "aws"),
        (.dynamodb, "eu-west-1", "dynamodb.eu-west-1.amazonaws.com", "aws"),
        (.dynamodb, "ap-southeast-5", "dynamodb.ap-southeast-5.amazonaws.com", "aws"),
        (.dynamodb, "mx-central-1", "dynamodb.mx-central-1.amazonaws.com", "aws"),
        (.dynamodb, "cn-north-1", "dynamodb.cn-north-1.amazonaws.com.cn", "aws-cn"),
        (.dynamodb, "cn-northwest-1", "dynamodb.cn-northwest-1.amazonaws.com.cn", "aws-cn"),
        (.dynamodb, "us-gov-west-1", "dynamodb.us-gov-west-1.amazonaws.com", "aws-us-gov"),
        (.s3, "eu-west-1", "s3.eu-west-1.amazonaws.com", "aws"),
        (.s3, "us-east-1", "s3.us-east-1.amazonaws.com", "aws"),
        (.s3, "cn-northwest-1", "s3.cn-northwest-1.amazonaws.com.cn", "aws-cn"),
        (.s3, "us-gov-east-1", "s3.us-gov-east-1.amazonaws.com", "aws-us-gov"),
        (.sts, "us-east-1", "sts.us-east-1.amazonaws.com", "aws"),
        (.sts, "cn-north-1", "sts.cn-north-1.amazonaws.com.cn", "aws-cn"),
        (.sts, "us-gov-west-1", "sts.us-gov-west-1.amazonaws.com", "aws-us-gov"),
    ]

    @Test(arguments: defaults)
    func defaultEndpoint(service: AWSService, region: String, host: String, partition: String) throws {
        let e = try EndpointResolver(environment: [:]).resolve(service, region: region)
        #expect(e.scheme == "https")
        #expect(e.host == host)
        #expect(e.port == nil)
        #expect(e.basePath == "")
        #expect(e.baseURL == "https://\(host)")
        #expect(e.signingRegion == region)
        #expect(e.signingService == service.rawValue)
        guard case .partitionDefault(let p) = e.source else {
            Issue.record("not default")
            return
        }
        #expect(p.id == partition)
    }

    @Test(arguments: [
        ("us-east-1", "aws"), ("il-central-1", "aws"), ("cn-north-1", "aws-cn"),
        ("us-gov-east-1", "aws-us-gov"), ("us-gov-west-1", "aws-us-gov"),
        ("local", "aws"), ("xx-foo-1", "aws"), ("us-east-1a", "aws"),
    ])
    func partitionForRegion(region: String, id: String) {
        #expect(Partition.forRegion(region).id == id)
    }

    @Test func partitionRegexesMatchBotocore() {
        #expect(Partition.aws.regionRegex == #"^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$"#)
        #expect(Partition.awsCN.regionRegex == #"^cn\-\w+\-\d+$"#)
        #expect(Partition.awsUSGov.regionRegex == #"^us\-gov\-\w+\-\d+$"#)
        #expect(!Partition.aws.matches(region: "us-gov-west-1"))
        #expect(!Partition.aws.matches(region: "us-east-x"))
        #expect(!Partition.awsCN.matches(region: "cn-north"))
    }

    static let flag = EndpointFlag(name: "--target-endpoint-url", value: "http://localhost:8000")
    static let allEnv = [
        "AWS_ENDPOINT_URL_DYNAMODB": "http://dynamo-env:8001",
        "AWS_ENDPOINT_URL": "http://global-env:4566",
    ]

    @Test func flagBeatsServiceEnvBeatsGlobalEnv() throws {
        let r = EndpointResolver(environment: Self.allEnv)
        let a = try r.resolve(.dynamodb, region: "eu-west-1", flag: Self.flag)
        #expect(a.baseURL == "http://localhost:8000")
        #expect(a.source == .flag("--target-endpoint-url"))
        #expect(a.signingRegion == "eu-west-1")
        #expect(a.signingService == "dynamodb")

        let b = try r.resolve(.dynamodb, region: "eu-west-1")
        #expect(b.baseURL == "http://dynamo-env:8001")
        #expect(b.source == .environment("AWS_ENDPOINT_URL_DYNAMODB"))

        let c = try r.resolve(.s3, region: "eu-west-1")
        #expect(c.baseURL == "http://global-env:4566")
        #expect(c.source == .environment("AWS_ENDPOINT_URL"))
        #expect(c.signingService == "s3")

        let d = try EndpointResolver(environment: ["AWS_ENDPOINT_URL_STS": "https://sts.vpce.example:8443/"])
            .resolve(.sts, region: "eu-west-1")
        #expect(d.host == "sts.vpce.example")
        #expect(d.port == 8443)
        #expect(d.hostHeader == "sts.vpce.example:8443")
        #expect(d.basePath == "")
    }

    @Test func emptyValuesAndIgnoreSwitch() throws {
        let r = EndpointResolver(environment: ["AWS_ENDPOINT_URL_S3": "", "AWS_ENDPOINT_URL": "http://x:1"])
        #expect(
            try r.resolve(.s3, region: "us-east-1", flag: .init(name: "--source-endpoint-url", value: " ")).host == "x"
        )
        var env = Self.allEnv
        env["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"] = "TRUE"
        let ignored = EndpointResolver(environment: env)
        #expect(try ignored.resolve(.dynamodb, region: "eu-west-1").host == "dynamodb.eu-west-1.amazonaws.com")
        #expect(try ignored.resolve(.dynamodb, region: "eu-west-1", flag: Self.flag).host == "localhost")
    }

    @Test func customEndpointParts() throws {
        let e = try EndpointResolver(environment: [:]).resolve(
            .s3,
            region: "local",
            flag: .init(name: "--source-endpoint-url", value: "HTTP://LocalHost:4566/prefix/")
        )
        #expect(e.scheme == "http")
        #expect(e.host == "localhost")
        #expect(e.port == 4566)
        #expect(e.basePath == "/prefix")
        #expect(e.baseURL == "http://localhost:4566/prefix")
        let v6 = try EndpointResolver(environment: [:]).resolve(
            .dynamodb,
            region: "local",
            flag: .init(name: "--target-endpoint-url", value: "http://[::1]:8000")
        )
        #expect(v6.host == "::1")
        #expect(v6.hostHeader == "[::1]:8000")
        let defaultPort = try EndpointResolver(environment: [:]).resolve(
            .dynamodb,
            region: "local",
            flag: .init(name: "--target-endpoint-url", value: "https://ddb.example:443")
        )
        #expect(defaultPort.hostHeader == "ddb.example")
    }

    static let invalid: [(String, String)] = [
        (
            "localhost:8000",
            "--target-endpoint-url is not a valid endpoint URL (missing scheme http:// or https://): \"localhost:8000\"; expected e.g. http://localhost:8000"
        ),
        (
            "ftp://host",
            "--target-endpoint-url is not a valid endpoint URL (scheme must be http or https, not ftp): \"ftp://host\"; expected e.g. http://localhost:8000"
        ),
        (
            "http://",
            "--target-endpoint-url is not a valid endpoint URL (missing host): \"http://\"; expected e.g. http://localhost:8000"
        ),
        (
            "http://user:hunter2secret@host",
            "--target-endpoint-url is not a valid endpoint URL (credentials in the URL are not allowed): \"http://***@host\"; expected e.g. http://localhost:8000"
        ),
        (
            "http://host/?a=b",
            "--target-endpoint-url is not a valid endpoint URL (query or fragment not allowed): \"http://host/?a=b\"; expected e.g. http://localhost:8000"
        ),
    ]

    @Test(arguments: invalid)
    func invalidFlagURL(value: String, message: String) {
        #expect {
            try EndpointResolver(environment: [:]).resolve(
                .dynamodb,
                region: "us-east-1",
                flag: .init(name: "--target-endpoint-url", value: value)
            )
        } throws: { error in
            (error as? EndpointError)?.description == message
        }
    }

    @Test func invalidEnvURLNamesTheVariable() {
        #expect(
            throws: EndpointError.invalidURL(
                source: "AWS_ENDPOINT_URL_S3",
                value: "s3.local",
                reason: "missing scheme http:// or https://"
            )
        ) {
            try EndpointResolver(environment: ["AWS_ENDPOINT_URL_S3": "s3.local"]).resolve(.s3, region: "us-east-1")
        }
        #expect(
            throws: EndpointError.invalidURL(
                source: "AWS_ENDPOINT_URL",
                value: "mailto://x",
                reason: "scheme must be http or https, not mailto"
            )
        ) {
            try EndpointResolver(environment: ["AWS_ENDPOINT_URL": "mailto://x"]).resolve(.sts, region: "us-east-1")
        }
    }

    @Test(arguments: ["", "us east 1", "-bad", "a/b"])
    func invalidRegion(region: String) {
        #expect(throws: EndpointError.invalidRegion(region)) {
            try EndpointResolver(environment: [:]).resolve(.dynamodb, region: region)
        }
    }

    @Test func environmentVariableNames() {
        #expect(AWSService.dynamodb.endpointEnvironmentVariable == "AWS_ENDPOINT_URL_DYNAMODB")
        #expect(AWSService.s3.endpointEnvironmentVariable == "AWS_ENDPOINT_URL_S3")
        #expect(AWSService.sts.endpointEnvironmentVariable == "AWS_ENDPOINT_URL_STS")
    }
}
