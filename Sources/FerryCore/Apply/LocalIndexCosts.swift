import AWSClient
import DynamoModel
import ExportReader

/// What a write costs the table in its local secondary indexes: LSI writes draw on the **table's** write capacity
/// (reference §8.4; DynamoDB Developer Guide, "Provisioned throughput considerations for Local Secondary Indexes"),
/// so they are added to the write's estimate against the table's budget. Per LSI, by the item's index sort key
/// before (the record's `OldImage`) and after (its `NewImage`):
///
/// | index sort key before → after      | index writes                         | size of each          |
/// |------------------------------------|--------------------------------------|-----------------------|
/// | absent → absent                    | 0 (the item is not in the index)     |                       |
/// | absent → present (a new entry)     | 1 put                                | new item              |
/// | v → v (projected attributes only)  | 1 update                             | larger of old and new |
/// | v → w (the index key changes)      | 2: delete the old entry, put the new | old, then new         |
/// | present → absent (or item deleted) | 1 delete                             | old item              |
///
/// An index entry is the projected part of the item: `ALL` and `INCLUDE` are charged the item's size (an upper
/// bound for `INCLUDE`), `KEYS_ONLY` the keys' JSON length (an upper bound of their DynamoDB size). Without an old
/// image (FULL exports, NEW_IMAGE incremental exports) the item is taken as new to the index, as it is for a first
/// load; what DynamoDB reports (`ConsumedCapacity`) corrects the rest.
struct LocalIndexCosts: Sendable {
    struct Index: Sendable {
        /// The index's sort key attribute (an LSI shares the table's partition key).
        var sortKey: String
        var keysOnly: Bool
    }

    let indexes: [Index]

    init(indexes: [Index]) { self.indexes = indexes }

    init(table: TableDescription) {
        indexes = (table.LocalSecondaryIndexes ?? []).compactMap { index in
            guard let sortKey = index.KeySchema?.first(where: { $0.KeyType == "RANGE" })?.AttributeName else {
                return nil
            }
            return Index(sortKey: sortKey, keysOnly: index.Projection?.ProjectionType == "KEYS_ONLY")
        }
    }

    static let none = LocalIndexCosts(indexes: [])

    /// Write units `record` costs in the indexes (`key`: its canonical key JSON, for `KEYS_ONLY` entries).
    func units(of record: ExportRecord, key: [UInt8]) -> Int {
        guard !indexes.isEmpty else { return 0 }
        var units = 0
        for index in indexes {
            let old = record.oldImageRange.flatMap { record.attributeJSON(index.sortKey, in: $0) }
            let new = record.newImageRange.flatMap { record.attributeJSON(index.sortKey, in: $0) }
            func entry(_ itemSize: Int?, sortKey: ArraySlice<UInt8>) -> Int {
                let size = itemSize ?? 0
                return CapacityUnits.write(
                    bytes: index.keysOnly ? min(size, key.count + index.sortKey.utf8.count + sortKey.count + 8) : size
                )
            }
            switch (old, new) {
            case (nil, nil): break
            case (nil, let new?): units += entry(record.newImageSize, sortKey: new)
            case (let old?, nil): units += entry(record.oldImageSize, sortKey: old)
            case (let old?, let new?) where old.elementsEqual(new):
                units += entry(max(record.oldImageSize ?? 0, record.newImageSize ?? 0), sortKey: new)
            case (let old?, let new?):
                units += entry(record.oldImageSize, sortKey: old) + entry(record.newImageSize, sortKey: new)
            }
        }
        return units
    }
}
