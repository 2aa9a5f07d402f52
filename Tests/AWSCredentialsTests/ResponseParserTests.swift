import Foundation
import Testing

@testable import AWSCredentials

let stsSecret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
let stsToken =
    "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

let assumeRoleXML = """
    <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
      <AssumeRoleResult>
        <SourceIdentity>Alice</SourceIdentity>
        <AssumedRoleUser>
          <Arn>arn:aws:sts::123456789012:assumed-role/demo/TestAR</Arn>
          <AssumedRoleId>ARO123EXAMPLE123:TestAR</AssumedRoleId>
        </AssumedRoleUser>
        <Credentials>
          <AccessKeyId>ASIAIOSFODNN7EXAMPLE</AccessKeyId>
          <SecretAccessKey>\(stsSecret)</SecretAccessKey>
          <SessionToken>
           \(stsToken)
          </SessionToken>
          <Expiration>2019-11-09T13:34:41Z</Expiration>
        </Credentials>
        <PackedPolicySize>6</PackedPolicySize>
      </AssumeRoleResult>
      <ResponseMetadata>
        <RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId>
      </ResponseMetadata>
    </AssumeRoleResponse>
    """

struct STSResponseParserTests {
    @Test func assumeRoleResponse() throws {
        let creds = try STSResponseParser.parseCredentials(assumeRoleXML)
        #expect(creds.accessKeyId == "ASIAIOSFODNN7EXAMPLE")
        #expect(creds.secretAccessKey.revealed == stsSecret)
        #expect(creds.sessionToken?.revealed == stsToken)  // surrounding whitespace trimmed
        #expect(creds.expiration == Date(timeIntervalSince1970: 1_573_306_481))
        #expect(creds.accountId == "123456789012")
    }

    @Test func webIdentityResponseWithFractionalExpirationAndEntities() throws {
        let xml = """
            <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>\
            <Credentials><SessionToken>a&amp;b&#x3D;&#61;</SessionToken><SecretAccessKey>s&lt;k</SecretAccessKey>\
            <Expiration>2014-10-24T23:00:23.359Z</Expiration><AccessKeyId>ASIAX</AccessKeyId></Credentials>\
            </AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
            """
        let creds = try STSResponseParser.parseCredentials(xml)
        #expect(creds.sessionToken?.revealed == "a&b==")
        #expect(creds.secretAccessKey.revealed == "s<k")
        #expect(abs((creds.expiration?.timeIntervalSince1970 ?? 0) - 1_414_191_623.359) < 0.000_1)
        #expect(creds.accountId == nil)
    }

    @Test(arguments: [
        (
            "<AssumeRoleResponse><AssumeRoleResult></AssumeRoleResult></AssumeRoleResponse>",
            STSResponseParseError.missingElement("Credentials")
        ),
        (
            "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><Expiration>2019-11-09T13:34:41Z</Expiration></Credentials>",
            .missingElement("SessionToken")
        ),
        (
            "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken/><Expiration>x</Expiration></Credentials>",
            .missingElement("SessionToken")
        ),
        (
            "<Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><SessionToken>T</SessionToken><Expiration>tomorrow</Expiration></Credentials>",
            .invalidExpiration("tomorrow")
        ),
    ])
    func malformedResponses(xml: String, expected: STSResponseParseError) {
        #expect(throws: expected) { try STSResponseParser.parseCredentials(xml) }
    }

    @Test func errorResponse() throws {
        let xml = """
            <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <Error>
                <Type>Sender</Type>
                <Code>AccessDenied</Code>
                <Message>User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/r &amp; more</Message>
              </Error>
              <RequestId>4c1a7bfe-4f8c-11e0-8bd6-b5b7c1b0e3b2</RequestId>
            </ErrorResponse>
            """
        let error = try #require(STSResponseParser.parseError(xml))
        #expect(
            error
                == STSError(
                    type: "Sender",
                    code: "AccessDenied",
                    message:
                        "User: arn:aws:iam::1:user/x is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/r & more",
                    requestId: "4c1a7bfe-4f8c-11e0-8bd6-b5b7c1b0e3b2"
                )
        )
        #expect(error.description.hasPrefix("STS AccessDenied: User:"))
        #expect(STSResponseParser.parseError(assumeRoleXML) == nil)
    }
}

struct ProcessCredentialsParserTests {
    @Test func fullOutput() throws {
        let json =
            #"{"Version": 1, "AccessKeyId": "AKID", "SecretAccessKey": "PSECRET", "SessionToken": "PTOKEN", "Expiration": "2030-01-02T03:04:05+01:00", "AccountId": "123"}"#
        let creds = try ProcessCredentialsParser.parse(Data(json.utf8))
        #expect(
            creds
                == Credentials(
                    accessKeyId: "AKID",
                    secretAccessKey: "PSECRET",
                    sessionToken: "PTOKEN",
                    expiration: Date(timeIntervalSince1970: 1_893_549_845),
                    accountId: "123"
                )
        )
    }

    @Test func longLivedWithoutTokenOrExpiration() throws {
        let creds = try ProcessCredentialsParser.parse(
            Data(#"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"S"}"#.utf8)
        )
        #expect(creds.sessionToken == nil)
        #expect(creds.expiration == nil)
    }

    @Test(arguments: [
        ("not json PSECRET", "credential_process output is not a JSON object"),
        ("[1]", "credential_process output is not a JSON object"),
        (
            #"{"AccessKeyId":"A","SecretAccessKey":"PSECRET"}"#,
            "credential_process output is missing the string field \"Version\""
        ),
        (
            #"{"Version":2,"AccessKeyId":"A","SecretAccessKey":"PSECRET"}"#,
            "credential_process output has unsupported Version 2; only 1 is supported"
        ),
        (
            #"{"Version":"1","AccessKeyId":"A","SecretAccessKey":"PSECRET"}"#,
            "credential_process output has unsupported Version \"1\"; only 1 is supported"
        ),
        (
            #"{"Version":true,"AccessKeyId":"A","SecretAccessKey":"PSECRET"}"#,
            "credential_process output has unsupported Version (not an integer); only 1 is supported"
        ),
        (
            #"{"Version":1,"SecretAccessKey":"PSECRET"}"#,
            "credential_process output is missing the string field \"AccessKeyId\""
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":""}"#,
            "credential_process output is missing the string field \"SecretAccessKey\""
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":{"x":"PSECRET"}}"#,
            "credential_process output is missing the string field \"SecretAccessKey\""
        ),
        (
            #"{"Version":1,"AccessKeyId":"A","SecretAccessKey":"PSECRET","SessionToken":"PTOKEN","Expiration":"2030-01-02"}"#,
            "credential_process output has an Expiration that is not an ISO 8601 timestamp: \"2030-01-02\""
        ),
    ])
    func rejects(json: String, message: String) {
        do {
            _ = try ProcessCredentialsParser.parse(Data(json.utf8))
            Issue.record("expected error")
        } catch {
            #expect(error.description == message)
            #expect(!error.description.contains("PSECRET") && !error.description.contains("PTOKEN"))
        }
    }
}

struct ISO8601Tests {
    @Test(arguments: [
        ("2019-11-09T13:34:41Z", 1_573_306_481.0),
        ("2019-11-09t13:34:41z", 1_573_306_481.0),
        ("2019-11-09 13:34:41Z", 1_573_306_481.0),
        ("2019-11-09T13:34:41.5Z", 1_573_306_481.5),
        ("2019-11-09T15:34:41+02:00", 1_573_306_481.0),
        ("2019-11-09T08:34:41-0500", 1_573_306_481.0),
    ])
    func parses(text: String, seconds: Double) {
        #expect(ISO8601.parse(text) == Date(timeIntervalSince1970: seconds))
    }

    @Test(arguments: [
        "2019-11-09T13:34:41", "2019-02-30T00:00:00Z", "2019-11-09T13:34Z", "2019-11-09T13:34:41.Z", "x",
        "2019-11-09T13:34:41Zjunk",
    ])
    func rejects(text: String) {
        #expect(ISO8601.parse(text) == nil)
    }
}
