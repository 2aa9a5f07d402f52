import DynamoModel

/// Where a record came from: the data file's key and the 1-based line.
public struct RecordLocation: Sendable, Hashable, CustomStringConvertible {
    public var fileKey: String
    public var line: Int
    public init(fileKey: String, line: Int) {
        self.fileKey = fileKey
        self.line = line
    }
    public var description: String { "\(fileKey):\(line)" }
}

/// One line of an export data file, validated, kept as its raw bytes.
///
/// Reading does not build values: the line's DynamoDB JSON is checked (types, exact numbers, base64, UTF-8, sets,
/// unique names, keys that agree with the images) and measured, and the parts are located. Writers copy the raw
/// JSON of an image straight into a request; `body()` builds values when something needs to look inside.
public struct ExportRecord: Sendable, Hashable {
    public let location: RecordLocation
    public let kind: ExportKind
    /// The line, without its newline: a slice of the block of lines it was read with (ranges below index it).
    public let line: ArraySlice<UInt8>
    /// The FULL export's `Item`, or the INCREMENTAL `NewImage` (nil: the item was deleted).
    public let newImageRange: Range<Int>?
    /// INCREMENTAL `Keys`.
    public let keysRange: Range<Int>?
    /// INCREMENTAL `OldImage` (NEW_AND_OLD_IMAGES only; absent for inserts).
    public let oldImageRange: Range<Int>?
    /// DynamoDB item sizes in bytes (for capacity estimates); nil when the image is absent.
    public let newImageSize: Int?
    public let oldImageSize: Int?
    /// INCREMENTAL: time of the key's last write in the window, microseconds since the epoch.
    public let writeTimestampMicros: UInt64?
    /// The first of DynamoDB's limits (`DynamoLimits`) the record breaks: well-formed, but DynamoDB would refuse
    /// it, so it is never sent and goes to the rejects file with `limitViolationReason`. Nil for almost every record.
    public let violation: DynamoJSONError?

    /// `scanned` holds ranges from the start of the line; the record's ranges index `line` itself.
    init(location: RecordLocation, kind: ExportKind, line: ArraySlice<UInt8>, scanned: RecordLineScanner.Scanned) {
        self.location = location
        self.kind = kind
        self.line = line
        let base = line.startIndex
        func shift(_ range: Range<Int>?) -> Range<Int>? {
            range.map { (base + $0.lowerBound)..<(base + $0.upperBound) }
        }
        newImageRange = shift(scanned.newImage)
        keysRange = shift(scanned.keys)
        oldImageRange = shift(scanned.oldImage)
        newImageSize = scanned.newImageSize
        oldImageSize = scanned.oldImageSize
        writeTimestampMicros = scanned.writeTimestampMicros
        violation = scanned.violation
    }

    /// Why DynamoDB would refuse the record (the rule and where in the record's DynamoDB JSON), or nil.
    public var limitViolationReason: String? {
        violation.map {
            "\($0.description) (column \($0.column) of the record's DynamoDB JSON); DynamoDB would refuse this write"
        }
    }

    /// True when applying the record deletes its key.
    public var isDelete: Bool { newImageRange == nil }

    /// The raw DynamoDB JSON of a part of the line.
    public func json(_ range: Range<Int>) -> ArraySlice<UInt8> { line[range] }

    /// Write units a put or delete of this record costs at most: an overwrite is charged the larger of the old and
    /// new sizes, a delete the old size (1 when unknown).
    public var estimatedWriteUnits: Int {
        CapacityUnits.write(bytes: max(newImageSize ?? 0, oldImageSize ?? 0))
    }

    /// The record's values.
    public enum Body: Sendable, Hashable {
        /// A FULL export line: `{"Item":{…}}`.
        case item(Item)
        /// An INCREMENTAL export line: the final state of one key at the window's end.
        case change(Change)
    }

    /// `{"Metadata":{"WriteTimestampMicros":…},"Keys":{…},"OldImage":{…}?,"NewImage":{…}?}`.
    public struct Change: Sendable, Hashable {
        public var keys: Item
        public var newImage: Item?
        public var oldImage: Item?
        public var writeTimestampMicros: UInt64?
    }

    /// Builds the record's values. The line was validated when read, so this fails only on a bug; the error then
    /// names the record.
    public func body() throws -> Body {
        func decode(_ range: Range<Int>) throws -> Item {
            do {
                return try line[range].withUnsafeBufferPointer { (buffer) throws(DynamoJSONError) -> Item in
                    var parser = DynamoJSONParser(buffer)
                    return try parser.parseItem()
                }
            } catch {
                throw ExportReaderError.invalidRecord(
                    key: location.fileKey,
                    line: location.line,
                    column: error.column,
                    reason: error.description
                )
            }
        }
        switch kind {
        case .full:
            return .item(try decode(newImageRange!))
        case .incremental:
            return .change(
                Change(
                    keys: try decode(keysRange!),
                    newImage: try newImageRange.map(decode),
                    oldImage: try oldImageRange.map(decode),
                    writeTimestampMicros: writeTimestampMicros
                )
            )
        }
    }

    /// What applying this record does to the target: put the whole new image, or delete by key.
    public func operation() throws -> WriteOperation {
        switch try body() {
        case .item(let item): .put(item)
        case .change(let change): change.newImage.map(WriteOperation.put) ?? .delete(keys: change.keys)
        }
    }
}

/// A whole-item write: the only two things Ferry ever does to a target item.
public enum WriteOperation: Sendable, Hashable {
    case put(Item)
    case delete(keys: Item)
}
