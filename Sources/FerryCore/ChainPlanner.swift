import ExportReader

/// What discovery found under a source.
public struct DiscoveredExports: Sendable {
    public var location: String
    public var exports: [Export]
    /// Ids of exports that have `_started` but no summary yet.
    public var inProgress: [String]
    /// Object sizes by key, for the plan's byte counts.
    public var sizes: [String: Int64]

    public init(location: String, exports: [Export], inProgress: [String], sizes: [String: Int64]) {
        self.location = location
        self.exports = exports
        self.inProgress = inProgress
        self.sizes = sizes
    }
}

/// Options of `ferry plan` that end up in the plan.
public struct PlanOptions: Sendable {
    public var source: Plan.Source
    public var target: Plan.Target
    public var throttle: Plan.Throttle
    public var until: ExportTime?
    public var fullExportId: String?
    /// Which table's exports to plan when the source holds several (`--source-table`): a table name or ARN.
    public var sourceTable: String?

    public init(
        source: Plan.Source,
        target: Plan.Target,
        throttle: Plan.Throttle,
        until: ExportTime? = nil,
        fullExportId: String? = nil,
        sourceTable: String? = nil
    ) {
        self.sourceTable = sourceTable
        self.source = source
        self.target = target
        self.throttle = throttle
        self.until = until
        self.fullExportId = fullExportId
    }
}

/// Builds the chain: one FULL export, then every INCREMENTAL window after it in order of window end, cut at
/// `--until`. Pure: no I/O, so every rule is tested directly.
///
/// Rules. Windows are [from, to). The first incremental must start at or before the FULL export's time, and each
/// next one at or before the end of the chain so far: **a gap is an error** (changes in it would be lost). An
/// **overlap is fine**: each incremental record is the final state of its key at its window's end, and windows are
/// applied in order of their end. A window that ends at or before the chain's end adds nothing (it is repeated or
/// contained) and is used once. Contiguity is decided over the whole set of windows, not greedily in order of end:
/// of the windows that start by the chain's end, the one ending first comes next, so a window that starts later is
/// not a gap when a wider one covers it (A=[0,10), B=[12,15), C=[8,20) chains as A, C). The FULL export chosen is
/// the newest one that starts a gap-free chain, unless `--full-export` names one.
public enum ChainPlanner {
    public static func plan(_ all: DiscoveredExports, options: PlanOptions) throws(PlanError) -> Plan {
        guard !all.exports.isEmpty else {
            if !all.inProgress.isEmpty {
                throw .onlyInProgress(location: all.location, exportIds: all.inProgress.sorted())
            }
            throw .noExports(location: all.location)
        }
        let found = try oneTable(all, selector: options.sourceTable)

        var fulls = found.exports.filter { $0.summary.kind == .full }
            .sorted { ($0.summary.pointInTime, $0.summary.exportId) > ($1.summary.pointInTime, $1.summary.exportId) }
        guard !fulls.isEmpty else { throw .noFullExport(location: found.location) }
        if let id = options.fullExportId {
            fulls = fulls.filter { $0.summary.exportId == id || $0.summary.exportArn == id }
            guard !fulls.isEmpty else {
                throw .unknownFullExport(
                    id: id,
                    available: found.exports.filter { $0.summary.kind == .full }.map(\.summary.exportId).sorted()
                )
            }
        }
        if let until = options.until {
            let usable = fulls.filter { $0.summary.pointInTime <= until }
            guard !usable.isEmpty else {
                throw .untilBeforeFull(until: until.text, fullExportTime: fulls.last!.summary.pointInTime.text)
            }
            fulls = usable
        }
        let incrementals = found.exports.filter { $0.summary.kind == .incremental }
            .sorted {
                ($0.summary.exportToTime!, $0.summary.exportFromTime!, $0.summary.exportId) < (
                    $1.summary.exportToTime!, $1.summary.exportFromTime!, $1.summary.exportId
                )
            }

        var firstGap: PlanError?
        for full in fulls {
            let continued = chain(
                after: full.summary.pointInTime,
                lastExportId: full.summary.exportId,
                incrementals: incrementals,
                until: options.until
            )
            guard let gap = continued.gap else {
                return assemble([full] + continued.exports, found: found, options: options)
            }
            firstGap = firstGap ?? gap
        }
        throw firstGap!
    }

    /// What `extend` found: the exports that continue the chain, and — when a later completed export is cut off by
    /// a gap while exports are still in progress (one of them may be the missing window: exports do not always
    /// complete in the order they were requested) — the ids being waited for and the gap as it stands.
    public struct Extension: Sendable {
        public var exports: [Export]
        public var waitingFor: [String]
        public var pendingGap: PlanError?
    }

    /// The INCREMENTAL exports that continue `windows` (a plan's chain so far), by the same rules as `plan`:
    /// repeated or contained windows skipped, a gap refused — unless exports are still in progress, which may fill
    /// it: then the windows before the gap are returned with what is being waited for, and the next poll decides.
    /// Other tables' exports under the same prefix are not ours to follow. Empty when nothing new has arrived.
    public static func extend(
        _ windows: [Plan.Window],
        table: Plan.SourceTable,
        with found: DiscoveredExports
    ) throws(PlanError) -> Extension {
        let ours = found.exports.filter {
            $0.summary.tableArn.utf8.elementsEqual(table.tableArn.utf8)
                && $0.summary.tableId.utf8.elementsEqual(table.tableId.utf8)
        }
        guard let last = windows.last, let end = ExportTime(last.to) else {
            return Extension(exports: [], waitingFor: [], pendingGap: nil)
        }
        let incrementals = ours.filter { $0.summary.kind == .incremental }
            .sorted {
                ($0.summary.exportToTime!, $0.summary.exportFromTime!, $0.summary.exportId) < (
                    $1.summary.exportToTime!, $1.summary.exportFromTime!, $1.summary.exportId
                )
            }
        let continued = chain(after: end, lastExportId: last.exportId, incrementals: incrementals, until: nil)
        if let gap = continued.gap {
            guard !found.inProgress.isEmpty else { throw gap }
            return Extension(exports: continued.exports, waitingFor: found.inProgress, pendingGap: gap)
        }
        return Extension(exports: continued.exports, waitingFor: [], pendingGap: nil)
    }

    /// The exports of one table (a table is its ARN and its table id: a table deleted and re-created under the same
    /// name is another table). `selector`, a table name or ARN, chooses among several; without one the source must
    /// hold one table's exports, and the refusal lists each table with its exports.
    static func oneTable(_ found: DiscoveredExports, selector: String?) throws(PlanError) -> DiscoveredExports {
        let byTable = Dictionary(grouping: found.exports) { TableKey(arn: $0.summary.tableArn, id: $0.summary.tableId) }
        func listing(_ tables: [TableKey]) -> [String] {
            tables.sorted {
                ($0.arn.utf8.lexicographicallyPrecedes($1.arn.utf8))
                    || ($0.arn.utf8.elementsEqual($1.arn.utf8) && $0.id.utf8.lexicographicallyPrecedes($1.id.utf8))
            }
            .map { table in
                let exports = byTable[table]!.sorted { $0.summary.pointInTime < $1.summary.pointInTime }
                let ids = exports.map(\.summary.exportId)
                let shown =
                    ids.count > 4
                    ? ids.prefix(2).joined(separator: ", ") + ", …, " + ids.last! : ids.joined(separator: ", ")
                return
                    "\(table.arn) (table id \(table.id)): \(ids.count) export\(ids.count == 1 ? "" : "s") (\(shown)), newest ending \(exports.last!.summary.pointInTime.text)"
            }
        }
        var chosen = Array(byTable.keys)
        if let selector {
            // By bytes: a name is DynamoDB's, not Swift's canonical equivalence.
            chosen = chosen.filter {
                $0.arn.utf8.elementsEqual(selector.utf8) || $0.name.utf8.elementsEqual(selector.utf8)
            }
            guard !chosen.isEmpty else {
                throw .unknownSourceTable(
                    selector: selector,
                    location: found.location,
                    tables: listing(Array(byTable.keys))
                )
            }
        }
        guard chosen.count == 1 else { throw .severalTables(location: found.location, tables: listing(chosen)) }
        var result = found
        result.exports = byTable[chosen[0]]!
        return result
    }

    struct TableKey: Hashable {
        let arn: String
        let id: String
        var name: String { arn.range(of: ":table/").map { String(arn[$0.upperBound...]) } ?? arn }
        // Compared by bytes (Swift's String == folds canonically equivalent spellings).
        static func == (a: TableKey, b: TableKey) -> Bool {
            a.arn.utf8.elementsEqual(b.arn.utf8) && a.id.utf8.elementsEqual(b.id.utf8)
        }
        func hash(into hasher: inout Hasher) {
            hasher.combine(Array(arn.utf8))
            hasher.combine(Array(id.utf8))
        }
    }

    /// A plan window for `export` at position `index`.
    public static func window(index: Int, export: Export, sizes: [String: Int64]) -> Plan.Window {
        let files = export.files.map {
            Plan.File(key: $0.dataFileS3Key, md5Checksum: $0.md5Checksum, etag: $0.etag, itemCount: $0.itemCount)
        }
        return Plan.Window(
            index: index,
            kind: export.summary.kind,
            exportArn: export.summary.exportArn,
            exportId: export.summary.exportId,
            summaryKey: export.summaryKey,
            from: export.summary.exportFromTime?.text,
            to: export.summary.pointInTime.text,
            format: export.summary.format,
            viewType: export.summary.viewType,
            itemCount: export.summary.itemCount,
            compressedBytes: files.reduce(0) { $0 + (sizes[$1.key] ?? 0) },
            files: files,
            acceptedManifestMismatches: export.acceptedManifestMismatches.isEmpty
                ? nil : export.acceptedManifestMismatches
        )
    }

    /// The windows that continue a chain ending at `start` (after export `lastExportId`), and the gap that stops it
    /// when a later window cannot be reached. `incrementals` are sorted by window end; those ending after `until`
    /// are left out.
    static func chain(
        after start: ExportTime,
        lastExportId: String,
        incrementals: [Export],
        until: ExportTime?
    ) -> (exports: [Export], gap: PlanError?) {
        let (selected, left) = contiguous(
            after: start,
            incrementals.filter { until == nil || $0.summary.exportToTime! <= until! },
            from: { $0.summary.exportFromTime! },
            to: { $0.summary.exportToTime! }
        )
        let end = selected.last?.summary.exportToTime ?? start
        let last = selected.last?.summary.exportId ?? lastExportId
        // Windows are left only beyond a gap: name the one that starts first.
        guard
            let beyond = left.min(by: {
                ($0.summary.exportFromTime!, $0.summary.exportId) < ($1.summary.exportFromTime!, $1.summary.exportId)
            })
        else {
            return (selected, nil)
        }
        return (
            selected,
            .gap(
                after: last,
                afterEnd: end.text,
                before: beyond.summary.exportId,
                beforeStart: beyond.summary.exportFromTime!.text
            )
        )
    }

    /// The contiguity rule, for any kind of window ([from, to)): of `windows` (sorted by end), those that continue
    /// a chain ending at `start`, in order, and those left beyond a gap. Windows that end by the chain's end add
    /// nothing (repeated or contained) and are dropped; of the windows that start by the chain's end, the one that
    /// ends first comes next — every other stays reachable, so the result is decided over the whole set.
    static func contiguous<W>(
        after start: ExportTime,
        _ windows: [W],
        from: (W) -> ExportTime,
        to: (W) -> ExportTime
    ) -> (selected: [W], left: [W]) {
        var end = start
        var selected: [W] = []
        var left = windows
        while true {
            left.removeAll { to($0) <= end }
            guard let next = left.firstIndex(where: { from($0) <= end }) else { break }
            let window = left.remove(at: next)
            selected.append(window)
            end = to(window)
        }
        return (selected, left)
    }

    static func assemble(_ exports: [Export], found: DiscoveredExports, options: PlanOptions) -> Plan {
        let windows = exports.enumerated().map { index, export in
            window(index: index, export: export, sizes: found.sizes)
        }
        let first = exports[0].summary
        return Plan(
            source: options.source,
            target: options.target,
            throttle: options.throttle,
            sourceTable: Plan.SourceTable(tableArn: first.tableArn, tableId: first.tableId),
            until: options.until?.text,
            windows: windows,
            totals: Plan.Totals(
                windows: windows.count,
                items: windows.reduce(0) { $0 + $1.itemCount },
                files: windows.reduce(0) { $0 + $1.files.count },
                compressedBytes: windows.reduce(0) { $0 + $1.compressedBytes },
                start: windows[0].to,
                end: windows.last!.to
            )
        )
    }
}
