import ExportReader

/// What to generate: one FULL export and `windows` INCREMENTAL exports of a simulated table.
public struct ChainSpec: Sendable, Hashable {
    /// Seed of every random choice: the same spec gives byte-identical output.
    public var seed: UInt64 = 1
    public var tableName = "ferry-demo"
    public var region = "us-east-1"
    public var account = "123456789012"
    public var bucket = "ferry-exports"
    /// The export prefix in the bucket; nil writes keys straight under `AWSDynamoDB/` (`s3Prefix: null`).
    public var prefix: String? = "exports"
    /// Partition key `pk` (S); with `sortKey`, also `sk` (N).
    public var sortKey = true
    /// Items in the table at the FULL export.
    public var initialItems = 200
    /// Data files per export (one per source partition; some come out empty, as AWS writes them).
    public var partitions = 4
    /// INCREMENTAL windows after the FULL export.
    public var windows = 5
    public var windowMinutes = 15
    /// Changed keys per window (inserts, updates, deletes, re-inserts).
    public var changesPerWindow = 60
    public var viewType: ExportViewType = .newAndOldImages
    /// Pad items up to about this many bytes (DynamoDB item size); nil leaves them at their natural size.
    public var itemBytes: Int?
    /// With `itemBytes`: each item is padded to a size drawn uniformly from `itemBytes…itemBytesMax` (mixed sizes).
    public var itemBytesMax: Int?
    /// This percentage of items carry a `segment` string attribute unique to the item: the key of a sparse GSI
    /// that only some items reach (benchmarks); nil for none.
    public var segmentPercent: Int?
    /// Every n-th key holds an item just under DynamoDB's 400 KB limit; nil for none.
    public var largeItemEvery: Int?
    /// Items also carry what Swift's `String ==` gets wrong and DynamoDB does not: both spellings of `café`
    /// (U+00E9 and e + U+0301) as two attribute names and as two SS members, a KELVIN SIGN name beside `K`, and
    /// maps and lists nested 30 levels deep.
    public var equivalentSpellings = false
    /// Write the expected table state after each export (off for very large benchmark exports).
    public var writeExpectedStates = true
    /// Data format of the FULL export (and of every export unless `alternateFormats`).
    public var format: ExportFormat = .dynamoDBJSON
    /// INCREMENTAL exports with an odd number switch to the other format: a chain that mixes formats.
    public var alternateFormats = false
    /// gzip level (1 fast … 9 small); 6 is zlib's default.
    public var compressionLevel: Int32 = 6
    /// The FULL export's point in time.
    public var fullExportTime = ExportTime(epochMilliseconds: 1_768_385_930_622)  // 2026-01-14T10:18:50.622Z

    public init() {}

    var tableArn: String { "arn:aws:dynamodb:\(region):\(account):table/\(tableName)" }
    var keyPrefix: String { prefix.map { $0.isEmpty ? "" : $0 + "/" } ?? "" }
    var keyNames: [String] { sortKey ? ["pk", "sk"] : ["pk"] }

    /// The format of export number `ordinal` (0 is the FULL export).
    func format(ofExport ordinal: Int) -> ExportFormat {
        guard alternateFormats, ordinal % 2 == 1 else { return format }
        return format == .ion ? .dynamoDBJSON : .ion
    }
}
