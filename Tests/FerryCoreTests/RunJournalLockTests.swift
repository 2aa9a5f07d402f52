import FerryTestSupport
import Foundation
import Testing

@testable import FerryCore

#if canImport(Glibc)
import Glibc
#endif

@Suite("RunJournal: another writer's line in progress is never cut as a crash's half line")
struct RunJournalLockTests {
    static let line = #"{"at":1,"kind":"runStarted","run":"1-1"}"# + "\n"

    @Test("a line another writer holds (its append in progress) is not cut; once written it is kept whole")
    func waitsForAWriter() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/j.jsonl"
            try Data(Self.line.utf8).write(to: URL(fileURLWithPath: path))
            // Another writer, mid-line: it holds the shared lock every append takes.
            let writer = open(path, O_WRONLY | O_APPEND)
            #expect(writer >= 0)
            defer { close(writer) }
            #expect(flock(writer, LOCK_SH) == 0)
            let half = Array(#"{"at":2,"kind":"#.utf8)
            #expect(write(writer, half, half.count) == half.count)
            #expect(RunJournal.cutPartialLine(at: path, blocking: false) == false, "the cut waits for the writer")
            #expect(try String(contentsOfFile: path, encoding: .utf8).hasSuffix(#""kind":"#))
            let rest = Array(#""checkpoint","run":"1-1"}"#.utf8) + [0x0A]
            #expect(write(writer, rest, rest.count) == rest.count)
            #expect(flock(writer, LOCK_UN) == 0)
            #expect(RunJournal.cutPartialLine(at: path, blocking: false) == true)
            #expect(try RunJournal.read(path).map(\.at) == [1, 2])
        }
    }
}

@Suite("RunJournal.exportsAwaitingCompletion: what an earlier export run requested and never saw complete")
struct ExportsAwaitingCompletionTests {
    @Test("requested without a completion is awaited; completed, or only seen, is not")
    func awaited() throws {
        func export(_ event: String, _ arn: String?) -> RunJournal.Entry {
            var entry = RunJournal.Entry(kind: .export, run: "r", at: 1)
            var recorded = ExportJournalEvent(.waiting(exportArns: []))
            recorded.event = event
            recorded.exportArn = arn
            entry.export = recorded
            return entry
        }
        let entries = [
            export("requested", "a"), export("requested", "b"), export("completed", "b"), export("completed", "c"),
            export("waiting", nil), RunJournal.Entry(kind: .runStarted, run: "r", at: 0), export("requested", "d"),
        ]
        #expect(RunJournal.exportsAwaitingCompletion(entries) == ["a", "d"])
    }
}
