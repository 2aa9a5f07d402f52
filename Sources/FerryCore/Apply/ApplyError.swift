import AWSClient
import AWSCore
import ExportReader
import Foundation

public enum ApplyError: Error, Sendable, Hashable, CustomStringConvertible {
    case targetNotReady(table: String, status: String)
    case keySchemaMismatch(table: String, tableKeys: String, exportKeys: String, at: String)
    case onDemandNeedsCeiling(table: String)
    case noWriteCapacity(table: String)
    case interrupted(checkpoint: String)
    case spool(path: String, reason: String)
    case transactionConflicts(table: String, rounds: Int)
    /// A broken invariant of Ferry itself (a bug): reported, never ignored.
    case internalState(String)

    public var description: String {
        switch self {
        case let .targetNotReady(table, status):
            "target table \(table) is \(status), not ACTIVE; wait for it and apply again"
        case let .keySchemaMismatch(table, tableKeys, exportKeys, at):
            "target table \(table) has the key (\(tableKeys)) but the export's records have (\(exportKeys)), e.g. at \(at); nothing was written"
        case .onDemandNeedsCeiling(let table):
            "target table \(table) is on-demand with no maximum throughput: pass --max-write-units N, the write units per second Ferry may use at 100 %"
        case .noWriteCapacity(let table): "target table \(table) reports no write capacity; check DescribeTable"
        case let .transactionConflicts(table, rounds):
            "target table \(table): a batch met TransactionConflictException \(rounds) times in a row — an application is writing these keys in transactions; stop writes to the target during the migration, then run the same command again to resume"
        case let .spool(path, reason):
            "spool directory \(path) (verified copies of the data files being applied): \(reason)"
        case .internalState(let what):
            "internal error (a bug in Ferry, please report it): \(what); the checkpoint holds what was acknowledged"
        case .interrupted(let checkpoint):
            "interrupted: the batches in flight were finished and the checkpoint saved at \(checkpoint); run the same command again to resume"
        }
    }
}
