// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import boot_exporter
import BootFSM
import Foundation
import Testing

@Suite("Boot journal")
struct BootJournalTests {
    /// Drives a machine with a manual clock through a boot that ends `ready` or fails, journaling it.
    func boot(_ journal: BootJournal, failing: Bool) throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock, onPhaseChange: { change in
            journal.record(change, mode: .normal, wallClock: .seconds(1_800_000_000))
        })
        try fsm.startBoot()
        clock.advance(by: .seconds(1))
        try fsm.transition(to: .migrating)
        clock.advance(by: .seconds(2))
        try fsm.transition(to: .recovering)
        clock.advance(by: .seconds(3))
        if failing { fsm.fail(reason: "disk gone") } else { try fsm.transition(to: .ready) }
    }

    @Test func bootsSurviveARestart() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let (journal, warnings) = BootJournal.open(directory: path, writable: true)
                #expect(warnings.isEmpty)
                try boot(journal, failing: true)
                try boot(journal, failing: false)
            }
            let (journal, warnings) = BootJournal.open(directory: path, writable: false)
            #expect(warnings.isEmpty)
            let boots = journal.boots
            #expect(boots.map(\.attempt) == [1, 2])
            #expect(boots.map(\.outcome) == [.failed, .ready])
            #expect(boots[0].failedPhase == "recover")
            #expect(boots[0].reason == "Failed in recover: disk gone")
            #expect(boots[0].durationMilliseconds == 6_000)
            #expect(boots[1].phases.map(\.phase) == ["init", "migrate", "recover"])
            #expect(boots[1].phases.map(\.durationMilliseconds) == [1_000, 2_000, 3_000])
            #expect(boots[1].startUnixMilliseconds == 1_800_000_000_000)
        }
    }

    @Test("a journal written after the lock writes nothing before it, then follows what others appended meanwhile")
    func writingAfterTheLock() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let journalFile = path + "/" + BootJournal.fileName
            // Process B opens the journal (empty) and starts its boot, waiting for the lock…
            let (late, _) = BootJournal.open(directory: path, writable: true, writing: .afterLock)
            let clock = ManualBootClock()
            let fsm = BootStateMachine(clock: clock, onPhaseChange: { late.record($0, mode: .normal, wallClock: .seconds(1_800_000_000)) })
            try fsm.startBoot()
            #expect(!FileManager.default.fileExists(atPath: journalFile), "nothing written before the lock")
            #expect(late.boots.map(\.attempt) == [1])
            // … while process A, which holds it, journals two boots.
            do {
                let (owner, _) = BootJournal.open(directory: path, writable: true)
                try boot(owner, failing: true)
                try boot(owner, failing: false)
            }
            // B gets the lock: its boot comes after A's, renumbered, and goes on from there.
            #expect(late.startWriting().isEmpty)
            #expect(late.startWriting().isEmpty, "a second call does nothing")
            clock.advance(by: .seconds(1))
            try fsm.transition(to: .migrating)
            #expect(late.boots.map(\.attempt) == [1, 2, 3])
            let (reread, warnings) = BootJournal.open(directory: path, writable: false)
            #expect(warnings.isEmpty)
            #expect(reread.boots.map(\.attempt) == [1, 2, 3])
            #expect(reread.boots.map(\.outcome) == [.failed, .ready, .crashed])
            #expect(reread.boots[2].phases.map(\.phase) == ["init"])
        }
        // Never started (the directory was refused): nothing is ever written.
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let (refused, _) = BootJournal.open(directory: path, writable: true, writing: .afterLock)
            try boot(refused, failing: true)
            #expect(refused.boots.map(\.outcome) == [.failed])
            #expect(try FileManager.default.contentsOfDirectory(atPath: path).isEmpty)
        }
    }

    @Test("a boot the process did not finish is remembered as crashed; a torn entry is skipped with a warning")
    func crashesAndTornEntries() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                try boot(journal, failing: false)
                let fsm = BootStateMachine(onPhaseChange: { journal.record($0, mode: .force, wallClock: .zero) })
                try fsm.startBoot(mode: .force)
                try fsm.transition(to: .migrating)   // … and the process dies here
            }
            // A crash mid-append leaves half a frame.
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path + "/journal"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([40, 0, 0, 0, 1, 2, 3, 4, 123, 34]))
            try handle.close()
            let (journal, warnings) = BootJournal.open(directory: path, writable: true)
            #expect(warnings.count == 1 && warnings[0].contains("torn or corrupt entry"), "\(warnings)")
            #expect(journal.boots.map(\.outcome) == [.ready, .crashed])
            #expect(journal.boots[1].mode == "force")
            #expect(journal.boots[1].phases.map(\.phase) == ["init"])
            // The journal goes on: the next boot is attempt 3, and the next process reads it.
            try boot(journal, failing: false)
            #expect(journal.boots.last?.attempt == 3)
            let (again, laterWarnings) = BootJournal.open(directory: path, writable: false)
            #expect(laterWarnings.isEmpty, "the torn tail was cut off before appending")
            #expect(again.boots.map(\.attempt) == [1, 2, 3])
            #expect(again.boots.map(\.outcome) == [.ready, .crashed, .ready])
        }
    }

    @Test func theJournalStaysBounded() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let (journal, _) = BootJournal.open(directory: path, writable: true)
            for index in 0..<1_200 { try boot(journal, failing: index % 3 == 0) }
            let size = try FileManager.default.attributesOfItem(atPath: path + "/journal")[.size] as? Int
            #expect(try #require(size) <= BootJournal.maxBytes)
            let (reopened, warnings) = BootJournal.open(directory: path, writable: false)
            #expect(warnings.isEmpty)
            #expect(reopened.boots.count >= BootJournal.keptBoots)
            #expect(reopened.boots.last?.attempt == 1_200, "attempts count on across compactions")
        }
    }

    /// Each entry of `Fixtures/journal` (frames of a little-endian length, a CRC-32C and the JSON)
    /// is written again today byte for byte: the on-disk format has not moved.
    @Test func entriesAreWrittenAsEarlierBuildsWroteThem() throws {
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/journal")
        let bytes = [UInt8](try Data(contentsOf: fixture))
        var offset = 0, entries = 0
        while offset + 8 <= bytes.count {
            let length = bytes[offset..<offset + 4].reversed().reduce(0) { $0 << 8 | Int($1) }
            let json = Array(bytes[offset + 8..<offset + 8 + length])
            let entry = try #require(JournalEntry(json: json))
            #expect(entry.json == json, "\(String(decoding: json, as: UTF8.self))")
            offset += 8 + length
            entries += 1
        }
        #expect(offset == bytes.count && entries >= 8)
    }

    /// `Fixtures/journal` was written by an earlier build: four boots, one failed with a reason to
    /// escape, one crashed.
    @Test("a journal written by earlier builds reads back the same") func readsEarlierJournals() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/journal")
            try FileManager.default.copyItem(atPath: fixture.path, toPath: path + "/journal")
            let (journal, warnings) = BootJournal.open(directory: path, writable: false)
            #expect(warnings.isEmpty)
            typealias Phase = JournalBoot.Phase
            #expect(journal.boots == [
                JournalBoot(attempt: 1, startUnixMilliseconds: 1_767_225_600_000, mode: "normal",
                            phases: [Phase(phase: "init", durationMilliseconds: 12), Phase(phase: "migrate", durationMilliseconds: 0),
                                     Phase(phase: "recover", durationMilliseconds: 1_234)],
                            outcome: .failed, durationMilliseconds: 1_246, failedPhase: "recover",
                            reason: "Failed in recover: \"quoted\" \\ back/slash\ttab\nnl \u{1} \u{7f} ✓ 数据 🚀 \u{2028}"),
                JournalBoot(attempt: 2, startUnixMilliseconds: 1_767_225_660_123, mode: "force",
                            phases: [Phase(phase: "init", durationMilliseconds: 5)], outcome: .crashed),
                JournalBoot(attempt: 3, startUnixMilliseconds: 1_767_225_720_000, mode: "readonly",
                            phases: [Phase(phase: "init", durationMilliseconds: 1_000), Phase(phase: "migrate", durationMilliseconds: 2_000),
                                     Phase(phase: "readonly_recovery", durationMilliseconds: 3_500), Phase(phase: "warmup", durationMilliseconds: 7)],
                            outcome: .ready, durationMilliseconds: 6_507),
                JournalBoot(attempt: 4, startUnixMilliseconds: 1_767_225_780_000, mode: "normal",
                            phases: [Phase(phase: "init", durationMilliseconds: 3)], outcome: .stopped, durationMilliseconds: 40,
                            reason: "Failed in migrate: recovery stopped: shutdown requested during the boot"),
            ])
        }
    }

    @Test func aReadOnlyJournalWritesNothing() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let (journal, _) = BootJournal.open(directory: path, writable: false)
            try boot(journal, failing: false)
            #expect(journal.boots.count == 1)
            #expect(!FileManager.default.fileExists(atPath: path + "/journal"))
        }
    }
}

/// A fresh directory path under the system's temporary folder (not created), removed after `body`.
private func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}
