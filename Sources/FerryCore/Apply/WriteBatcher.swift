import DynamoModel
import ExportReader

/// One write ready for `BatchWriteItem`: the record, its key's identity, its cost estimate and its size on the wire.
public struct PendingWrite: Sendable {
    public var record: ExportRecord
    /// The key in canonical form (key-schema order, canonical numbers, escapes decoded): the same bytes exactly when
    /// DynamoDB sees the same key, so "never two writes to one key in a call" holds by DynamoDB's rules.
    public var key: [UInt8]
    /// Write units it may cost the table: the larger of old and new item sizes (at least 1), plus its writes to
    /// the table's local secondary indexes (`LocalIndexCosts`), which draw on the table's capacity.
    public var units: Int
    /// Bytes it adds to the request body.
    public var requestBytes: Int

    /// A write whose key was checked by `KeyRules` (`key` is its canonical form), to a table with `localIndexes`.
    init(record: ExportRecord, canonicalKey: [UInt8], localIndexes: LocalIndexCosts = .none) {
        self.record = record
        key = canonicalKey
        units = record.estimatedWriteUnits + localIndexes.units(of: record, key: canonicalKey)
        let body = record.isDelete ? key.count : (record.newImageRange?.count ?? 0)
        requestBytes = body + 48  // {"PutRequest":{"Item":…}} and separators
    }

    /// A write keyed by `keyNames` (no type rules); throws when the key is missing or DynamoDB would refuse it.
    public init(record: ExportRecord, keyNames: [String]) throws {
        let raw = try record.keyJSON(keyNames: keyNames)
        switch KeyRules(names: keyNames, types: keyNames.map { _ in nil }).check(keyJSON: raw) {
        case .key(let key): self.init(record: record, canonicalKey: key)
        case .refused(let reason):
            throw ExportReaderError.invalidRecord(
                key: record.location.fileKey,
                line: record.location.line,
                column: 1,
                reason: reason
            )
        }
    }

}

/// Cuts writes into `BatchWriteItem` calls: at most 25 writes and 16 MB each, never two writes to one key in a call
/// (DynamoDB rejects the whole call), and writes to one key kept in their order. Callers feed one window at a time,
/// so a call never mixes windows.
public enum WriteBatcher {
    public static let maxWrites = 25
    public static let maxBytes = 16 * 1024 * 1024 - 64 * 1024  // leave room for the envelope

    /// Interleaves the records of a window's files round-robin: each file holds one source partition's keys, and
    /// writing file after file would heat one target partition at a time.
    public static func interleave<T>(_ files: [[T]]) -> [T] {
        var result: [T] = []
        result.reserveCapacity(files.reduce(0) { $0 + $1.count })
        var index = 0
        var remaining = true
        while remaining {
            remaining = false
            for file in files where index < file.count {
                result.append(file[index])
                remaining = true
            }
            index += 1
        }
        return result
    }

    /// Batches in order, in one pass. A write whose key is already in the current batch waits for the next one, and
    /// so does every later write to that key, so the last write of a key is applied last. `maxUnits` keeps a batch
    /// within what the capacity budget allows in a second.
    public static func batches(_ writes: [PendingWrite], maxUnits: Int? = nil) -> [[PendingWrite]] {
        var batches: [[PendingWrite]] = []
        var next = 0
        var carried: [PendingWrite] = []
        while next < writes.count || !carried.isEmpty {
            var batch: [PendingWrite] = []
            var keys = Set<KeyBytes>()
            var blocked = Set<KeyBytes>()
            var stillCarried: [PendingWrite] = []
            var bytes = 0
            var units = 0
            func fits(_ write: PendingWrite) -> Bool {
                batch.isEmpty
                    || (batch.count < maxWrites && bytes + write.requestBytes <= maxBytes
                        && (maxUnits.map { units + write.units <= $0 } ?? true))
            }
            func take(_ write: PendingWrite) {
                batch.append(write)
                keys.insert(KeyBytes(write.key))
                bytes += write.requestBytes
                units += write.units
            }
            for write in carried {
                if !keys.contains(KeyBytes(write.key)) && !blocked.contains(KeyBytes(write.key)) && fits(write) {
                    take(write)
                } else {
                    blocked.insert(KeyBytes(write.key))
                    stillCarried.append(write)
                }
            }
            while next < writes.count {
                let write = writes[next]
                if keys.contains(KeyBytes(write.key)) || blocked.contains(KeyBytes(write.key)) {
                    blocked.insert(KeyBytes(write.key))
                    stillCarried.append(write)
                    next += 1
                    continue
                }
                guard fits(write) else { break }
                take(write)
                next += 1
            }
            carried = stillCarried
            batches.append(batch)
        }
        return batches
    }
}

extension ExportRecord {
    /// The key attributes' raw JSON (`{"pk":{"S":"a"},"sk":{"N":"1"}}`, in `keyNames` order), from `Keys` for
    /// incremental records and from the item for full ones. Throws when the item lacks a key attribute.
    public func keyJSON(keyNames: [String]) throws -> [UInt8] {
        guard let range = keysRange ?? newImageRange else { return [] }
        // The reader validated the item already: find the key attributes with a quick walk over its top-level
        // members, stopping once they are found; anything unusual takes the validating path.
        if let fast = line[range].withUnsafeBufferPointer({ Self.quickKeyJSON($0, keyNames: keyNames) }) { return fast }
        return try validatedKeyJSON(range, keyNames: keyNames)
    }

    /// Top-level members of an already validated DynamoDB JSON item, walked without validation until every key
    /// name is found. Nil when a key is missing or a member name holds an escape (the validating path decides).
    static func quickKeyJSON(_ buffer: UnsafeBufferPointer<UInt8>, keyNames: [String]) -> [UInt8]? {
        guard let found = quickMembers(buffer, names: keyNames), found.allSatisfy({ $0 != nil }) else { return nil }
        var out: [UInt8] = [UInt8(ascii: "{")]
        for (index, name) in keyNames.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            DynamoJSONEncoder.appendString(name, to: &out)
            out.append(UInt8(ascii: ":"))
            out += UnsafeBufferPointer(rebasing: buffer[found[index]!])
        }
        out.append(UInt8(ascii: "}"))
        return out
    }

    /// Where the values of `names` are among an already validated item's top-level members (indices into
    /// `buffer`), walked without validation until every name is found: nil for a name the item lacks. Nil as a
    /// whole when the walk is unsure (a member name holds an escape, or the item is not an object).
    static func quickMembers(_ buffer: UnsafeBufferPointer<UInt8>, names keyNames: [String]) -> [Range<Int>?]? {
        let quote = UInt8(ascii: "\"")
        let backslash = UInt8(ascii: "\\")
        var found: [Range<Int>?] = Array(repeating: nil, count: keyNames.count)
        var remaining = keyNames.count
        var i = 0
        let n = buffer.count
        func skipSpace() {
            while i < n, buffer[i] == 0x20 || buffer[i] == 0x0A || buffer[i] == 0x0D || buffer[i] == 0x09 { i += 1 }
        }
        skipSpace()
        guard i < n, buffer[i] == UInt8(ascii: "{") else { return nil }
        i += 1
        skipSpace()
        if i < n, buffer[i] == UInt8(ascii: "}") { return found }
        while remaining > 0 {
            skipSpace()
            guard i < n, buffer[i] == quote else { return nil }
            let nameStart = i + 1
            i = nameStart
            while i < n, buffer[i] != quote {
                if buffer[i] == backslash { return nil }
                i += 1
            }
            guard i < n else { return nil }
            let nameEnd = i
            i += 1
            skipSpace()
            guard i < n, buffer[i] == UInt8(ascii: ":") else { return nil }
            i += 1
            skipSpace()
            let valueStart = i
            // The value is an object ({"T": …}): skip to its matching brace, strings included.
            var depth = 0
            repeat {
                guard i < n else { return nil }
                let byte = buffer[i]
                if byte == quote {
                    i += 1
                    while i < n, buffer[i] != quote { i += buffer[i] == backslash ? 2 : 1 }
                } else if byte == UInt8(ascii: "{") || byte == UInt8(ascii: "[") {
                    depth += 1
                } else if byte == UInt8(ascii: "}") || byte == UInt8(ascii: "]") {
                    depth -= 1
                }
                i += 1
            } while depth > 0
            let name = UnsafeBufferPointer(rebasing: buffer[nameStart..<nameEnd])
            for (index, key) in keyNames.enumerated() where found[index] == nil && name.elementsEqual(key.utf8) {
                found[index] = valueStart..<i
                remaining -= 1
            }
            if remaining == 0 { break }
            skipSpace()
            if i < n, buffer[i] == UInt8(ascii: "}") { break }
            guard i < n, buffer[i] == UInt8(ascii: ",") else { return nil }
            i += 1
        }
        return found
    }

    /// The raw JSON value of the top-level attribute `name` of the item at `range`, or nil when it has none.
    func attributeJSON(_ name: String, in range: Range<Int>) -> ArraySlice<UInt8>? {
        let quick = line[range].withUnsafeBufferPointer { Self.quickMembers($0, names: [name]) }
        if let quick {
            return quick[0].map { line[(range.lowerBound + $0.lowerBound)..<(range.lowerBound + $0.upperBound)] }
        }
        // An escaped member name: the validating scanner reads the names as DynamoDB does (`{"name":value}`).
        guard let member = try? validatedKeyJSON(range, keyNames: [name]) else { return nil }
        var prefix: [UInt8] = [UInt8(ascii: "{")]
        DynamoJSONEncoder.appendString(name, to: &prefix)
        return ArraySlice(member.dropFirst(prefix.count + 1).dropLast())
    }

    /// The key JSON through the validating scanner (errors name the file and line).
    func validatedKeyJSON(_ range: Range<Int>, keyNames: [String]) throws -> [UInt8] {
        return try line[range].withUnsafeBufferPointer { buffer -> [UInt8] in
            var scanner = DynamoJSONScanner()
            scanner.reset(buffer)
            var members: [DynamoJSONScanner.Member] = []
            do throws(DynamoJSONError) {
                _ = try withUnsafeMutablePointer(to: &members) { (pointer) throws(DynamoJSONError) -> Int in
                    try scanner.scanItem(members: pointer)
                }
            } catch {
                throw ExportReaderError.invalidRecord(
                    key: location.fileKey,
                    line: location.line,
                    column: error.column,
                    reason: error.description
                )
            }
            var out: [UInt8] = [UInt8(ascii: "{")]
            for (index, name) in keyNames.enumerated() {
                guard let member = members.first(where: { buffer[$0.nameStart..<$0.nameEnd].elementsEqual(name.utf8) })
                else {
                    throw ExportReaderError.invalidRecord(
                        key: location.fileKey,
                        line: location.line,
                        column: 1,
                        reason: "the item has no key attribute \"\(name)\""
                    )
                }
                if index > 0 { out.append(UInt8(ascii: ",")) }
                DynamoJSONEncoder.appendString(name, to: &out)
                out.append(UInt8(ascii: ":"))
                out += buffer[member.valueStart..<member.valueEnd]
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
    }
}

/// Key bytes hashed in one call (a `[UInt8]`'s own hashing feeds the hasher a byte at a time).
public struct KeyBytes: Hashable, Sendable {
    public let bytes: [UInt8]
    public init(_ bytes: [UInt8]) { self.bytes = bytes }
    public func hash(into hasher: inout Hasher) { bytes.withUnsafeBytes { hasher.combine(bytes: $0) } }
}
