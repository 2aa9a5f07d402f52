import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation

extension ApplyEngine {
    /// Streams one data file into batches and writes them, up to `batchesInFlightPerFile` at once; returns the items
    /// written (rejects excluded). Two batches that share a key are never in flight together, so a key's writes stay
    /// in order (exports hold one record per key, so in practice none wait).
    ///
    /// Nothing of the file is written before the whole file is verified: it is first copied to the spool while its
    /// MD5, gzip integrity and item count are checked, and its records are then read from that copy.
    func applyFile(_ file: ManifestFileEntry, of export: Export, run: RunState) async throws -> Int64 {
        let (keyRules, localIndexes, gate, rejects, counters) = (
            run.keyRules, run.localIndexes, run.gate, run.rejects, run.counters
        )
        var pending: [PendingWrite] = []
        let reader = ExportReader(source: source)
        let verified = try await reader.spool(file, to: run.spool.path(for: file.dataFileS3Key))
        defer { unlink(verified.path) }
        return try await withThrowingTaskGroup(of: (id: Int, written: Int64).self) { group in
            var written: Int64 = 0
            var inFlight: [Int: [KeyBytes]] = [:]
            var busy = Set<KeyBytes>()
            var nextId = 0
            func finishOne() async throws {
                guard let done = try await group.next() else { return }
                written += done.written
                for key in inFlight.removeValue(forKey: done.id) ?? [] { busy.remove(key) }
            }
            func send(_ batch: [PendingWrite]) async throws {
                let keys = batch.map { KeyBytes($0.key) }
                while !inFlight.isEmpty
                    && (inFlight.count >= batchesInFlightPerFile || keys.contains(where: busy.contains))
                {
                    try await finishOne()
                }
                if stop.isSet { throw StopRequested() }
                let id = nextId
                nextId += 1
                inFlight[id] = keys
                busy.formUnion(keys)
                group.addTask { (id, try await write(batch, gate: gate, rejects: rejects, counters: counters)) }
            }
            _ = try await reader.readRecords(of: verified, in: export) { records in
                if stop.isSet { throw StopRequested() }
                for record in records {
                    // A record DynamoDB would refuse (a limit, or a key the table cannot hold) is never sent.
                    if let reason = record.limitViolationReason {
                        try await rejects.reject(record, reason: reason)
                        continue
                    }
                    switch keyRules.check(keyJSON: try record.keyJSON(keyNames: keyRules.names)) {
                    case .key(let key):
                        pending.append(PendingWrite(record: record, canonicalKey: key, localIndexes: localIndexes))
                    case .refused(let reason):
                        try await rejects.reject(record, reason: reason + "; DynamoDB would refuse this write")
                    }
                }
                guard pending.count >= 100 else { return }
                var batches = WriteBatcher.batches(pending, maxUnits: await gate.unitsPerBatch)
                // Keep the last, possibly partial, batch to fill with the next records.
                pending = batches.removeLast()
                for batch in batches { try await send(batch) }
            }
            for batch in WriteBatcher.batches(pending, maxUnits: await gate.unitsPerBatch) where !batch.isEmpty {
                try await send(batch)
            }
            while !inFlight.isEmpty { try await finishOne() }
            return written
        }
    }

    /// Writes one batch until every write is applied or rejected. Returns the writes applied.
    ///
    /// - Throttling (the whole call refused): the controller slows down, the batch is sent again.
    /// - `UnprocessedItems`: sent again with capped, jittered backoff until none is left.
    /// - `ValidationException` and `ItemCollectionSizeLimitExceededException` (the item's LSI item collection is at
    ///   10 GB: no retry can help): the batch is split and each write sent alone; one DynamoDB still refuses is a reject.
    /// - `TransactionConflictException` (an application's transaction holds one of the keys, e.g. during cut-over):
    ///   sent again with the same backoff, at most `transactionConflictRounds` times in a row.
    /// - Anything else fatal (access denied, table missing): thrown at once; the checkpoint keeps what was done.
    func write(
        _ batch: [PendingWrite],
        gate: CapacityGate,
        rejects: RejectsWriter,
        counters: Counters
    ) async throws -> Int64 {
        var toSend = batch
        var applied: Int64 = 0
        var unprocessedRounds = 0
        var conflictRounds = 0
        while !toSend.isEmpty {
            let units = Double(toSend.reduce(0) { $0 + $1.units })
            let spend = try await gate.acquire(units: units)
            var request = BatchWriteRequestBuilder(tableName: plan.target.table)
            for write in toSend {
                if write.record.isDelete {
                    request.delete(keyJSON: write.key)
                } else {
                    request.put(itemJSON: write.record.json(write.record.newImageRange!))
                }
            }
            let output: DynamoDBClient.BatchWriteItemOutput
            do {
                output = try await dynamo.batchWriteItem(request, table: plan.target.table)
            } catch let error as AWSClientError where error.isThrottling {
                await gate.throttled()
                continue
            } catch let AWSClientError.service(error, _, _) where error.code == "TransactionConflictException" {
                conflictRounds += 1
                guard conflictRounds <= Self.transactionConflictRounds else {
                    throw ApplyError.transactionConflicts(table: plan.target.table, rounds: conflictRounds - 1)
                }
                await counters.unprocessed()
                try await backOff(round: conflictRounds)
                continue
            } catch let AWSClientError.service(error, _, _) where Self.itemRefusals.contains(error.code) {
                if toSend.count == 1 {
                    let reason =
                        error.code == "ValidationException"
                        ? error.message ?? error.code
                        : "\(error.code): \(error.message ?? "")"
                            + (error.code == "ItemCollectionSizeLimitExceededException"
                                ? " (the item collection of this partition key in a local secondary index is at DynamoDB's 10 GB limit)"
                                : "")
                    try await rejects.reject(toSend[0].record, reason: reason)
                    return applied
                }
                for write in toSend {
                    applied += try await self.write([write], gate: gate, rejects: rejects, counters: counters)
                }
                return applied
            }
            await gate.consumed(output.consumedCapacity.unitsByResource, for: spend)
            guard !output.unprocessed.isEmpty else {
                await counters.written(Int64(toSend.count))
                return applied + Int64(toSend.count)
            }
            // Match what DynamoDB left unprocessed back to our writes, by key.
            let leftKeys = Set(
                output.unprocessed.map { request -> Item in
                    switch request {
                    case .put(let item): item.projected(onto: Self.keyNames(of: toSend)) ?? item
                    case .delete(let key): key
                    }
                }
            )
            let left = toSend.filter { write in
                (try? DynamoJSONParser.item(from: String(decoding: write.key, as: UTF8.self))).map(leftKeys.contains)
                    ?? true
            }
            applied += Int64(toSend.count - left.count)
            await counters.written(Int64(toSend.count - left.count))
            toSend = left
            unprocessedRounds += 1
            await counters.unprocessed()
            try await backOff(round: unprocessedRounds)
        }
        return applied
    }

    /// Errors DynamoDB gives for one item that no retry can fix: split the batch, reject the write.
    static let itemRefusals: Set<String> = ["ValidationException", "ItemCollectionSizeLimitExceededException"]
    /// Transaction conflicts in a row on one batch before the run stops (about a minute and a half of backoff).
    static let transactionConflictRounds = 20

    /// Sleeps, on the engine's clock, a random time up to `backoffCap(round:)` (full jitter).
    func backOff(round: Int) async throws {
        try await clock.sleep(for: .seconds(random01() * Self.backoffCap(round: round)))
    }

    /// Full jitter's cap: 50 ms doubling to 5 s.
    static func backoffCap(round: Int) -> Double { min(5.0, 0.05 * pow(2, Double(min(round, 10)))) }

    static func keyNames(of writes: [PendingWrite]) -> [String] {
        guard let first = writes.first,
            let key = try? DynamoJSONParser.item(from: String(decoding: first.key, as: UTF8.self))
        else { return [] }
        return key.names
    }
}

extension Sequence<ConsumedCapacity> {
    /// Units per resource (`"table"`, its LSIs included, and each GSI by name), as the capacity controller keeps them.
    var unitsByResource: [String: Double] {
        var units: [String: Double] = [:]
        for report in self {
            // Local secondary indexes draw on the table's capacity: with INDEXES they are reported apart from `Table`.
            let local = (report.LocalSecondaryIndexes ?? [:]).values.reduce(0) { $0 + ($1.CapacityUnits ?? 0) }
            units["table", default: 0] +=
                report.Table.map { ($0.CapacityUnits ?? 0) + local } ?? report.CapacityUnits ?? 0
            for (name, index) in report.GlobalSecondaryIndexes ?? [:] {
                units[name, default: 0] += index.CapacityUnits ?? 0
            }
        }
        return units
    }
}
