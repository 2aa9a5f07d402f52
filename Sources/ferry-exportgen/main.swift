import ArgumentParser
import ExportGenerator
import ExportReader
import Foundation

/// Developer tool: writes a realistic export chain (and the expected table states) to a directory.
@main
struct ExportGen: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-exportgen",
        abstract: "Generate and check realistic DynamoDB export chains for tests, benchmarks and the demo.",
        subcommands: [Generate.self, Check.self],
        defaultSubcommand: Generate.self
    )
}

/// Reads a generated chain back with Ferry's export reader and compares each applied state with the expected one.
struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a generated chain back (checksums, counts, every record) and compare with the expected states."
    )

    @Option(help: "The directory `generate` wrote.") var chain: String

    func run() async throws {
        let checks = try await ChainVerifier.verify(chainDirectory: chain)
        for check in checks {
            let verdict =
                check.mismatches == 0
                ? "matches expected state" : "\(check.mismatches) items DIFFER from the expected state"
            print(
                "\(check.kind == .full ? "FULL       " : "INCREMENTAL") \(check.exportId)  \(check.records) records read, checksums OK  → \(check.tableItems) items, \(verdict)"
            )
        }
        if checks.contains(where: { $0.mismatches > 0 }) { throw ExitCode(1) }
    }
}

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a realistic DynamoDB export chain (FULL + INCREMENTAL windows).",
        discussion: """
            Writes OUT/exports/ (lay it out as a bucket root: use it as `ferry plan --source OUT/exports`, or \
            `aws s3 sync OUT/exports s3://bucket/`) and OUT/expected/ (the table after each export, as DynamoDB JSON \
            lines, plus chain.json). The same options give byte-identical output.
            """
    )

    @Option(help: "Directory to write into (created).") var out: String
    @Option(help: "Random seed.") var seed: UInt64 = 1
    @Option(help: "Items at the FULL export.") var items = 200
    @Option(help: "INCREMENTAL windows after the FULL export.") var windows = 5
    @Option(help: "Changed keys per window.") var changes = 60
    @Option(help: "Data files (source partitions) per export.") var partitions = 4
    @Option(help: "Window length in minutes (15…1440).") var windowMinutes = 15
    @Option(help: "Export prefix in the bucket; empty for none (s3Prefix null).") var prefix = "exports"
    @Option(help: "Table name in the ARNs.") var table = "ferry-demo"
    @Option(help: "NEW_AND_OLD_IMAGES or NEW_IMAGE.") var viewType = "NEW_AND_OLD_IMAGES"
    @Option(help: "Pad items to about this many bytes.") var itemBytes: Int?
    @Option(help: "With --item-bytes MIN: pad each item to a size drawn from MIN…this many bytes (mixed sizes).")
    var itemBytesMax: Int?
    @Option(help: "This percentage of items carry a unique `segment` string attribute (a sparse GSI's key).")
    var segmentPercent: Int?
    @Option(help: "Every n-th key holds an item just under 400 KB.") var largeEvery: Int?
    @Option(help: "gzip level 1…9.") var compression: Int32 = 6
    @Option(help: "DYNAMODB_JSON or ION.") var format = "DYNAMODB_JSON"
    @Flag(help: "Odd-numbered INCREMENTAL exports use the other format (a chain that mixes formats).")
    var mixedFormats = false
    @Flag(help: "Key schema pk only (default pk + sk).") var hashOnly = false
    @Flag(help: "Do not write expected states (for very large exports).") var noExpected = false

    func run() throws {
        var spec = ChainSpec()
        spec.seed = seed
        spec.initialItems = items
        spec.windows = windows
        spec.changesPerWindow = changes
        spec.partitions = partitions
        spec.windowMinutes = windowMinutes
        spec.prefix = prefix.isEmpty ? nil : prefix
        spec.tableName = table
        guard let view = ExportViewType(rawValue: viewType) else {
            throw ValidationError("--view-type must be NEW_AND_OLD_IMAGES or NEW_IMAGE, not \(viewType)")
        }
        spec.viewType = view
        spec.itemBytes = itemBytes
        if let itemBytesMax {
            guard let itemBytes, itemBytesMax >= itemBytes else {
                throw ValidationError("--item-bytes-max needs --item-bytes MIN with MIN <= \(itemBytesMax)")
            }
            spec.itemBytesMax = itemBytesMax
        }
        spec.largeItemEvery = largeEvery
        spec.segmentPercent = segmentPercent
        spec.compressionLevel = compression
        guard let exportFormat = ExportFormat(rawValue: format) else {
            throw ValidationError("--format must be DYNAMODB_JSON or ION, not \(format)")
        }
        spec.format = exportFormat
        spec.alternateFormats = mixedFormats
        spec.sortKey = !hashOnly
        spec.writeExpectedStates = !noExpected
        let chain = try ChainGenerator(spec: spec).generate(into: out)
        for export in chain.exports {
            print(
                "\(export.kind == .full ? "FULL       " : "INCREMENTAL") \(export.exportId)  \(export.records) records  → \(export.tableItems) items"
            )
        }
        print("exports: \(chain.exportsDirectory)")
    }
}
