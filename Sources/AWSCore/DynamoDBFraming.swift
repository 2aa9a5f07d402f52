/// HTTP framing of a DynamoDB JSON 1.0 (awsJson1_0) request: always
/// `POST /`, the operation named in `X-Amz-Target`
/// (DynamoDB developer guide, "DynamoDB low-level API").
public struct DynamoDBRequestFraming: Sendable, Hashable {
    /// API version prefix of `X-Amz-Target`.
    public static let targetPrefix = "DynamoDB_20120810"
    /// Content type of awsJson1_0.
    public static let contentType = "application/x-amz-json-1.0"
    public static let method = "POST"
    public static let path = "/"

    /// Operation name, e.g. `BatchWriteItem`.
    public var operation: String

    public init(operation: String) {
        self.operation = operation
    }

    /// `DynamoDB_20120810.<Operation>`.
    public var target: String { "\(Self.targetPrefix).\(operation)" }

    /// Headers to send (and sign) besides Host, date and authorization.
    public var headers: [(name: String, value: String)] {
        [("Content-Type", Self.contentType), ("X-Amz-Target", target)]
    }
}
