import AWSClient
import AWSCore
import AWSCredentials
import DynamoModel
import FerryTestSupport
import Foundation
import Testing

/// Against moto with signature verification and IAM policies on: the real HTTP path end to end.
@Suite("AWS clients against moto (SigV4 and IAM enforced)", .serialized)
struct MotoIntegrationTests {
    static let tableJSON =
        #"{"TableName":"ferry-target","KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"N"}],"BillingMode":"PAY_PER_REQUEST"}"#

    @Test("a correct key works: create, describe, batch-write exact values, scan them back")
    func dynamoDBRoundTrip() async throws {
        try await MotoFixture.with { fixture, transport in
            let dynamo = DynamoDBClient(executor: try fixture.executor(.dynamodb, transport))
            try await dynamo.createTable(json: Self.tableJSON, table: "ferry-target")
            let table = try await dynamo.describeTable("ferry-target")
            #expect(table.keyNames == ["pk", "sk"])
            #expect(table.isOnDemand)

            let items = [
                try DynamoJSONParser.item(
                    from:
                        #"{"pk":{"S":"a"},"sk":{"N":"1"},"big":{"N":"12345678901234567890.123456789012345678"},"set":{"NS":["1","2.5"]},"b":{"B":"AAEC"},"e":{"S":""},"m":{"M":{"l":{"L":[{"NULL":true},{"BOOL":false}]}}}}"#
                ),
                try DynamoJSONParser.item(from: #"{"pk":{"S":"é 🚢"},"sk":{"N":"-1E-130"},"ss":{"SS":["x","y"]}}"#),
            ]
            var batch = BatchWriteRequestBuilder(tableName: "ferry-target")
            for item in items { batch.put(item) }
            let written = try await dynamo.batchWriteItem(batch, table: "ferry-target")
            #expect(written.unprocessed.isEmpty)
            #expect(!written.consumedCapacity.isEmpty)

            let scanned = try await dynamo.scan(table: "ferry-target")
            #expect(Set(scanned.items) == Set(items))

            let got = try await dynamo.batchGetItem(
                table: "ferry-target",
                keys: items.map { $0.projected(onto: ["pk", "sk"])! }
            )
            #expect(Set(got.items) == Set(items) && got.unprocessedKeys.isEmpty)
            let backups = try await dynamo.describeContinuousBackups("ferry-target")
            #expect(!backups.PointInTimeRecoveryStatus.isEmpty)

            var deletes = BatchWriteRequestBuilder(tableName: "ferry-target")
            deletes.delete(key: items[0].projected(onto: ["pk", "sk"])!)
            _ = try await dynamo.batchWriteItem(deletes, table: "ferry-target")
            #expect(try await dynamo.scan(table: "ferry-target").items == [items[1]])
        }
    }

    @Test("a wrong secret fails clearly, naming where the key came from — never the secret")
    func wrongSecret() async throws {
        try await MotoFixture.with { fixture, transport in
            let wrong = "wrongSecretWrongSecretWrongSecret1234567"
            let dynamo = DynamoDBClient(
                executor: try fixture.executor(.dynamodb, transport, secret: wrong, label: "profile ferry-test")
            )
            do {
                _ = try await dynamo.describeTable("anything")
                Issue.record("a wrong secret was accepted")
            } catch let error as AWSClientError {
                let text = "\(error)" + String(reflecting: error)
                #expect(text.contains("SignatureDoesNotMatch"), "\(text)")
                #expect(text.contains("profile ferry-test"), "\(text)")
                #expect(!text.contains(wrong))
                #expect(!text.contains(fixture.info.admin.secretAccessKey))
            }
        }
    }

    @Test("a user without DynamoDB rights is refused; the same user assumes a role and succeeds")
    func assumeRole() async throws {
        try await MotoFixture.with { fixture, transport in
            let limited = DynamoDBClient(
                executor: try fixture.executor(
                    .dynamodb,
                    transport,
                    keys: fixture.info.limited,
                    label: "profile limited"
                )
            )
            do {
                _ = try await limited.describeTable("ferry-target")
                Issue.record("the limited user could describe a table")
            } catch let error as AWSClientError {
                #expect("\(error)".contains("AccessDenied"), "\(error)")
            }
            let sts = try fixture.executor(.sts, transport, keys: fixture.info.limited, label: "profile limited")
            let role = AssumeRoleProvider.make(
                .init(roleArn: fixture.info.roleArn, sessionName: "ferry-test"),
                sts: sts
            )
            let assumed = AWSRequestExecutor(
                transport: transport,
                credentials: role,
                endpoint: try fixture.endpoint(.dynamodb)
            )
            let dynamo = DynamoDBClient(executor: assumed)
            try await dynamo.createTable(json: Self.tableJSON, table: "ferry-target")
            #expect(try await dynamo.describeTable("ferry-target").TableName == "ferry-target")
            let credentials = try await role.credentials()
            #expect(credentials.sessionToken != nil)
            #expect(!"\(credentials)".contains(credentials.secretAccessKey.revealed))
        }
    }

    // Keys with spaces are percent-encoded here; keys with reserved characters ('+', '(', '=', '!') or non-ASCII are
    // covered by the SigV4 vectors (botocore as the oracle) instead, because moto's own signature check
    // mis-canonicalises them: boto3 gets SignatureDoesNotMatch from it the same way (moto 5.2.1).
    @Test("S3: list with a prefix, get objects whose keys need encoding, a missing key")
    func s3ListAndGet() async throws {
        try await MotoFixture.with { fixture, transport in
            let executor = try fixture.executor(.s3, transport)
            _ = try await executor.send(operation: "CreateBucket", method: "PUT", path: "/ferry-exports")
            let keys = (0..<5).map { "exports/AWSDynamoDB/data/file \($0) copy.json.gz" } + ["other/x"]
            for key in keys {
                _ = try await executor.send(
                    operation: "PutObject",
                    method: "PUT",
                    path: "/ferry-exports/" + S3Key.percentEncode(key),
                    body: Array(key.utf8)
                )
            }
            let s3 = S3Client(executor: executor)
            // "exports", not "exports/": moto's signature check also mis-canonicalises a '/' in a query value.
            let listed = try await s3.listObjects(bucket: "ferry-exports", prefix: "exports")
            #expect(listed.map(\.key).sorted() == keys.dropLast().sorted())
            let body = try await s3.getObject(bucket: "ferry-exports", key: keys[1])
            #expect(body == Array(keys[1].utf8))
            let head = try await s3.headObject(bucket: "ferry-exports", key: keys[1])
            #expect(head.size == Int64(keys[1].utf8.count))
            #expect(head.eTag?.count == 32)
            do {
                _ = try await s3.getObject(bucket: "ferry-exports", key: "missing")
                Issue.record("a missing key was read")
            } catch let error as AWSClientError {
                #expect("\(error)".contains("NoSuchKey"), "\(error)")
            }
        }
    }

    @Test("S3 conditional writes: If-None-Match creates once, If-Match swaps only the version read, a stale ETag loses")
    func s3ConditionalWrites() async throws {
        try await MotoFixture.with { fixture, transport in
            let executor = try fixture.executor(.s3, transport)
            _ = try await executor.send(operation: "CreateBucket", method: "PUT", path: "/ferry-state")
            let s3 = S3Client(executor: executor)
            let key = "run/shard-0001.done"
            #expect(try await s3.getObjectIfPresent(bucket: "ferry-state", key: key) == nil)
            let first = try await s3.putObject(
                bucket: "ferry-state",
                key: key,
                body: Array("a".utf8),
                condition: .ifAbsent
            )
            guard case .written(let eTagA?) = first else {
                Issue.record("the first If-None-Match write was refused: \(first)")
                return
            }
            let second = try await s3.putObject(
                bucket: "ferry-state",
                key: key,
                body: Array("b".utf8),
                condition: .ifAbsent
            )
            #expect(second == .preconditionFailed)
            let read = try await s3.getObjectIfPresent(bucket: "ferry-state", key: key)
            #expect(read == S3Client.VersionedObject(body: Array("a".utf8), eTag: eTagA))

            let swapped = try await s3.putObject(
                bucket: "ferry-state",
                key: key,
                body: Array("c".utf8),
                condition: .ifMatch(eTag: eTagA)
            )
            guard case .written(let eTagC?) = swapped else {
                Issue.record("If-Match on the current ETag was refused: \(swapped)")
                return
            }
            #expect(eTagC != eTagA)
            let stale = try await s3.putObject(
                bucket: "ferry-state",
                key: key,
                body: Array("d".utf8),
                condition: .ifMatch(eTag: eTagA)
            )
            #expect(stale == .preconditionFailed)
            #expect(try await s3.getObjectIfPresent(bucket: "ferry-state", key: key)?.body == Array("c".utf8))

            try await s3.deleteObject(bucket: "ferry-state", key: key)
            #expect(try await s3.getObjectIfPresent(bucket: "ferry-state", key: key) == nil)
            let plain = try await s3.putObject(bucket: "ferry-state", key: key, body: Array("e".utf8))
            guard case .written = plain else {
                Issue.record("a plain PutObject was refused: \(plain)")
                return
            }
        }
    }
}
