import Testing

@testable import AWSCore

// Bucket cases checked against botocore 1.43 (aws_is_virtual_hostable_s3_bucket
// and generate_presigned_url output).
struct S3AddressingTests {
    static let euWest1 = try! EndpointResolver(environment: [:]).resolve(.s3, region: "eu-west-1")

    @Test(arguments: [
        ("my-bucket", true), ("a-b", true), ("xn--abc", true), ("bucket--x", true),
        (String(repeating: "a", count: 63), true), (String(repeating: "a", count: 64), false),
        ("my.bucket", false), ("MyBucket", false), ("ab", false), ("bucket-", false),
        ("-bucket", false), ("my_bucket", false), ("192.168.1.1", false),
    ])
    func virtualHostable(bucket: String, expected: Bool) {
        #expect(S3Addressing.isVirtualHostable(bucket: bucket) == expected)
    }

    static let key = "AWSDynamoDB/01/data/é ü!*'()&$@=;:+,?#[].gz"
    static let encodedKey = "AWSDynamoDB/01/data/%C3%A9%20%C3%BC%21%2A%27%28%29%26%24%40%3D%3B%3A%2B%2C%3F%23%5B%5D.gz"

    @Test func keyEncodingMatchesBotocore() {
        #expect(S3Key.percentEncode(Self.key) == Self.encodedKey)
        #expect(S3Key.percentEncode("a~b-c_d.e/f g") == "a~b-c_d.e/f%20g")
        #expect(S3Key.percentEncodeQueryComponent("a+b/c=") == "a%2Bb%2Fc%3D")
    }

    @Test(arguments: [
        ("my-bucket", "k/a b", S3AddressingStyle.virtualHosted, "https://my-bucket.s3.eu-west-1.amazonaws.com/k/a%20b"),
        ("my-bucket", "", .virtualHosted, "https://my-bucket.s3.eu-west-1.amazonaws.com/"),
        ("my.bucket", "k", .path, "https://s3.eu-west-1.amazonaws.com/my.bucket/k"),
        ("MyBucket", "k", .path, "https://s3.eu-west-1.amazonaws.com/MyBucket/k"),
        ("my.bucket", "", .path, "https://s3.eu-west-1.amazonaws.com/my.bucket"),
    ])
    func defaultEndpointTargets(bucket: String, key: String, style: S3AddressingStyle, url: String) {
        let t = S3Addressing.target(bucket: bucket, key: key, endpoint: Self.euWest1)
        #expect(t.style == style)
        #expect(t.url == url)
    }

    @Test func customEndpointIsAlwaysPathStyle() throws {
        let e = try EndpointResolver(environment: ["AWS_ENDPOINT_URL": "http://localhost:4566/prefix/"])
            .resolve(.s3, region: "us-east-1")
        let t = S3Addressing.target(bucket: "my-bucket", key: Self.key, endpoint: e)
        #expect(t.style == .path)
        #expect(t.hostHeader == "localhost:4566")
        #expect(t.path == "/prefix/my-bucket/" + Self.encodedKey)
        #expect(t.url == "http://localhost:4566/prefix/my-bucket/" + Self.encodedKey)
        let list = S3Addressing.target(bucket: "my-bucket", key: "", endpoint: e)
        #expect(list.url == "http://localhost:4566/prefix/my-bucket")
    }

    @Test func formURLDecode() {
        #expect(S3Key.formURLDecode("a+b%2Fc%C3%A9%zz%4") == "a b/cé%zz%4")
    }
}
