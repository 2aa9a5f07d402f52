import AWSClient
import AWSCore
import DynamoModel
import ExportReader
import Foundation

/// A reader was told to read no further (a stop or a failure elsewhere).
struct ReadingStopped: Error {}

extension ApplyEngine {
    /// Reads one data file for the state machine: verifies it into the spool, then cuts its records into batches
    /// and announces them one at a time, reading on only when the machine has taken the last one (`demand` yields
    /// true; it ends when the machine says to stop). Records DynamoDB would refuse go to the rejects file.
    ///
    /// Nothing of the file is announced before the whole file is verified: it is first copied to the spool while its
    /// MD5, gzip integrity and item count are checked (as its inflated text when that fits the spool's text budget),
    /// and its records are then read from that copy.
    func read(
        _ file: ManifestFileEntry,
        of export: Export,
        context: ApplyContext,
        demand: AsyncStream<Bool>,
        events: AsyncStream<Machine.Event>.Continuation
    ) async throws {
        let (keyRules, localIndexes, gate, rejects) = (
            context.keyRules, context.localIndexes, context.gate, context.rejects
        )
        let name = file.dataFileS3Key
        var go = demand.makeAsyncIterator()
        let reader = ExportReader(source: source)
        let copies = context.spool.copies(for: name)
        let verified = try await reader.spool(file, to: copies.path, text: copies.text)
        defer { unlink(verified.path) }
        events.yield(.fileVerified(file: name))
        var pending: [PendingWrite] = []
        func announce(_ batch: [PendingWrite]) async throws {
            events.yield(.batchReady(file: name, keys: batch.map { KeyBytes($0.key) }, payload: batch))
            guard await go.next() == true else { throw ReadingStopped() }
        }
        _ = try await reader.readRecords(of: verified, in: export) { records in
            var rejected: Int64 = 0
            for record in records {
                // A record DynamoDB would refuse (a limit, or a key the table cannot hold) is never sent.
                if let reason = record.limitViolationReason {
                    if try await rejects.reject(record, reason: reason) { rejected += 1 }
                    continue
                }
                switch keyRules.check(keyJSON: try record.keyJSON(keyNames: keyRules.names)) {
                case .key(let key):
                    pending.append(PendingWrite(record: record, canonicalKey: key, localIndexes: localIndexes))
                case .refused(let reason):
                    if try await rejects.reject(record, reason: reason + "; DynamoDB would refuse this write") {
                        rejected += 1
                    }
                }
            }
            if rejected > 0 { events.yield(.readerRejected(file: name, count: rejected)) }
            guard pending.count >= 100 else { return }
            var batches = WriteBatcher.batches(pending, maxUnits: await gate.unitsPerBatch)
            // Keep the last, possibly partial, batch to fill with the next records.
            pending = batches.removeLast()
            for batch in batches { try await announce(batch) }
        }
        for batch in WriteBatcher.batches(pending, maxUnits: await gate.unitsPerBatch) where !batch.isEmpty {
            try await announce(batch)
        }
    }

    /// Writes one batch until every write is applied or rejected.
    ///
    /// - Throttled (the whole call refused): the controller slows down, the batch is sent again.
    /// - Unprocessed writes: sent again with capped, jittered backoff until none is left.
    /// - Refused for an item (a validation error, an LSI item collection at 10 GB: no retry can help): the batch is
    ///   split and each write sent alone; one still refused is a reject.
    /// - A transaction conflict (an application's transaction holds one of the keys, e.g. during cut-over): sent
    ///   again with the same backoff, at most `transactionConflictRounds` times in a row.
    /// - Anything else (access denied, table missing) is thrown by the target: the checkpoint keeps what was done.
    func write(_ batch: [PendingWrite], context: ApplyContext) async throws -> Machine.BatchOutcome {
        let gate = context.gate
        var outcome = Machine.BatchOutcome(written: 0)
        var toSend = batch
        var unprocessedRounds = 0
        var conflictRounds = 0
        while !toSend.isEmpty {
            let units = Double(toSend.reduce(0) { $0 + $1.units })
            let spend = try await gate.acquire(units: units)
            switch try await target.write(toSend) {
            case .written(let consumed):
                await gate.consumed(consumed, for: spend)
                outcome.written += Int64(toSend.count)
                outcome.deletes += Int64(toSend.count { $0.record.isDelete })
                outcome.writeUnits += consumed.values.reduce(0, +)
                return outcome
            case let .unprocessed(left, consumed):
                await gate.consumed(consumed, for: spend)
                outcome.written += Int64(toSend.count - left.count)
                outcome.deletes += Int64(toSend.count { $0.record.isDelete } - left.count { $0.record.isDelete })
                outcome.writeUnits += consumed.values.reduce(0, +)
                toSend = left
                unprocessedRounds += 1
                outcome.retries += 1
                try await backOff(round: unprocessedRounds)
            case .throttled(let reason):
                await gate.throttled()
                outcome.throttles += 1
                outcome.throttleReasons[reason, default: 0] += 1
            case .conflict:
                conflictRounds += 1
                guard conflictRounds <= Self.transactionConflictRounds else {
                    throw ApplyError.transactionConflicts(table: target.name, rounds: conflictRounds - 1)
                }
                outcome.retries += 1
                try await backOff(round: conflictRounds)
            case .refused(let reason):
                if toSend.count == 1 {
                    if try await context.rejects.reject(toSend[0].record, reason: reason) { outcome.rejected += 1 }
                    return outcome
                }
                for write in toSend {
                    let alone = try await self.write([write], context: context)
                    outcome.written += alone.written
                    outcome.deletes += alone.deletes
                    outcome.writeUnits += alone.writeUnits
                    outcome.rejected += alone.rejected
                    outcome.retries += alone.retries
                    outcome.throttles += alone.throttles
                    outcome.throttleReasons.merge(alone.throttleReasons, uniquingKeysWith: +)
                }
                return outcome
            }
        }
        return outcome
    }

    /// Transaction conflicts in a row on one batch before the run stops (about a minute and a half of backoff).
    static let transactionConflictRounds = 20

    /// Sleeps, on the engine's clock, a random time up to `backoffCap(round:)` (full jitter).
    func backOff(round: Int) async throws {
        try await clock.sleep(for: .seconds(random01() * Self.backoffCap(round: round)))
    }

    /// Full jitter's cap: 50 ms doubling to 5 s.
    static func backoffCap(round: Int) -> Double { min(5.0, 0.05 * pow(2, Double(min(round, 10)))) }
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
