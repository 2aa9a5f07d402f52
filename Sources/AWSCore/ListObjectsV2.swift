/// One object of an S3 listing.
public struct S3ObjectSummary: Sendable, Hashable {
    public var key: String
    public var size: Int64
    /// ETag without the surrounding quotes (multipart ETags keep their `-N`).
    public var eTag: String?
    /// `LastModified` as sent (ISO 8601, e.g. `2024-05-01T12:00:00.000Z`);
    /// kept as text so this layer needs no date parsing.
    public var lastModified: String?

    public init(key: String, size: Int64, eTag: String? = nil, lastModified: String? = nil) {
        self.key = key
        self.size = size
        self.eTag = eTag
        self.lastModified = lastModified
    }
}

/// One page of a ListObjectsV2 response.
public struct ListObjectsV2Page: Sendable, Hashable {
    public var objects: [S3ObjectSummary]
    public var commonPrefixes: [String]
    public var isTruncated: Bool
    /// Token for the next page; present when `isTruncated`.
    public var nextContinuationToken: String?
    public var keyCount: Int?
    public var prefix: String?
}

/// A ListObjectsV2 body that could not be understood.
public struct S3ResponseParseError: Error, Sendable, Hashable, CustomStringConvertible {
    public var reason: String
    public var description: String { "unexpected S3 ListObjectsV2 response: \(reason)" }
}

/// ListObjectsV2 request building and response parsing
/// (S3 API reference, "ListObjectsV2").
public enum ListObjectsV2 {
    /// Query parameters, sorted by name (the order SigV4's canonical query
    /// string needs). `urlEncodedKeys` adds `encoding-type=url`, as botocore
    /// does by default, so keys with characters XML 1.0 cannot carry still
    /// list; `parse` decodes them.
    public static func queryItems(
        prefix: String?,
        continuationToken: String?,
        maxKeys: Int?,
        urlEncodedKeys: Bool = true
    ) -> [(name: String, value: String)] {
        var items: [(name: String, value: String)] = [("list-type", "2")]
        if let prefix { items.append(("prefix", prefix)) }
        if let continuationToken { items.append(("continuation-token", continuationToken)) }
        if let maxKeys { items.append(("max-keys", String(maxKeys))) }
        if urlEncodedKeys { items.append(("encoding-type", "url")) }
        return items.sorted { $0.name < $1.name }
    }

    /// `queryItems` as an RFC 3986-encoded query string (no leading `?`),
    /// identical to the SigV4 canonical query string.
    public static func queryString(
        prefix: String?,
        continuationToken: String?,
        maxKeys: Int?,
        urlEncodedKeys: Bool = true
    ) -> String {
        queryItems(
            prefix: prefix,
            continuationToken: continuationToken,
            maxKeys: maxKeys,
            urlEncodedKeys: urlEncodedKeys
        )
        .map { S3Key.percentEncodeQueryComponent($0.name) + "=" + S3Key.percentEncodeQueryComponent($0.value) }
        .joined(separator: "&")
    }

    /// Parse a `<ListBucketResult>` document. XML entities are decoded by
    /// the XML reader; with `<EncodingType>url</EncodingType>` keys and
    /// prefixes are additionally form-URL-decoded (botocore
    /// `handlers._decode_list_object`).
    public static func parse(_ body: [UInt8]) throws(S3ResponseParseError) -> ListObjectsV2Page {
        let root: MiniXMLElement
        do { root = try MiniXML.parse(body) } catch {
            throw S3ResponseParseError(reason: "malformed XML at byte \(error.offset): \(error.reason)")
        }
        guard root.name == "ListBucketResult" else {
            throw S3ResponseParseError(reason: "root element is <\(root.name)>, expected <ListBucketResult>")
        }
        let urlEncoded = root.childText("EncodingType")?.lowercased() == "url"
        let decode: (String) -> String = { urlEncoded ? S3Key.formURLDecode($0) : $0 }

        var objects: [S3ObjectSummary] = []
        for c in root.children("Contents") {
            guard let key = c.childText("Key") else { throw S3ResponseParseError(reason: "<Contents> without <Key>") }
            guard let sizeText = c.childText("Size"), let size = Int64(sizeText.trimmed) else {
                throw S3ResponseParseError(reason: "missing or invalid <Size> for a key")
            }
            var eTag = c.childText("ETag")?.trimmed
            if let e = eTag, e.count >= 2, e.hasPrefix("\""), e.hasSuffix("\"") {
                eTag = String(e.dropFirst().dropLast())
            }
            objects.append(
                S3ObjectSummary(
                    key: decode(key),
                    size: size,
                    eTag: eTag,
                    lastModified: c.childText("LastModified")?.trimmed
                )
            )
        }
        let truncatedText = root.childText("IsTruncated")?.trimmed.lowercased()
        guard truncatedText == nil || truncatedText == "true" || truncatedText == "false" else {
            throw S3ResponseParseError(reason: "invalid <IsTruncated>")
        }
        let isTruncated = truncatedText == "true"
        let token = root.childText("NextContinuationToken").flatMap { $0.isEmpty ? nil : $0 }
        if isTruncated && token == nil {
            // Without a token the next page cannot be requested; looping
            // from the start would never terminate.
            throw S3ResponseParseError(reason: "<IsTruncated> is true but <NextContinuationToken> is missing")
        }
        return ListObjectsV2Page(
            objects: objects,
            commonPrefixes: root.children("CommonPrefixes").compactMap { $0.childText("Prefix") }.map(decode),
            isTruncated: isTruncated,
            nextContinuationToken: token,
            keyCount: root.childText("KeyCount").flatMap { Int($0.trimmed) },
            prefix: root.childText("Prefix").map(decode)
        )
    }
}

extension String {
    var trimmed: String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
