import DynamoModel

/// Validates one data-file line and finds its parts, without building values: `{"Item":…}` in FULL exports;
/// `Metadata`/`Keys`/`NewImage`/`OldImage` in INCREMENTAL ones. Field order is free. Unknown top-level fields are
/// refused (they would mean a format we do not understand); unknown fields inside `Metadata` are skipped.
///
/// Reused line after line by one `DataFileDecoder`, so its scratch space is allocated once.
struct RecordLineScanner {
    struct Scanned {
        var newImage: Range<Int>?
        var newImageSize: Int?
        var keys: Range<Int>?
        var oldImage: Range<Int>?
        var oldImageSize: Int?
        var writeTimestampMicros: UInt64?
        /// The first DynamoDB limit the line's images break (a record DynamoDB would refuse), if any.
        var violation: DynamoJSONError?
    }

    private var scanner = DynamoJSONScanner()
    private var keyMembers: [DynamoJSONScanner.Member] = []
    private var newMembers: [DynamoJSONScanner.Member] = []
    private var oldMembers: [DynamoJSONScanner.Member] = []

    private enum Field {
        case item, keys, newImage, oldImage, metadata, other
        init(_ bytes: UnsafeBufferPointer<UInt8>) {
            switch bytes.count {
            case 4 where bytes.elementsEqual("Item".utf8): self = .item
            case 4 where bytes.elementsEqual("Keys".utf8): self = .keys
            case 8 where bytes.elementsEqual("NewImage".utf8): self = .newImage
            case 8 where bytes.elementsEqual("OldImage".utf8): self = .oldImage
            case 8 where bytes.elementsEqual("Metadata".utf8): self = .metadata
            default: self = .other
            }
        }
    }

    mutating func scan(_ line: UnsafeBufferPointer<UInt8>, kind: ExportKind) throws(DynamoJSONError) -> Scanned {
        scanner.reset(line)
        keyMembers.removeAll(keepingCapacity: true)
        newMembers.removeAll(keepingCapacity: true)
        oldMembers.removeAll(keepingCapacity: true)
        var result = Scanned()
        var sawMetadata = false
        try scanner.structure.expect(UInt8(ascii: "{"), "'{' opening a record")
        if try scanner.structure.peekNonSpace() == UInt8(ascii: "}") {
            scanner.offset += 1
        } else {
            repeat {
                let fieldOffset = scanner.offset
                let field = try scanner.structure.parseKey()
                try scanner.structure.expect(UInt8(ascii: ":"), "':'")
                scanner.structure.skipSpace()
                let start = scanner.offset
                func duplicate(_ name: String) -> DynamoJSONError {
                    DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute(name))
                }
                switch Field(field) {
                case .item where kind == .full:
                    guard result.newImage == nil else { throw duplicate("Item") }
                    result.newImageSize = try scanner.scanItem()
                    result.newImage = start..<scanner.offset
                case .keys where kind == .incremental:
                    guard result.keys == nil else { throw duplicate("Keys") }
                    _ = try withUnsafeMutablePointer(to: &keyMembers) { (p) throws(DynamoJSONError) in
                        try scanner.scanItem(members: p)
                    }
                    result.keys = start..<scanner.offset
                case .newImage where kind == .incremental:
                    guard result.newImage == nil else { throw duplicate("NewImage") }
                    result.newImageSize = try withUnsafeMutablePointer(to: &newMembers) { (p) throws(DynamoJSONError) in
                        try scanner.scanItem(members: p)
                    }
                    result.newImage = start..<scanner.offset
                case .oldImage where kind == .incremental:
                    guard result.oldImage == nil else { throw duplicate("OldImage") }
                    result.oldImageSize = try withUnsafeMutablePointer(to: &oldMembers) { (p) throws(DynamoJSONError) in
                        try scanner.scanItem(members: p)
                    }
                    result.oldImage = start..<scanner.offset
                case .metadata where kind == .incremental:
                    guard !sawMetadata else { throw duplicate("Metadata") }
                    sawMetadata = true
                    result.writeTimestampMicros = try Self.parseMetadata(&scanner.structure)
                default:
                    let name = String(decoding: field, as: UTF8.self)
                    let expected =
                        kind == .full
                        ? "a FULL export line holds only \"Item\""
                        : "an INCREMENTAL export line holds Metadata, Keys, NewImage, OldImage"
                    throw DynamoJSONError(
                        offset: fieldOffset,
                        problem: .recordShape("unknown field \"\(name)\" (\(expected))")
                    )
                }
            } while try scanner.structure.nextIsMember(closing: UInt8(ascii: "}"))
        }
        try scanner.structure.expectEnd()
        result.violation = scanner.violation
        if result.violation == nil, let size = result.newImageSize, size > DynamoLimits.maxItemBytes {
            result.violation = DynamoJSONError(
                offset: result.newImage?.lowerBound ?? 0,
                problem: .itemTooLarge(bytes: size)
            )
        }
        switch kind {
        case .full:
            guard result.newImage != nil else { throw DynamoJSONError(offset: 0, problem: .missingField("Item")) }
        case .incremental:
            guard result.keys != nil else { throw DynamoJSONError(offset: 0, problem: .missingField("Keys")) }
            guard !keyMembers.isEmpty else {
                throw DynamoJSONError(offset: 0, problem: .missingField("Keys (it is empty)"))
            }
            // The images must hold the same key; anything else would write or delete the wrong item.
            if result.newImage != nil { try checkKeys(in: newMembers, line) }
            if result.oldImage != nil { try checkKeys(in: oldMembers, line) }
        }
        return result
    }

    private func checkKeys(
        in image: [DynamoJSONScanner.Member],
        _ line: UnsafeBufferPointer<UInt8>
    ) throws(DynamoJSONError) {
        func bytes(_ a: Int, _ b: Int) -> UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(rebasing: line[a..<b]) }
        for key in keyMembers {
            let match = image.first { member in
                !member.nameEscaped && !key.nameEscaped
                    && bytes(member.nameStart, member.nameEnd).elementsEqual(bytes(key.nameStart, key.nameEnd))
            }
            // Same bytes is the common case; otherwise compare by DynamoDB's rules (e.g. "1" and "1.0").
            if let match, bytes(match.valueStart, match.valueEnd).elementsEqual(bytes(key.valueStart, key.valueEnd)) {
                continue
            }
            if let match, key.nameEscaped == false,
                Self.value(line, match.valueStart) == Self.value(line, key.valueStart)
            {
                continue
            }
            if match == nil && (key.nameEscaped || image.contains(where: \.nameEscaped))
                && Self.imageAgrees(line, key: key, image: image)
            {
                continue
            }
            let name = String(decoding: bytes(key.nameStart, key.nameEnd), as: UTF8.self)
            throw DynamoJSONError(
                offset: 0,
                problem: .recordShape("an image disagrees with Keys on key attribute \"\(name)\"")
            )
        }
    }

    private static func value(_ line: UnsafeBufferPointer<UInt8>, _ start: Int) -> AttributeValue? {
        var parser = DynamoJSONParser(line, offset: start)
        return try? parser.parseValue()
    }

    /// Slow path for escaped attribute names: decode the names and compare.
    private static func imageAgrees(
        _ line: UnsafeBufferPointer<UInt8>,
        key: DynamoJSONScanner.Member,
        image: [DynamoJSONScanner.Member]
    ) -> Bool {
        func name(_ start: Int) -> String? {
            var parser = DynamoJSONParser(line, offset: start - 1)
            return try? parser.parseString()
        }
        let keyName = name(key.nameStart)
        guard let keyName, let member = image.first(where: { name($0.nameStart)?.bytewiseEquals(keyName) == true })
        else { return false }
        return value(line, member.valueStart) == value(line, key.valueStart)
    }

    /// `{"WriteTimestampMicros":{"N":"…"}}`; a bare string or JSON number is accepted too (seen in write-ups).
    private static func parseMetadata(_ parser: inout DynamoJSONParser) throws(DynamoJSONError) -> UInt64? {
        try parser.expect(UInt8(ascii: "{"), "'{' opening Metadata")
        var timestamp: UInt64?
        if try parser.peekNonSpace() == UInt8(ascii: "}") {
            _ = try parser.nextIsMember(closing: UInt8(ascii: "}"))
            return nil
        }
        repeat {
            let field = try parser.parseKey()
            try parser.expect(UInt8(ascii: ":"), "':'")
            guard field.elementsEqual("WriteTimestampMicros".utf8) else {
                try parser.skipJSONValue()
                continue
            }
            let valueOffset = parser.offset
            let text: String
            switch try parser.peekNonSpace() {
            case UInt8(ascii: "{"):
                guard case .n(let number) = try parser.parseValue() else {
                    throw DynamoJSONError(
                        offset: valueOffset,
                        problem: .wrongValueType(tag: "WriteTimestampMicros", expected: "a number")
                    )
                }
                text = number.text
            case UInt8(ascii: "\""):
                text = try parser.parseString()
            default:
                let start = parser.offset
                try parser.skipJSONValue()
                text = String(
                    decoding: UnsafeBufferPointer(rebasing: parser.bytes[start..<parser.offset]),
                    as: UTF8.self
                )
            }
            guard let micros = UInt64(text) else {
                throw DynamoJSONError(
                    offset: valueOffset,
                    problem: .wrongValueType(tag: "WriteTimestampMicros", expected: "a whole number of microseconds")
                )
            }
            timestamp = micros
        } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
        return timestamp
    }
}
