import AWSClient
import AWSCore

/// `ferry export`'s pre-flight on its destination: the bucket exists, is owned by the expected account, and these
/// credentials may write under the prefix — checked with one small object at `<prefix>/.ferry-write-check`
/// (overwritten by every run, so it never accumulates), sent with `x-amz-expected-bucket-owner` so a bucket of the
/// same name in another account is refused by S3 itself rather than written to.
public enum ExportDestination {
    /// The object the check writes.
    public static func checkKey(prefix: String) -> String {
        prefix.isEmpty ? ".ferry-write-check" : prefix + "/.ferry-write-check"
    }

    /// The account a bucket must belong to: `--bucket-owner`, or else the table's own account (from its ARN,
    /// `arn:aws:dynamodb:<region>:<account>:table/<name>`) — a bucket in another account needs `--bucket-owner`, as
    /// `ExportTableToPointInTime` needs `S3BucketOwner`. `nil` when neither is known.
    public static func expectedOwner(bucketOwner: String?, tableArn: String) -> String? {
        if let bucketOwner { return bucketOwner }
        let parts = tableArn.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count >= 6, parts[0] == "arn", parts[2] == "dynamodb", !parts[4].isEmpty else { return nil }
        return String(parts[4])
    }

    /// Writes the check object with `s3`, whose `expectedBucketOwner` is the account the bucket must belong to.
    public static func checkWritable(s3: S3Client, bucket: String, prefix: String, ownerGiven: Bool) async throws {
        let owner = s3.expectedBucketOwner
        let key = checkKey(prefix: prefix)
        do {
            _ = try await s3.putObject(
                bucket: bucket,
                key: key,
                body: Array("written by ferry export to check that it may write here; safe to delete\n".utf8),
                contentType: "text/plain"
            )
        } catch let AWSClientError.service(error, _, _) {
            throw ExportDestinationError(
                bucket: bucket,
                key: key,
                owner: owner,
                ownerGiven: ownerGiven,
                code: error.code,
                httpStatus: error.httpStatus
            )
        }
    }
}

/// The destination refused the pre-flight write: which bucket, which account was expected, and what to do.
public struct ExportDestinationError: Error, Sendable, Hashable, CustomStringConvertible {
    public var bucket: String
    public var key: String
    public var owner: String?
    /// Whether `owner` came from `--bucket-owner` (else it is the table's account).
    public var ownerGiven: Bool
    public var code: String
    public var httpStatus: Int

    public init(bucket: String, key: String, owner: String?, ownerGiven: Bool, code: String, httpStatus: Int) {
        self.bucket = bucket
        self.key = key
        self.owner = owner
        self.ownerGiven = ownerGiven
        self.code = code
        self.httpStatus = httpStatus
    }

    public var description: String {
        let head = "cannot write to s3://\(bucket)/\(key) (\(code), HTTP \(httpStatus))"
        if code == "NoSuchBucket" || httpStatus == 404 {
            return head + ": there is no bucket \(bucket); create it, or fix --to"
        }
        let account = owner.map { "account \($0)" } ?? "the expected account"
        let whose = ownerGiven ? "\(account) (--bucket-owner)" : "\(account), the table's"
        return head
            + ": either the bucket is not owned by \(whose) or these credentials may not s3:PutObject under the "
            + "prefix. A bucket in another account needs --bucket-owner ACCOUNT and a bucket policy granting the "
            + "exporting identity s3:PutObject, s3:AbortMultipartUpload and s3:PutObjectAcl on the prefix"
    }
}
