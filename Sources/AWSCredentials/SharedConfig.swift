/// A profile setting together with where it came from, so errors can point at the line to fix.
public struct ProfileSetting: Sendable, Hashable {
    public var value: ConfigValue
    public var file: String
    public var line: Int
}

/// One profile as seen through both files: config-file settings overlaid by credentials-file
/// settings for the same key (botocore does the same for every key, not only credential keys).
public struct Profile: Sendable, Hashable {
    public var name: String
    public var settings: [String: ProfileSetting]

    public init(name: String, settings: [String: ProfileSetting] = [:]) {
        self.name = name
        self.settings = settings
    }

    /// A non-empty string setting. Empty values and sub-sections count as absent, so that
    /// `region =` does not select a region named "".
    public func string(_ key: String) -> String? {
        guard case .string(let value)? = settings[key]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// Whether `key` is set to a non-empty string.
    public func has(_ key: String) -> Bool { string(key) != nil }

    /// The file holding `key` (or the profile's first setting, or `fallback`), for error messages.
    func file(of key: String, fallback: String) -> String {
        settings[key]?.file ?? settings.values.map(\.file).min() ?? fallback
    }

    func line(of key: String) -> Int { settings[key]?.line ?? 0 }
}

/// Both shared files, parsed. Pure value: build it from text with ``parse(configText:configPath:credentialsText:credentialsPath:)``
/// or from disk with ``ConfigFileLoader``.
public struct SharedConfig: Sendable, Hashable {
    public var configFile: ParsedConfigFile
    public var credentialsFile: ParsedConfigFile

    public init(configFile: ParsedConfigFile, credentialsFile: ParsedConfigFile) {
        self.configFile = configFile
        self.credentialsFile = credentialsFile
    }

    /// Parses both files from text. Pass `""` for a file that does not exist.
    public static func parse(
        configText: String,
        configPath: String = "~/.aws/config",
        credentialsText: String,
        credentialsPath: String = "~/.aws/credentials"
    ) throws(AWSConfigError) -> SharedConfig {
        SharedConfig(
            configFile: try SharedConfigParser.parse(configText, path: configPath),
            credentialsFile: try SharedConfigParser.parse(credentialsText, path: credentialsPath)
        )
    }

    /// Config-file sections by kind. `[default]` and `[profile NAME]` are profiles; `[NAME]`
    /// without the prefix is not (botocore ignores it in the config file).
    var configSections:
        (profiles: [String: ConfigSection], ssoSessions: [String: ConfigSection], services: [String: ConfigSection])
    {
        var profiles: [String: ConfigSection] = [:]
        var sso: [String: ConfigSection] = [:]
        var services: [String: ConfigSection] = [:]
        // File order with last-wins mirrors botocore's dict.update over the parsed sections.
        for section in configFile.sections {
            if section.name == "default" {
                profiles["default"] = section
            } else if section.name.hasPrefix("profile") {
                if let name = Self.secondWord(section.name) { profiles[name] = section }
            } else if section.name.hasPrefix("sso-session") {
                if let name = Self.secondWord(section.name) { sso[name] = section }
            } else if section.name.hasPrefix("services") {
                if let name = Self.secondWord(section.name) { services[name] = section }
            }
        }
        return (profiles, sso, services)
    }

    /// Every profile name defined in either file.
    public var profileNames: Set<String> {
        Set(configSections.profiles.keys).union(credentialsFile.sections.map(\.name))
    }

    /// The merged profile, or `nil` if neither file defines it.
    public func profile(named name: String) -> Profile? {
        let fromConfig = configSections.profiles[name]
        let fromCredentials = credentialsFile.sections.first { $0.name == name }
        guard fromConfig != nil || fromCredentials != nil else { return nil }
        var profile = Profile(name: name)
        for (file, section) in [(configFile.path, fromConfig), (credentialsFile.path, fromCredentials)] {
            for (key, entry) in section?.entries ?? [:] {
                profile.settings[key] = ProfileSetting(value: entry.value, file: file, line: entry.line)
            }
        }
        return profile
    }

    /// An `[sso-session NAME]` section of the config file.
    public func ssoSession(named name: String) -> ConfigSection? { configSections.ssoSessions[name] }

    /// A `[services NAME]` section of the config file.
    public func servicesSection(named name: String) -> ConfigSection? { configSections.services[name] }

    /// botocore splits section headers with `shlex.split` and keeps the second word only when
    /// there are exactly two, so `[profile "my app"]` names `my app` and `[profile a b]` is ignored.
    static func secondWord(_ header: String) -> String? {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escaped = false
        for ch in header {
            if escaped {
                current.append(ch)
                escaped = false
                continue
            }
            if let q = quote {
                if ch == q {
                    quote = nil
                } else if ch == "\\" && q == "\"" {
                    escaped = true
                } else {
                    current.append(ch)
                }
                continue
            }
            if ch == "\"" || ch == "'" {
                quote = ch
                inWord = true
            } else if ch == "\\" {
                escaped = true
                inWord = true
            } else if ch.isWhitespace {
                if inWord {
                    words.append(current)
                    current = ""
                    inWord = false
                }
            } else {
                current.append(ch)
                inWord = true
            }
        }
        guard quote == nil, !escaped else { return nil }  // shlex raises; botocore skips the section
        if inWord { words.append(current) }
        return words.count == 2 ? words[1] : nil
    }
}
