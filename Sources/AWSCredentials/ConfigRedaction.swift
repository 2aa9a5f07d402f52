/// Keys whose values are secret. Parsed files and profiles redact them when printed, so that
/// `print(config)` or `dump(profile)` during debugging cannot leak keys.
let secretKeys: Set<String> = ["aws_secret_access_key", "aws_session_token", "aws_security_token"]

private func redacted(_ entries: [String: ConfigValue]) -> [(key: String, value: String)] {
    entries.sorted { $0.key < $1.key }.map { key, value in
        if secretKeys.contains(key) { return (key, "<redacted>") }
        switch value {
        case .string(let s): return (key, s)
        case .subsection(let d):
            return (
                key, "{" + d.sorted { $0.key < $1.key }.map { "\($0.key) = \($0.value)" }.joined(separator: ", ") + "}"
            )
        }
    }
}

extension ConfigSection: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "[\(name)] (line \(line)) "
            + redacted(entries.mapValues(\.value)).map { "\($0.key) = \($0.value)" }.joined(separator: "; ")
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [("name", name), ("line", line)]
                + redacted(entries.mapValues(\.value)).map { (Optional($0.key), $0.value as Any) },
            displayStyle: .struct
        )
    }
}

extension Profile: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        "profile \(name): "
            + redacted(settings.mapValues(\.value)).map { "\($0.key) = \($0.value)" }.joined(separator: "; ")
    }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [("name", name)]
                + redacted(settings.mapValues(\.value)).map { (Optional($0.key), $0.value as Any) },
            displayStyle: .struct
        )
    }
}
