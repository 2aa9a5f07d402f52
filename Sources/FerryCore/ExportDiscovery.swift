import ExportReader

/// Finds every export under a source: completed ones (with `manifest-summary.json`, read and verified) and ones in
/// progress (`_started` only).
public enum ExportDiscovery {
    /// `known`: exports already read, by summary key (a completed export never changes); only new ones are read.
    /// `manifestChecksums`: strict unless the plan accepts manifests whose `.md5` does not match.
    public static func discover(
        _ source: any ExportSource,
        prefix: String = "",
        location: String,
        known: [String: Export] = [:],
        manifestChecksums: ManifestChecksums = .strict
    ) async throws -> DiscoveredExports {
        let objects = try await source.listObjects(under: prefix)
        var summaries: [String] = []
        var started: [String: String] = [:]  // export id → folder
        var completed = Set<String>()
        for object in objects {
            let parts = object.key.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count >= 3, parts[parts.count - 3] == "AWSDynamoDB" else { continue }
            let id = String(parts[parts.count - 2])
            switch parts.last! {
            case "manifest-summary.json":
                summaries.append(object.key)
                completed.insert(id)
            case "_started":
                started[id] = object.key
            default: break
            }
        }
        let reader = ExportReader(source: source, manifestChecksums: manifestChecksums)
        var exports: [Export] = []
        for key in summaries.sorted() {
            if let export = known[key] {
                exports.append(export)
            } else {
                exports.append(try await reader.export(summaryKey: key))
            }
        }
        let inProgress = started.keys.filter { !completed.contains($0) }.sorted()
        return DiscoveredExports(
            location: location,
            exports: exports,
            inProgress: inProgress,
            sizes: Dictionary(objects.map { ($0.key, $0.size) }, uniquingKeysWith: { a, _ in a })
        )
    }

    /// Re-reads each window's manifests and compares them with the plan: a plan whose files changed in the source
    /// since it was made is refused before anything is read or written. Returns the exports, one per window, so
    /// callers need not read the manifests again.
    @discardableResult
    public static func verify(_ plan: Plan, against source: any ExportSource) async throws -> [Export] {
        try await verify(plan.windows, against: source)
    }

    /// `verify(_:against:)` for some of a plan's windows (a resume reads only those not yet applied).
    public static func verify(_ windows: [Plan.Window], against source: any ExportSource) async throws -> [Export] {
        var exports: [Export] = []
        for window in windows {
            // Only the manifests the plan accepted knowingly may fail their .md5; any other mismatch is refused.
            let reader = ExportReader(
                source: source,
                manifestChecksums: .accept(window.acceptedManifestMismatches ?? [])
            )
            let export: Export
            do { export = try await reader.export(summaryKey: window.summaryKey) } catch {
                throw PlanError.sourceChanged(window: window.index, exportId: window.exportId, reason: "\(error)")
            }
            let files = export.files.map {
                Plan.File(key: $0.dataFileS3Key, md5Checksum: $0.md5Checksum, etag: $0.etag, itemCount: $0.itemCount)
            }
            guard export.summary.exportArn == window.exportArn else {
                throw PlanError.sourceChanged(
                    window: window.index,
                    exportId: window.exportId,
                    reason: "\(window.summaryKey) now describes \(export.summary.exportArn)"
                )
            }
            if files != window.files {
                let changed = Set(files).symmetricDifference(Set(window.files)).map(\.key).sorted()
                throw PlanError.sourceChanged(
                    window: window.index,
                    exportId: window.exportId,
                    reason:
                        "data files differ: \(changed.prefix(3).joined(separator: ", "))\(changed.count > 3 ? " and \(changed.count - 3) more" : "")"
                )
            }
            exports.append(export)
        }
        return exports
    }
}
