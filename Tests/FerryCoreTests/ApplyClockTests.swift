import ExportGenerator
import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

/// Issue 15, item 3: apply's waits are on the engine's injected clock, so a test sees them exactly and never sleeps.
@Suite("apply's write backoff runs on the engine's clock")
struct ApplyClockTests {
    @Test(
        "a batch left unprocessed (or in a transaction conflict) six rounds running backs off 0.1, 0.2, 0.4, 0.8, 1.6 and 3.2 s at the jitter's top: 6.3 s of the clock, none of real time",
        .timeLimit(.minutes(3)),
        arguments: [FakeDynamoDB.Fault.unprocessedHalf, .transactionConflict]
    )
    func backoffOnTheClock(_ fault: FakeDynamoDB.Fault) async throws {
        try await withTemporaryDirectory { directory in
            let chain = try TestChains.generate(directory + "/chain", items: 40, windows: 0)
            let plan = try await TestChains.plan(for: chain)
            let fake = FakeDynamoDB(faults: Array(repeating: fault, count: 6))
            let clock = ManualClock()
            var engine = try ApplyFaultTests.engine(plan, chain, fake, directory)
            engine.clock = clock
            // One batch at a time, so the six faults meet one batch in six rounds running.
            engine.fileConcurrency = 1
            engine.batchesInFlightPerFile = 1
            engine.random01 = { 1 }
            // Ticks out of the way: the clock below moves on only to waits of at most 10 s.
            engine.tickInterval = .seconds(3600)
            let (running, ended) = ApplyFollowTests.start(engine)
            #expect(try await clock.run(until: ended, advancingWithin: .seconds(10)), "the run did not end")
            let report = try await running.value
            #expect(report.unprocessedRetries == 6)
            let backoffs = clock.sleeps.filter { $0 != engine.tickInterval }
            #expect(backoffs == [0.1, 0.2, 0.4, 0.8, 1.6, 3.2].map { Duration.seconds($0) })
            #expect(clock.now.offset == backoffs.reduce(.zero, +), "the clock moved only by the backoff")
            let expected = try loadState(
                directory + "/chain/" + chain.exports.last!.expectedStateFile!,
                keyNames: chain.keyNames
            )
            #expect(fake.state.withLock { $0.items } == expected)
        }
    }
}
