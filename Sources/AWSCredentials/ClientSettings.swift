/// Non-credential client settings from the profile and environment.
public struct ClientSettings: Sendable, Hashable {
    public var maxAttempts: Int?
    /// `standard`, `adaptive` or `legacy`; passed through unvalidated for the retry layer to judge.
    public var retryMode: String?
    public var endpointURL: String?

    public init(maxAttempts: Int? = nil, retryMode: String? = nil, endpointURL: String? = nil) {
        self.maxAttempts = maxAttempts
        self.retryMode = retryMode
        self.endpointURL = endpointURL
    }

    /// Resolves settings for one service (e.g. `dynamodb`), environment first:
    /// - `AWS_MAX_ATTEMPTS` / `max_attempts`, `AWS_RETRY_MODE` / `retry_mode`
    /// - endpoint: `AWS_ENDPOINT_URL_<SERVICE>`, `AWS_ENDPOINT_URL`, the profile's
    ///   `services = NAME` → `[services NAME]` → `<service> = \n endpoint_url = …`, then the
    ///   profile's `endpoint_url`. This is how DynamoDB Local is usually configured.
    public static func resolve(
        profile: Profile?,
        config: SharedConfig,
        environment: [String: String],
        service: String
    ) throws(AWSConfigError) -> ClientSettings {
        func env(_ name: String) -> String? { ConfigFileLoader.nonEmpty(environment[name]) }
        var settings = ClientSettings()
        if let raw = env("AWS_MAX_ATTEMPTS") {
            guard let n = Int(raw) else {
                throw .parse(file: "environment", line: 0, reason: "AWS_MAX_ATTEMPTS must be a whole number")
            }
            settings.maxAttempts = n
        } else if let profile, let raw = profile.string("max_attempts") {
            guard let n = Int(raw) else {
                throw .invalidInteger(
                    profile: profile.name,
                    key: "max_attempts",
                    file: profile.file(of: "max_attempts", fallback: ""),
                    line: profile.line(of: "max_attempts")
                )
            }
            settings.maxAttempts = n
        }
        settings.retryMode = env("AWS_RETRY_MODE") ?? profile?.string("retry_mode")

        let serviceKey = String(service.lowercased().map { $0 == " " ? "_" : $0 })
        var serviceEndpoint: String?
        if let servicesName = profile?.string("services"),
            let section = config.servicesSection(named: servicesName),
            case .subsection(let values)? = section.entries[serviceKey]?.value
        {
            serviceEndpoint = ConfigFileLoader.nonEmpty(values["endpoint_url"])
        }
        settings.endpointURL =
            env("AWS_ENDPOINT_URL_" + serviceKey.uppercased()) ?? env("AWS_ENDPOINT_URL")
            ?? serviceEndpoint ?? profile?.string("endpoint_url")
        return settings
    }
}
