import AWSClient
import AWSCore
import AWSCredentials
import ArgumentParser
import ExportReader
import FerryCore
import Foundation

/// Maps errors to the documented exit codes (only the executable does this) and prints them on stderr.
func runReportingErrors(_ body: () async throws -> Void) async throws {
    try await runReportingErrorsReturning(body)
}

func runReportingErrorsReturning<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as ExitCode {
        throw error
    } catch let error as ValidationError {
        throw error
    } catch {
        printError("error: \(error)")
        if case ApplyError.interrupted = error { throw ExitCode(5) }
        switch error {
        case ShardError.claimedByAnother, ShardError.claimLost: throw ExitCode(8)
        case is ShardError: throw ExitCode(3)
        default: break
        }
        switch error {
        case is PlanError, is ExportReaderError, is SourceLocationError, is CheckpointError, is ExportChainError,
            is MigrateError:
            throw ExitCode(3)
        case is AWSClientError, is AWSServiceError, is AWSConfigError, is EndpointError, is ApplyError,
            is ExportDestinationError:
            throw ExitCode(4)
        case DiffError.workDirectory, DiffError.unreadableItem: throw ExitCode(7)
        case is DiffError: throw ExitCode(4)
        default: throw ExitCode(70)
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
