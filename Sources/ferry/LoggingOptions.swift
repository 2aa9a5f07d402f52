import ArgumentParser
import Foundation
import Logging

/// `--log-level` and `--debug` (and `FERRY_LOG_LEVEL`): how much Ferry logs on stderr. Logs never go to stdout, so
/// `--json` output stays one document.
struct LoggingOptions: ParsableArguments {
    enum Level: String, CaseIterable, ExpressibleByArgument {
        case error, warn, info, debug, trace

        var swiftLog: Logger.Level {
            switch self {
            case .error: .error
            case .warn: .warning
            case .info: .info
            case .debug: .debug
            case .trace: .trace
            }
        }
    }

    @Option(
        name: .customLong("log-level"),
        help: ArgumentHelp(
            "Log detail on stderr: error, warn, info, debug (every AWS request: operation, endpoint, HTTP status, attempt, latency) or trace (also their headers, secrets redacted). Default: FERRY_LOG_LEVEL, else warn.",
            valueName: "level"
        )
    )
    var logLevel: Level?
    @Flag(name: .customLong("debug"), help: "Same as --log-level debug (as the AWS CLI spells it).")
    var debug = false

    func validate() throws { _ = try level(environment: ProcessInfo.processInfo.environment) }

    /// The flag, else `FERRY_LOG_LEVEL`, else warn; `--debug` is at least debug.
    func level(environment: [String: String]) throws -> Logger.Level {
        var level = Level.warn
        if let logLevel {
            level = logLevel
        } else if let text = environment["FERRY_LOG_LEVEL"], !text.isEmpty {
            guard let parsed = Level(rawValue: text.lowercased()) else {
                throw ValidationError(
                    "FERRY_LOG_LEVEL must be one of \(Level.allCases.map(\.rawValue).joined(separator: ", ")) (got \(text))"
                )
            }
            level = parsed
        }
        return debug ? min(level.swiftLog, .debug) : level.swiftLog
    }

    /// Sends every logger to stderr at the chosen level. Call once, first thing in a command's `run`.
    func bootstrap(environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let level = try level(environment: environment)
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
