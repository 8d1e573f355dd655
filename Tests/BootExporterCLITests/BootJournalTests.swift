// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import boot_exporter
import BootFSM
import Foundation
import Testing

@Suite("Boot journal")
struct BootJournalTests {
    /// Drives a machine with a manual clock through a boot (init 1 s, migrate 2 s, recover 3 s) that
    /// ends `ready` or fails in recover, journaling it.
    func boot(_ journal: BootJournal, failing: Bool, budgets: BootBudgets = BootBudgets()) throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(budgets: budgets, clock: clock, onPhaseChange: { change in
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

    /// The offsets of the frames of a journal file (`length u32 LE | crc32c u32 LE | JSON`).
    func frameOffsets(_ bytes: [UInt8]) -> [Int] {
        var offsets: [Int] = []
        var offset = 0
        while offset + 8 <= bytes.count {
            offsets.append(offset)
            offset += 8 + Int(bytes[offset]) + Int(bytes[offset + 1]) << 8
        }
        return offsets
    }

    @Test("a flipped byte costs its entry alone: the other boots keep their outcomes, attempts never go back, one warning")
    func aDamagedEntryCostsItselfAlone() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                for index in 0..<6 { try boot(journal, failing: index % 2 == 1) }
            }
            let journalPath = path + "/journal"
            let original = try [UInt8](Data(contentsOf: URL(fileURLWithPath: journalPath)))
            let (intact, _) = BootJournal.open(directory: path, writable: false)
            let frames = frameOffsets(original)
            let types = frames.map { offset in
                let length = Int(original[offset]) | Int(original[offset + 1]) << 8
                return JournalEntry(json: original[offset + 8..<offset + 8 + length])?.type ?? "?"
            }
            #expect(types.filter { $0 != "histograms" }.count == 6 * 5, "a boot entry, three phases and an end per boot")
            // The boot each frame belongs to (the histograms entries to the boot they follow).
            var bootOf: [Int] = []
            for type in types { bootOf.append((bootOf.last ?? -1) + (type == "boot" ? 1 : 0)) }
            func frame(ofBoot boot: Int, _ type: String, _ nth: Int = 0) -> Int {
                frames[frames.indices.filter { bootOf[$0] == boot && types[$0] == type }[nth]]
            }
            // In boot 1's JSON (the offset 30), in boot 3's length, its CRC and its JSON, in a
            // phase of boot 2, in boot 4's end, and in the last boot's `boot` entry.
            let boot3 = frame(ofBoot: 2, "boot")
            let offsets = [30, boot3, boot3 + 5, boot3 + 20, frame(ofBoot: 1, "phase", 1) + 12, frame(ofBoot: 3, "end") + 9,
                           frame(ofBoot: 5, "boot") + 14]
            for offset in offsets {
                var damaged = original
                damaged[offset] ^= 0x20
                try Data(damaged).write(to: URL(fileURLWithPath: journalPath))
                let (journal, warnings) = BootJournal.open(directory: path, writable: true)
                #expect(warnings.count == 1 && warnings[0].contains("torn or corrupt entry at offset"), "offset \(offset): \(warnings)")
                // Only the boot whose frame was hit differs.
                let hit = bootOf[frames.lastIndex { $0 <= offset }!]
                let others = intact.boots.indices.filter { $0 != hit }
                for index in others {
                    #expect(journal.boots.contains(intact.boots[index]), "offset \(offset): boot \(index + 1) kept as it was")
                }
                #expect(journal.boots.map(\.attempt) == journal.boots.map(\.attempt).sorted())
                // The next boot is attempt 7, as without the damage: the counter never goes back.
                try boot(journal, failing: false)
                #expect(journal.boots.last?.attempt == 7, "offset \(offset)")
                // Appending kept every valid entry after the damage.
                let (again, _) = BootJournal.open(directory: path, writable: false)
                #expect(again.boots == journal.boots, "offset \(offset)")
            }
        }
    }

    @Test("a symlinked journal is refused with its line, and the file it points to is untouched")
    func aSymlinkedJournalIsRefused() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let target = path + "/precious"
            try Data("not a journal\n".utf8).write(to: URL(fileURLWithPath: target))
            try FileManager.default.createSymbolicLink(atPath: path + "/journal", withDestinationPath: target)
            for writing in [BootJournal.Writing.immediately, .afterLock] {
                let (journal, warnings) = BootJournal.open(directory: path, writable: true, writing: writing)
                #expect(warnings == ["\(path)/journal is a symbolic link: boot journal refused (not read, not written)"])
                #expect(journal.readFailure != nil, "history reports it as an error")
                #expect(journal.startWriting().isEmpty)
                try boot(journal, failing: false)
            }
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "not a journal\n")
            // Compaction's temporary file is created, never followed.
            try FileManager.default.removeItem(atPath: path + "/journal")
            try FileManager.default.createSymbolicLink(atPath: path + "/journal.tmp", withDestinationPath: target)
            let (journal, _) = BootJournal.open(directory: path, writable: true)
            for index in 0..<1_200 { try boot(journal, failing: index % 3 == 0) }
            #expect(try String(contentsOfFile: target, encoding: .utf8) == "not a journal\n")
            #expect(BootJournal.open(directory: path, writable: false).0.boots.last?.attempt == 1_200)
        }
    }
}

/// A fresh directory path under the system's temporary folder (not created), removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = temporaryPath()
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}
