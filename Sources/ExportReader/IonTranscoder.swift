import DynamoModel

/// Reads one line of a DynamoDB ION export and writes the same record as DynamoDB JSON, so that everything after
/// it — the scanner, records, writers — handles one format.
///
/// The Ion text subset DynamoDB writes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/S3DataExport.Output.html):
/// the `$ion_1_0` version marker; structs whose field names are identifiers, quoted symbols (`'a-b'`) or strings;
/// strings with Ion's escapes and `'''long'''` strings; decimals (`103.`, `6d2`, `1.5`, `-1d-5`, `1.5D3`), ints
/// (decimal, hex, binary, with underscores) and floats, all converted to exact DynamoDB `N` text without floating
/// point; `true`/`false`; `null` and typed nulls (`null.string`) as NULL; blobs `{{base64}}`; lists; the set
/// annotations `$dynamodb_SS::`, `$dynamodb_NS::`, `$dynamodb_BS::`; comments. Anything else is refused with its
/// column, not guessed.
///
/// Assumption, stated because no real ION incremental export was found: incremental lines have the JSON shape
/// (`Metadata`, `Keys`, `NewImage`, `OldImage`), and `WriteTimestampMicros` is an Ion int, a string, or a
/// DynamoDB-typed struct `{N:"…"}`.
struct IonTranscoder {
    struct Failure: Error, Equatable {
        var offset: Int
        var reason: String
        var column: Int { offset + 1 }
    }

    var b = UnsafeBufferPointer<UInt8>(start: nil, count: 0)
    var i = 0
    var out = ByteWriter()

    // Stack protection only: the DynamoDB JSON scanner after the transcoder enforces DynamoDB's 32 levels.
    static let maxDepth = DynamoLimits.structuralNestingLimit + 2
    static let recordFields = ["Item", "Keys", "NewImage", "OldImage", "Metadata"]

    /// Transcodes `line`, appending the JSON record to `out`; on failure `out` is left as it was.
    mutating func transcode(_ line: UnsafeBufferPointer<UInt8>, kind: ExportKind) throws(Failure) {
        b = line
        i = 0
        let outStart = out.count
        out.reserve(line.count * 2 + 64)
        do { try record(kind: kind) } catch {
            out.count = outStart
            throw error
        }
    }

    private mutating func record(kind: ExportKind) throws(Failure) {
        try skipSpaceAndComments()
        if matchWord("$ion_1_0") { try skipSpaceAndComments() }
        try expect(UInt8(ascii: "{"), "'{' opening a record")
        out.put(UInt8(ascii: "{"))
        var first = true
        try skipSpaceAndComments()
        if peek() == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                let nameOffset = i
                let name = try fieldName()
                try expect(UInt8(ascii: ":"), "':' after a field name")
                if !first { out.put(UInt8(ascii: ",")) }
                first = false
                // Record fields by bytes: `String ==` would take "\u{212A}eys" (KELVIN SIGN) for "Keys".
                let field = Self.recordFields.first { $0.bytewiseEquals(name) } ?? ""
                switch (kind, field) {
                case (.full, "Item"), (.incremental, "Keys"), (.incremental, "NewImage"), (.incremental, "OldImage"):
                    out.put("\"" + name + "\"")
                    out.put(UInt8(ascii: ":"))
                    try skipSpaceAndComments()
                    try item(depth: 0)
                case (.incremental, "Metadata"):
                    out.put("\"" + name + "\"")
                    out.put(UInt8(ascii: ":"))
                    try metadata()
                default:
                    throw Failure(
                        offset: nameOffset,
                        reason:
                            "unknown field \"\(name)\" in an ION \(kind == .full ? "FULL" : "INCREMENTAL") export line"
                    )
                }
                try skipSpaceAndComments()
                if peek() == UInt8(ascii: ",") {
                    i += 1
                    try skipSpaceAndComments()
                    if peek() == UInt8(ascii: "}") {
                        i += 1
                        break
                    }  // Ion allows a trailing comma
                    continue
                }
                try expect(UInt8(ascii: "}"), "',' or '}'")
                break
            }
        }
        out.put(UInt8(ascii: "}"))
        try skipSpaceAndComments()
        guard i == b.count else { throw Failure(offset: i, reason: "unexpected data after the record") }
    }

    // MARK: Structure

    /// An Ion struct as a DynamoDB item: `{name:value,…}` → `{"name":{"T":…},…}`.
    private mutating func item(depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else {
            throw Failure(offset: i, reason: "nested more than \(Self.maxDepth) levels deep")
        }
        try expect(UInt8(ascii: "{"), "'{' opening a struct")
        out.put(UInt8(ascii: "{"))
        try skipSpaceAndComments()
        if peek() == UInt8(ascii: "}") {
            i += 1
            out.put(UInt8(ascii: "}"))
            return
        }
        var first = true
        while true {
            if !first { out.put(UInt8(ascii: ",")) }
            first = false
            try fieldNameJSON()
            try expect(UInt8(ascii: ":"), "':' after a field name")
            out.put(UInt8(ascii: ":"))
            try value(depth: depth + 1)
            try skipSpaceAndComments()
            if peek() == UInt8(ascii: ",") {
                i += 1
                try skipSpaceAndComments()
                if peek() == UInt8(ascii: "}") {
                    i += 1
                    break
                }
                continue
            }
            try expect(UInt8(ascii: "}"), "',' or '}'")
            break
        }
        out.put(UInt8(ascii: "}"))
    }

    /// One value as a DynamoDB typed value `{"T":…}`.
    private mutating func value(depth: Int) throws(Failure) {
        guard depth < Self.maxDepth else {
            throw Failure(offset: i, reason: "nested more than \(Self.maxDepth) levels deep")
        }
        try skipSpaceAndComments()
        let start = i
        guard let c = peek() else { throw Failure(offset: i, reason: "unexpected end of line") }
        // Annotations: only DynamoDB's three set annotations.
        if c == UInt8(ascii: "$") || c == UInt8(ascii: "'") || isIdentifierStart(c) {
            if let annotation = try annotation() {
                try set(annotation, at: start)
                return
            }
        }
        switch c {
        case UInt8(ascii: "\""), UInt8(ascii: "'"):
            out.put(#"{"S":"#)
            try string()
            out.put(UInt8(ascii: "}"))
        case UInt8(ascii: "{"):
            if i + 1 < b.count && b[i + 1] == UInt8(ascii: "{") {
                out.put(#"{"B":""#)
                try blob()
                out.put(#""}"#)
            } else {
                out.put(#"{"M":"#)
                try item(depth: depth)
                out.put(UInt8(ascii: "}"))
            }
        case UInt8(ascii: "["):
            i += 1
            out.put(#"{"L":["#)
            try skipSpaceAndComments()
            var first = true
            while peek() != UInt8(ascii: "]") {
                if !first { out.put(UInt8(ascii: ",")) }
                first = false
                try value(depth: depth + 1)
                try skipSpaceAndComments()
                if peek() == UInt8(ascii: ",") {
                    i += 1
                    try skipSpaceAndComments()
                    continue
                }
                guard peek() == UInt8(ascii: "]") else {
                    throw Failure(offset: i, reason: "expected ',' or ']' in a list")
                }
            }
            i += 1
            out.put("]}")
        case UInt8(ascii: "("):
            throw Failure(offset: i, reason: "Ion s-expressions are not part of DynamoDB exports")
        case UInt8(ascii: "-"), UInt8(ascii: "+"), 0x30...0x39:
            out.put(#"{"N":""#)
            try number()
            out.put(#""}"#)
        default:
            if matchWord("true") {
                out.put(#"{"BOOL":true}"#)
                return
            }
            if matchWord("false") {
                out.put(#"{"BOOL":false}"#)
                return
            }
            if matchWord("null") {
                // `null` or a typed null such as `null.string`: DynamoDB's NULL.
                if peek() == UInt8(ascii: ".") {
                    i += 1
                    let typeStart = i
                    while let t = peek(), isIdentifierPart(t) { i += 1 }
                    let type = String(decoding: UnsafeBufferPointer(rebasing: b[typeStart..<i]), as: UTF8.self)
                    guard Self.nullTypes.contains(type) else {
                        throw Failure(offset: typeStart, reason: "unknown typed null \"null.\(type)\"")
                    }
                }
                out.put(#"{"NULL":true}"#)
                return
            }
            throw Failure(
                offset: start,
                reason:
                    "unsupported Ion value (symbols, timestamps, clobs and s-expressions are not in DynamoDB exports)"
            )
        }
    }

    static let nullTypes: Set<String> = [
        "null", "bool", "int", "float", "decimal", "timestamp", "symbol", "string", "clob", "blob", "list", "sexp",
        "struct",
    ]

    enum SetAnnotation: String {
        case ss = "$dynamodb_SS"
        case ns = "$dynamodb_NS"
        case bs = "$dynamodb_BS"
    }

    /// Reads `name::` when present. Only the three set annotations are accepted; anything else is refused.
    private mutating func annotation() throws(Failure) -> SetAnnotation? {
        let save = i
        let name: String
        if peek() == UInt8(ascii: "'") {
            guard !(i + 2 < b.count && b[i + 1] == UInt8(ascii: "'") && b[i + 2] == UInt8(ascii: "'")) else {
                return nil
            }
            name = try fieldName()
        } else {
            let start = i
            while let c = peek(), isIdentifierPart(c) { i += 1 }
            name = String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self)
        }
        try skipSpaceAndComments()
        guard i + 1 < b.count, b[i] == UInt8(ascii: ":"), b[i + 1] == UInt8(ascii: ":") else {
            i = save
            return nil
        }
        i += 2
        guard let annotation = SetAnnotation(rawValue: name) else {
            throw Failure(
                offset: save,
                reason:
                    "unsupported annotation \"\(name)\" (DynamoDB exports use only $dynamodb_SS, $dynamodb_NS, $dynamodb_BS)"
            )
        }
        try skipSpaceAndComments()
        return annotation
    }

    private mutating func set(_ annotation: SetAnnotation, at start: Int) throws(Failure) {
        try expect(UInt8(ascii: "["), "'[' after \(annotation.rawValue)::")
        let tag: String
        switch annotation {
        case .ss:
            tag = "SS"
            out.put(#"{"SS":["#)
        case .ns:
            tag = "NS"
            out.put(#"{"NS":["#)
        case .bs:
            tag = "BS"
            out.put(#"{"BS":["#)
        }
        try skipSpaceAndComments()
        var first = true
        while peek() != UInt8(ascii: "]") {
            if !first { out.put(UInt8(ascii: ",")) }
            first = false
            let elementStart = i
            switch annotation {
            case .ss:
                guard peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "'") else {
                    throw Failure(offset: elementStart, reason: "a $dynamodb_SS set holds only strings")
                }
                try string()
            case .ns:
                guard let c = peek(), c == UInt8(ascii: "-") || c == UInt8(ascii: "+") || (c >= 0x30 && c <= 0x39)
                else {
                    throw Failure(offset: elementStart, reason: "a $dynamodb_NS set holds only numbers")
                }
                out.put(UInt8(ascii: "\""))
                try number()
                out.put(UInt8(ascii: "\""))
            case .bs:
                guard i + 1 < b.count, b[i] == UInt8(ascii: "{"), b[i + 1] == UInt8(ascii: "{") else {
                    throw Failure(offset: elementStart, reason: "a $dynamodb_BS set holds only blobs")
                }
                out.put(UInt8(ascii: "\""))
                try blob()
                out.put(UInt8(ascii: "\""))
            }
            try skipSpaceAndComments()
            if peek() == UInt8(ascii: ",") {
                i += 1
                try skipSpaceAndComments()
                continue
            }
            guard peek() == UInt8(ascii: "]") else { throw Failure(offset: i, reason: "expected ',' or ']' in a set") }
        }
        guard !first else {
            throw Failure(offset: start, reason: "empty \(tag) set (DynamoDB sets hold at least one element)")
        }
        i += 1
        out.put("]}")
    }

    /// `Metadata:{WriteTimestampMicros:…}`; the timestamp as an int, a string, or `{N:"…"}`. Other fields are
    /// dropped: nothing reads them.
    private mutating func metadata() throws(Failure) {
        try skipSpaceAndComments()
        try expect(UInt8(ascii: "{"), "'{' opening Metadata")
        out.put(UInt8(ascii: "{"))
        try skipSpaceAndComments()
        var wrote = false
        while peek() != UInt8(ascii: "}") {
            let name = try fieldName()
            try expect(UInt8(ascii: ":"), "':' after a field name")
            try skipSpaceAndComments()
            if name.bytewiseEquals("WriteTimestampMicros") {
                if wrote { out.put(UInt8(ascii: ",")) }
                wrote = true
                out.put(#""WriteTimestampMicros":"#)
                if peek() == UInt8(ascii: "{") {
                    // The JSON export's spelling carried over: {N:"…"} or {N:123}.
                    i += 1
                    try skipSpaceAndComments()
                    let fieldOffset = i
                    guard try fieldName().bytewiseEquals("N") else {
                        throw Failure(offset: fieldOffset, reason: "WriteTimestampMicros must be a number or {N:…}")
                    }
                    try expect(UInt8(ascii: ":"), "':' after a field name")
                    try skipSpaceAndComments()
                    out.put(#"{"N":"#)
                    if peek() == UInt8(ascii: "\"") || peek() == UInt8(ascii: "'") {
                        try string()
                    } else {
                        out.put(UInt8(ascii: "\""))
                        try number()
                        out.put(UInt8(ascii: "\""))
                    }
                    out.put(UInt8(ascii: "}"))
                    try skipSpaceAndComments()
                    try expect(UInt8(ascii: "}"), "'}' closing {N:…}")
                } else if peek() == UInt8(ascii: "\"") {
                    try string()
                } else {
                    out.put(#"{"N":""#)
                    try number()
                    out.put(#""}"#)
                }
            } else {
                let discardFrom = out.count
                try value(depth: 1)
                out.count = discardFrom
            }
            try skipSpaceAndComments()
            if peek() == UInt8(ascii: ",") {
                i += 1
                try skipSpaceAndComments()
                continue
            }
            guard peek() == UInt8(ascii: "}") else {
                throw Failure(offset: i, reason: "expected ',' or '}' in Metadata")
            }
        }
        i += 1
        out.put(UInt8(ascii: "}"))
    }
}
