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

/// One line of an export data file.
public struct ExportRecord: Sendable, Hashable {
    public enum Body: Sendable, Hashable {
        /// A FULL export line: `{"Item":{…}}`.
        case item(Item)
        /// An INCREMENTAL export line: the final state of one key at the window's end.
        case change(Change)
    }

    /// `{"Metadata":{"WriteTimestampMicros":…},"Keys":{…},"OldImage":{…}?,"NewImage":{…}?}`.
    public struct Change: Sendable, Hashable {
        /// The primary key, always present.
        public var keys: Item
        /// The item at the window's end; absent when the item was deleted.
        public var newImage: Item?
        /// The item at the window's start (NEW_AND_OLD_IMAGES only; absent for inserts).
        public var oldImage: Item?
        /// Time of the key's last write in the window, microseconds since the epoch.
        public var writeTimestampMicros: UInt64?

        public init(keys: Item, newImage: Item?, oldImage: Item?, writeTimestampMicros: UInt64?) {
            self.keys = keys
            self.newImage = newImage
            self.oldImage = oldImage
            self.writeTimestampMicros = writeTimestampMicros
        }
    }

    public var body: Body
    public var location: RecordLocation

    public init(body: Body, location: RecordLocation) {
        self.body = body
        self.location = location
    }

    /// What applying this record does to the target.
    public var operation: WriteOperation {
        switch body {
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
