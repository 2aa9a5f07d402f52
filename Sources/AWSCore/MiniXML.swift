/// A minimal, non-validating XML reader for AWS responses.
///
/// Why not `FoundationXML.XMLParser`: on Linux it drags in libxml2, which
/// complicates static linking of the `ferry` binary, and AWS error and
/// listing documents only need elements, text, entities, CDATA and comments.
/// Namespaces are ignored (prefixes stripped), attributes are skipped, DTDs
/// are not supported (AWS never sends them; their absence also rules out
/// entity-expansion attacks).
struct MiniXMLElement: Sendable, Equatable {
    var name: String
    var children: [MiniXMLElement] = []
    var text: String = ""

    /// First direct child named `name`.
    func child(_ name: String) -> MiniXMLElement? { children.first { $0.name == name } }
    /// All direct children named `name`.
    func children(_ name: String) -> [MiniXMLElement] { children.filter { $0.name == name } }
    /// Text of the first direct child named `name`.
    func childText(_ name: String) -> String? { child(name)?.text }
}

struct XMLSyntaxError: Error, Sendable, Equatable {
    var offset: Int
    var reason: String
}

enum MiniXML {
    /// Parse a document and return its root element.
    static func parse(_ bytes: [UInt8]) throws(XMLSyntaxError) -> MiniXMLElement {
        var p = Reader(bytes: bytes)
        return try p.document()
    }

    struct Reader {
        let bytes: [UInt8]
        var i = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
            // Skip a UTF-8 byte-order mark.
            if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { i = 3 }
        }

        func fail(_ reason: String) -> XMLSyntaxError { XMLSyntaxError(offset: i, reason: reason) }

        func at(_ s: String) -> Bool { bytes[i...].starts(with: s.utf8) }

        mutating func skip(past terminator: String) throws(XMLSyntaxError) {
            let t = Array(terminator.utf8)
            while i < bytes.count {
                if bytes[i...].starts(with: t) {
                    i += t.count
                    return
                }
                i += 1
            }
            throw fail("unterminated construct, expected \(terminator)")
        }

        mutating func skipWhitespace() {
            while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
        }

        /// Skip whitespace, `<?…?>` and comments between top-level nodes.
        mutating func skipMisc() throws(XMLSyntaxError) {
            while true {
                skipWhitespace()
                if at("<?") {
                    try skip(past: "?>")
                } else if at("<!--") {
                    try skip(past: "-->")
                } else if at("<!DOCTYPE") || at("<!doctype") {
                    throw fail("DTDs are not supported")
                } else {
                    return
                }
            }
        }

        mutating func document() throws(XMLSyntaxError) -> MiniXMLElement {
            try skipMisc()
            guard i < bytes.count, bytes[i] == UInt8(ascii: "<") else { throw fail("expected root element") }
            let root = try element()
            try skipMisc()
            guard i == bytes.count else { throw fail("content after root element") }
            return root
        }

        mutating func name() throws(XMLSyntaxError) -> String {
            let start = i
            while i < bytes.count, !isNameTerminator(bytes[i]) { i += 1 }
            guard i > start else { throw fail("expected a name") }
            let full = String(decoding: bytes[start..<i], as: UTF8.self)
            // Strip a namespace prefix: `s3:Key` → `Key`.
            if let colon = full.lastIndex(of: ":") { return String(full[full.index(after: colon)...]) }
            return full
        }

        func isNameTerminator(_ b: UInt8) -> Bool {
            [0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(b)
        }

        /// Parses `<name attrs…>content</name>` or `<name …/>` at `i`.
        mutating func element() throws(XMLSyntaxError) -> MiniXMLElement {
            i += 1  // "<"
            var element = MiniXMLElement(name: try name())
            // Skip attributes, honouring quotes (a `>` may appear inside one).
            var quote: UInt8? = nil
            while i < bytes.count {
                let b = bytes[i]
                if let q = quote {
                    if b == q { quote = nil }
                } else if b == UInt8(ascii: "\"") || b == UInt8(ascii: "'") {
                    quote = b
                } else if b == UInt8(ascii: ">") {
                    break
                } else if b == UInt8(ascii: "/"), i + 1 < bytes.count, bytes[i + 1] == UInt8(ascii: ">") {
                    i += 2
                    return element
                }
                i += 1
            }
            guard i < bytes.count else { throw fail("unterminated start tag <\(element.name)>") }
            i += 1  // ">"
            var text: [UInt8] = []
            while true {
                guard i < bytes.count else { throw fail("missing </\(element.name)>") }
                if at("</") {
                    i += 2
                    let closing = try name()
                    skipWhitespace()
                    guard closing == element.name, i < bytes.count, bytes[i] == UInt8(ascii: ">") else {
                        throw fail("mismatched </\(closing)>, expected </\(element.name)>")
                    }
                    i += 1
                    element.text = String(decoding: text, as: UTF8.self)
                    return element
                } else if at("<!--") {
                    try skip(past: "-->")
                } else if at("<![CDATA[") {
                    i += 9
                    let start = i
                    try skip(past: "]]>")
                    text += bytes[start..<(i - 3)]
                } else if at("<?") {
                    try skip(past: "?>")
                } else if bytes[i] == UInt8(ascii: "<") {
                    element.children.append(try self.element())
                } else if bytes[i] == UInt8(ascii: "&") {
                    text += try entity()
                } else {
                    text.append(bytes[i])
                    i += 1
                }
            }
        }

        /// Decodes `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#NN;`, `&#xHH;`.
        mutating func entity() throws(XMLSyntaxError) -> [UInt8] {
            let start = i
            guard let semi = bytes[i...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                throw fail("unterminated entity")
            }
            let body = String(decoding: bytes[(start + 1)..<semi], as: UTF8.self)
            i = semi + 1
            switch body {
            case "amp": return Array("&".utf8)
            case "lt": return Array("<".utf8)
            case "gt": return Array(">".utf8)
            case "quot": return Array("\"".utf8)
            case "apos": return Array("'".utf8)
            default:
                var scalarValue: UInt32?
                if body.hasPrefix("#x") || body.hasPrefix("#X") {
                    scalarValue = UInt32(body.dropFirst(2), radix: 16)
                } else if body.hasPrefix("#") {
                    scalarValue = UInt32(body.dropFirst(), radix: 10)
                }
                guard let v = scalarValue, let scalar = Unicode.Scalar(v) else {
                    i = start
                    throw fail("unknown entity &\(body);")
                }
                return Array(String(Character(scalar)).utf8)
            }
        }
    }
}
