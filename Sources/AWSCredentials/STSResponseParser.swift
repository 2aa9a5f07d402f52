/// An STS `<ErrorResponse>`.
public struct STSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// `Sender` (our fault) or `Receiver` (theirs).
    public var type: String?
    public var code: String
    public var message: String?
    public var requestId: String?

    public init(type: String?, code: String, message: String?, requestId: String?) {
        self.type = type
        self.code = code
        self.message = message
        self.requestId = requestId
    }

    public var description: String {
        var text = "STS \(code)"
        if let message { text += ": \(message)" }
        if let requestId { text += " (request id \(requestId))" }
        return text
    }
}

/// Why an STS success response could not be used.
public enum STSResponseParseError: Error, Sendable, Hashable, CustomStringConvertible {
    case missingElement(String)
    case invalidExpiration(String)

    public var description: String {
        switch self {
        case .missingElement(let e): return "STS response has no <\(e)> element"
        case .invalidExpiration(let v): return "STS response has an unparseable <Expiration> \"\(v)\""
        }
    }
}

/// Parses STS Query-protocol XML (AssumeRole, AssumeRoleWithWebIdentity, GetSessionToken).
///
/// A tiny tolerant extractor rather than `XMLParser`: these responses are flat, machine
/// generated, and we need five leaf elements; `FoundationXML` would add a libxml2 dependency
/// on Linux for no gain.
public enum STSResponseParser {
    /// The `<Credentials>` block of any STS credentials response. Values are whitespace-trimmed
    /// (STS has been seen to wrap long session tokens).
    public static func parseCredentials(_ xml: String) throws(STSResponseParseError) -> Credentials {
        guard let block = XMLExtractor.element("Credentials", in: xml[...]) else {
            throw .missingElement("Credentials")
        }
        func leaf(_ name: String) throws(STSResponseParseError) -> String {
            guard let v = XMLExtractor.text(name, in: block), !v.isEmpty else { throw .missingElement(name) }
            return v
        }
        let id = try leaf("AccessKeyId")
        let secret = try leaf("SecretAccessKey")
        let token = try leaf("SessionToken")
        let rawExpiration = try leaf("Expiration")
        guard let expiration = ISO8601.parse(rawExpiration) else { throw .invalidExpiration(rawExpiration) }
        // AssumedRoleUser/Arn is arn:aws:sts::ACCOUNT:assumed-role/…; the account is field 5.
        let arn = XMLExtractor.element("AssumedRoleUser", in: xml[...]).flatMap { XMLExtractor.text("Arn", in: $0) }
        let account = arn.flatMap { a -> String? in
            let fields = a.split(separator: ":", omittingEmptySubsequences: false)
            return fields.count > 4 && !fields[4].isEmpty ? String(fields[4]) : nil
        }
        return Credentials(
            accessKeyId: id,
            secretAccessKey: secret,
            sessionToken: token,
            expiration: expiration,
            accountId: account
        )
    }

    /// The error in an `<ErrorResponse>`, or `nil` if `xml` is not one.
    public static func parseError(_ xml: String) -> STSError? {
        guard let error = XMLExtractor.element("Error", in: xml[...]),
            let code = XMLExtractor.text("Code", in: error), !code.isEmpty
        else { return nil }
        return STSError(
            type: XMLExtractor.text("Type", in: error),
            code: code,
            message: XMLExtractor.text("Message", in: error),
            requestId: XMLExtractor.text("RequestId", in: xml[...])
        )
    }
}

/// Finds the first `<name …>…</name>` and returns its inner text. Handles attributes (such as
/// `xmlns`), self-closing `<name/>`, the five predefined entities and numeric character
/// references. It does not handle nesting of same-named elements, CDATA or comments, none of
/// which STS emits.
enum XMLExtractor {
    static func element(_ name: String, in xml: Substring) -> Substring? {
        var search = xml.startIndex
        while let open = xml[search...].firstRange(of: "<" + name) {
            var i = open.upperBound
            guard i < xml.endIndex else { return nil }
            let next = xml[i]
            // Make sure "<Error" did not match "<ErrorResponse".
            guard next == ">" || next == "/" || next.isWhitespace else {
                search = i
                continue
            }
            guard let gt = xml[i...].firstIndex(of: ">") else { return nil }
            if xml[xml.index(before: gt)] == "/" { return xml[gt..<gt] }
            i = xml.index(after: gt)
            guard let close = xml[i...].firstRange(of: "</" + name + ">") else { return nil }
            return xml[i..<close.lowerBound]
        }
        return nil
    }

    static func text(_ name: String, in xml: Substring) -> String? {
        element(name, in: xml).map { decode(SharedConfigParser.trim($0)) }
    }

    static func decode(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = s[...]
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            guard let semi = rest[amp...].firstIndex(of: ";") else { break }
            let entity = rest[rest.index(after: amp)..<semi]
            let named = ["amp": "&", "lt": "<", "gt": ">", "quot": "\"", "apos": "'"]
            if let r = named[String(entity)] {
                out += r
            } else if entity.hasPrefix("#"), let scalar = numericScalar(entity.dropFirst()) {
                out.unicodeScalars.append(scalar)
            } else {
                out += rest[amp...semi]
            }
            rest = rest[rest.index(after: semi)...]
        }
        return out + rest
    }

    private static func numericScalar(_ s: Substring) -> Unicode.Scalar? {
        let value = s.hasPrefix("x") || s.hasPrefix("X") ? UInt32(s.dropFirst(), radix: 16) : UInt32(s)
        return value.flatMap(Unicode.Scalar.init)
    }
}
