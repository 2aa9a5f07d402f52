import Foundation

/// Where a resolved endpoint came from, in precedence order.
public enum EndpointSource: Sendable, Hashable {
    /// An explicit command-line flag such as `--source-endpoint-url`.
    case flag(String)
    /// An environment variable (`AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`).
    case environment(String)
    /// The partition's default regional endpoint.
    case partitionDefault(Partition)

    /// Whether the endpoint was configured by the user (emulator, proxy, VPC endpoint…).
    public var isCustom: Bool {
        if case .partitionDefault = self { return false }
        return true
    }
}

/// An explicit endpoint URL given on the command line, with the flag's name
/// so validation errors can point at it.
public struct EndpointFlag: Sendable, Hashable {
    public var name: String
    public var value: String
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// A fully resolved endpoint: where to connect and how to sign.
public struct ResolvedEndpoint: Sendable, Hashable {
    /// `http` or `https` (lower-cased).
    public var scheme: String
    /// Host name or IP literal (IPv6 without brackets).
    public var host: String
    /// Explicit port, `nil` for the scheme default.
    public var port: Int?
    /// Path prefix of a custom endpoint without trailing `/` (`""` for none).
    public var basePath: String
    /// Region for the SigV4 credential scope.
    public var signingRegion: String
    /// Service name for the SigV4 credential scope.
    public var signingService: String
    /// The service this endpoint is for.
    public var service: AWSService
    /// Where the endpoint came from.
    public var source: EndpointSource

    public init(
        scheme: String,
        host: String,
        port: Int?,
        basePath: String,
        signingRegion: String,
        signingService: String,
        service: AWSService,
        source: EndpointSource
    ) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.basePath = basePath
        self.signingRegion = signingRegion
        self.signingService = signingService
        self.service = service
        self.source = source
    }

    /// Value for the `Host` header: the default port is omitted, as SigV4
    /// signers and HTTP clients do.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        guard let port, port != (scheme == "https" ? 443 : 80) else { return h }
        return "\(h):\(port)"
    }

    /// `scheme://host[:port]basePath`, no trailing slash.
    public var baseURL: String { "\(scheme)://\(hostHeader)\(basePath)" }
}

/// A bad endpoint configuration. The description names the flag or
/// variable to fix.
public enum EndpointError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `source` is a flag (`--target-endpoint-url`) or variable name.
    case invalidURL(source: String, value: String, reason: String)
    /// The region is not a valid DNS label sequence.
    case invalidRegion(String)

    public var description: String {
        switch self {
        case let .invalidURL(source, value, reason):
            "\(source) is not a valid endpoint URL (\(reason)): \"\(redactingUserInfo(value))\"; expected e.g. http://localhost:8000"
        case let .invalidRegion(region):
            "\"\(Redaction.sanitizeExcerpt(region, limit: 64))\" is not a valid AWS region name (expected e.g. us-east-1)"
        }
    }
}

/// Resolves endpoints for DynamoDB, S3 and STS.
///
/// Precedence (AWS SDKs and tools reference guide, "Service-specific
/// endpoints"; botocore `configprovider.py` `EndpointResolverBuiltins`):
/// 1. explicit flag URL,
/// 2. `AWS_ENDPOINT_URL_<SERVICE>`,
/// 3. `AWS_ENDPOINT_URL`,
/// 4. the default `https://<service>.<region>.<dnsSuffix>`.
///
/// `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true` disables 2 and 3 (not 1),
/// as in botocore. Empty variables count as unset.
public struct EndpointResolver: Sendable {
    /// The process environment, passed in (never read here).
    public var environment: [String: String]

    public init(environment: [String: String]) {
        self.environment = environment
    }

    /// Resolve the endpoint of `service` in `region`.
    public func resolve(
        _ service: AWSService,
        region: String,
        flag: EndpointFlag? = nil
    ) throws(EndpointError) -> ResolvedEndpoint {
        if let flag, !flag.value.trimmingCharacters(in: .whitespaces).isEmpty {
            return try Self.parseCustom(
                flag.value,
                sourceName: flag.name,
                source: .flag(flag.name),
                service: service,
                region: region
            )
        }
        let ignore = environment["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"]?.lowercased() == "true"
        if !ignore {
            for name in [service.endpointEnvironmentVariable, "AWS_ENDPOINT_URL"] {
                if let value = environment[name], !value.trimmingCharacters(in: .whitespaces).isEmpty {
                    return try Self.parseCustom(
                        value,
                        sourceName: name,
                        source: .environment(name),
                        service: service,
                        region: region
                    )
                }
            }
        }
        // The rulesets require the region to be a valid host label
        // (`isValidHostLabel(Region, true)` in endpoint-rule-set-1.json).
        guard
            region.split(separator: ".", omittingEmptySubsequences: false)
                .allSatisfy({ isValidHostLabel($0) })
        else { throw .invalidRegion(region) }
        let partition = Partition.forRegion(region)
        // Regional endpoints for all three services, including STS (the
        // global sts.amazonaws.com is legacy) and S3 in us-east-1
        // (s3.us-east-1.amazonaws.com is valid and avoids the global redirect).
        return ResolvedEndpoint(
            scheme: "https",
            host: "\(service.endpointPrefix).\(region).\(partition.dnsSuffix)",
            port: nil,
            basePath: "",
            signingRegion: region,
            signingService: service.signingName,
            service: service,
            source: .partitionDefault(partition)
        )
    }

    static func parseCustom(
        _ raw: String,
        sourceName: String,
        source: EndpointSource,
        service: AWSService,
        region: String
    ) throws(EndpointError) -> ResolvedEndpoint {
        let value = raw.trimmingCharacters(in: .whitespaces)
        func fail(_ reason: String) -> EndpointError { .invalidURL(source: sourceName, value: value, reason: reason) }
        guard value.contains("://") else { throw fail("missing scheme http:// or https://") }
        guard let c = URLComponents(string: value) else { throw fail("unparseable URL") }
        guard let scheme = c.scheme?.lowercased() else { throw fail("missing scheme http:// or https://") }
        guard scheme == "http" || scheme == "https" else { throw fail("scheme must be http or https, not \(scheme)") }
        guard var host = c.host, !host.isEmpty else { throw fail("missing host") }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard c.user == nil, c.password == nil else { throw fail("credentials in the URL are not allowed") }
        guard c.query == nil, c.fragment == nil else { throw fail("query or fragment not allowed") }
        if let port = c.port, !(1...65535).contains(port) { throw fail("port out of range") }
        var path = c.percentEncodedPath
        while path.hasSuffix("/") { path.removeLast() }
        return ResolvedEndpoint(
            scheme: scheme,
            host: host.lowercased(),
            port: c.port,
            basePath: path,
            signingRegion: region,
            signingService: service.signingName,
            service: service,
            source: source
        )
    }
}

/// RFC 1123 host label as in botocore `VALID_HOST_LABEL_RE`: `^(?!-)[a-zA-Z\d-]{1,63}(?<!-)$`.
func isValidHostLabel(_ label: Substring) -> Bool {
    guard (1...63).contains(label.count), label.first != "-", label.last != "-" else { return false }
    return label.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
}

/// Replace `user:pass@` in a URL-ish string so errors never echo credentials.
func redactingUserInfo(_ value: String) -> String {
    let clipped = Redaction.sanitizeExcerpt(value, limit: 200)
    guard let schemeEnd = clipped.range(of: "://"),
        let at = clipped[schemeEnd.upperBound...].firstIndex(of: "@")
    else { return clipped }
    let authorityEnd = clipped[schemeEnd.upperBound...].firstIndex(of: "/") ?? clipped.endIndex
    guard at < authorityEnd else { return clipped }
    return String(clipped[..<schemeEnd.upperBound]) + "***@" + String(clipped[clipped.index(after: at)...])
}
