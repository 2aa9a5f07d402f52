import AWSCore
import AWSCredentials
import Foundation

/// STS `AssumeRole` (query protocol, form-encoded POST, XML answer), signed with the source credentials, cached and
/// refreshed ahead of expiry. Cross-account access: `--source-role-arn` / `--target-role-arn` and role profiles.
public enum AssumeRoleProvider {
    public struct Parameters: Sendable, Hashable {
        public var roleArn: String
        public var sessionName: String
        public var externalId: String?
        public var durationSeconds: Int?
        public init(
            roleArn: String,
            sessionName: String = "ferry-\(Int(Date().timeIntervalSince1970))",
            externalId: String? = nil,
            durationSeconds: Int? = nil
        ) {
            self.roleArn = roleArn
            self.sessionName = sessionName
            self.externalId = externalId
            self.durationSeconds = durationSeconds
        }
    }

    /// A caching provider that assumes `parameters.roleArn` through `sts` (an executor for the STS endpoint whose
    /// credentials are the source credentials).
    public static func make(_ parameters: Parameters, sts: AWSRequestExecutor) -> CachingCredentialProvider {
        CachingCredentialProvider(label: "role \(parameters.roleArn) (assumed with \(sts.credentials.label))") {
            try await assume(parameters, sts: sts)
        }
    }

    static func assume(_ parameters: Parameters, sts: AWSRequestExecutor) async throws -> Credentials {
        var form: [(String, String)] = [
            ("Action", "AssumeRole"), ("Version", "2011-06-15"),
            ("RoleArn", parameters.roleArn), ("RoleSessionName", parameters.sessionName),
        ]
        if let externalId = parameters.externalId { form.append(("ExternalId", externalId)) }
        if let duration = parameters.durationSeconds { form.append(("DurationSeconds", String(duration))) }
        let body = form.map { S3Key.percentEncodeQueryComponent($0.0) + "=" + S3Key.percentEncodeQueryComponent($0.1) }
            .joined(separator: "&")
        let response = try await sts.send(
            operation: "AssumeRole",
            method: "POST",
            path: "/",
            headers: [(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: Array(body.utf8),
            context: AWSErrorContext(
                action: "sts:AssumeRole",
                resource: parameters.roleArn,
                region: sts.endpoint.signingRegion
            )
        )
        do {
            return try STSResponseParser.parseCredentials(String(decoding: response.body, as: UTF8.self))
        } catch {
            throw AWSClientError.invalidResponse(service: .sts, operation: "AssumeRole", reason: error.description)
        }
    }
}
