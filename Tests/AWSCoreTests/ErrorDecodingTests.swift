import Testing

@testable import AWSCore

private func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

struct ErrorDecodingTests {
    static let ctx = AWSErrorContext(
        principal: "the target account",
        action: "dynamodb:BatchWriteItem",
        resource: "arn:aws:dynamodb:eu-west-1:111122223333:table/orders",
        tableName: "orders",
        region: "eu-west-1",
        credentialSource: "profile prod"
    )

    @Test(arguments: [
        ("com.amazonaws.dynamodb.v20120810#ResourceNotFoundException", "ResourceNotFoundException"),
        ("aws.protocoltests.restjson#FooError:http://internal.amazon.com/coral/com.amazon.coral.validate/", "FooError"),
        ("FooError", "FooError"),
        ("a#b#Baz", "Baz"),
        ("Bar:baz#qux", "Bar"),
    ])
    func sanitize(raw: String, code: String) {
        #expect(AWSErrorDecoder.sanitizeErrorCode(raw) == code)
    }

    @Test("DynamoDB's ThrottlingReasons are kept, named by the table or index they name")
    func throttlingReasons() {
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "BatchWriteItem",
            response: .init(
                status: 400,
                body: bytes(
                    #"{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException","message":"The level of configured provisioned throughput for one or more global secondary indexes of the table was exceeded.","ThrottlingReasons":[{"reason":"IndexWriteProvisionedThroughputExceeded","resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/orders/index/by-customer"},{"reason":"TableWriteKeyRangeThroughputExceeded","resource":"arn:aws:dynamodb:eu-west-1:111122223333:table/orders"},{"reason":"TableWriteAccountLimitExceeded"}]}"#
                )
            ),
            context: Self.ctx
        )
        #expect(e.code == "ProvisionedThroughputExceededException")
        #expect(
            e.throttlingReasons.map(\.text) == [
                "IndexWriteProvisionedThroughputExceeded (index by-customer)",
                "TableWriteKeyRangeThroughputExceeded (table orders)",
                "TableWriteAccountLimitExceeded",
            ]
        )
        let none = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "BatchWriteItem",
            response: .init(status: 400, body: bytes(#"{"__type":"ThrottlingException","message":"slow down"}"#))
        )
        #expect(none.throttlingReasons.isEmpty)
    }

    @Test func dynamoDBJSONBody() {
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "DescribeTable",
            response: .init(
                status: 400,
                headers: ["x-amzn-RequestId": "REQ1"],
                body: bytes(
                    #"{"__type":"com.amazonaws.dynamodb.v20120810#ResourceNotFoundException","message":"Requested resource not found: Table: orders not found"}"#
                )
            ),
            context: Self.ctx
        )
        #expect(e.code == "ResourceNotFoundException")
        #expect(e.httpStatus == 400)
        #expect(e.requestID == "REQ1")
        #expect(e.message == "Requested resource not found: Table: orders not found")
        #expect(
            e.description
                == #"DynamoDB DescribeTable failed: ResourceNotFoundException (HTTP 400): Requested resource not found: Table: orders not found. Table "orders" not found in region eu-west-1; check the table name, the region and the account of the credentials. Request ID: REQ1."#
        )
    }

    @Test func dynamoDBCapitalMessageAndAccessDenied() {
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "BatchWriteItem",
            response: .init(
                status: 400,
                body: bytes(
                    #"{"__type":"com.amazon.coral.service#AccessDeniedException","Message":"User: arn:aws:iam::111122223333:user/x is not authorized"}"#
                )
            ),
            context: Self.ctx
        )
        #expect(e.code == "AccessDeniedException")
        #expect(
            e.description
                == "DynamoDB BatchWriteItem failed: AccessDeniedException (HTTP 400): User: arn:aws:iam::111122223333:user/x is not authorized. The credentials of the target account (from profile prod) lack permission dynamodb:BatchWriteItem on arn:aws:dynamodb:eu-west-1:111122223333:table/orders; grant it in IAM or use other credentials."
        )
    }

    @Test func dynamoDBCodeFromHeader() {
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "Scan",
            response: .init(
                status: 400,
                headers: ["X-Amzn-ErrorType": "UnrecognizedClientException:http://internal.amazon.com/coral/"],
                body: bytes("{}")
            ),
            context: AWSErrorContext(credentialSource: "environment variables")
        )
        #expect(e.code == "UnrecognizedClientException")
        #expect(
            e.description
                == "DynamoDB Scan failed: UnrecognizedClientException (HTTP 400). Bad credentials: the access key from environment variables is not recognized by this endpoint; check that they are current and meant for this account, partition or emulator."
        )
    }

    @Test func dynamoDBXMLFromEmulator() {
        let xml =
            "<ErrorResponse><Error><Code>InvalidClientTokenId</Code>\n<Message>The security token included in the request is invalid.</Message></Error></ErrorResponse>"
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "ListTables",
            response: .init(status: 403, body: bytes(xml)),
            context: AWSErrorContext(credentialSource: "profile dev")
        )
        #expect(e.code == "InvalidClientTokenId")
        #expect(e.httpStatus == 403)
        #expect(
            e.description
                == #"DynamoDB ListTables failed: InvalidClientTokenId (HTTP 403): The security token included in the request is invalid. Bad credentials: the access key from profile dev is not recognized by this endpoint; check that they are current and meant for this account, partition or emulator. The response was not a DynamoDB error document (is an emulator or proxy answering?); body: "InvalidClientTokenId The security token included in the request is invalid."."#
        )
    }

    @Test func dynamoDBHTMLFromProxy() {
        let html =
            "<html>\r\n<head><title>502 Bad Gateway</title></head>\n<body>\n<center><h1>502 Bad Gateway</h1></center>\n"
            + String(repeating: "<p>padding text</p>\n", count: 40) + "</body></html>"
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "PutItem",
            response: .init(status: 502, body: bytes(html))
        )
        #expect(e.code == "BadGateway")
        #expect(e.message == nil)
        let excerpt = try! #require(e.bodyExcerpt)
        #expect(excerpt.count == 200)
        #expect(excerpt.hasPrefix("502 Bad Gateway 502 Bad Gateway padding text padding text"))
        #expect(excerpt.hasSuffix("…"))
        #expect(!excerpt.contains("\n") && !excerpt.contains("\r") && !excerpt.contains("<"))
        #expect(
            e.description.hasPrefix(
                #"DynamoDB PutItem failed: BadGateway (HTTP 502). The response was not a DynamoDB error document (is an emulator or proxy answering?); body: "502 Bad Gateway 502"#
            )
        )
        #expect(RetryClassifier.classify(.httpError(status: e.httpStatus, code: e.code)) == .transient)
    }

    @Test func plainTextBodyAndEmptyBody() {
        let t = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "Query",
            response: .init(status: 403, body: bytes("Forbidden\nby policy"))
        )
        #expect(
            t.description
                == #"DynamoDB Query failed: Forbidden (HTTP 403). The credentials of the caller (from the configured credential source) lack permission for this request; grant it in IAM or use other credentials. The response was not a DynamoDB error document (is an emulator or proxy answering?); body: "Forbidden by policy"."#
        )
        let empty = AWSErrorDecoder.decode(service: .dynamodb, operation: "Query", response: .init(status: 500))
        #expect(empty.description == "DynamoDB Query failed: InternalServerError (HTTP 500).")
        #expect(empty.bodyExcerpt == nil)
    }

    @Test func s3RESTXML() {
        let xml =
            #"<?xml version="1.0" encoding="UTF-8"?>"#
            + "\n<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message><Key>a&amp;b</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>abc</HostId></Error>"
        let e = AWSErrorDecoder.decode(
            service: .s3,
            operation: "GetObject",
            response: .init(status: 404, headers: ["x-amz-id-2": "HOST2"], body: bytes(xml)),
            context: AWSErrorContext(resource: "s3://exports/AWSDynamoDB/x/manifest-summary.json")
        )
        #expect(e.code == "NoSuchKey")
        #expect(e.requestID == "4442587FB7D0A2F9")
        #expect(e.extendedRequestID == "HOST2")
        #expect(e.bodyExcerpt == nil)
        #expect(
            e.description
                == "S3 GetObject failed: NoSuchKey (HTTP 404): The specified key does not exist. The object s3://exports/AWSDynamoDB/x/manifest-summary.json does not exist; check the export prefix. Request ID: 4442587FB7D0A2F9."
        )
    }

    @Test(arguments: [
        (404, "NotFound"), (403, "Forbidden"), (301, "PermanentRedirect"), (400, "BadRequest"),
        (503, "ServiceUnavailable"), (418, "HTTP418"),
    ])
    func s3HeadWithoutBody(status: Int, code: String) {
        let e = AWSErrorDecoder.decode(
            service: .s3,
            operation: "HeadObject",
            response: .init(status: status, headers: ["X-Amz-Request-Id": "R9"])
        )
        #expect(e.code == code)
        #expect(e.requestID == "R9")
        #expect(e.message == nil)
        #expect(e.bodyExcerpt == nil)
    }

    @Test func s3RedirectNotesBucketRegion() {
        let e = AWSErrorDecoder.decode(
            service: .s3,
            operation: "HeadBucket",
            response: .init(status: 301, headers: ["x-amz-bucket-region": "eu-central-1"])
        )
        #expect(e.bucketRegion == "eu-central-1")
        #expect(
            e.description
                == "S3 HeadBucket failed: PermanentRedirect (HTTP 301). The bucket is in region eu-central-1; use that region for the S3 side."
        )
        let body =
            "<Error><Code>AuthorizationHeaderMalformed</Code><Message>the region 'us-east-1' is wrong; expecting 'eu-west-2'</Message><Region>eu-west-2</Region></Error>"
        let m = AWSErrorDecoder.decode(
            service: .s3,
            operation: "ListObjectsV2",
            response: .init(status: 400, body: bytes(body))
        )
        #expect(m.bucketRegion == "eu-west-2")
        #expect(m.advice == "The bucket is in region eu-west-2; use that region for the S3 side.")
    }

    @Test func stsQueryXML() {
        let xml = """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error>
                <Type>Sender</Type>
                <Code>SignatureDoesNotMatch</Code>
                <Message>The request signature we calculated does not match the signature you provided.</Message>
              </Error>
              <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
            </ErrorResponse>
            """
        let e = AWSErrorDecoder.decode(
            service: .sts,
            operation: "GetCallerIdentity",
            response: .init(status: 403, body: bytes(xml)),
            context: AWSErrorContext(credentialSource: "environment variables")
        )
        #expect(e.code == "SignatureDoesNotMatch")
        #expect(e.requestID == "c6104cbe-af31-11e0-8154-cbc7ccf896c7")
        #expect(
            e.description
                == "STS GetCallerIdentity failed: SignatureDoesNotMatch (HTTP 403): The request signature we calculated does not match the signature you provided. Bad credentials: the secret access key from environment variables does not match its access key id (wrong secret), or the system clock is off. Request ID: c6104cbe-af31-11e0-8154-cbc7ccf896c7."
        )
    }

    @Test func expiredToken() {
        let e = AWSErrorDecoder.decode(
            service: .dynamodb,
            operation: "Scan",
            response: .init(
                status: 400,
                body: bytes(
                    #"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#
                )
            ),
            context: AWSErrorContext(credentialSource: "SSO session my-sso")
        )
        #expect(
            e.advice
                == "The session credentials from SSO session my-sso have expired; refresh them (e.g. aws sso login) and retry."
        )
        #expect(RetryClassifier.classify(.httpError(status: 400, code: e.code)) == .refreshCredentials)
    }
}
