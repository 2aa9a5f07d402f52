/// How a bucket is addressed in an S3 request.
public enum S3AddressingStyle: Sendable, Hashable {
    /// `https://<bucket>.s3.<region>.<suffix>/<key>`
    case virtualHosted
    /// `https://s3.<region>.<suffix>/<bucket>/<key>`
    case path
}

/// Host and path of one S3 request, ready for signing.
public struct S3RequestTarget: Sendable, Hashable {
    public var style: S3AddressingStyle
    /// Value of the `Host` header.
    public var hostHeader: String
    /// Percent-encoded absolute path (this is also the SigV4 canonical URI;
    /// S3 is signed without re-encoding, see `S3Key.percentEncode`).
    public var path: String
    /// `scheme://host[:port]path` (no query).
    public var url: String
}

/// Bucket-name rules and key encoding for S3 URLs.
public enum S3Addressing {
    /// Whether `bucket` can be a DNS label of a virtual-hosted HTTPS endpoint.
    ///
    /// botocore `aws_is_virtual_hostable_s3_bucket` with `allow_subdomains`
    /// false (the S3 ruleset's choice for https): 3–63 chars, lower-case, a
    /// valid host label (letters, digits, `-`, not starting/ending with `-`),
    /// no dots (a dotted bucket breaks the `*.s3…` wildcard certificate), not
    /// an IPv4 address (implied by "no dots").
    public static func isVirtualHostable(bucket: String) -> Bool {
        guard (3...63).contains(bucket.count), bucket.lowercased() == bucket else { return false }
        return isValidHostLabel(Substring(bucket))
    }

    /// The request target for `key` in `bucket` (`key` may be `""` for
    /// bucket-level requests such as ListObjectsV2).
    ///
    /// Custom endpoints (flag or environment) are always path-style:
    /// emulators (LocalStack, MinIO) and proxies rarely have wildcard DNS.
    public static func target(bucket: String, key: String, endpoint: ResolvedEndpoint) -> S3RequestTarget {
        let encodedKey = S3Key.percentEncode(key)
        let style: S3AddressingStyle =
            !endpoint.source.isCustom && isVirtualHostable(bucket: bucket) ? .virtualHosted : .path
        let host: String
        let path: String
        switch style {
        case .virtualHosted:
            host = bucket + "." + endpoint.hostHeader
            path = endpoint.basePath + "/" + encodedKey
        case .path:
            host = endpoint.hostHeader
            // botocore: bucket-level path-style requests have no trailing slash.
            path =
                endpoint.basePath + "/" + S3Key.percentEncode(bucket)
                + (key.isEmpty ? "" : "/" + encodedKey)
        }
        return S3RequestTarget(
            style: style,
            hostHeader: host,
            path: path,
            url: "\(endpoint.scheme)://\(host)\(path)"
        )
    }
}

/// Percent-encoding of S3 object keys.
public enum S3Key {
    /// Encode `key` for a URL path: RFC 3986 unreserved characters
    /// (`A–Z a–z 0–9 - . _ ~`) and `/` are kept, every other UTF-8 byte
    /// becomes `%XX` (upper-case hex). This is also the SigV4 canonical URI
    /// for S3, which is *not* double-encoded (SigV4 docs: "Each path segment
    /// must be URI-encoded twice … except for Amazon S3").
    public static func percentEncode(_ key: String) -> String {
        percentEncode(key, keepingSlash: true)
    }

    /// RFC 3986 encoding for a query component (`/` encoded too).
    public static func percentEncodeQueryComponent(_ value: String) -> String {
        percentEncode(value, keepingSlash: false)
    }

    static func percentEncode(_ value: String, keepingSlash: Bool) -> String {
        let hex: [UInt8] = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where keepingSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decode `application/x-www-form-urlencoded` text (`+` is a space), as
    /// botocore's `unquote_plus` does for `EncodingType=url` listings.
    /// Invalid escapes are kept literally.
    public static func formURLDecode(_ value: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(value.utf8)
        var i = 0
        while i < bytes.count {
            let b = bytes[i]
            if b == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
                i += 1
            } else if b == UInt8(ascii: "%"), i + 2 < bytes.count,
                let hi = hexValue(bytes[i + 1]), let lo = hexValue(bytes[i + 2])
            {
                out.append(hi << 4 | lo)
                i += 3
            } else {
                out.append(b)
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
