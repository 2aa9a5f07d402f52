import DynamoModel

/// Builds the generated table's items: item `key` at `version` is a pure function of (seed, key, version), so a
/// chain of any size is simulated by remembering only each key's version.
///
/// Items cover every attribute type, nesting, unicode names and values, empty strings, 38-digit and extreme
/// numbers. Optional attributes come and go between versions, so updates drop attributes as real ones do.
struct ItemFactory: Sendable {
    let spec: ChainSpec

    static let words = [
        "ferry", "harbour", "tide", "keel", "mast", "anchor", "buoy", "river", "delta", "quay",
        "Fähre", "café", "naïve", "北京", "東京", "Москва", "🚢", "🌊", "ñandú", "Ελλάδα", "",
    ]
    /// Numbers as DynamoDB returns them (normalised), including its extremes.
    static let extremeNumbers = [
        "99999999999999999999999999999999999999",  // 38 digits
        "-99999999999999999999999999999999999999",
        "9.9999999999999999999999999999999999999E+125",  // largest magnitude
        "-9.9999999999999999999999999999999999999E+125",
        "1E-130",  // smallest positive magnitude
        "-1E-130",
        "0.00000000000000000000000000000000000001",
        "12345678901234567890.123456789012345678",  // 38 significant digits with a fraction
        "0",
    ]

    func key(_ index: Int) -> Item {
        var attributes: [Item.Attribute] = [
            Item.Attribute(name: "pk", value: .s(index % 11 == 5 ? "客户#\(index)" : "user#\(index)"))
        ]
        if spec.sortKey {
            attributes.append(Item.Attribute(name: "sk", value: .n(DynamoNumber(integerLiteral: index % 97))))
        }
        return Item(uniqueAttributes: attributes)
    }

    func item(_ index: Int, version: Int) -> Item {
        var random = SplitMix64(seed: spec.seed, index, version)
        var item = key(index)
        item["version"] = .n(DynamoNumber(integerLiteral: version))
        item["name"] = .s("\(random.pick(Self.words)) \(random.pick(Self.words)) \(index)")
        item["count"] = .n(DynamoNumber(integerLiteral: random.int(-1_000_000..<1_000_000)))
        item["price"] = .n(number("\(random.int(0..<100_000)).\(random.int(1..<10))"))
        item["active"] = .bool(random.chance(50))
        if random.chance(60) { item["note"] = .s(random.chance(30) ? "" : "seen in \(random.pick(Self.words))") }
        if random.chance(50) { item["nothing"] = .null }
        if random.chance(40) { item["extreme"] = .n(number(random.pick(Self.extremeNumbers))) }
        if random.chance(50) {
            item["tags"] = .ss(distinct(random.int(1..<5)) { "tag-\(random.pick(Self.words))-\($0)" })
        }
        if random.chance(50) {
            item["scores"] = .ns(
                distinct(random.int(1..<4)) { n in number(n == 0 ? random.pick(Self.extremeNumbers) : "\(n).5") }
            )
        }
        if random.chance(40) {
            item["blobs"] = .bs(distinct(random.int(1..<4)) { n in [UInt8(n)] + random.bytes(random.int(0..<12)) })
        }
        if random.chance(50) { item["payload"] = .b(random.bytes(random.int(0..<48))) }
        if random.chance(40) { item["ünïcødé ключ 🔑"] = .s("значение \(random.pick(Self.words)) 値") }
        if random.chance(60) {
            item["history"] = .l([
                .n(DynamoNumber(integerLiteral: random.int(0..<1000))), .s(random.pick(Self.words)),
                .bool(random.chance(50)),
                .null, .l([]), .m(Item()), .b([]), .ss(["a", "b"]),
            ])
        }
        if random.chance(70) {
            var address = Item()
            address["city"] = .s(random.pick(Self.words))
            address["zip"] = .s(String(random.int(10_000..<99_999)))
            address["geo"] = .m(Item(["lat": .n(number("48.8566")), "lon": .n(number("-2.3522"))]))
            var profile = Item()
            profile["address"] = .m(address)
            profile["phones"] = .l([.m(Item(["kind": .s("home"), "number": .s("+33 1 23 45 67 89")]))])
            profile["level"] = .m(Item(["l3": .m(Item(["l4": .m(Item(["l5": .l([.l([.s("deep")])])]))]))]))
            item["profile"] = .m(profile)
        }
        if spec.equivalentSpellings && random.chance(50) {
            // Canonically equivalent to Swift, different to DynamoDB: two attributes, a two-member set.
            item["caf\u{E9}"] = .s("caf\u{E9} \(version)")
            item["cafe\u{301}"] = .ss(["caf\u{E9}", "cafe\u{301}", "v\(version)"])
            item["\u{212A}"] = .n(DynamoNumber(integerLiteral: version))
            item["K"] = .s("latin K")
            var deep = AttributeValue.s("30 levels down \(random.pick(Self.words))")
            for level in stride(from: 30, to: 0, by: -1) {
                deep =
                    level % 2 == 0
                    ? .l([deep, .n(DynamoNumber(integerLiteral: level))]) : .m(Item(["l\(level)": deep]))
            }
            item["deep"] = deep
        }
        if let percent = spec.segmentPercent, random.chance(percent) {
            item["segment"] = .s("segment-\(index)-\(version)")
        }
        if let every = spec.largeItemEvery, every > 0, index % every == 0 {
            // Just under 400 KB: DynamoDB's limit counts names and values.
            let room = ItemSize.maxItemBytes - ItemSize.bytes(of: item) - "blob".utf8.count - 512
            item["blob"] = .b(random.bytes(room))
        } else if var target = spec.itemBytes {
            if let most = spec.itemBytesMax, most > target { target = random.int(target..<(most + 1)) }
            let room = target - ItemSize.bytes(of: item) - "pad".utf8.count
            if room > 0 { item["pad"] = .s(padding(room, &random)) }
        }
        return item
    }

    private func number(_ text: String) -> DynamoNumber {
        // The generator's own constants are valid; a failure here is a bug in this file.
        try! DynamoNumber(text)
    }

    private func distinct<T: Hashable>(_ count: Int, _ make: (Int) -> T) -> [T] {
        var seen = Set<T>()
        var out: [T] = []
        for n in 0..<count {
            let value = make(n)
            if seen.insert(value).inserted { out.append(value) }
        }
        return out
    }

    private func padding(_ count: Int, _ random: inout SplitMix64) -> String {
        let alphabet = Array("abcdefghijklmnopqrstuvwxyz0123456789 ".utf8)
        var bytes = [UInt8](repeating: 0, count: count)
        var word = random.next()
        for i in 0..<count {
            if i % 8 == 0 { word = random.next() }
            bytes[i] = alphabet[Int(word & 0xFF) % alphabet.count]
            word >>= 8
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
