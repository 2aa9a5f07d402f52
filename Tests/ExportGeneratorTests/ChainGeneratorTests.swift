import DynamoModel
import ExportGenerator
import ExportReader
import FerryTestSupport
import Foundation
import Testing

@Suite("Generated chains read back exactly, and their expected states are right")
struct ChainGeneratorTests {
    static func spec(
        prefix: String?,
        view: ExportViewType,
        sortKey: Bool = true,
        seed: UInt64 = 7,
        format: ExportFormat = .dynamoDBJSON,
        mixed: Bool = false
    ) -> ChainSpec {
        var spec = ChainSpec()
        spec.format = format
        spec.alternateFormats = mixed
        spec.seed = seed
        spec.prefix = prefix
        spec.viewType = view
        spec.sortKey = sortKey
        spec.initialItems = 150
        spec.windows = 6
        spec.changesPerWindow = 80
        return spec
    }

    @Test(
        "the reader verifies every export, and applying the records gives each expected state",
        arguments: [
            spec(prefix: "exports", view: .newAndOldImages),
            spec(prefix: nil, view: .newImage),
            spec(prefix: "deep/nested/prefix", view: .newAndOldImages, sortKey: false, seed: 99),
            spec(prefix: "ion", view: .newAndOldImages, format: .ion),
            spec(prefix: nil, view: .newImage, seed: 3, format: .ion, mixed: true),
        ]
    )
    func chainReadsBack(_ spec: ChainSpec) async throws {
        try await withTemporaryDirectory { directory in
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            let reader = ExportReader(source: LocalDirectorySource(root: chain.exportsDirectory))
            let summaryKeys = try await reader.summaryKeys()
            #expect(summaryKeys.count == spec.windows + 1)
            var exports: [Export] = []
            for key in summaryKeys { exports.append(try await reader.export(summaryKey: key)) }
            exports.sort { $0.summary.pointInTime < $1.summary.pointInTime }
            #expect(exports.map(\.summary.exportId) == chain.exports.map(\.exportId))

            var table: [Item: Item] = [:]
            for (export, generated) in zip(exports, chain.exports) {
                // readRecords verifies MD5 and item counts against the manifest.
                let records = try await allRecords(reader, export)
                #expect(Int64(records.count) == generated.records)
                #expect(Int64(records.count) == export.summary.itemCount)
                // Compaction: each key at most once per export.
                let keys = try records.map { record -> Item in
                    switch try record.operation() {
                    case .put(let item): item.projected(onto: chain.keyNames)!
                    case .delete(let keys): keys
                    }
                }
                #expect(Set(keys).count == keys.count)
                // The scanner's sizes (hot path, no values built) equal the sizes of the decoded items.
                for record in records {
                    let body = try record.body()
                    switch body {
                    case .item(let item): #expect(record.newImageSize == ItemSize.bytes(of: item))
                    case .change(let change):
                        #expect(record.newImageSize == change.newImage.map(ItemSize.bytes(of:)))
                        #expect(record.oldImageSize == change.oldImage.map(ItemSize.bytes(of:)))
                    }
                }
                try apply(records, keyNames: chain.keyNames, to: &table)
                let expected = try loadState(directory + "/" + generated.expectedStateFile!, keyNames: chain.keyNames)
                #expect(table.count == expected.count)
                #expect(table == expected, "state after \(generated.exportId)")
            }
        }
    }

    @Test("the same chain exported as DYNAMODB_JSON and as ION yields identical records")
    func jsonAndIonAgree() async throws {
        try await withTemporaryDirectory { directory in
            var records: [[ExportRecord]] = []
            for format in [ExportFormat.dynamoDBJSON, .ion] {
                let chain = try ChainGenerator(spec: Self.spec(prefix: "p", view: .newAndOldImages, format: format))
                    .generate(into: directory + "/\(format.rawValue)")
                let reader = ExportReader(source: LocalDirectorySource(root: chain.exportsDirectory))
                var all: [ExportRecord] = []
                for key in try await reader.summaryKeys() {
                    all += try await allRecords(reader, try await reader.export(summaryKey: key))
                }
                records.append(all)
            }
            #expect(records[0].count == records[1].count && records[0].count > 500)
            for (json, ion) in zip(records[0], records[1]) {
                #expect(try json.body() == ion.body())
                #expect(json.newImageSize == ion.newImageSize && json.oldImageSize == ion.oldImageSize)
                #expect(json.writeTimestampMicros == ion.writeTimestampMicros)
                #expect(json.location.line == ion.location.line)
            }
        }
    }

    @Test("the verifier finds a tampered expected state")
    func verifierCatchesDifferences() async throws {
        try await withTemporaryDirectory { directory in
            var spec = Self.spec(prefix: "p", view: .newAndOldImages)
            spec.windows = 2
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            #expect(try await ChainVerifier.verify(chainDirectory: directory).allSatisfy { $0.mismatches == 0 })
            let last = directory + "/" + chain.exports[2].expectedStateFile!
            var lines = try String(contentsOfFile: last, encoding: .utf8).split(separator: "\n")
            lines.removeFirst()
            try (lines.joined(separator: "\n") + "\n").write(toFile: last, atomically: true, encoding: .utf8)
            let checks = try await ChainVerifier.verify(chainDirectory: directory)
            #expect(checks.map(\.mismatches) == [0, 0, 1])
        }
    }

    @Test("the same spec gives byte-identical output")
    func deterministic() async throws {
        try await withTemporaryDirectory { directory in
            let spec = Self.spec(prefix: "p", view: .newAndOldImages)
            _ = try ChainGenerator(spec: spec).generate(into: directory + "/a")
            _ = try ChainGenerator(spec: spec).generate(into: directory + "/b")
            let files = try FileManager.default.subpathsOfDirectory(atPath: directory + "/a").sorted()
            #expect(files == (try FileManager.default.subpathsOfDirectory(atPath: directory + "/b").sorted()))
            for file in files where !file.hasSuffix("chain.json") {
                let a = FileManager.default.contents(atPath: directory + "/a/" + file)
                #expect(a == FileManager.default.contents(atPath: directory + "/b/" + file), "\(file)")
            }
            var other = spec
            other.seed += 1
            _ = try ChainGenerator(spec: other).generate(into: directory + "/c")
            #expect(try FileManager.default.subpathsOfDirectory(atPath: directory + "/c").sorted() != files)
        }
    }

    @Test("the layout is AWS's: ids, shared incremental data folder, manifests and checksums, empty partitions")
    func layout() async throws {
        try await withTemporaryDirectory { directory in
            var spec = Self.spec(prefix: nil, view: .newAndOldImages)
            spec.windows = 2
            let chain = try ChainGenerator(spec: spec).generate(into: directory)
            let root = chain.exportsDirectory
            let full = chain.exports[0].exportId
            #expect(full.wholeMatch(of: /[0-9]{14}-[0-9a-f]{8}/) != nil)
            #expect(full.hasPrefix("01768385930622-"), "the id starts with the start time in epoch ms")
            let names = try FileManager.default.contentsOfDirectory(atPath: "\(root)/AWSDynamoDB/\(full)").sorted()
            #expect(
                names == [
                    "_started", "data", "manifest-files.json", "manifest-files.md5", "manifest-summary.json",
                    "manifest-summary.md5",
                ]
            )
            let incremental = chain.exports[1].exportId
            #expect(
                try FileManager.default.contentsOfDirectory(atPath: "\(root)/AWSDynamoDB/\(incremental)").contains(
                    "data"
                ) == false
            )

            let summary = try String(
                contentsOfFile: "\(root)/AWSDynamoDB/\(full)/manifest-summary.json",
                encoding: .utf8
            )
            #expect(!summary.contains("exportType"), "real FULL summaries carry no exportType")
            #expect(summary.contains(#""s3Prefix":null"#))
            #expect(summary.contains(#""manifestFilesS3Key":"AWSDynamoDB/\#(full)/manifest-files.json""#))
            let manifest = FileManager.default.contents(
                atPath: "\(root)/AWSDynamoDB/\(incremental)/manifest-files.json"
            )!
            #expect(
                try String(contentsOfFile: "\(root)/AWSDynamoDB/\(incremental)/manifest-files.md5", encoding: .utf8)
                    == base64MD5(Array(manifest))
            )

            let entries = try ManifestFileEntry.decodeLines(Array(manifest), key: "m")
            #expect(entries.count == spec.partitions)
            #expect(
                entries.allSatisfy {
                    $0.dataFileS3Key.wholeMatch(of: /AWSDynamoDB\/data\/[a-z2-7]{26}\.json\.gz/) != nil
                }
            )
            #expect(entries.contains { $0.itemCount == 0 }, "an empty partition still gets its file")
            for entry in entries {
                let bytes = Array(FileManager.default.contents(atPath: "\(root)/\(entry.dataFileS3Key)")!)
                #expect(base64MD5(bytes) == entry.md5Checksum)
                // The S3 ETag of a one-part multipart upload: hex(MD5(MD5(object))) + "-1".
                let inner = Base64.decode(entry.md5Checksum)!
                #expect(entry.etag == hexMD5(inner) + "-1")
            }
        }
    }

    @Test("the chain holds every change kind and every attribute type")
    func coverage() async throws {
        try await withTemporaryDirectory { directory in
            let chain = try ChainGenerator(spec: Self.spec(prefix: "x", view: .newAndOldImages)).generate(
                into: directory
            )
            let reader = ExportReader(source: LocalDirectorySource(root: chain.exportsDirectory))
            var tags = Set<String>()
            var inserts = 0
            var updates = 0
            var deletes = 0
            var droppedAttributes = 0
            var emptyStrings = 0
            var extremes = 0
            func visit(_ value: AttributeValue) {
                tags.insert(value.typeTag)
                switch value {
                case .s(let s) where s.isEmpty: emptyStrings += 1
                case .n(let n) where n.significantDigitCount == 38 || abs(n.summary.leadingExponent) >= 125:
                    extremes += 1
                case .l(let list): list.forEach(visit)
                case .m(let map): map.attributes.forEach { visit($0.value) }
                default: break
                }
            }
            for key in try await reader.summaryKeys() {
                let export = try await reader.export(summaryKey: key)
                for record in try await allRecords(reader, export) {
                    switch try record.body() {
                    case .item(let item): item.attributes.forEach { visit($0.value) }
                    case .change(let change):
                        change.newImage?.attributes.forEach { visit($0.value) }
                        switch (change.oldImage, change.newImage) {
                        case (nil, _?): inserts += 1
                        case (let old?, let new?):
                            updates += 1
                            if old.names.contains(where: { new[$0] == nil }) { droppedAttributes += 1 }
                        case (_?, nil): deletes += 1
                        case (nil, nil): Issue.record("a NEW_AND_OLD_IMAGES record with no image")
                        }
                    }
                }
            }
            #expect(tags == ["S", "N", "B", "BOOL", "NULL", "SS", "NS", "BS", "L", "M"])
            #expect(inserts > 0 && updates > 0 && deletes > 0 && droppedAttributes > 0)
            #expect(emptyStrings > 0 && extremes > 0)
        }
    }

    @Test("large items come out just under DynamoDB's 400 KB limit; padded items near the asked size")
    func itemSizes() async throws {
        try await withTemporaryDirectory { directory in
            var spec = ChainSpec()
            spec.initialItems = 20
            spec.windows = 0
            spec.largeItemEvery = 10
            let chain = try ChainGenerator(spec: spec).generate(into: directory + "/large")
            let items = try loadState(
                directory + "/large/" + chain.exports[0].expectedStateFile!,
                keyNames: chain.keyNames
            ).values
            let large = items.map(ItemSize.bytes(of:)).filter { $0 > 300_000 }
            #expect(large.count == 2)
            #expect(large.allSatisfy { $0 <= ItemSize.maxItemBytes && $0 > ItemSize.maxItemBytes - 2048 })

            spec.largeItemEvery = nil
            spec.itemBytes = 800
            let padded = try ChainGenerator(spec: spec).generate(into: directory + "/padded")
            let sizes = try loadState(
                directory + "/padded/" + padded.exports[0].expectedStateFile!,
                keyNames: padded.keyNames
            ).values.map(ItemSize.bytes(of:))
            #expect(sizes.allSatisfy { (700...900).contains($0) }, "\(sizes)")
        }
    }
}

func hexMD5(_ bytes: [UInt8]) -> String {
    Base64.decode(base64MD5(bytes))!.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}
