import Foundation

/// The parts of a failed HTTP response the decoder needs.
public struct HTTPErrorResponse: Sendable {
    public var status: Int
    /// Response headers; names are matched case-insensitively.
    public var headers: [String: String]
    public var body: [UInt8]

    public init(status: Int, headers: [String: String] = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// Case-insensitive header lookup.
    public func header(_ name: String) -> String? {
        if let v = headers[name] { return v }
        let lower = name.lowercased()
        return headers.first { $0.key.lowercased() == lower }?.value
    }
}

/// Turns error responses of the three AWS protocols Ferry uses into
/// `AWSServiceError`.
///
/// - DynamoDB: awsJson1_0. Code from `X-Amzn-ErrorType`, else body
///   `__type`/`code`; message from `message` or `Message` (Smithy awsJson1_0
///   spec "Operation error serialization"; botocore `BaseJSONParser`).
/// - S3: restXml, `<Error><Code/><Message/><RequestId/></Error>`; HEAD
///   responses have no body, so the code comes from the status.
/// - STS: awsQuery, `<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/></ErrorResponse>`.
///
/// Whatever the service, a body in another format (an emulator's XML 403, a
/// proxy's HTML page) still yields an error with the status, a status-derived
/// code and a scrubbed excerpt.
public enum AWSErrorDecoder {
    /// Decode `response`. `secrets` are removed from anything kept (message,
    /// excerpt); pass the secret key and session token in use.
    public static func decode(
        service: AWSService,
        operation: String,
        response: HTTPErrorResponse,
        context: AWSErrorContext = AWSErrorContext(),
        secrets: [String] = []
    ) -> AWSServiceError {
        var error = AWSServiceError(
            service: service,
            operation: operation,
            httpStatus: response.status,
            code: statusCode(response.status),
            context: context
        )
        error.requestID = response.header("x-amzn-RequestId") ?? response.header("x-amz-request-id")
        error.extendedRequestID = response.header("x-amz-id-2")
        error.bucketRegion = response.header("x-amz-bucket-region")

        var headerCode: String?
        if service == .dynamodb, let h = response.header("X-Amzn-ErrorType") {
            headerCode = sanitizeErrorCode(h)
        }
        let body = response.body
        let firstByte = body.first { ![0x20, 0x09, 0x0A, 0x0D, 0xEF, 0xBB, 0xBF].contains($0) }

        if firstByte == UInt8(ascii: "{"), let fields = jsonErrorFields(body) {
            error.code = headerCode ?? fields.code ?? error.code
            error.message = fields.message.map { scrubMessage($0, secrets) }
            error.throttlingReasons = fields.throttlingReasons
        } else if firstByte == UInt8(ascii: "<"), let fields = xmlErrorFields(body) {
            error.code = headerCode ?? fields.code ?? error.code
            error.message = fields.message.map { scrubMessage($0, secrets) }
            error.requestID = error.requestID ?? fields.requestID
            error.bucketRegion = error.bucketRegion ?? fields.region
            // An XML error from a JSON service means something else answered.
            if service == .dynamodb {
                error.bodyExcerpt = Redaction.bodyExcerpt(body, secrets: secrets)
            }
        } else {
            error.code = headerCode ?? error.code
            if firstByte != nil { error.bodyExcerpt = Redaction.bodyExcerpt(body, secrets: secrets) }
        }
        return error
    }

    /// Smithy's sanitize rule for awsJson/restJson error codes: keep what is
    /// before the first `:` and after the last `#`:
    /// `aws.protocoltests#FooError:http://…` → `FooError`.
    public static func sanitizeErrorCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return code.trimmingCharacters(in: .whitespaces)
    }

    /// Code for a response without a usable body (S3 HEAD, bare proxies).
    public static func statusCode(_ status: Int) -> String {
        switch status {
        case 301: "PermanentRedirect"
        case 307: "TemporaryRedirect"
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 412: "PreconditionFailed"
        case 413: "RequestEntityTooLarge"
        case 429: "TooManyRequests"
        case 500: "InternalServerError"
        case 502: "BadGateway"
        case 503: "ServiceUnavailable"
        case 504: "GatewayTimeout"
        default: "HTTP\(status)"
        }
    }

    static func scrubMessage(_ message: String, _ secrets: [String]) -> String {
        Redaction.sanitizeExcerpt(Redaction.scrub(message, secrets: secrets), limit: 500)
    }

    struct Fields {
        var code: String?
        var message: String?
        var requestID: String?
        var region: String?
        var throttlingReasons: [AWSServiceError.ThrottlingReason] = []
    }

    static func jsonErrorFields(_ body: [UInt8]) -> Fields? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            return nil
        }
        let rawCode = (object["__type"] ?? object["code"] ?? object["Code"]) as? String
        let message = (object["message"] ?? object["Message"]) as? String
        // `ThrottlingReasons: [{"reason": …, "resource": arn}]` (DynamoDB, 2025); names kept short and printable.
        let reasons = (object["ThrottlingReasons"] as? [[String: Any]] ?? []).compactMap { entry in
            (entry["reason"] as? String).map {
                AWSServiceError.ThrottlingReason(
                    reason: Redaction.sanitizeExcerpt($0, limit: 100),
                    resource: (entry["resource"] as? String).map { Redaction.sanitizeExcerpt($0, limit: 300) }
                )
            }
        }
        return Fields(
            code: rawCode.map(sanitizeErrorCode).flatMap { $0.isEmpty ? nil : $0 },
            message: message,
            throttlingReasons: reasons
        )
    }

    /// S3 `<Error>` or query `<ErrorResponse><Error>`; nil if neither has a `Code`.
    static func xmlErrorFields(_ body: [UInt8]) -> Fields? {
        guard let root = try? MiniXML.parse(body) else { return nil }
        let error: MiniXMLElement
        switch root.name {
        case "Error": error = root
        case "ErrorResponse":
            guard let e = root.child("Error") else { return nil }
            error = e
        default: return nil
        }
        guard let code = error.childText("Code"), !code.isEmpty else { return nil }
        return Fields(
            code: code.trimmingCharacters(in: .whitespacesAndNewlines),
            message: error.childText("Message"),
            requestID: error.childText("RequestId") ?? root.childText("RequestId"),
            region: error.childText("Region")
        )
    }
}
