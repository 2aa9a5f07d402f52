import Testing

@testable import AWSCore

struct RetryClassificationTests {
    static let throttles = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]
    static let transients = [
        "RequestTimeout", "RequestTimeoutException", "InternalServerError", "ServiceUnavailable",
        "ReplicatedWriteConflictException",
    ]
    static let fatals = [
        "ValidationException", "AccessDeniedException", "AccessDenied", "ConditionalCheckFailedException",
        "IncompleteSignatureException", "MissingAuthenticationTokenException", "ResourceInUseException",
        "ResourceNotFoundException", "SerializationException", "UnrecognizedClientException",
        "InvalidClientTokenId", "SignatureDoesNotMatch", "NoSuchKey", "NoSuchBucket", "SomethingNew",
        // Apply decides about these itself: an item to reject, a batch to send again after a backoff.
        "ItemCollectionSizeLimitExceededException", "TransactionConflictException",
    ]

    // DynamoDB throttles and most of its errors arrive as HTTP 400.
    @Test(arguments: throttles) func throttlingCodes(code: String) {
        #expect(RetryClassifier.classify(.httpError(status: 400, code: code)) == .throttled)
        #expect(RetryClassifier.throttlingCodes.contains(code))
    }

    @Test(arguments: transients) func transientCodes(code: String) {
        #expect(RetryClassifier.classify(.httpError(status: 400, code: code)) == .transient)
    }

    @Test(arguments: fatals) func fatalCodes(code: String) {
        #expect(RetryClassifier.classify(.httpError(status: 400, code: code)) == .fatal)
        #expect(RetryClassifier.classify(.httpError(status: 403, code: code)) == .fatal)
    }

    @Test(arguments: ["ExpiredToken", "ExpiredTokenException"]) func expired(code: String) {
        #expect(RetryClassifier.classify(.httpError(status: 400, code: code)) == .refreshCredentials)
        #expect(RetryClassifier.classify(.httpError(status: 403, code: code)) == .refreshCredentials)
    }

    @Test(arguments: [
        (500, RetryClassification.transient), (502, .transient), (503, .transient), (504, .transient),
        (429, .throttled), (400, .fatal), (403, .fatal), (404, .fatal), (501, .fatal), (301, .fatal),
    ])
    func statusOnly(status: Int, expected: RetryClassification) {
        #expect(RetryClassifier.classify(.httpError(status: status, code: nil)) == expected)
    }

    @Test func fiveHundredRetriedWhateverTheCode() {
        #expect(RetryClassifier.classify(.httpError(status: 500, code: "InternalFailure")) == .transient)
        #expect(RetryClassifier.classify(.httpError(status: 503, code: "SlowDown")) == .throttled)
    }

    @Test(arguments: TransportErrorKind.allCases) func transport(kind: TransportErrorKind) {
        #expect(RetryClassifier.classify(.transport(kind)) == (kind == .tlsCertificateInvalid ? .fatal : .transient))
    }

    @Test func crcMismatchIsTransient() {
        let body = Array(#"{"TableNames":[]}"#.utf8)
        #expect(CRC32.verify(header: "1315925753", body: body) == nil)
        #expect(CRC32.verify(header: nil, body: body) == nil)
        let bad = CRC32.verify(header: "1", body: body)
        #expect(bad == .checksumMismatch(expected: 1, actual: 1_315_925_753))
        #expect(RetryClassifier.classify(bad!) == .transient)
    }
}

struct RetryPolicyTests {
    static let ddb = RetryPolicy.standard(for: .dynamodb)
    static let s3 = RetryPolicy.standard(for: .s3)

    @Test func standardNumbers() {
        #expect(
            Self.ddb
                == RetryPolicy(
                    maxAttempts: 4,
                    transientBase: .milliseconds(25),
                    throttleBase: .seconds(1),
                    maxBackoff: .seconds(20),
                    deadline: .seconds(120)
                )
        )
        #expect(Self.s3.maxAttempts == 3)
        #expect(Self.s3.transientBase == .milliseconds(50))
        #expect(RetryPolicy.standard(for: .sts) == Self.s3)
    }

    // delay = random01 * min(20 s, base * 2^(attempt-1))
    @Test(arguments: [
        (1, false, 1.0, Duration.milliseconds(25)), (2, false, 1.0, .milliseconds(50)),
        (3, false, 0.5, .milliseconds(50)), (3, false, 0.0, .zero),
        (1, true, 1.0, .seconds(1)), (2, true, 0.5, .seconds(1)), (3, true, 0.25, .seconds(1)),
        (5, true, 1.0, .seconds(16)), (6, true, 1.0, .seconds(20)), (100, true, 0.5, .seconds(10)),
        (11, false, 1.0, .seconds(20)), (10, false, 1.0, .milliseconds(12_800)),
        (1, false, 1.7, .milliseconds(25)), (1, false, -3, .zero),
    ])
    func backoff(attempt: Int, throttled: Bool, random: Double, expected: Duration) {
        #expect(Self.ddb.backoff(attempt: attempt, throttled: throttled, random01: random) == expected)
    }

    @Test func s3TransientBase() {
        #expect(Self.s3.backoff(attempt: 2, throttled: false, random01: 0.5) == .milliseconds(50))
    }

    @Test func decisions() {
        #expect(
            Self.ddb.decide(attempt: 1, classification: .throttled, elapsed: .zero, random01: 0.5)
                == .retry(after: .milliseconds(500), throttled: true)
        )
        #expect(
            Self.ddb.decide(attempt: 2, classification: .transient, elapsed: .seconds(1), random01: 1)
                == .retry(after: .milliseconds(50), throttled: false)
        )
        #expect(
            Self.ddb.decide(attempt: 4, classification: .throttled, elapsed: .zero, random01: 0.5)
                == .giveUp(.attemptsExhausted(attempts: 4), throttled: true)
        )
        #expect(
            Self.s3.decide(attempt: 3, classification: .transient, elapsed: .zero, random01: 0.5)
                == .giveUp(.attemptsExhausted(attempts: 3), throttled: false)
        )
        #expect(
            Self.ddb.decide(attempt: 1, classification: .fatal, elapsed: .zero, random01: 0.5)
                == .giveUp(.fatal, throttled: false)
        )
        #expect(Self.ddb.decide(attempt: 1, classification: .throttled, elapsed: .zero, random01: 0.5).throttled)
    }

    @Test func deadline() {
        var p = Self.ddb
        p.deadline = .seconds(10)
        // 9.5 s + 0.5 s = 10 s: still within the budget.
        #expect(
            p.decide(attempt: 1, classification: .throttled, elapsed: .milliseconds(9_500), random01: 0.5)
                == .retry(after: .milliseconds(500), throttled: true)
        )
        #expect(
            p.decide(attempt: 1, classification: .throttled, elapsed: .milliseconds(9_501), random01: 0.5)
                == .giveUp(.deadlineExceeded, throttled: true)
        )
        #expect(
            p.decide(attempt: 1, classification: .refreshCredentials, elapsed: .seconds(10), random01: 0)
                == .giveUp(.deadlineExceeded, throttled: false)
        )
        p.deadline = nil
        #expect(
            p.decide(attempt: 1, classification: .transient, elapsed: .seconds(100_000), random01: 1)
                == .retry(after: .milliseconds(25), throttled: false)
        )
    }

    @Test func credentialsRefreshedOnce() {
        #expect(
            Self.ddb.decide(attempt: 1, classification: .refreshCredentials, elapsed: .zero, random01: 0.5)
                == .refreshCredentialsAndRetry
        )
        #expect(
            Self.ddb.decide(
                attempt: 2,
                classification: .refreshCredentials,
                elapsed: .zero,
                random01: 0.5,
                credentialRefreshes: 1
            )
                == .giveUp(.credentialsStillExpired, throttled: false)
        )
    }
}

struct CRC32Tests {
    // Python zlib.crc32 as the oracle.
    @Test(arguments: [
        ("", UInt32(0)), ("a", 0xE8B7_BE43), ("123456789", 0xCBF4_3926),
        ("The quick brown fox jumps over the lazy dog", 0x414F_A339),
        (#"{"TableNames":[]}"#, 1_315_925_753),
    ])
    func vectors(input: String, crc: UInt32) {
        #expect(CRC32.checksum(Array(input.utf8)) == crc)
    }

    @Test("eight bytes a step gives the byte-at-a-time result, at every length and alignment")
    func slicingByEight() {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for (start, end) in [(0, 0), (0, 7), (1, 9), (3, 64), (5, 4099), (0, 4099), (4090, 4099)] {
            let slice = bytes[start..<end]
            // A lazy map is not contiguous: it takes the byte-at-a-time path.
            #expect(CRC32.checksum(slice) == CRC32.checksum(slice.lazy.map { $0 }), "bytes \(start)..<\(end)")
        }
        #expect(CRC32.checksum(Array("123456789".utf8).lazy.map { $0 }) == 0xCBF4_3926)
    }

    @Test func incrementalEqualsOneShot() {
        let all = (0..<256).map(UInt8.init)
        var crc = CRC32()
        crc.update(all[..<100])
        crc.update(all[100...])
        #expect(crc.value == 0x2905_8C73)
        #expect(CRC32.checksum(all) == 0x2905_8C73)
    }
}

struct DynamoDBFramingTests {
    @Test func headers() {
        let f = DynamoDBRequestFraming(operation: "BatchWriteItem")
        #expect(f.target == "DynamoDB_20120810.BatchWriteItem")
        #expect(
            f.headers.map { "\($0.name): \($0.value)" } == [
                "Content-Type: application/x-amz-json-1.0", "X-Amz-Target: DynamoDB_20120810.BatchWriteItem",
            ]
        )
        #expect(DynamoDBRequestFraming.method == "POST")
        #expect(DynamoDBRequestFraming.path == "/")
    }
}
