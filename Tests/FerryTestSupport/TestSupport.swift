import Foundation

/// A fresh temporary directory, removed when `body` returns.
public func withTemporaryDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("ferry-test-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// The repository's `../shared` folder (fixtures from real AWS exports), when present.
public func sharedFixturesDirectory(file: StaticString = #filePath) -> String? {
    var url = URL(fileURLWithPath: "\(file)")
    for _ in 0..<8 {
        url.deleteLastPathComponent()
        let candidate = url.appendingPathComponent("../shared/fixtures").standardizedFileURL.path
        if FileManager.default.fileExists(atPath: candidate) { return candidate }
    }
    return nil
}
