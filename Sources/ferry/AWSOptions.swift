import ArgumentParser
import FerryCore
import Foundation

/// Where the exports are read from: the source account's credentials and region.
struct SourceAWSOptions: ParsableArguments {
    @Option(
        name: .customLong("source-region"),
        help: "Region of the export bucket (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)."
    )
    var region: String?
    @Option(name: .customLong("source-profile"), help: "Shared-config profile for reading the exports.")
    var profile: String?
    @Option(
        name: .customLong("source-role-arn"),
        help: "Role to assume for reading the exports (cross-account buckets)."
    )
    var roleArn: String?
    @Option(name: .customLong("source-endpoint-url"), help: "S3 endpoint override (e.g. a local emulator).")
    var endpointURL: String?

    var side: AWSSideOptions {
        AWSSideOptions(side: "source", region: region, profile: profile, roleArn: roleArn, endpointURL: endpointURL)
    }
}

/// Where the data is written: the target account's credentials and region.
struct TargetAWSOptions: ParsableArguments {
    @Option(
        name: .customLong("target-region"),
        help: "Region of the target table (default: AWS_REGION, AWS_DEFAULT_REGION, then the profile)."
    )
    var region: String?
    @Option(name: .customLong("target-profile"), help: "Shared-config profile for the target table.")
    var profile: String?
    @Option(name: .customLong("target-role-arn"), help: "Role to assume in the target account.")
    var roleArn: String?
    @Option(name: .customLong("target-endpoint-url"), help: "DynamoDB endpoint override (e.g. a local emulator).")
    var endpointURL: String?

    var side: AWSSideOptions {
        AWSSideOptions(side: "target", region: region, profile: profile, roleArn: roleArn, endpointURL: endpointURL)
    }
}

/// A percentage of capacity, `0 < P <= 100`; a value outside says which flag and what range.
struct Percent: ExpressibleByArgument {
    var value: Double
    init?(argument: String) {
        guard let value = Double(argument), value.isFinite else { return nil }
        self.value = value
    }
    static var defaultCompletionKind: CompletionKind { .default }

    /// Checks the range; `flag` names the option in the message.
    func validate(_ flag: String) throws {
        guard value > 0 && value <= 100 else {
            throw ValidationError("\(flag) must be a percentage greater than 0 and at most 100 (got \(value))")
        }
    }
}

/// A size in bytes: digits, optionally with a decimal (`K`, `M`, `G`, `T`) or binary (`Ki`, `Mi`, `Gi`, `Ti`) suffix, as
/// Kubernetes writes quantities (`4Gi` is 4 × 2³⁰ bytes).
struct ByteSize: ExpressibleByArgument {
    var bytes: Int64
    init?(argument: String) {
        let units: [(String, Int64)] = [
            ("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("Ti", 1 << 40),
            ("K", 1_000), ("M", 1_000_000), ("G", 1_000_000_000), ("T", 1_000_000_000_000),
        ]
        let (digits, scale) =
            units.first { argument.hasSuffix($0.0) }.map { (String(argument.dropLast($0.0.count)), $0.1) }
            ?? (argument, 1)
        guard !digits.isEmpty, digits.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let number = Int64(digits),
            number > 0, number <= Int64.max / scale
        else { return nil }
        bytes = number * scale
    }
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
