/// Byte-level encodings used by SigV4, done by hand on UTF-8 bytes so that the
/// result does not depend on Foundation's URL classes (whose percent-encoding
/// rules differ between platforms and from RFC 3986's unreserved set).
public enum SigV4Encoding {
    /// RFC 3986 percent-encoding as SigV4 wants it: every byte of the UTF-8
    /// form except the unreserved `A-Z a-z 0-9 - . _ ~` becomes `%XX`
    /// (upper-case hex). With `keepingSlash`, `/` is kept too (for paths).
    public static func percentEncode(_ text: String, keepingSlash: Bool = false) -> String {
        let utf8 = text.utf8
        // Fast path: most names, values and paths need no encoding at all.
        if utf8.allSatisfy({ isUnreserved($0) || (keepingSlash && $0 == slash) }) { return text }
        var out: [UInt8] = []
        out.reserveCapacity(utf8.count * 3)
        for byte in utf8 {
            if isUnreserved(byte) || (keepingSlash && byte == slash) {
                out.append(byte)
            } else {
                out.append(percent)
                out.append(upperHex[Int(byte >> 4)])
                out.append(upperHex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Turns a raw path (e.g. `/` + an S3 object key) into the percent-encoded
    /// path to put in the URL and in ``SigningRequest/path``. Every segment is
    /// encoded; `/` separators, including doubled ones, are kept as they are.
    public static func encodePath(_ rawPath: String) -> String {
        percentEncode(rawPath, keepingSlash: true)
    }

    /// The canonical query string: names and values percent-encoded, pairs
    /// sorted by encoded name then encoded value (byte order), joined as
    /// `name=value` with `&`; an empty value gives `name=`. The result is also
    /// a correct query string to send.
    public static func canonicalQueryString(_ items: [(name: String, value: String)]) -> String {
        let encoded = items.map { (name: percentEncode($0.name), value: percentEncode($0.value)) }
        let sorted = encoded.sorted { lhs, rhs in
            if lhs.name != rhs.name { return lhs.name.utf8.lexicographicallyPrecedes(rhs.name.utf8) }
            return lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
        }
        return sorted.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    /// Removes `.` and `..` segments (RFC 3986 §5.2.4) and empty segments
    /// (`//`), as AWS does for every service except S3. Like botocore, a
    /// trailing `/` is kept when something remains, and `""` becomes `/`.
    public static func normalizePath(_ path: String) -> String {
        if path.isEmpty { return "/" }
        var segments: [Substring] = []
        for segment in path.split(separator: "/", omittingEmptySubsequences: true) {
            if segment == "." { continue }
            if segment == ".." {
                if !segments.isEmpty { segments.removeLast() }
                continue
            }
            segments.append(segment)
        }
        let lead = path.hasPrefix("/") ? "/" : ""
        let trail = path.hasSuffix("/") && !segments.isEmpty ? "/" : ""
        return lead + segments.joined(separator: "/") + trail
    }

    /// The canonical form of a header value: leading and trailing whitespace
    /// removed and each inner run of whitespace (spaces, tabs, line breaks of
    /// an obs-folded value) replaced by one space, as botocore's
    /// `' '.join(value.split())` does.
    public static func trimHeaderValue(_ value: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        var pendingSpace = false
        for byte in value.utf8 {
            if isWhitespace(byte) {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(space) }
                pendingSpace = false
                out.append(byte)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Lowercase hex of `bytes`.
    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(lowerHex[Int(byte >> 4)])
            out.append(lowerHex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// ASCII-only lower-casing: header names are ASCII tokens, and Unicode
    /// case mapping could change the byte length or mangle odd input.
    static func asciiLowercased(_ text: String) -> String {
        if !text.utf8.contains(where: { $0 >= 0x41 && $0 <= 0x5A }) { return text }
        return String(decoding: text.utf8.map { ($0 >= 0x41 && $0 <= 0x5A) ? $0 + 0x20 : $0 }, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x41...0x5A, 0x61...0x7A, 0x30...0x39: true  // A-Z a-z 0-9
        case 0x2D, 0x2E, 0x5F, 0x7E: true  // - . _ ~
        default: false
        }
    }

    private static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == space || (byte >= 0x09 && byte <= 0x0D)  // \t \n \v \f \r
    }

    private static let slash = UInt8(ascii: "/")
    private static let percent = UInt8(ascii: "%")
    private static let space = UInt8(ascii: " ")
    private static let upperHex: [UInt8] = Array("0123456789ABCDEF".utf8)
    private static let lowerHex: [UInt8] = Array("0123456789abcdef".utf8)
}
