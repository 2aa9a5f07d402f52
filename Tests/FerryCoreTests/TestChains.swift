import ExportGenerator
import ExportReader
import FerryCore
import Foundation

/// Generated chains and their plans, as the apply and diff tests use them.
enum TestChains {
    static func generate(
        _ directory: String,
        items: Int,
        windows: Int,
        changes: Int = 30,
        itemBytes: Int? = nil,
        equivalentSpellings: Bool = false
    ) throws -> GeneratedChain {
        var spec = ChainSpec()
        spec.equivalentSpellings = equivalentSpellings
        spec.initialItems = items
        spec.windows = windows
        spec.changesPerWindow = changes
        spec.itemBytes = itemBytes
        return try ChainGenerator(spec: spec).generate(into: directory)
    }

    /// The plan of every export now in the chain's directory, written and read back like a plan file (so it has its
    /// plan id), for `table`.
    static func plan(
        for chain: GeneratedChain,
        table: String = "orders-copy",
        acceptManifestMismatch: Bool = false
    ) async throws -> Plan {
        var options = PlannerTests.options
        options.target.table = table
        options.source.acceptManifestChecksumMismatch = acceptManifestMismatch ? true : nil
        let found = try await ExportDiscovery.discover(
            LocalDirectorySource(root: chain.exportsDirectory),
            location: chain.exportsDirectory,
            manifestChecksums: options.source.manifestChecksums
        )
        return try PlanFile.decode(
            try PlanFile.encode(try ChainPlanner.plan(found, options: options)),
            path: "plan.json"
        )
    }
}
