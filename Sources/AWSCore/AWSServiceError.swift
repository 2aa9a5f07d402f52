/// Caller-supplied facts that turn an AWS error code into advice.
/// Labels only: never put key material here.
public struct AWSErrorContext: Sendable, Hashable {
    /// Who made the call, e.g. `the target account (profile prod)`.
    public var principal: String?
    /// The IAM action, e.g. `dynamodb:BatchWriteItem`.
    public var action: String?
    /// The resource, e.g. a table ARN or `s3://bucket/prefix`.
    public var resource: String?
    /// DynamoDB table name, for ResourceNotFoundException.
    public var tableName: String?
    /// Region the call went to.
    public var region: String?
    /// Where the credentials came from, e.g. `environment variables`.
    public var credentialSource: String?

    public init(
        principal: String? = nil,
        action: String? = nil,
        resource: String? = nil,
        tableName: String? = nil,
        region: String? = nil,
        credentialSource: String? = nil
    ) {
        self.principal = principal
        self.action = action
        self.resource = resource
        self.tableName = tableName
        self.region = region
        self.credentialSource = credentialSource
    }
}

/// One decoded AWS error response, whatever the protocol.
///
/// Stores no headers and no raw body, only scrubbed excerpts, so neither
/// `description` nor `String(reflecting:)` can leak an `Authorization`
/// header or a secret echoed by a misbehaving endpoint.
public struct AWSServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public var service: AWSService
    public var operation: String
    public var httpStatus: Int
    /// Sanitized error code (`ResourceNotFoundException`, `NoSuchKey`, or
    /// a status-derived code such as `NotFound` when there was no body).
    public var code: String
    /// The service's message, scrubbed; `nil` if none.
    public var message: String?
    /// `x-amzn-RequestId` / `x-amz-request-id` (or the body's `RequestId`).
    public var requestID: String?
    /// S3 `x-amz-id-2`, which AWS support asks for together with the request id.
    public var extendedRequestID: String?
    /// S3 `x-amz-bucket-region` (or `<Region>`), set on redirects.
    public var bucketRegion: String?
    /// Scrubbed one-line excerpt when the body was not in the service's
    /// format (an emulator's XML, a proxy's HTML page).
    public var bodyExcerpt: String?
    /// DynamoDB's `ThrottlingReasons` on a throttling error: what throttled (`TableWriteProvisionedThroughputExceeded`,
    /// `IndexWriteKeyRangeThroughputExceeded`, …) and the table or index ARN it names. Empty when none was given.
    public var throttlingReasons: [ThrottlingReason] = []
    public var context: AWSErrorContext

    public struct ThrottlingReason: Sendable, Hashable {
        public var reason: String
        public var resource: String?

        public init(reason: String, resource: String?) {
            self.reason = reason
            self.resource = resource
        }

        /// `IndexWriteProvisionedThroughputExceeded (index by-name)`, `TableWriteProvisionedThroughputExceeded
        /// (table orders)`: the reason and the name at the end of the resource's ARN.
        public var text: String {
            guard let resource, let slash = resource.range(of: ":table/") else { return reason }
            let path = resource[slash.upperBound...].split(separator: "/")
            if path.count >= 3, path[1] == "index" { return "\(reason) (index \(path[2]))" }
            return path.first.map { "\(reason) (table \($0))" } ?? reason
        }
    }

    public init(
        service: AWSService,
        operation: String,
        httpStatus: Int,
        code: String,
        message: String? = nil,
        requestID: String? = nil,
        extendedRequestID: String? = nil,
        bucketRegion: String? = nil,
        bodyExcerpt: String? = nil,
        context: AWSErrorContext = AWSErrorContext()
    ) {
        self.service = service
        self.operation = operation
        self.httpStatus = httpStatus
        self.code = code
        self.message = message
        self.requestID = requestID
        self.extendedRequestID = extendedRequestID
        self.bucketRegion = bucketRegion
        self.bodyExcerpt = bodyExcerpt
        self.context = context
    }

    /// `"<Service> <Operation> failed: <Code> (HTTP <status>): <message>. <advice> …"`
    public var description: String {
        var head = "\(service.displayName) \(operation) failed: \(code) (HTTP \(httpStatus))"
        if let message, !message.isEmpty { head += ": " + trimmingFinalPeriod(message) }
        var parts = [head + "."]
        if let advice { parts.append(advice) }
        if let bodyExcerpt, !bodyExcerpt.isEmpty {
            parts.append(
                "The response was not a \(service.displayName) error document (is an emulator or proxy answering?); body: \"\(bodyExcerpt)\"."
            )
        }
        if let requestID { parts.append("Request ID: \(requestID).") }
        return parts.joined(separator: " ")
    }

    /// What to fix, for codes where Ferry knows better than the raw message.
    public var advice: String? {
        let source = context.credentialSource ?? "the configured credential source"
        switch code {
        case "AccessDenied", "AccessDeniedException", "Forbidden":
            let who = context.principal ?? "the caller"
            let action = context.action ?? "for this request"
            let on = context.resource.map { " on \($0)" } ?? ""
            return
                "The credentials of \(who) (from \(source)) lack permission \(action)\(on); grant it in IAM or use other credentials."
        case "ResourceNotFoundException":
            let region = context.region ?? "the configured region"
            if let table = context.tableName {
                return
                    "Table \"\(table)\" not found in region \(region); check the table name, the region and the account of the credentials."
            }
            return
                "The resource was not found in region \(region); check its name, the region and the account of the credentials."
        case "UnrecognizedClientException", "InvalidClientTokenId":
            return
                "Bad credentials: the access key from \(source) is not recognized by this endpoint; check that they are current and meant for this account, partition or emulator."
        case "SignatureDoesNotMatch", "InvalidSignatureException":
            return
                "Bad credentials: the secret access key from \(source) does not match its access key id (wrong secret), or the system clock is off."
        case "ExpiredToken", "ExpiredTokenException", "RequestExpired":
            return "The session credentials from \(source) have expired; refresh them (e.g. aws sso login) and retry."
        case "NoSuchBucket":
            return
                "The bucket\(context.resource.map { " of \($0)" } ?? "") does not exist; check the bucket name and the partition."
        case "NoSuchKey":
            return "The object\(context.resource.map { " \($0)" } ?? "") does not exist; check the export prefix."
        case "NotFound" where service == .s3:
            return "The object\(context.resource.map { " \($0)" } ?? "") does not exist; check the export prefix."
        case "AuthorizationHeaderMalformed" where bucketRegion != nil, "PermanentRedirect":
            if let bucketRegion { return "The bucket is in region \(bucketRegion); use that region for the S3 side." }
            return "The bucket is in another region; use the bucket's region for the S3 side."
        default:
            return nil
        }
    }
}

func trimmingFinalPeriod(_ s: String) -> String {
    var s = Substring(s)
    while let last = s.last, last == "." || last.isWhitespace { s = s.dropLast() }
    return String(s)
}
