import AWSClient
import AWSCore
import ExportReader
import FerryCore
import FerryTestSupport
import Foundation
import Synchronization
import Testing

/// An export service in memory, on the test's clock: PITR, `ExportTableToPointInTime` with client-token idempotency,
/// exports that take `exportMinutes` to complete (or fail when armed), and the bucket showing the completed ones.
actor MemoryExportService: ExportControl, ExportBucket {
    struct Entry {
        var arn: String
        var token: String
        var identity: String
        var kind: ExportKind
        var from: Int64?
        var to: Int64
        var startedAt: Int64
        var failure: (code: String, message: String)?
    }

    static let tableArn = "arn:aws:dynamodb:us-east-1:111111111111:table/orders"
    static let t0: Int64 = 1_764_583_200_000  // 2025-12-01T10:00:00Z

    let clock: ImmediateClock
    var pitrSince: Int64?
    var entries: [Entry] = []
    var exportMinutes: Int64 = 3
    var failNext: (code: String, message: String)?
    /// Every export fails (a cause that does not go away, e.g. the bucket's policy).
    var failAll: (code: String, message: String)?
    /// New exports are not listed (ListExports lagging behind) until they complete.
    var hideNew = false
    var loseNextResponse = false
    /// Exports the listing does not show yet (as right after a request whose answer was lost).
    var unlisted = Set<String>()
    var requests = 0
    /// Service errors the next requests get, one each (`LimitExceededException` while the account is at its limit).
    var refusals: [String] = []

    init(clock: ImmediateClock, pitrSince: Int64? = MemoryExportService.t0) {
        self.clock = clock
        self.pitrSince = pitrSince
    }

    nonisolated var now: Int64 {
        let offset = clock.now.offset.components
        return Self.t0 + offset.seconds * 1000 + offset.attoseconds / 1_000_000_000_000_000
    }

    func setPITR(_ on: Bool) { pitrSince = on ? now : nil }
    func failNextExport(_ code: String, _ message: String) { failNext = (code, message) }
    func loseNextExportResponse() { loseNextResponse = true }
    func setExportMinutes(_ minutes: Int64) { exportMinutes = minutes }
    func failEveryExport(_ code: String, _ message: String) { failAll = (code, message) }
    func hideNewExports() { hideNew = true }
    func refuseNext(_ codes: [String]) { refusals += codes }

    func status(_ entry: Entry) -> String {
        guard now >= entry.startedAt + exportMinutes * 60_000 else { return "IN_PROGRESS" }
        return entry.failure == nil ? "COMPLETED" : "FAILED"
    }

    func description(_ entry: Entry) -> ExportDescription {
        var object: [String: Any] = [
            "ExportArn": entry.arn, "ExportStatus": status(entry), "ClientToken": entry.token, "S3Bucket": "bucket",
            "S3Prefix": "exports", "StartTime": Double(entry.startedAt) / 1000, "ItemCount": 7,
            "BilledSizeBytes": 1234,
            "ExportType": entry.kind == .full ? "FULL_EXPORT" : "INCREMENTAL_EXPORT",
        ]
        if status(entry) != "IN_PROGRESS" {
            object["EndTime"] = Double(entry.startedAt + exportMinutes * 60_000) / 1000
        }
        if let failure = entry.failure, status(entry) == "FAILED" {
            object["FailureCode"] = failure.code
            object["FailureMessage"] = failure.message
        }
        if let from = entry.from {
            object["IncrementalExportSpecification"] = [
                "ExportFromTime": Double(from) / 1000, "ExportToTime": Double(entry.to) / 1000,
                "ExportViewType": "NEW_AND_OLD_IMAGES",
            ]
        } else {
            object["ExportTime"] = Double(entry.to) / 1000
        }
        return Self.decode(object)
    }

    static func decode<T: Decodable>(_ object: [String: Any]) -> T {
        try! JSONDecoder().decode(T.self, from: JSONSerialization.data(withJSONObject: object))
    }

    struct Refused: Error, CustomStringConvertible { var description: String }
    struct LostResponse: Error {}

    // MARK: ExportControl

    func pointInTimeRecovery() -> PointInTimeRecovery {
        guard let since = pitrSince else { return Self.decode(["PointInTimeRecoveryStatus": "DISABLED"]) }
        return Self.decode([
            "PointInTimeRecoveryStatus": "ENABLED", "EarliestRestorableDateTime": Double(since) / 1000,
            "LatestRestorableDateTime": Double(max(since, now - 5 * 60_000)) / 1000,
        ])
    }

    func enablePointInTimeRecovery() { setPITR(true) }

    func startExport(_ request: ExportRequest) throws -> ExportDescription {
        requests += 1
        if !refusals.isEmpty {
            let code = refusals.removeFirst()
            let error = AWSServiceError(
                service: .dynamodb,
                operation: "ExportTableToPointInTime",
                httpStatus: 400,
                code: code,
                message: "refused by the test"
            )
            throw AWSClientError.service(error, classification: .throttled, attempts: 3)
        }
        guard let since = pitrSince else { throw Refused(description: "PointInTimeRecoveryUnavailableException") }
        let latest = max(since, now - 5 * 60_000)
        let identity = "\(request.kind)|\(request.bucket)|\(request.prefix ?? "")|\(request.format)"
        if let known = entries.first(where: { $0.token == request.clientToken }) {
            guard known.identity == identity else { throw Refused(description: "ImportConflictException") }
            unlisted.remove(known.arn)
            return description(known)
        }
        let (kind, from, to): (ExportKind, Int64?, Int64)
        switch request.kind {
        case .full(let time): (kind, from, to) = (.full, nil, time ?? latest)
        case let .incremental(start, end, _): (kind, from, to) = (.incremental, start, end)
        }
        guard to <= latest, (from ?? to) >= since else { throw Refused(description: "InvalidExportTimeException") }
        let entry = Entry(
            arn: "\(Self.tableArn)/export/\(entries.count)",
            token: request.clientToken,
            identity: identity,
            kind: kind,
            from: from,
            to: to,
            startedAt: now,
            failure: failNext ?? failAll
        )
        failNext = nil
        entries.append(entry)
        if loseNextResponse {
            loseNextResponse = false
            unlisted.insert(entry.arn)
            throw LostResponse()
        }
        return description(entry)
    }

    func describeExport(_ exportArn: String) -> ExportDescription {
        description(entries.first { $0.arn == exportArn }!)
    }

    func listExports() -> [ExportSummaryEntry] {
        entries.filter { !unlisted.contains($0.arn) && !(hideNew && status($0) == "IN_PROGRESS") }.map {
            Self.decode(["ExportArn": $0.arn, "ExportStatus": status($0)])
        }
    }

    // MARK: ExportBucket

    func completedExports(tableArn: String) -> [ExportScheduler.Completed] {
        entries.filter { status($0) == "COMPLETED" }.map {
            .init(
                exportArn: $0.arn,
                kind: $0.kind,
                from: $0.from.map { ExportTime(epochMilliseconds: $0) },
                to: ExportTime(epochMilliseconds: $0.to)
            )
        }
    }

    /// The windows exported, in order: FULL first (from nil).
    func windows() -> [(from: Int64?, to: Int64)] { entries.map { ($0.from, $0.to) } }
}

@Suite("ferry export's driver: the chain from the service's state, restartable, stopping where it must")
struct ExportChainRunnerTests {
    static let minute: Int64 = 60_000

    static func runner(
        _ service: MemoryExportService,
        _ clock: ImmediateClock,
        configure: (inout ExportChainOptions) -> Void = { _ in }
    ) -> ExportChainRunner<ImmediateClock> {
        var options = ExportChainOptions(bucket: "bucket", prefix: "exports")
        options.untilLagMilliseconds = 15 * minute
        configure(&options)
        return ExportChainRunner(
            table: "orders",
            tableArn: MemoryExportService.tableArn,
            options: options,
            control: service,
            bucket: service,
            clock: clock
        )
    }

    /// The chain is one FULL export, then windows of 15 minutes each starting exactly where the previous ended.
    static func expectContiguous(_ windows: [(from: Int64?, to: Int64)]) {
        #expect(windows.first.map { $0.from == nil } == true, "the FULL export comes first")
        for (previous, next) in zip(windows, windows.dropFirst()) {
            #expect(next.from == previous.to, "no gap, no overlap")
            #expect(next.to - (next.from ?? 0) == 15 * minute)
        }
        #expect(windows.dropFirst().allSatisfy { $0.from != nil }, "one FULL export only")
    }

    @Test("a FULL export first; 2 h later the windows are requested back to back until caught up, 4 at a time")
    func fromScratch() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        let first = try await Self.runner(service, clock).run()
        #expect(first.requested == 1 && first.reason == .caughtUp, "only the FULL export was due")
        clock.advance(by: .seconds(2 * 3600))
        let events = EventLog()
        let result = try await Self.runner(service, clock).run { events.append($0) }
        let windows = await service.windows()
        Self.expectContiguous(windows)
        #expect(windows.count >= 9, "the FULL export and at least 8 windows of 15 minutes")
        #expect(result.reason == .caughtUp && result.chainEnd?.epochMilliseconds == windows.last?.to)
        let latest = try #require(result.latest).epochMilliseconds
        #expect(latest - windows.last!.to <= 15 * Self.minute && latest - windows.last!.to >= 0)
        #expect(result.requested == windows.count - 1 && result.completed == windows.count - 1)
        let requested = events.all.map { if case .requested = $0 { 1 } else if case .waiting = $0 { 0 } else { -1 } }
        #expect(requested.prefix(4) == [1, 1, 1, 1], "four windows requested back to back before the first wait")
        #expect(events.all.filter { if case .completed = $0 { true } else { false } }.count == windows.count - 1)
        #expect(clock.sleeps.allSatisfy { $0 == .seconds(20) }, "waits are the poll interval on the injected clock")
    }

    @Test(
        "a request accepted but its answer lost and not listed yet (a crash between the two): the run again re-issues it with the same token and gets the same export"
    )
    func lostResponse() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        clock.advance(by: .seconds(31 * 60))
        await service.loseNextExportResponse()
        await #expect(throws: MemoryExportService.LostResponse.self) { try await Self.runner(service, clock).run() }
        let before = await service.windows().count
        let result = try await Self.runner(service, clock).run()
        let windows = await service.windows()
        Self.expectContiguous(windows)
        #expect(result.requested == windows.count - before + 1, "the lost one re-issued (same token), then the rest")
        #expect(await service.requests == windows.count + 1, "one re-issue, answered with the same export")
    }

    @Test(
        "the account at its export limit (LimitExceededException): the request is deferred a poll interval at a time, then made; the chain stays contiguous"
    )
    func limitExceeded() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        clock.advance(by: .seconds(61 * 60))
        await service.refuseNext(Array(repeating: "LimitExceededException", count: 25))
        let events = EventLog()
        let sleepsBefore = clock.sleeps.count
        let result = try await Self.runner(service, clock).run { events.append($0) }
        Self.expectContiguous(await service.windows())
        #expect(result.reason == .caughtUp && result.requested >= 4)
        let deferred = events.all.compactMap {
            if case let .deferred(code, _, attempt) = $0 { (code, attempt) } else { nil }
        }
        #expect(deferred.count == 25 && deferred.allSatisfy { $0.0 == "LimitExceededException" })
        #expect(deferred.map(\.1) == Array(1...25), "consecutive refusals counted, however many")
        #expect(clock.sleeps.count - sleepsBefore >= 25, "each deferral waited a poll interval on the injected clock")
        #expect(events.all.first?.jsonLine.contains("\"event\":\"deferred\"") == true)
    }

    @Test("ExportConflictException that persists stops the run after 10 tries; --once does not wait at all")
    func persistentConflict() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        // Limits before the conflicts do not count toward the conflicts' cap.
        await service.refuseNext(Array(repeating: "LimitExceededException", count: 5))
        await service.refuseNext(Array(repeating: "ExportConflictException", count: 11))
        await #expect {
            try await Self.runner(service, clock).run()
        } throws: { error in
            guard case AWSClientError.service(let service, _, _) = error else { return false }
            return service.code == "ExportConflictException"
        }
        #expect(await service.windows().isEmpty && clock.sleeps.count == 15)
        await service.refuseNext(["LimitExceededException"])
        await #expect(throws: AWSClientError.self) { try await Self.runner(service, clock) { $0.once = true }.run() }
        #expect(clock.sleeps.count == 15, "--once reports the refusal instead of waiting")
        let result = try await Self.runner(service, clock) { $0.once = true }.run()
        #expect(result.requested == 1, "and the next run requests it")
    }

    @Test("the same window requested twice with one token returns one export (re-issue after a crash)")
    func reissue() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        // --once twice in a row without time passing: the second finds everything requested and running.
        let first = try await Self.runner(service, clock) { $0.once = true }.run()
        let second = try await Self.runner(service, clock) { $0.once = true }.run()
        #expect(first.requested == 1 && second.requested == 0 && clock.sleeps.isEmpty)
        #expect(await service.windows().count == 1)
    }

    @Test("PITR off: stops with the command that turns it on; --enable-pitr turns it on and starts the chain")
    func pitrOff() async throws {
        let clock = ImmediateClock()
        let service = MemoryExportService(clock: clock, pitrSince: nil)
        await #expect {
            try await Self.runner(service, clock).run()
        } throws: { error in
            "\(error)".contains("update-continuous-backups --table-name orders") && "\(error)".contains("--enable-pitr")
        }
        let events = EventLog()
        let result = try await Self.runner(service, clock) { $0.enablePITR = true }.run { events.append($0) }
        #expect(events.all.first == .pitrEnabled)
        let windows = await service.windows()
        #expect(result.reason == .caughtUp && windows.count >= 1)
        Self.expectContiguous(windows)
    }

    @Test("PITR turned off and on mid-chain: the chain cannot continue; a new FULL export is needed")
    func pitrGap() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        await service.setPITR(false)
        clock.advance(by: .seconds(600))
        await service.setPITR(true)
        clock.advance(by: .seconds(3600))
        await #expect {
            try await Self.runner(service, clock).run()
        } throws: { error in
            guard case .pitrGap = error as? ExportChainError else { return false }
            return "\(error)".contains("A new FULL export is needed")
        }
    }

    @Test("a failed export stops with its code and window; --retry-failed requests the window again and goes on")
    func failedExport() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        clock.advance(by: .seconds(20 * 60))
        await service.failNextExport("S3AccessDenied", "Access Denied to bucket")
        await #expect {
            try await Self.runner(service, clock).run()
        } throws: { error in
            "\(error)".contains("S3AccessDenied: Access Denied to bucket") && "\(error)".contains("--retry-failed")
                && "\(error)".contains("the window [")
        }
        // Without --retry-failed it stops again, at once, with nothing new requested.
        let count = await service.windows().count
        await #expect(throws: ExportChainError.self) { try await Self.runner(service, clock).run() }
        #expect(await service.windows().count == count)
        let result = try await Self.runner(service, clock) { $0.retryFailed = true }.run()
        let windows = await service.windows()
        #expect(result.reason == .caughtUp)
        // The failed window appears twice (failed, then retried); the completed chain is contiguous.
        let completed = await service.completedExports(tableArn: MemoryExportService.tableArn)
        Self.expectContiguous(
            completed.map { ($0.from?.epochMilliseconds, $0.to.epochMilliseconds) }.sorted { $0.1 < $1.1 }
        )
        #expect(windows.count == completed.count + 1)
    }
}

extension ExportChainRunnerTests {
    @Test("two runs close together (or a run again after a lost answer) ask for one FULL export, not two")
    func oneFull() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        await service.loseNextExportResponse()
        await #expect(throws: MemoryExportService.LostResponse.self) {
            try await Self.runner(service, clock) { $0.once = true }.run()
        }
        clock.advance(by: .seconds(40))  // the latest restorable time moved: still the same FULL export time
        let again = try await Self.runner(service, clock) { $0.once = true }.run()
        let count = await service.windows().count
        #expect(again.requested == 1 && count == 1, "the same token: the same export")
    }

    @Test("a pinned FULL export (migrate's plan) is continued even when a newer FULL export completes")
    func pinnedFull() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        let first = try #require(await service.completedExports(tableArn: MemoryExportService.tableArn).first)
        clock.advance(by: .seconds(20 * 60))
        // Someone starts another FULL export into the same prefix.
        _ = try await Self.runner(service, clock) {
            $0.once = true
            $0.fullExportArn = "arn:none"
        }.run()
        clock.advance(by: .seconds(3600))
        let result = try await Self.runner(service, clock) { $0.fullExportArn = first.exportArn }.run()
        let incrementals = await service.windows().filter { $0.from != nil }
        #expect(incrementals.first?.from == first.to.epochMilliseconds, "the chain goes on from the pinned FULL")
        #expect(result.chainEnd?.epochMilliseconds == incrementals.last?.to)
    }

    @Test("--retry-failed against a failure that does not go away: three new attempts, then it stops with the code")
    func retryCap() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        _ = try await Self.runner(service, clock).run()
        clock.advance(by: .seconds(20 * 60))
        await service.failEveryExport("S3AccessDenied", "Access Denied")
        await #expect {
            try await Self.runner(service, clock) { $0.retryFailed = true }.run()
        } throws: { error in
            "\(error)".contains("S3AccessDenied")
        }
        // Per window (the next one was requested too while the first ran): the first attempt and three retries.
        let attempts = Dictionary(grouping: await service.windows().dropFirst(), by: { $0.from! }).mapValues(\.count)
        #expect(!attempts.isEmpty && attempts.values.allSatisfy { $0 == 4 }, "\(attempts)")
    }

    @Test("exports ListExports does not show yet are waited for, not requested again and again")
    func unlistedExports() async throws {
        let clock = ImmediateClock()
        clock.advance(by: .seconds(3600))
        let service = MemoryExportService(clock: clock)
        await service.hideNewExports()
        let result = try await Self.runner(service, clock).run()
        let (requests, windows) = (await service.requests, await service.windows().count)
        #expect(result.reason == .caughtUp && requests == windows)
    }
}

/// Events collected from a `@Sendable` progress callback.
final class EventLog: Sendable {
    private let events = Mutex<[ExportEvent]>([])
    func append(_ event: ExportEvent) { events.withLock { $0.append(event) } }
    var all: [ExportEvent] { events.withLock { $0 } }
}

@Suite("ferry export's destination pre-flight")
struct ExportDestinationTests {
    @Test("the expected owner: --bucket-owner, else the table's account from its ARN, else none")
    func expectedOwner() {
        let arn = "arn:aws:dynamodb:eu-west-1:111111111111:table/orders"
        #expect(ExportDestination.expectedOwner(bucketOwner: "222222222222", tableArn: arn) == "222222222222")
        #expect(ExportDestination.expectedOwner(bucketOwner: nil, tableArn: arn) == "111111111111")
        #expect(ExportDestination.expectedOwner(bucketOwner: nil, tableArn: "orders") == nil)
        #expect(ExportDestination.expectedOwner(bucketOwner: nil, tableArn: "arn:aws:s3:::orders") == nil)
        #expect(ExportDestination.checkKey(prefix: "chain") == "chain/.ferry-write-check")
        #expect(ExportDestination.checkKey(prefix: "") == ".ferry-write-check")
    }

    @Test("a refused check names the bucket, key, account and what to do; a missing bucket says so")
    func messages() {
        var error = ExportDestinationError(
            bucket: "dr-exports",
            key: "chain/.ferry-write-check",
            owner: "111111111111",
            ownerGiven: false,
            code: "AccessDenied",
            httpStatus: 403
        )
        #expect(error.description.contains("s3://dr-exports/chain/.ferry-write-check (AccessDenied, HTTP 403)"))
        #expect(error.description.contains("account 111111111111, the table's"))
        #expect(error.description.contains("needs --bucket-owner ACCOUNT"))
        error.ownerGiven = true
        #expect(error.description.contains("account 111111111111 (--bucket-owner)"))
        error.code = "NoSuchBucket"
        error.httpStatus = 404
        #expect(error.description.hasSuffix("there is no bucket dr-exports; create it, or fix --to"))
    }
}
