import AWSClient
import AWSCore
import Foundation
import Synchronization

/// How the workers of a sharded run coordinate through the shared state (`SharedStateStore`, an S3 prefix), with
/// conditional writes only — no lock service, no clock shared between machines:
///
/// - `run.json`, created once (`If-None-Match: *`): the plan and the shard count; a worker of another plan or
///   another count stops instead of mixing into it.
/// - `shards/<I>/claim.json`: which worker applies shard I. Created with `If-None-Match: *`, renewed every third of
///   the lease with `If-Match` (compare-and-swap). A second worker given the same index watches the claim: if it
///   changes, its holder is alive and the second worker stops; if it stays unchanged for 1.5 leases (measured on
///   the watcher's own clock), the holder is gone and the watcher takes it over with `If-Match`. A holder sends no
///   batch once 5/6 of a lease has passed since its last renewal was sent, and a renewal that finds the claim
///   replaced ends its run: so the old and the new holder never write at once (up to batches already in flight).
/// - `windows/<k>/shard-<I>.json`, created once: shard I completed window k; the body is its checkpoint at that
///   point, so a worker replaced on another machine (without the local checkpoint) resumes from there. The barrier
///   before window k+1 waits for every shard's marker of window k.
public struct ShardCoordinator: Sendable {
    public let store: any SharedStateStore
    public let shard: ShardSpec
    public let planId: String
    /// This worker: random, so a restarted worker is a new owner.
    public let owner: String
    /// For people reading the claim: host name and process id.
    public let holderText: String
    public var leaseDuration: Duration = .seconds(30)
    /// How often the barrier and a watched claim are read again.
    public var pollInterval: Duration = .seconds(2)
    public var clock: any Clock<Duration> = ContinuousClock()
    /// Notices for the operator (a claim taken over, a barrier reached).
    public var notice: @Sendable (String) -> Void = { _ in }

    public init(store: any SharedStateStore, shard: ShardSpec, planId: String, owner: String? = nil) {
        self.store = store
        self.shard = shard
        self.planId = planId
        self.owner = owner ?? Self.randomOwner()
        holderText = "\(ProcessInfo.processInfo.hostName) pid \(getpid())"
    }

    static func randomOwner() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<4).map { _ in String(generator.next() as UInt32, radix: 16) }.joined(separator: "-")
    }

    // MARK: keys

    static let runKey = "run.json"
    static func claimKey(_ shard: Int) -> String { "shards/\(shard)/claim.json" }
    static func markerKey(window: Int, shard: Int) -> String { "windows/\(window)/shard-\(shard).json" }

    struct RunRecord: Codable, Hashable {
        var planId: String
        var shards: Int
    }

    struct Claim: Codable, Hashable {
        var owner: String
        var holder: String
        var shard: String
        var sequence: Int
        var leaseSeconds: Double
        var released: Bool
    }

    // MARK: the run record

    /// Creates the run record, or checks that the one there is this plan's with this shard count.
    public func join() async throws {
        let mine = RunRecord(planId: planId, shards: shard.count)
        for _ in 0..<5 {
            switch try await store.write(Self.runKey, try Self.encode(mine), condition: .ifAbsent) {
            case .written: return
            case .conflict: try await clock.sleep(for: .milliseconds(200))
            case .preconditionFailed:
                guard let object = try await store.read(Self.runKey) else { continue }
                let recorded: RunRecord = try Self.decode(object.body, key: Self.runKey)
                guard recorded == mine else {
                    throw ShardError.otherRun(
                        state: store.location,
                        recorded: "plan \(recorded.planId) with \(recorded.shards) shards",
                        given: "plan \(planId) with \(shard.count) shards"
                    )
                }
                return
            }
        }
        throw ShardError.unreadable(key: Self.runKey, reason: "it kept changing while it was written")
    }

    // MARK: the claim

    /// Claims this worker's shard: at once when nobody holds it (or its holder released it), after 1.5 leases when
    /// its holder stopped renewing it; throws `claimedByAnother` when its holder renews it meanwhile.
    public func claim() async throws -> ShardLease {
        let key = Self.claimKey(shard.index)
        let since = clock.stopwatch()
        var attempts = 0
        while true {
            attempts += 1
            if attempts > 20 { throw ShardError.unreadable(key: key, reason: "it kept changing while it was claimed") }
            let sent = since()
            guard let current = try await store.read(key) else {
                if case .written(let eTag) = try await store.write(key, try body(sequence: 0), condition: .ifAbsent) {
                    return ShardLease(eTag: eTag ?? "", renewedAt: sent, since: since, duration: leaseDuration)
                }
                continue
            }
            let held: Claim = try Self.decode(current.body, key: key)
            if held.owner == owner {
                // A retried create that had in fact succeeded.
                return ShardLease(
                    eTag: current.eTag ?? "",
                    sequence: held.sequence,
                    renewedAt: sent,
                    since: since,
                    duration: leaseDuration
                )
            }
            if !held.released {
                // Watch it: a live holder renews it within a third of its lease.
                let watch = clock.stopwatch()
                while watch() < leaseDuration * 3 / 2 {
                    try await clock.sleep(for: min(pollInterval, leaseDuration / 6))
                    let now = try await store.read(key)
                    guard now?.eTag == current.eTag else {
                        let renewed = try now.map { (try Self.decode($0.body, key: key) as Claim) }
                        if let renewed, !renewed.released, renewed.owner != owner {
                            throw ShardError.claimedByAnother(
                                shard: shard.description,
                                state: store.location,
                                holder: renewed.holder
                            )
                        }
                        break
                    }
                }
                guard try await store.read(key)?.eTag == current.eTag else { continue }
            }
            let taking = since()
            switch try await store.write(
                key,
                try body(sequence: held.sequence + 1),
                condition: .ifMatch(eTag: current.eTag ?? "")
            )
            {
            case .written(let eTag):
                notice(
                    held.released
                        ? "shard \(shard) claimed (its last worker, \(held.holder), released it)"
                        : "shard \(shard) taken over from \(held.holder), which stopped renewing its claim"
                )
                return ShardLease(
                    eTag: eTag ?? "",
                    sequence: held.sequence + 1,
                    renewedAt: taking,
                    since: since,
                    duration: leaseDuration
                )
            case .preconditionFailed, .conflict: continue
            }
        }
    }

    /// Renews the claim every third of the lease until cancelled; throws `claimLost` when another worker took it or
    /// it could not be renewed before the lease ran out.
    public func keepRenewing(_ lease: ShardLease) async throws {
        var lastError: String?
        while true {
            try await clock.sleep(for: leaseDuration / 3)
            do {
                try await renew(lease)
                lastError = nil
            } catch let error as ShardError {
                lease.lose("\(error)")
                throw error
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                lastError = "\(error)"
            }
            if !lease.isValid {
                let why = "it could not be renewed within the lease of \(leaseDuration): \(lastError ?? "no answer")"
                lease.lose(why)
                throw ShardError.claimLost(shard: shard.description, state: store.location, why: why)
            }
        }
    }

    /// One renewal: compare-and-swap on the ETag this worker last wrote.
    func renew(_ lease: ShardLease) async throws {
        let key = Self.claimKey(shard.index)
        let (eTag, sequence) = lease.current
        let sent = lease.since()
        switch try await store.write(key, try body(sequence: sequence + 1), condition: .ifMatch(eTag: eTag)) {
        case .written(let newTag):
            lease.renewed(eTag: newTag ?? "", sequence: sequence + 1, at: sent)
        case .conflict:
            return  // another write in progress; the next renewal tells
        case .preconditionFailed:
            let now = try await store.read(key)
            if let now, let claim = try? (Self.decode(now.body, key: key) as Claim), claim.owner == owner,
                claim.sequence == sequence + 1
            {
                // Our retried renewal had in fact been written.
                lease.renewed(eTag: now.eTag ?? "", sequence: claim.sequence, at: sent)
                return
            }
            let holder = now.flatMap { try? (Self.decode($0.body, key: key) as Claim).holder } ?? "nobody"
            throw ShardError.claimLost(
                shard: shard.description,
                state: store.location,
                why: "it was taken over by \(holder)"
            )
        }
    }

    /// Marks the claim released (the run ended: completed, stopped or failed), so a next worker claims it at once.
    public func release(_ lease: ShardLease) async {
        let (eTag, sequence) = lease.current
        guard lease.lostReason == nil, var claim = try? claimBody(sequence: sequence + 1) else { return }
        claim.released = true
        guard let body = try? Self.encode(claim) else { return }
        _ = try? await store.write(Self.claimKey(shard.index), body, condition: .ifMatch(eTag: eTag))
    }

    private func claimBody(sequence: Int) throws -> Claim {
        Claim(
            owner: owner,
            holder: holderText,
            shard: shard.description,
            sequence: sequence,
            leaseSeconds: Double(leaseDuration.components.seconds),
            released: false
        )
    }

    private func body(sequence: Int) throws -> [UInt8] { try Self.encode(try claimBody(sequence: sequence)) }

    // MARK: windows and the barrier

    /// Records that this shard completed window `window` (once: a marker already there is kept).
    public func publish(window: Int, checkpoint: Checkpoint) async throws {
        let key = Self.markerKey(window: window, shard: shard.index)
        for _ in 0..<5 {
            switch try await store.write(key, try Self.encode(checkpoint), condition: .ifAbsent) {
            case .written, .preconditionFailed: return
            case .conflict: try await clock.sleep(for: .milliseconds(200))
            }
        }
        throw ShardError.unreadable(key: key, reason: "it kept changing while it was written")
    }

    /// The shards whose marker for `window` is not there yet (`seen` keeps those found, so each is read once).
    public func missing(window: Int, seen: inout Set<Int>) async throws -> [Int] {
        var missing: [Int] = []
        for other in 0..<shard.count where !seen.contains(other) {
            if try await store.read(Self.markerKey(window: window, shard: other)) != nil {
                seen.insert(other)
            } else {
                missing.append(other)
            }
        }
        return missing
    }

    /// The checkpoint of this shard's newest window marker at or after window `from`, if any.
    public func latestCheckpoint(from window: Int) async throws -> Checkpoint? {
        var latest: Checkpoint?
        var next = max(0, window)
        while let object = try await store.read(Self.markerKey(window: next, shard: shard.index)) {
            latest = try Self.decode(object.body, key: Self.markerKey(window: next, shard: shard.index))
            next += 1
        }
        return latest
    }

    // MARK: status

    /// One shard as `ferry status --state` shows it.
    public struct ShardStatus: Sendable, Codable, Hashable {
        public var shard: Int
        /// Windows this shard completed (its markers, consecutive from the first).
        public var windowsDone: Int
        public var itemsApplied: Int64
        public var rejects: Int64
        public var holder: String?
        /// `active` (claimed and not released), `released`, or `unclaimed`.
        public var claim: String
    }

    /// Every shard's completed windows and claim; `from` skips markers known to exist (windows before it).
    public static func status(store: any SharedStateStore, count: Int, windows: Int) async throws -> [ShardStatus] {
        var shards: [ShardStatus] = []
        for index in 0..<count {
            var done = 0
            var last: Checkpoint?
            while done < windows, let object = try await store.read(markerKey(window: done, shard: index)) {
                last = try decode(object.body, key: markerKey(window: done, shard: index))
                done += 1
            }
            let claim = try await store.read(claimKey(index)).map { try decode($0.body, key: claimKey(index)) as Claim }
            shards.append(
                ShardStatus(
                    shard: index,
                    windowsDone: done,
                    itemsApplied: last?.itemsApplied ?? 0,
                    rejects: last?.rejects ?? 0,
                    holder: claim?.holder,
                    claim: claim == nil ? "unclaimed" : claim!.released ? "released" : "active"
                )
            )
        }
        return shards
    }

    // MARK: --follow

    static let followKey = "follow.json"

    /// The windows `--follow` added after the plan's, as the workers agreed on them, and where the run ended.
    struct FollowRecord: Codable, Hashable {
        var windows: [Plan.Window]
        /// Set once a worker found the lag within `--until-lag` after this many followed windows: no window is
        /// announced after it, and every worker finishes there.
        var closedAt: Int?
    }

    /// What the workers agreed to do after the chain a worker has applied (and passed the barrier of).
    public enum FollowAgreement: Sendable, Equatable {
        /// Apply these windows next (empty: nothing new yet; look again after the poll interval).
        case apply([Plan.Window])
        /// The run is over: a worker found the lag within `--until-lag` at this chain's end.
        case closed
    }

    /// `--follow`, sharded: the windows after `followed` (this worker's windows beyond the plan's) are announced once,
    /// by the first worker that finds them and creates or replaces `follow.json` (`If-None-Match: *` / `If-Match`);
    /// every other worker applies the announced ones, once its own look at the source finds them too (it reads
    /// their files). `found` are the windows this worker's look found after the chain; `caughtUp` says its lag is
    /// within `--until-lag`, which closes the run at this chain's end for every worker.
    public func agree(followed: [Plan.Window], found: [Plan.Window], caughtUp: Bool) async throws -> FollowAgreement {
        let key = Self.followKey
        for _ in 0..<20 {
            let object = try await store.read(key)
            let record: FollowRecord = try object.map { try Self.decode($0.body, key: key) } ?? .init(windows: [])
            guard record.windows.count >= followed.count,
                zip(record.windows, followed).allSatisfy({ $0.exportId == $1.exportId })
            else {
                throw ShardError.unreadable(
                    key: key,
                    reason:
                        "its windows (\(record.windows.map(\.exportId))) are not the ones this worker applied (\(followed.map(\.exportId)))"
                )
            }
            if record.windows.count > followed.count {
                let announced = Array(record.windows[followed.count...])
                // Applied only as this worker's own look finds them: it needs their manifests to read the files.
                let common = zip(announced, found).prefix { $0.exportId == $1.exportId }.count
                if common == 0 && !found.isEmpty {
                    throw ShardError.unreadable(
                        key: key,
                        reason:
                            "another worker announced export \(announced[0].exportId) as window \(announced[0].index + 1), this worker's look at the source continues the chain with \(found[0].exportId): the workers see different exports (overlapping windows?); stop them and plan again"
                    )
                }
                return .apply(Array(found.prefix(common)))
            }
            if record.closedAt != nil { return .closed }
            var next = record
            if !found.isEmpty {
                next.windows += found
            } else if caughtUp {
                next.closedAt = followed.count
            } else {
                return .apply([])
            }
            let condition: S3Client.WriteCondition = object.map { .ifMatch(eTag: $0.eTag ?? "") } ?? .ifAbsent
            switch try await store.write(key, try Self.encode(next), condition: condition) {
            case .written:
                if !found.isEmpty {
                    notice(
                        "shard \(shard): announced \(found.count) new window(s) to every worker: \(found.map(\.exportId).joined(separator: ", "))"
                    )
                }
                return found.isEmpty ? .closed : .apply(found)
            case .preconditionFailed: continue  // another worker announced or closed first: read again
            case .conflict: try await clock.sleep(for: .milliseconds(200))
            }
        }
        throw ShardError.unreadable(key: key, reason: "it kept changing while it was written")
    }

    /// The windows `--follow` added after the plan's, as announced in the state (empty when none).
    public static func followedWindows(store: any SharedStateStore) async throws -> [Plan.Window] {
        guard let object = try await store.read(followKey) else { return [] }
        let record: FollowRecord = try decode(object.body, key: followKey)
        return record.windows
    }

    /// The run record's shard count, if the state holds a run of `planId` (nil: no run there yet).
    public static func recordedShards(store: any SharedStateStore, planId: String) async throws -> Int? {
        guard let object = try await store.read(runKey) else { return nil }
        let record: RunRecord = try decode(object.body, key: runKey)
        guard record.planId == planId else {
            throw ShardError.otherRun(
                state: store.location,
                recorded: "plan \(record.planId) with \(record.shards) shards",
                given: "plan \(planId)"
            )
        }
        return record.shards
    }

    // MARK: coding

    static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(value))
    }

    static func decode<T: Decodable>(_ body: [UInt8], key: String) throws -> T {
        do { return try JSONDecoder().decode(T.self, from: Data(body)) } catch {
            throw ShardError.unreadable(key: key, reason: "\(error)")
        }
    }
}

/// This worker's hold on its shard: valid until 5/6 of a lease after its last renewal was sent, or until lost.
public final class ShardLease: Sendable {
    private let state: Mutex<(eTag: String, sequence: Int, renewedAt: Duration, lost: String?)>
    let since: @Sendable () -> Duration
    public let duration: Duration

    init(
        eTag: String,
        sequence: Int = 0,
        renewedAt: Duration,
        since: @escaping @Sendable () -> Duration,
        duration: Duration
    ) {
        state = Mutex((eTag, sequence, renewedAt, nil))
        self.since = since
        self.duration = duration
    }

    /// Whether this worker may send a batch now.
    public var isValid: Bool {
        state.withLock { $0.lost == nil && since() < $0.renewedAt + duration * 5 / 6 }
    }

    public var lostReason: String? { state.withLock { $0.lost } }

    var current: (eTag: String, sequence: Int) { state.withLock { ($0.eTag, $0.sequence) } }

    func renewed(eTag: String, sequence: Int, at sent: Duration) {
        state.withLock { $0 = (eTag, sequence, max($0.renewedAt, sent), $0.lost) }
    }

    func lose(_ why: String) { state.withLock { if $0.lost == nil { $0.lost = why } } }
}
