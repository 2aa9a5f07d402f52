/// A value in a shared config/credentials file: either a plain string or an indented
/// sub-section such as
///
///     s3 =
///       max_concurrent_requests = 10
public enum ConfigValue: Sendable, Hashable {
    case string(String)
    case subsection([String: String])
}

/// One `key = value` line (plus any continuation lines) and where it was written.
public struct ConfigEntry: Sendable, Hashable {
    public var value: ConfigValue
    /// 1-based line number of the `key =` line.
    public var line: Int

    public init(value: ConfigValue, line: Int) {
        self.value = value
        self.line = line
    }
}

/// One `[section]` of an INI file, with its name exactly as written between the brackets.
public struct ConfigSection: Sendable, Hashable {
    public var name: String
    /// 1-based line number of the `[section]` header.
    public var line: Int
    /// Keys are lowercased, as botocore's `configparser` does; values are kept as written.
    public var entries: [String: ConfigEntry]

    public init(name: String, line: Int, entries: [String: ConfigEntry] = [:]) {
        self.name = name
        self.line = line
        self.entries = entries
    }
}

/// A parsed INI file. `sections` keeps file order, which matters when two headers map to the
/// same profile (`[default]` and `[profile default]`): the later one wins, as in botocore.
public struct ParsedConfigFile: Sendable, Hashable {
    /// The path the text came from, used only to name the file in error messages.
    public var path: String
    public var sections: [ConfigSection]

    public init(path: String, sections: [ConfigSection] = []) {
        self.path = path
        self.sections = sections
    }

    /// Sections keyed by raw name (names are unique; duplicates are a parse error).
    public var sectionsByName: [String: ConfigSection] {
        Dictionary(sections.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last })
    }
}

/// Parses the INI dialect of `~/.aws/config` and `~/.aws/credentials`.
///
/// This is a port of the parts of Python's `configparser.RawConfigParser` that botocore relies
/// on, checked against botocore 1.43 (see the tests for the oracle cases):
/// - Full-line comments start with `#` or `;` (after optional indentation). There are **no**
///   inline comments: `region = us-east-1 # x` has the value `us-east-1 # x`, because botocore
///   does not enable `inline_comment_prefixes`.
/// - `key = value` or `key: value`, split at the first `=` or `:`. Keys are lowercased and
///   trimmed; values are trimmed. Empty values are allowed; a line with no separator is an error.
/// - A line indented deeper than its key continues that key's value. If the value's first line
///   is empty, the continuation lines are parsed as a one-level sub-section of `k = v` lines.
/// - Duplicate sections or duplicate keys within a section are errors (Python's strict mode).
/// - Lines before the first section header are errors.
/// Deliberate difference: a leading UTF-8 byte-order mark is skipped (botocore rejects it).
public enum SharedConfigParser {
    /// Parses `text`; `path` only labels errors. Errors never echo line contents, because a
    /// malformed line may be a pasted secret.
    public static func parse(_ text: String, path: String) throws(AWSConfigError) -> ParsedConfigFile {
        var sections: [ConfigSection] = []
        var pendingKey: (name: String, line: Int, indent: Int)?
        var pendingLines: [(text: String, line: Int)] = []

        func fail(_ line: Int, _ reason: String) -> AWSConfigError {
            .parse(file: path, line: line, reason: reason)
        }
        func flush() throws(AWSConfigError) {
            guard let key = pendingKey else { return }
            pendingKey = nil
            // configparser joins continuation lines with "\n" and strips trailing blank lines.
            while let last = pendingLines.last, last.text.isEmpty, pendingLines.count > 1 {
                pendingLines.removeLast()
            }
            let value: ConfigValue
            if pendingLines.count > 1, pendingLines[0].text.isEmpty {
                var nested: [String: String] = [:]
                for (text, line) in pendingLines.dropFirst() where !text.isEmpty {
                    guard let eq = text.firstIndex(of: "=") else {
                        throw fail(line, "expected \"name = value\" inside the \"\(key.name)\" sub-section")
                    }
                    nested[trim(text[..<eq])] = trim(text[text.index(after: eq)...])
                }
                value = .subsection(nested)
            } else {
                value = .string(pendingLines.map(\.text).joined(separator: "\n"))
            }
            sections[sections.count - 1].entries[key.name] = ConfigEntry(value: value, line: key.line)
            pendingLines = []
        }

        var body = Substring(text)
        if body.first == "\u{FEFF}" { body = body.dropFirst() }
        // Split on "\n" and drop a trailing "\r" ourselves: Swift treats "\r\n" as one Character,
        // so splitting on "\n" alone would miss CRLF line ends.
        let lines = body.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, scalars) in lines.enumerated() {
            let lineNumber = index + 1
            var raw = String(String.UnicodeScalarView(scalars))
            if raw.hasSuffix("\r") { raw.removeLast() }
            let trimmed = trim(raw[...])
            if trimmed.isEmpty {
                if pendingKey != nil { pendingLines.append(("", lineNumber)) }
                continue
            }
            // Comments are skipped without ending a multi-line value, as in configparser.
            if trimmed.hasPrefix("#") || trimmed.hasPrefix(";") { continue }
            let indent = raw.prefix(while: { $0 == " " || $0 == "\t" }).count
            if let key = pendingKey, indent > key.indent {
                pendingLines.append((trimmed, lineNumber))
                continue
            }
            try flush()
            if trimmed.hasPrefix("["), let close = trimmed.lastIndex(of: "]"),
                trimmed.index(after: trimmed.startIndex) < close
            {
                // Like configparser's greedy `\[(.+)\]`: the name runs to the last "]" and
                // anything after it is ignored.
                let name = String(trimmed[trimmed.index(after: trimmed.startIndex)..<close])
                if let first = sections.first(where: { $0.name == name }) {
                    throw fail(lineNumber, "section [\(name)] is already defined on line \(first.line)")
                }
                sections.append(ConfigSection(name: name, line: lineNumber))
                continue
            }
            guard let section = sections.last else {
                throw fail(lineNumber, "settings must come after a [section] header")
            }
            guard let sep = trimmed.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw fail(lineNumber, "expected \"name = value\", a [section] header, or a # comment")
            }
            let key = trim(trimmed[..<sep]).lowercased()
            guard !key.isEmpty else { throw fail(lineNumber, "setting has no name before \"\(trimmed[sep])\"") }
            if let earlier = section.entries[key] {
                throw fail(lineNumber, "\"\(key)\" is already set in [\(section.name)] on line \(earlier.line)")
            }
            pendingKey = (key, lineNumber, indent)
            pendingLines = [(trim(trimmed[trimmed.index(after: sep)...]), lineNumber)]
        }
        try flush()
        return ParsedConfigFile(path: path, sections: sections)
    }

    static func trim(_ s: Substring) -> String {
        String(s.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
