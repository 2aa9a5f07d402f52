/// The AWS services Ferry talks to.
public enum AWSService: String, Sendable, CaseIterable, Hashable {
    case dynamodb
    case s3
    case sts

    /// Human-readable name used in error descriptions.
    public var displayName: String {
        switch self {
        case .dynamodb: "DynamoDB"
        case .s3: "S3"
        case .sts: "STS"
        }
    }

    /// The SigV4 signing name (credential scope service).
    public var signingName: String { rawValue }

    /// The first DNS label of the default endpoint (`<prefix>.<region>.<suffix>`).
    public var endpointPrefix: String { rawValue }

    /// The service-specific endpoint variable. The suffix is the service id
    /// upper-cased with spaces replaced by `_` (AWS SDKs and tools reference
    /// guide, "Service-specific endpoints").
    public var endpointEnvironmentVariable: String {
        "AWS_ENDPOINT_URL_" + rawValue.uppercased()
    }
}

/// An AWS partition: a group of regions sharing a DNS suffix.
///
/// Facts are copied from botocore `data/partitions.json` (botocore 1.43):
///
/// | id         | regionRegex                                   | dnsSuffix          |
/// |------------|-----------------------------------------------|--------------------|
/// | aws        | `^(us|eu|ap|sa|ca|me|af|il|mx)\-\w+\-\d+$`    | `amazonaws.com`    |
/// | aws-cn     | `^cn\-\w+\-\d+$`                              | `amazonaws.com.cn` |
/// | aws-us-gov | `^us\-gov\-\w+\-\d+$`                         | `amazonaws.com`    |
///
/// The regex is evaluated by hand (`prefix-\w+-\d+`) rather than with `Regex`,
/// which keeps the value trivially `Sendable`.
public struct Partition: Sendable, Hashable, CustomStringConvertible {
    /// Partition id, e.g. `aws-cn`.
    public let id: String
    /// DNS suffix of regional endpoints, e.g. `amazonaws.com.cn`.
    public let dnsSuffix: String
    /// Allowed first components of a region name (the `(us|eu|…)` group).
    public let regionPrefixes: [String]

    /// The regex from partitions.json, kept for documentation and diagnostics.
    public var regionRegex: String {
        let group =
            regionPrefixes.count == 1
            ? regionPrefixes[0].replacingOccurrences(of: "-", with: "\\-")
            : "(" + regionPrefixes.joined(separator: "|") + ")"
        return "^" + group + "\\-\\w+\\-\\d+$"
    }

    public var description: String { id }

    /// The commercial partition.
    public static let aws = Partition(
        id: "aws",
        dnsSuffix: "amazonaws.com",
        regionPrefixes: ["us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx"]
    )
    /// China (Beijing, Ningxia).
    public static let awsCN = Partition(
        id: "aws-cn",
        dnsSuffix: "amazonaws.com.cn",
        regionPrefixes: ["cn"]
    )
    /// AWS GovCloud (US).
    public static let awsUSGov = Partition(
        id: "aws-us-gov",
        dnsSuffix: "amazonaws.com",
        regionPrefixes: ["us-gov"]
    )

    /// Partitions in botocore's order.
    public static let all: [Partition] = [.aws, .awsCN, .awsUSGov]

    /// Whether `region` matches this partition's region regex.
    public func matches(region: String) -> Bool {
        regionPrefixes.contains { prefix in
            guard region.hasPrefix(prefix + "-") else { return false }
            let rest = region.dropFirst(prefix.count + 1).split(separator: "-", omittingEmptySubsequences: false)
            // `\w+` cannot contain `-`, so the rest is exactly two components.
            guard rest.count == 2, !rest[0].isEmpty, !rest[1].isEmpty else { return false }
            let isWord: (Character) -> Bool = { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
            return rest[0].allSatisfy(isWord) && rest[1].allSatisfy { $0.isASCII && $0.isNumber }
        }
    }

    /// The partition of `region`. Like botocore's endpoint ruleset library
    /// (`aws.partition`), an unknown region falls back to `aws`, so emulator
    /// regions such as `local` still resolve.
    public static func forRegion(_ region: String) -> Partition {
        all.first { $0.matches(region: region) } ?? .aws
    }
}
