import ExportReader
import FerryTestSupport
import Testing

@Suite("Manifests: both kinds, with the real files' quirks")
struct ManifestTests {
    /// Verbatim from a real export (gurre/ddb-pitr): no exportType, s3Prefix null.
    static let realFull =
        #"{"version":"2020-06-30","exportArn":"arn:aws:dynamodb:eu-north-1:123456789123:table/test/export/01768385930622-efd1a093","startTime":"2026-01-14T10:18:50.622Z","endTime":"2026-01-14T10:24:58.984Z","tableArn":"arn:aws:dynamodb:eu-north-1:123456789123:table/test","tableId":"cf263806-6bf1-4e51-a242-7067dcdecc72","exportTime":"2026-01-14T10:18:50.622Z","s3Bucket":"test-1231x1x","s3Prefix":null,"s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"AWSDynamoDB/01768385930622-efd1a093/manifest-files.json","billedSizeBytes":0,"itemCount":3,"outputFormat":"DYNAMODB_JSON"}"#
    static let realIncremental =
        #"{"version":"2023-08-01","exportArn":"arn:aws:dynamodb:eu-north-1:123456789123:table/test/export/01768386924000-d339e52d","startTime":"2026-01-14T10:35:24.000Z","endTime":"2026-01-14T10:40:27.622Z","tableArn":"arn:aws:dynamodb:eu-north-1:123456789123:table/test","tableId":"cf263806-6bf1-4e51-a242-7067dcdecc72","exportFromTime":"2026-01-14T10:20:00.000Z","exportToTime":"2026-01-14T10:35:00.000Z","s3Bucket":"test-1231x1x","s3Prefix":null,"s3SseAlgorithm":"AES256","s3SseKmsKeyId":null,"manifestFilesS3Key":"AWSDynamoDB/01768386924000-d339e52d/manifest-files.json","billedSizeBytes":10000000,"itemCount":6,"outputFormat":"DYNAMODB_JSON","outputView":"NEW_AND_OLD_IMAGES","exportType":"INCREMENTAL_EXPORT"}"#

    @Test("a real FULL summary: no exportType means FULL, null prefix")
    func fullSummary() throws {
        let summary = try ExportSummary.decode(Array(Self.realFull.utf8), key: "s.json")
        #expect(summary.kind == .full)
        #expect(summary.version == "2020-06-30")
        #expect(summary.exportId == "01768385930622-efd1a093")
        #expect(summary.s3Prefix == nil)
        #expect(summary.exportTime?.epochMilliseconds == 1_768_385_930_622)
        #expect(summary.pointInTime == ExportTime("2026-01-14T10:18:50.622Z"))
        #expect(summary.viewType == nil)
        #expect(summary.itemCount == 3)
    }

    @Test("a real INCREMENTAL summary: window, view type")
    func incrementalSummary() throws {
        let summary = try ExportSummary.decode(Array(Self.realIncremental.utf8), key: "s.json")
        #expect(summary.kind == .incremental)
        #expect(summary.version == "2023-08-01")
        #expect(summary.exportFromTime == ExportTime("2026-01-14T10:20:00.000Z"))
        #expect(summary.exportToTime == ExportTime("2026-01-14T10:35:00Z"))
        #expect(summary.viewType == .newAndOldImages)
        #expect(summary.pointInTime.text == "2026-01-14T10:35:00.000Z")
    }

    @Test(
        "summaries that cannot be trusted are refused, naming the field",
        arguments: [
            (
                realFull.replacingOccurrences(
                    of: #""outputFormat":"DYNAMODB_JSON""#,
                    with: #""outputFormat":"PARQUET""#
                ),
                #"s.json: unknown outputFormat "PARQUET" (expected DYNAMODB_JSON or ION)"#
            ),
            (
                realFull.replacingOccurrences(
                    of: #""outputFormat":"DYNAMODB_JSON""#,
                    with: #""outputFormat":"DYNAMODB_JSON","exportType":"DELTA""#
                ),
                #"s.json: unknown exportType "DELTA" (expected FULL_EXPORT or INCREMENTAL_EXPORT)"#
            ),
            (
                realFull.replacingOccurrences(of: #""exportTime":"2026-01-14T10:18:50.622Z","#, with: ""),
                #"s.json: FULL export has no "exportTime""#
            ),
            (
                realIncremental.replacingOccurrences(of: #""exportToTime":"2026-01-14T10:35:00.000Z","#, with: ""),
                #"s.json: INCREMENTAL export has no "exportToTime""#
            ),
            (
                realIncremental.replacingOccurrences(of: "10:35:00.000Z", with: "10:20:00.000Z"),
                "s.json: window is empty: exportFromTime 2026-01-14T10:20:00.000Z is not before exportToTime 2026-01-14T10:20:00.000Z"
            ),
            (
                realFull.replacingOccurrences(of: "2026-01-14T10:18:50.622Z", with: "yesterday"),
                #"s.json: "startTime" is not an ISO 8601 time: "yesterday""#
            ),
            (
                realFull.replacingOccurrences(
                    of: #""tableArn":"arn:aws:dynamodb:eu-north-1:123456789123:table/test","#,
                    with: ""
                ),
                #"s.json: missing "tableArn""#
            ),
            ("{not json", "s.json: not a manifest summary: not valid JSON"),
        ]
    )
    func refused(_ json: String, _ message: String) {
        do {
            _ = try ExportSummary.decode(Array(json.utf8), key: "s.json")
            Issue.record("accepted: \(json)")
        } catch {
            #expect(error.description.hasPrefix(message), "\(error.description)")
        }
    }

    @Test("manifest-files.json lines, verbatim from a real export")
    func fileManifest() throws {
        let text = """
            {"itemCount":3,"md5Checksum":"c2c8Ly/xdhzeH92qunsAvQ==","etag":"cadeac813d83753935d9e4aae8c4427f-1","dataFileS3Key":"AWSDynamoDB/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"}
            {"itemCount":0,"md5Checksum":"FjvgqIxwymKf1RbbqtrZag==","etag":"7deb4078f238dd87d6af0538152c04e9-1","dataFileS3Key":"AWSDynamoDB/data/vortt3w45u2w7glaexsiwnz4li.json.gz"}

            """
        let entries = try ManifestFileEntry.decodeLines(Array(text.utf8), key: "m.json")
        #expect(entries.count == 2)
        #expect(
            entries[0]
                == ManifestFileEntry(
                    itemCount: 3,
                    md5Checksum: "c2c8Ly/xdhzeH92qunsAvQ==",
                    etag: "cadeac813d83753935d9e4aae8c4427f-1",
                    dataFileS3Key: "AWSDynamoDB/data/u2wov2dg246wzitouzsnk6jbd4.json.gz"
                )
        )
        #expect(entries[1].itemCount == 0)
    }

    @Test("a bad manifest-files.json line is refused with its line number")
    func badFileManifestLine() {
        let text = """
            {"itemCount":3,"md5Checksum":"c2c8Ly/xdhzeH92qunsAvQ==","etag":"x-1","dataFileS3Key":"a.json.gz"}
            {"itemCount":3,"etag":"x-1","dataFileS3Key":"b.json.gz"}
            """
        #expect(throws: ExportReaderError.invalidManifest(key: "m.json", line: 2, reason: #"missing "md5Checksum""#)) {
            try ManifestFileEntry.decodeLines(Array(text.utf8), key: "m.json")
        }
    }

    @Test(
        "export times are exact milliseconds",
        arguments: [
            ("2026-01-14T10:18:50.622Z", Int64(1_768_385_930_622)), ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59.999Z", -1),
            ("2026-01-14T11:18:50.622+01:00", 1_768_385_930_622), ("2026-01-14T10:18:50.6229Z", 1_768_385_930_622),
            ("2024-02-29T00:00:00.000Z", 1_709_164_800_000),
        ]
    )
    func times(_ text: String, _ millis: Int64) {
        #expect(ExportTime(text)?.epochMilliseconds == millis)
        #expect(ExportTime(epochMilliseconds: millis) == ExportTime(text))
    }

    @Test("formatting round-trips the manifests' own form")
    func formatting() {
        #expect(ExportTime(epochMilliseconds: 1_768_385_930_622).text == "2026-01-14T10:18:50.622Z")
        #expect(ExportTime(epochMilliseconds: -1).text == "1969-12-31T23:59:59.999Z")
        #expect(ExportTime("2026-13-01T00:00:00Z") == nil)
        #expect(ExportTime("2026-01-14 10:18") == nil)
    }
}
