import ExportReader

/// A migration plan: what `apply`, `diff` and `status` run from. Deterministic (same exports and options → the
/// same bytes), readable in a review, and free of secrets: it names profiles and roles, never keys.
public struct Plan: Sendable, Hashable, Codable {
    /// The plan format's version.
    public var ferryPlan: Int = 1
    /// `sha256:<hex>` of the plan's content without this field; `apply`, `diff` and `status` refuse a mismatch.
    public var planId: String = ""
    public var source: Source
    public var target: Target
    public var throttle: Throttle
    /// The source table, as the exports name it.
    public var sourceTable: SourceTable
    /// Set when the chain was cut with `--until`.
    public var until: String?
    public var windows: [Window]
    public var totals: Totals

    public struct Source: Sendable, Hashable, Codable {
        /// `s3://bucket/prefix` or a directory path, as given.
        public var location: String
        public var region: String?
        public var profile: String?
        public var roleArn: String?
        public var endpointUrl: String?
        /// `plan --accept-manifest-checksum-mismatch`: manifests whose `manifest-*.md5` does not match were accepted
        /// knowingly (each window lists which). Absent (strict) unless chosen, so reviewers see the choice.
        public var acceptManifestChecksumMismatch: Bool?

        public init(
            location: String,
            region: String? = nil,
            profile: String? = nil,
            roleArn: String? = nil,
            endpointUrl: String? = nil,
            acceptManifestChecksumMismatch: Bool = false
        ) {
            self.location = location
            self.region = region
            self.profile = profile
            self.roleArn = roleArn
            self.endpointUrl = endpointUrl
            self.acceptManifestChecksumMismatch = acceptManifestChecksumMismatch ? true : nil
        }

        /// The policy for manifests of exports found after planning (`apply --follow`): the plan's choice.
        public var manifestChecksums: ManifestChecksums {
            acceptManifestChecksumMismatch == true ? .acceptAny : .strict
        }
    }

    public struct Target: Sendable, Hashable, Codable {
        public var table: String
        public var region: String?
        public var profile: String?
        public var roleArn: String?
        public var endpointUrl: String?
        /// The target table's ARN and account when `plan` could describe it: apply and diff refuse another table.
        public var tableArn: String?
        public var account: String?

        public init(
            table: String,
            region: String? = nil,
            profile: String? = nil,
            roleArn: String? = nil,
            endpointUrl: String? = nil,
            tableArn: String? = nil
        ) {
            self.table = table
            self.tableArn = tableArn
            self.account = tableArn.flatMap { TargetPin.account(ofArn: $0) }
            self.region = region
            self.profile = profile
            self.roleArn = roleArn
            self.endpointUrl = endpointUrl
        }
    }

    public struct Throttle: Sendable, Hashable, Codable {
        /// Share of the target's write capacity `apply` may use, 0 < P ≤ 100.
        public var writePercent: Double
        /// Share of the target's read capacity `diff` may use, 0 < P ≤ 100.
        public var readPercent: Double
        /// Write-unit ceiling for on-demand targets without a maximum of their own.
        public var maxWriteUnits: Int?

        public init(writePercent: Double, readPercent: Double, maxWriteUnits: Int? = nil) {
            self.writePercent = writePercent
            self.readPercent = readPercent
            self.maxWriteUnits = maxWriteUnits
        }
    }

    public struct SourceTable: Sendable, Hashable, Codable {
        public var tableArn: String
        public var tableId: String
    }

    /// One export to apply, pinned with its files' checksums.
    public struct Window: Sendable, Hashable, Codable {
        /// 0 for the FULL export, then 1, 2, … in the order they are applied.
        public var index: Int
        public var kind: ExportKind
        public var exportArn: String
        public var exportId: String
        /// Key of its `manifest-summary.json` in the source.
        public var summaryKey: String
        /// INCREMENTAL: the window's start (inclusive). Nil for the FULL export.
        public var from: String?
        /// FULL: the export time. INCREMENTAL: the window's end (exclusive). The target reaches this point in time.
        public var to: String
        public var format: ExportFormat
        public var viewType: ExportViewType?
        public var itemCount: Int64
        public var compressedBytes: Int64
        public var files: [File]
        /// Manifests of this export accepted although their `.md5` did not match (only with the plan's
        /// `acceptManifestChecksumMismatch`); apply and diff accept these and refuse any other mismatch.
        public var acceptedManifestMismatches: [String]?
    }

    public struct File: Sendable, Hashable, Codable {
        public var key: String
        public var md5Checksum: String
        public var etag: String
        public var itemCount: Int64
    }

    public struct Totals: Sendable, Hashable, Codable {
        public var windows: Int
        public var items: Int64
        public var files: Int
        public var compressedBytes: Int64
        /// The point in time the FULL export reflects.
        public var start: String
        /// The point in time the target reaches at the end of the plan.
        public var end: String
    }
}
