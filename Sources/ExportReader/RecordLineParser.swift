import DynamoModel

/// Parses one data-file line into a record: `{"Item":…}` in FULL exports; `Metadata`/`Keys`/`NewImage`/`OldImage`
/// in INCREMENTAL ones. Field order is free. Unknown top-level fields are refused (they would mean a format we do
/// not understand); unknown fields inside `Metadata` are skipped.
enum RecordLineParser {
    static func parse(_ line: UnsafeBufferPointer<UInt8>, kind: ExportKind) throws(DynamoJSONError) -> ExportRecord.Body {
        var parser = DynamoJSONParser(line)
        try parser.expect(UInt8(ascii: "{"), "'{' opening a record")
        var item: Item?
        var keys: Item?
        var newImage: Item?
        var oldImage: Item?
        var timestamp: UInt64?
        var sawMetadata = false
        if try parser.peekNonSpace() != UInt8(ascii: "}") {
            repeat {
                let fieldOffset = parser.offset
                let field = try parser.parseKey()
                try parser.expect(UInt8(ascii: ":"), "':'")
                switch Field(field) {
                case .item where kind == .full:
                    guard item == nil else { throw DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute("Item")) }
                    item = try parser.parseItem()
                case .keys where kind == .incremental:
                    guard keys == nil else { throw DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute("Keys")) }
                    keys = try parser.parseItem()
                case .newImage where kind == .incremental:
                    guard newImage == nil else { throw DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute("NewImage")) }
                    newImage = try parser.parseItem()
                case .oldImage where kind == .incremental:
                    guard oldImage == nil else { throw DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute("OldImage")) }
                    oldImage = try parser.parseItem()
                case .metadata where kind == .incremental:
                    guard !sawMetadata else { throw DynamoJSONError(offset: fieldOffset, problem: .duplicateAttribute("Metadata")) }
                    sawMetadata = true
                    timestamp = try parseMetadata(&parser)
                default:
                    let name = String(decoding: field, as: UTF8.self)
                    let expected = kind == .full ? "a FULL export line holds only \"Item\"" : "an INCREMENTAL export line holds Metadata, Keys, NewImage, OldImage"
                    throw DynamoJSONError(offset: fieldOffset, problem: .recordShape("unknown field \"\(name)\" (\(expected))"))
                }
            } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
        } else {
            parser.skipSpace()
            _ = try parser.nextIsMember(closing: UInt8(ascii: "}"))
        }
        try parser.expectEnd()
        switch kind {
        case .full:
            guard let item else { throw DynamoJSONError(offset: 0, problem: .missingField("Item")) }
            return .item(item)
        case .incremental:
            guard let keys else { throw DynamoJSONError(offset: 0, problem: .missingField("Keys")) }
            guard !keys.isEmpty else { throw DynamoJSONError(offset: 0, problem: .missingField("Keys (it is empty)")) }
            // The images must hold the same key; anything else would write or delete the wrong item.
            for image in [newImage, oldImage].compactMap({ $0 }) {
                for key in keys.attributes where image[key.name] != key.value {
                    throw DynamoJSONError(offset: 0, problem: .recordShape("an image disagrees with Keys on key attribute \"\(key.name)\""))
                }
            }
            return .change(ExportRecord.Change(keys: keys, newImage: newImage, oldImage: oldImage, writeTimestampMicros: timestamp))
        }
    }

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

    /// `{"WriteTimestampMicros":{"N":"…"}}`; a bare string or JSON number is accepted too (seen in write-ups).
    private static func parseMetadata(_ parser: inout DynamoJSONParser) throws(DynamoJSONError) -> UInt64? {
        try parser.expect(UInt8(ascii: "{"), "'{' opening Metadata")
        var timestamp: UInt64?
        if try parser.peekNonSpace() == UInt8(ascii: "}") {
            parser.skipSpace()
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
                    throw DynamoJSONError(offset: valueOffset, problem: .wrongValueType(tag: "WriteTimestampMicros", expected: "a number"))
                }
                text = number.text
            case UInt8(ascii: "\""):
                text = try parser.parseString()
            default:
                let start = parser.offset
                try parser.skipJSONValue()
                text = String(decoding: UnsafeBufferPointer(rebasing: parser.bytes[start..<parser.offset]), as: UTF8.self)
            }
            guard let micros = UInt64(text) else {
                throw DynamoJSONError(offset: valueOffset, problem: .wrongValueType(tag: "WriteTimestampMicros", expected: "a whole number of microseconds"))
            }
            timestamp = micros
        } while try parser.nextIsMember(closing: UInt8(ascii: "}"))
        return timestamp
    }
}
