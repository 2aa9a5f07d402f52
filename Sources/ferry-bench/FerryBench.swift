import ArgumentParser
import DynamoModel
import ExportGenerator
import ExportReader
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// Ferry's benchmarks: they print numbers and change nothing. Not tests — no assertions, no time limits.
@main
struct FerryBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ferry-bench",
        abstract: "Ferry benchmarks (numbers only).",
        subcommands: [ReadBench.self, DiffBench.self, SignBench.self]
    )
}

/// Generates (once; cached in `directory`) a FULL export of `items` items of about `itemBytes` bytes.
func generateFullExport(
    into directory: String,
    items: Int,
    itemBytes: Int,
    partitions: Int,
    format: ExportFormat = .dynamoDBJSON
) throws {
    guard !FileManager.default.fileExists(atPath: directory + "/expected/chain.json") else { return }
    var spec = ChainSpec()
    spec.initialItems = items
    spec.windows = 0
    spec.itemBytes = itemBytes
    spec.partitions = partitions
    spec.writeExpectedStates = false
    spec.format = format
    let started = Date()
    print("generating \(items) items of ~\(itemBytes) bytes into \(directory) …")
    _ = try ChainGenerator(spec: spec).generate(into: directory)
    print(String(format: "generated in %.1f s", Date().timeIntervalSince(started)))
}

/// Reads a generated FULL export of N lines (~800-byte items) on one task, decompression included.
struct ReadBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "read",
        abstract: "Export reader throughput: gunzip → lines → records, one core."
    )

    @Option(help: "Lines (items) in the export.") var lines = 1_000_000
    @Option(help: "Approximate item size in bytes.") var itemBytes = 800
    @Option(help: "Where the generated export is cached between runs.") var data = ".bench-data"
    @Option(help: "Timed repetitions (the best is reported too).") var repeats = 3
    @Option(help: "DYNAMODB_JSON or ION.") var format = "DYNAMODB_JSON"

    func run() async throws {
        guard let exportFormat = ExportFormat(rawValue: format) else {
            throw ValidationError("--format must be DYNAMODB_JSON or ION")
        }
        let directory = "\(data)/read-\(lines)-\(itemBytes)" + (exportFormat == .ion ? "-ion" : "")
        try generateFullExport(into: directory, items: lines, itemBytes: itemBytes, partitions: 4, format: exportFormat)
        let reader = ExportReader(source: LocalDirectorySource(root: directory + "/exports"))
        let export = try await reader.export(summaryKey: try await reader.summaryKeys()[0])
        let compressed = export.files.reduce(Int64(0)) { total, file in
            total
                + Int64(
                    (try? FileManager.default.attributesOfItem(atPath: "\(directory)/exports/\(file.dataFileS3Key)")[
                        .size
                    ] as? Int) ?? 0
                )
        }

        // Baseline: gunzip alone, same chunking, no parsing.
        let inflateOnly = try await measure {
            var produced: Int64 = 0
            for file in export.files {
                let decoder = DataFileDecoder(fileKey: file.dataFileS3Key, kind: .full, expectedMD5: nil)
                try await reader.source.forEachChunk(of: file.dataFileS3Key) { chunk in
                    try decoder.feedInflateOnly(chunk)
                }
                produced += decoder.decompressedBytes
            }
            return produced
        }
        let decompressed = inflateOnly.value

        print("")
        print(
            "machine: \(ProcessInfo.processInfo.processorCount) cores; \(exportFormat.rawValue) export: \(lines) lines, \(mb(compressed)) MB gzip, \(mb(decompressed)) MB uncompressed"
        )
        report(
            "gunzip only (baseline)",
            inflateOnly,
            lines: Int64(lines),
            compressed: compressed,
            decompressed: decompressed
        )

        var best: Measurement<Int64>?
        for run in 1...repeats {
            let result = try await measure {
                var records: Int64 = 0
                for file in export.files {
                    records += try await reader.readRecords(of: file, in: export) { _ in }
                }
                return records
            }
            precondition(result.value == Int64(lines), "read \(result.value) records, expected \(lines)")
            report(
                "read records, run \(run) (gunzip + MD5 + parse + verify)",
                result,
                lines: Int64(lines),
                compressed: compressed,
                decompressed: decompressed
            )
            if best == nil || result.wall < best!.wall { best = result }
        }
        if let best {
            report(
                "best of the runs above",
                best,
                lines: Int64(lines),
                compressed: compressed,
                decompressed: decompressed
            )
        }
        // Where the time goes: the same read without the MD5 of the compressed bytes (gzip's CRC-32 checks instead).
        let unverified = try await measure {
            var records: Int64 = 0
            for file in export.files {
                records += try await reader.readRecords(of: file, in: export, verify: false) { _ in }
            }
            return records
        }
        report(
            "read records without MD5 (gunzip + CRC + parse)",
            unverified,
            lines: Int64(lines),
            compressed: compressed,
            decompressed: decompressed
        )
        print(String(format: "peak RSS: %.1f MB", Double(peakRSSKilobytes()) / 1024))
    }

    func report(_ label: String, _ m: Measurement<Int64>, lines: Int64, compressed: Int64, decompressed: Int64) {
        print(
            String(
                format: "%-58@ %9.0f lines/s  %7.1f MB/s text  %6.1f MB/s gzip  wall %.2f s  cpu %.2f s",
                label as NSString,
                Double(lines) / m.wall,
                Double(decompressed) / 1e6 / m.wall,
                Double(compressed) / 1e6 / m.wall,
                m.wall,
                m.cpu
            )
        )
    }

    func mb(_ bytes: Int64) -> String { String(format: "%.1f", Double(bytes) / 1e6) }
}

struct Measurement<T> {
    var value: T
    var wall: Double
    var cpu: Double
}

func measure<T>(_ body: () async throws -> T) async rethrows -> Measurement<T> {
    let cpuStart = cpuSeconds()
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try await body()
    let wall = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    return Measurement(value: value, wall: wall, cpu: cpuSeconds() - cpuStart)
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec)
        + Double(usage.ru_stime.tv_usec) / 1e6
}

func peakRSSKilobytes() -> Int {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return usage.ru_maxrss
}
