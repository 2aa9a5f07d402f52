import Foundation

/// The only part of this module that touches the file system: finds and reads the two shared
/// files. Everything else works on the resulting ``SharedConfig`` value.
public enum ConfigFileLoader {
    /// Where the files are, honouring `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE`
    /// and expanding a leading `~` from `HOME`. Pure.
    public static func paths(environment: [String: String]) -> (config: String, credentials: String) {
        let config = nonEmpty(environment["AWS_CONFIG_FILE"]) ?? "~/.aws/config"
        let credentials = nonEmpty(environment["AWS_SHARED_CREDENTIALS_FILE"]) ?? "~/.aws/credentials"
        return (expandTilde(config, home: environment["HOME"]), expandTilde(credentials, home: environment["HOME"]))
    }

    /// Expands `~` and `~/…`. `~user` forms and a missing `HOME` are left alone, so the path
    /// simply will not exist rather than silently pointing somewhere else.
    public static func expandTilde(_ path: String, home: String?) -> String {
        guard let home = nonEmpty(home), path == "~" || path.hasPrefix("~/") else { return path }
        let trimmedHome = home.hasSuffix("/") ? String(home.dropLast()) : home
        return trimmedHome + path.dropFirst()
    }

    /// Reads and parses both files. A missing file is treated as empty.
    /// - Parameter readFile: returns the file's bytes or `nil` if it does not exist; injectable for tests.
    public static func load(
        environment: [String: String],
        readFile: (String) throws -> Data? = { FileManager.default.contents(atPath: $0) }
    ) throws(AWSConfigError) -> SharedConfig {
        let (configPath, credentialsPath) = paths(environment: environment)
        func text(_ path: String) throws(AWSConfigError) -> String {
            let data: Data?
            do { data = try readFile(path) } catch { throw .unreadableFile(file: path, reason: "\(error)") }
            guard let data else { return "" }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .unreadableFile(file: path, reason: "not valid UTF-8")
            }
            return text
        }
        return try SharedConfig.parse(
            configText: try text(configPath),
            configPath: configPath,
            credentialsText: try text(credentialsPath),
            credentialsPath: credentialsPath
        )
    }

    static func nonEmpty(_ s: String?) -> String? {
        guard let s, !s.isEmpty else { return nil }
        return s
    }
}
