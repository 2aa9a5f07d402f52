/// A DynamoDB JSON document that cannot be read, with the byte offset (0-based) where reading stopped.
public struct DynamoJSONError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Problem: Hashable, Sendable {
        case unexpectedEnd
        case unexpectedByte(found: UInt8, expected: String)
        case invalidEscape
        case invalidUTF8
        case unknownTypeTag(String)
        case typeTagCount(Int)
        case wrongValueType(tag: String, expected: String)
        case invalidNumber(DynamoNumber.Error)
        case invalidBase64(tag: String)
        case emptySet(tag: String)
        case duplicateSetMember(tag: String)
        case duplicateAttribute(String)
        /// Nested beyond what the reader recurses into at all (damaged or hostile input).
        case tooDeep(limit: Int)
        /// More levels of maps and lists than DynamoDB allows (a limit violation).
        case nestedTooDeep(limit: Int)
        /// An attribute name DynamoDB refuses: empty, or 64 KB or longer (a limit violation).
        case attributeName(bytes: Int)
        /// An item over 400 KB (a limit violation).
        case itemTooLarge(bytes: Int)
        /// A key attribute DynamoDB refuses for this table: wrong type, empty, too long (a limit violation).
        case keyAttribute(String)
        case trailingData
        case missingField(String)
        case unknownField(String)
        case recordShape(String)
    }

    public var offset: Int
    public var problem: Problem

    public init(offset: Int, problem: Problem) {
        self.offset = offset
        self.problem = problem
    }

    /// 1-based column, for messages.
    public var column: Int { offset + 1 }

    public var description: String {
        switch problem {
        case .unexpectedEnd: "unexpected end of line"
        case .unexpectedByte(let found, let expected): "expected \(expected), found \(Self.show(found))"
        case .invalidEscape: "invalid escape sequence in a string"
        case .invalidUTF8: "string is not valid UTF-8"
        case .unknownTypeTag(let tag):
            "unknown attribute type tag \"\(tag)\" (expected S, N, B, BOOL, NULL, SS, NS, BS, L or M)"
        case .typeTagCount(let count): "an attribute value must have exactly one type tag, found \(count)"
        case .wrongValueType(let tag, let expected): "\"\(tag)\" needs \(expected)"
        case .invalidNumber(let error): error.description
        case .invalidBase64(let tag): "\"\(tag)\" value is not valid base64"
        case .emptySet(let tag): "empty \(tag) set (DynamoDB sets hold at least one element)"
        case .duplicateSetMember(let tag): "duplicate element in \(tag) set"
        case .duplicateAttribute(let name): "attribute \"\(name)\" appears twice"
        case .tooDeep(let limit): "nested more than \(limit) levels deep (not read further)"
        case .nestedTooDeep(let limit):
            "maps and lists nested more than \(limit) levels deep (DynamoDB allows \(limit))"
        case .attributeName(let bytes):
            bytes == 0
                ? "empty attribute name (DynamoDB names are at least 1 byte)"
                : "attribute name of \(bytes) bytes (DynamoDB names are under 64 KB)"
        case .itemTooLarge(let bytes):
            "item of \(bytes) bytes is over DynamoDB's 400 KB item size limit (409600 bytes, names included)"
        case .keyAttribute(let reason): reason
        case .trailingData: "unexpected data after the end of the record"
        case .missingField(let name): "missing \"\(name)\""
        case .unknownField(let name): "unknown field \"\(name)\""
        case .recordShape(let reason): reason
        }
    }

    static func show(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(UnicodeScalar(byte)))'" : "byte 0x\(String(byte, radix: 16))"
    }
}
