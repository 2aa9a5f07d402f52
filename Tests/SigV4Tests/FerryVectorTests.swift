import Foundation
import SigV4
import Testing

/// Requests shaped like Ferry's, signed by botocore 1.43.11 (`oracle/oracle.py`)
/// and hard-coded here. Credentials are made up.
@Suite("Ferry-shaped requests, checked against botocore")
struct FerryVectorTests {
    static let token = "FwoGZXIvYXdzEFerrySessionToken//example+token="
    static let credentials = SigningCredentials(
        accessKeyId: "AKIAFERRYEXAMPLE0001",
        secretAccessKey: "ferrySecretKeyExample/0123456789abcdefghij",
        sessionToken: token
    )
    /// 2024-05-14T09:07:03Z
    static let date = Date(timeIntervalSince1970: 1_715_677_623)

    @Test func dynamoDBBatchWriteItemWithSessionToken() {
        let body = #"{"RequestItems":{"ferry-target":[{"PutRequest":{"Item":{"pk":{"S":"user#1"},"n":{"N":"42"}}}}]}}"#
        let request = SigningRequest(
            method: "POST",
            path: "/",
            headers: [
                ("Host", "dynamodb.eu-west-1.amazonaws.com"), ("Content-Type", "application/x-amz-json-1.0"),
                ("X-Amz-Target", "DynamoDB_20120810.BatchWriteItem"), ("User-Agent", "ferry/0.1"),
            ],
            payload: .utf8(body)
        )
        let signed = SigV4Signer(region: "eu-west-1", service: "dynamodb")
            .sign(request, credentials: Self.credentials, date: Self.date)
        #expect(
            signed.canonicalRequest == """
                POST
                /

                content-type:application/x-amz-json-1.0
                host:dynamodb.eu-west-1.amazonaws.com
                x-amz-date:20240514T090703Z
                x-amz-security-token:\(Self.token)
                x-amz-target:DynamoDB_20120810.BatchWriteItem

                content-type;host;x-amz-date;x-amz-security-token;x-amz-target
                ad47110879c9232a6b76af837049804eabb4dcd9f5e4a6d5ad0f1d1330ff238d
                """
        )
        #expect(
            signed.stringToSign == """
                AWS4-HMAC-SHA256
                20240514T090703Z
                20240514/eu-west-1/dynamodb/aws4_request
                1c3cc1df57c4e0d62db1e34aa5ab3a2f963ecce300ebada1c5cbd76cb4b64b48
                """
        )
        // botocore's add_auth output, header for header (user-agent is not signed).
        #expect(signed["X-Amz-Date"] == "20240514T090703Z")
        #expect(signed["X-Amz-Security-Token"] == Self.token)
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAFERRYEXAMPLE0001/20240514/eu-west-1/dynamodb/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target, "
                + "Signature=225a0bd4118a49147d19dfa68ec0fd626d3c54167a42b10e68a8726e2505f257"
        )
    }

    @Test func stsAssumeRoleFormPost() {
        let body =
            "Action=AssumeRole&Version=2011-06-15"
            + "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fferry-migrator"
            + "&RoleSessionName=ferry-session&DurationSeconds=3600"
        let request = SigningRequest(
            method: "POST",
            path: "/",
            headers: [
                ("Host", "sts.amazonaws.com"), ("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
            ],
            payload: .utf8(body)
        )
        let credentials = SigningCredentials(
            accessKeyId: "AKIAFERRYEXAMPLE0002",
            secretAccessKey: "anotherSecret+with/slashes="
        )
        let signed = SigV4Signer(region: "us-east-1", service: "sts")
            .sign(request, credentials: credentials, date: Self.date)
        #expect(
            signed.canonicalRequest == """
                POST
                /

                content-type:application/x-www-form-urlencoded; charset=utf-8
                host:sts.amazonaws.com
                x-amz-date:20240514T090703Z

                content-type;host;x-amz-date
                10dd5db897a2d2d7c6f44da9481af572fd062fd3e93e5297873b093c7ff7a61c
                """
        )
        #expect(signed.stringToSign.hasSuffix("e6deb621ffe83d425865b16547177674435efd93eab8acc1f0a515f7c46f72dd"))
        #expect(
            signed.authorization
                == "AWS4-HMAC-SHA256 Credential=AKIAFERRYEXAMPLE0002/20240514/us-east-1/sts/aws4_request, "
                + "SignedHeaders=content-type;host;x-amz-date, "
                + "Signature=c509f42c3f241f5da0f4654a6fde17d8d9e36d7b3ed53be208b7ee96233b3606"
        )
        #expect(signed.headers.map(\.name) == ["X-Amz-Date", "Authorization"])
    }

    @Test func s3GetOfAKeyWithSpacesPlusUnicodeAndDoubleSlash() {
        let path = SigV4Encoding.encodePath("/exports//AWSDynamoDB/run 1/a+b/\u{FC}ber \u{65E5}\u{672C}.json.gz")
        // botocore's S3 key quoting, `quote(key, safe='/~')`, gives the same URL path.
        #expect(path == "/exports//AWSDynamoDB/run%201/a%2Bb/%C3%BCber%20%E6%97%A5%E6%9C%AC.json.gz")
        let request = SigningRequest(
            method: "GET",
            path: path,
            headers: [("Host", "ferry-exports.s3.eu-west-1.amazonaws.com")]
        )
        let signed = SigV4Signer(region: "eu-west-1", service: "s3")
            .sign(request, credentials: Self.credentials, date: Self.date)
        // S3: `//` kept, no second encoding; token and content hash signed.
        #expect(
            signed.canonicalRequest == """
                GET
                \(path)

                host:ferry-exports.s3.eu-west-1.amazonaws.com
                x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                x-amz-date:20240514T090703Z
                x-amz-security-token:\(Self.token)

                host;x-amz-content-sha256;x-amz-date;x-amz-security-token
                e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
                """
        )
        #expect(signed.stringToSign.hasSuffix("c25c1fdcbb73d01b09dd319cb48fe9564460ec65d294345c6158a05163640541"))
        #expect(signed.signature == "74fe81b8627038e176617866ee2aab2add99ac2c6b0c4b144aaeb34fe273ba4c")
        #expect(
            signed.headers.map(\.name) == [
                "X-Amz-Date", "X-Amz-Security-Token", "X-Amz-Content-SHA256", "Authorization",
            ]
        )
    }

    @Test func s3ListObjectsV2WithSlashesAndContinuationToken() {
        let request = SigningRequest(
            method: "GET",
            path: "/",
            query: [
                ("list-type", "2"), ("prefix", "exports/AWSDynamoDB/01715685260608-c488b4e1/data/"),
                ("continuation-token", "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=+abc"), ("max-keys", "1000"),
            ],
            headers: [("Host", "ferry-exports.s3.eu-west-1.amazonaws.com")],
            payload: .unsigned
        )
        let noToken = SigningCredentials(
            accessKeyId: Self.credentials.accessKeyId,
            secretAccessKey: Self.credentials.secretAccessKey
        )
        let signed = SigV4Signer(region: "eu-west-1", service: "s3").sign(
            request,
            credentials: noToken,
            date: Self.date
        )
        #expect(
            signed.canonicalRequest == """
                GET
                /
                continuation-token=1ueGcxLPRx1Tr%2FXYExHnhbYLgveDs2J%2Fwm36Hy4vbOwM%3D%2Babc&list-type=2&max-keys=1000&prefix=exports%2FAWSDynamoDB%2F01715685260608-c488b4e1%2Fdata%2F
                host:ferry-exports.s3.eu-west-1.amazonaws.com
                x-amz-content-sha256:UNSIGNED-PAYLOAD
                x-amz-date:20240514T090703Z

                host;x-amz-content-sha256;x-amz-date
                UNSIGNED-PAYLOAD
                """
        )
        #expect(signed.stringToSign.hasSuffix("07ccc4e9048b2c0c147e0f697c90e11b5ebc5e03d906509ef006dbb590f946dd"))
        #expect(signed.signature == "06fa55b582f42dfa9500c8ae97a7c46ae4cac40491961116af604676983df230")
        #expect(signed["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD")
    }

    /// Non-S3 services get the wire path encoded again (`%20` → `%2520`) after
    /// `.` and `//` are removed.
    @Test func nonS3PathIsNormalisedAndEncodedAgain() {
        let request = SigningRequest(
            method: "GET",
            path: "/my%20doc/./a+b//%E1%88%B4",
            headers: [("Host", "example.amazonaws.com")]
        )
        let signed = Suite.signer.sign(request, credentials: Suite.credentials(), date: Suite.date)
        #expect(signed.canonicalRequest.split(separator: "\n")[1] == "/my%2520doc/a%2Bb/%25E1%2588%25B4")
        #expect(signed.signature == "7deeae893bd21c422c4bef30b2f2a63f1cd2037030dfb728c42ea63553fa8e0d")
    }

    /// A value with line breaks inside one header collapses to single spaces
    /// (botocore's behaviour; the suite's multiline case arrives as 3 values).
    @Test func headerValueWithLineBreaksCollapses() {
        let request = SigningRequest(
            method: "GET",
            path: "/",
            headers: [("Host", "example.amazonaws.com"), ("My-Header1", "value1\n  value2\n     value3")]
        )
        let signed = Suite.signer.sign(request, credentials: Suite.credentials(), date: Suite.date)
        #expect(signed.canonicalRequest.contains("\nmy-header1:value1 value2 value3\n"))
        #expect(signed.signature == "cfd34249e4b1c8d6b91ef74165d41a32e5fab3306300901bb65a51a73575eefd")
    }
}
