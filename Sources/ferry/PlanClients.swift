import AWSClient
import ExportReader
import FerryCore
import Foundation

/// The source and target clients a plan runs with: the plan's recorded region/profile/role/endpoint for each side,
/// overridden by the command line's options.
struct PlanClients {
    var source: any ExportSource
    var dynamo: DynamoDBClient
    /// The target side's settings as resolved (the plan's, overridden by the command line).
    var targetSide: AWSSideOptions

    init(
        plan: Plan,
        sourceAWS: SourceAWSOptions,
        targetAWS: TargetAWSOptions,
        transport: any HTTPTransport,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws {
        switch try SourceLocation(plan.source.location) {
        case .directory(let path):
            source = LocalDirectorySource(root: path)
        case .s3(let bucket, _):
            let side = sourceAWS.side.filled(
                region: plan.source.region,
                profile: plan.source.profile,
                roleArn: plan.source.roleArn,
                endpointURL: plan.source.endpointUrl
            )
            let session = try AWSSession.make(side, environment: environment, transport: transport)
            source = S3ExportSource(s3: S3Client(executor: try session.executor(.s3)), bucket: bucket)
        }
        // An option given now wins over the plan's, and says so; the target's ARN pin still decides (TargetPin).
        for (flag, given, planned) in [
            ("--target-region", targetAWS.side.region, plan.target.region),
            ("--target-profile", targetAWS.side.profile, plan.target.profile),
            ("--target-role-arn", targetAWS.side.roleArn, plan.target.roleArn),
            ("--target-endpoint-url", targetAWS.side.endpointURL, plan.target.endpointUrl),
        ] {
            if let given, let planned, given != planned {
                printError("notice: \(flag) \(given) overrides the plan's \(planned)")
            }
        }
        let side = targetAWS.side.filled(
            region: plan.target.region,
            profile: plan.target.profile,
            roleArn: plan.target.roleArn,
            endpointURL: plan.target.endpointUrl
        )
        let session = try AWSSession.make(side, environment: environment, transport: transport)
        dynamo = DynamoDBClient(executor: try session.executor(.dynamodb))
        targetSide = side
    }
}
