import AWSClient
import AWSCore
import AWSCredentials
import Foundation

/// One side's AWS settings (source or target), resolved like the AWS CLI: flags, then the environment, then the
/// shared config files.
public struct AWSSideOptions: Sendable, Hashable {
    public var region: String?
    public var profile: String?
    public var roleArn: String?
    public var endpointURL: String?
    /// The flag prefix for messages: `source` or `target`.
    public var side: String

    /// These options, with what the plan recorded filling the ones the command line left out.
    public func filled(region: String?, profile: String?, roleArn: String?, endpointURL: String?) -> AWSSideOptions {
        AWSSideOptions(
            side: side,
            region: self.region ?? region,
            profile: self.profile ?? profile,
            roleArn: self.roleArn ?? roleArn,
            endpointURL: self.endpointURL ?? endpointURL
        )
    }

    public init(
        side: String,
        region: String? = nil,
        profile: String? = nil,
        roleArn: String? = nil,
        endpointURL: String? = nil
    ) {
        self.side = side
        self.region = region
        self.profile = profile
        self.roleArn = roleArn
        self.endpointURL = endpointURL
    }
}

/// Credentials, region and endpoints for one side, ready to build clients.
public struct AWSSession: Sendable {
    public let credentials: any CredentialProvider
    public let region: String
    public let environment: [String: String]
    public let endpointFlag: EndpointFlag?
    public let transport: any HTTPTransport

    public static func make(
        _ options: AWSSideOptions,
        environment: [String: String],
        transport: any HTTPTransport
    ) throws -> AWSSession {
        let config = try ConfigFileLoader.load(environment: environment)
        var flags = CommandLineOptions(profile: options.profile, roleArn: options.roleArn, region: options.region)
        flags.profileFlag = "--\(options.side)-profile"
        guard
            let region = CredentialChain.resolveRegion(options: flags, environment: environment, config: config)?.region
        else {
            throw AWSClientError.credentials(
                source: "\(options.side) region",
                reason: "no region: pass --\(options.side)-region or set AWS_REGION"
            )
        }
        let endpointFlag = options.endpointURL.map { EndpointFlag(name: "--\(options.side)-endpoint-url", value: $0) }
        let resolution = try CredentialChain.resolve(options: flags, environment: environment, config: config)
        let factory = CredentialProviderFactory(
            transport: transport,
            environment: environment,
            region: region,
            stsEndpointFlag: endpointFlag
        )
        return AWSSession(
            credentials: try factory.provider(for: resolution.plan),
            region: region,
            environment: environment,
            endpointFlag: endpointFlag,
            transport: transport
        )
    }

    public func executor(_ service: AWSService) throws -> AWSRequestExecutor {
        let endpoint = try EndpointResolver(environment: environment).resolve(
            service,
            region: region,
            flag: endpointFlag
        )
        return AWSRequestExecutor(transport: transport, credentials: credentials, endpoint: endpoint)
    }
}
