// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import boot_exporter
import BootExporter
import BootFSM
import Foundation
import Testing

/// The boot-time histograms kept in the boot journal: real files, reopened as a restarted process would.
@Suite("Boot-time histograms in the journal")
struct BootTimeJournalTests {
    /// A boot of ``BootJournalTests/boot(_:failing:budgets:)``: init 1 s, migrate 2 s, recover 3 s.
    func boot(_ journal: BootJournal, failing: Bool, budgets: BootBudgets = BootBudgets()) throws {
        try BootJournalTests().boot(journal, failing: failing, budgets: budgets)
    }

    /// Every count of `histograms`, by histogram and bucket: what must never go down.
    func counts(_ histograms: BootTimeHistograms) -> [String: [UInt64]] {
        var counts = ["boot": histograms.boot.bucketCounts + [histograms.boot.sumMilliseconds]]
        for (phase, histogram) in histograms.phases { counts[phase.name] = histogram.bucketCounts + [histogram.sumMilliseconds] }
        return counts
    }

    /// Whether no count of `later` is below its count in `earlier`.
    func neverLower(_ later: BootTimeHistograms, than earlier: BootTimeHistograms) -> Bool {
        let before = counts(earlier)
        return counts(later).allSatisfy { name, values in zip(values, before[name]!).allSatisfy { $0 >= $1 } }
    }

    func fileBytes(_ path: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: URL(fileURLWithPath: path))) }

    @Test("a histograms entry reads back as written; one with a count or a field missing is unreadable")
    func histogramsEntries() throws {
        var histograms = BootTimeHistograms(budgets: BootBudgets())
        histograms.add(.boot(milliseconds: 6_000))
        histograms.add(.phase(.forceRecovery, milliseconds: 12))
        let entry = JournalEntry(type: "histograms", histograms: ["boot": histograms.boot, "force_recovery": histograms.phases[.forceRecovery]!])
        let json = String(decoding: entry.json, as: UTF8.self)
        #expect(json == #"{"type":"histograms","boot_budget_ms":3600000,"boot_sum_ms":6000,"boot_buckets":[1,0,0,0,0,0,0,0,0,0,0,0,0],"#
            + #""force_recovery_budget_ms":1800000,"force_recovery_sum_ms":12,"force_recovery_buckets":[1,0,0,0,0,0,0,0,0,0,0,0,0]}"#)
        #expect(JournalEntry(json: entry.json) == entry)
        for broken in [json.replacingOccurrences(of: "[1,0,0,0,0,0,0,0,0,0,0,0,0]}", with: "[1,0,0,0,0,0,0,0,0,0,0,0]}"),
                       json.replacingOccurrences(of: #""boot_sum_ms":6000,"#, with: ""),
                       json.replacingOccurrences(of: "[1,0,", with: "[-1,0,"),
                       json.replacingOccurrences(of: "[1,0,", with: "[null,0,")] {
            #expect(JournalEntry(json: Array(broken.utf8)) == nil, "\(broken)")
        }
    }

    @Test("restarts accumulate: each process counts on from what the last one published")
    func restartsAccumulate() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            var published = BootTimeHistograms(budgets: BootBudgets())
            for index in 0..<4 {
                let (journal, warnings) = BootJournal.open(directory: path, writable: true, budgets: BootBudgets())
                #expect(warnings.isEmpty)
                #expect(journal.histograms == published, "restart \(index) reads what was published")
                try boot(journal, failing: index == 2)
                published = journal.histograms
            }
            #expect(published.boot.count == 3)
            #expect(published.boot.sumMilliseconds == 18_000)
            #expect(published.phases[.initializing]?.count == 4)
            #expect(published.phases[.recovering]?.count == 3, "the failed boot's recover did not complete")
            #expect(published.boot.bucketCounts[0] == 3, "6 s is within 3600/256 s")
        }
    }

    @Test("a boot counted before the lock is written and published once writing starts")
    func countedAfterTheLock() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let (journal, _) = BootJournal.open(directory: path, writable: true, writing: .afterLock, budgets: BootBudgets())
            try boot(journal, failing: false)
            #expect(journal.histograms.boot.count == 0, "not on disk, not published")
            #expect(journal.startWriting().isEmpty)
            #expect(journal.histograms.boot.count == 1)
            #expect(BootJournal.open(directory: path, writable: false).0.histograms == journal.histograms)
        }
    }

    @Test("one damaged entry, whichever it is, takes no count back")
    func aDamagedEntryLosesNoCount() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                for index in 0..<4 { try boot(journal, failing: index == 1) }
            }
            let journalPath = path + "/" + BootJournal.fileName
            let original = try fileBytes(journalPath)
            let intact = BootJournal.open(directory: path, writable: false).0.histograms
            #expect(intact.boot.count == 3)
            var offset = 0, frames = 0
            while offset + 8 <= original.count {
                let length = Int(original[offset]) | Int(original[offset + 1]) << 8
                // A byte of the frame's JSON, flipped: its checksum no longer matches.
                var damaged = original
                damaged[offset + 8 + length / 2] ^= 0x20
                try Data(damaged).write(to: URL(fileURLWithPath: journalPath))
                let (journal, warnings) = BootJournal.open(directory: path, writable: false)
                #expect(warnings.count == 1, "frame at \(offset): \(warnings)")
                #expect(journal.histograms == intact, "frame at \(offset): \(String(decoding: original[offset + 8..<offset + 8 + length], as: UTF8.self))")
                offset += 8 + length
                frames += 1
            }
            #expect(frames == 4 * 5 + 3 * 3 + 2, "five entries a boot, a histograms entry after each append that counts")
        }
    }

    @Test("a crash mid-write (the file cut anywhere) never takes back a count that was published")
    func aCrashMidWriteLosesNoPublishedCount() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let journalPath = path + "/" + BootJournal.fileName
            // What was published when the file had each length.
            var published: [(length: Int, histograms: BootTimeHistograms)] = []
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                let clock = ManualBootClock()
                for failing in [false, true, false] {
                    let fsm = BootStateMachine(clock: clock, onPhaseChange: { change in
                        journal.record(change, mode: .normal, wallClock: .zero)
                    })
                    try fsm.startBoot()
                    for next: BootPhase in [.migrating, .recovering, .warmingUp, .ready] {
                        clock.advance(by: .milliseconds(700))
                        if failing && next == .warmingUp { fsm.fail(reason: "disk gone") } else if !(failing && next == .ready) { try fsm.transition(to: next) }
                        published.append((try fileBytes(journalPath).count, journal.histograms))
                    }
                }
            }
            let full = try fileBytes(journalPath)
            let start = published.first { $0.histograms.boot.count == 1 }!.length - 200
            for cut in stride(from: start, through: full.count, by: 7) {
                try Data(full[..<cut]).write(to: URL(fileURLWithPath: journalPath))
                let shown = published.last { $0.length <= cut }?.histograms ?? BootTimeHistograms(budgets: BootBudgets())
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                #expect(neverLower(journal.histograms, than: shown), "cut at \(cut)")
                // The torn tail is cut off, and the next boot counts on from there.
                let before = journal.histograms.boot.count
                try boot(journal, failing: false)
                #expect(BootJournal.open(directory: path, writable: false).0.histograms.boot.count == before + 1, "cut at \(cut)")
            }
        }
    }

    @Test("compaction keeps every count, twice: either copy damaged, none lost")
    func compactionKeepsTheCounts() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let journalPath = path + "/" + BootJournal.fileName
            let (journal, _) = BootJournal.open(directory: path, writable: true)
            var compactions = 0
            var lastSize = 0
            var boots = 0
            while compactions < 2 {
                let before = journal.histograms
                try boot(journal, failing: boots % 4 == 3)
                boots += 1
                #expect(neverLower(journal.histograms, than: before))
                let size = try fileBytes(journalPath).count
                if size < lastSize {
                    compactions += 1
                    #expect(BootJournal.open(directory: path, writable: false).0.histograms == journal.histograms, "after compaction \(compactions)")
                }
                lastSize = size
            }
            #expect(journal.histograms.boot.count == UInt64(boots - boots / 4))
            #expect(journal.boots.count < boots, "compaction dropped boots, not their counts")
            // A compaction ends what it writes with the counts twice (entries of the boot it happened in may
            // follow). Either damaged, the other serves.
            let bytes = try fileBytes(journalPath)
            let frames = BootJournalTests().frameOffsets(bytes)
            func isCounts(_ frame: Int) -> Bool {
                String(decoding: bytes[frame + 8..<min(frame + 48, bytes.count)], as: UTF8.self).contains("\"type\":\"histograms\"")
            }
            let first = try #require(frames.indices.dropLast().first { isCounts(frames[$0]) && isCounts(frames[$0 + 1]) })
            for frame in frames[first...first + 1] {
                var damaged = bytes
                damaged[frame + 20] ^= 0x20
                try Data(damaged).write(to: URL(fileURLWithPath: journalPath))
                #expect(BootJournal.open(directory: path, writable: false).0.histograms == journal.histograms, "frame at \(frame) damaged")
            }
        }
    }

    @Test("the phase a boot failed in is never counted, even when a crash tore off the end after it")
    func aFailedPhaseIsNeverCounted() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            let journalPath = path + "/" + BootJournal.fileName
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true)
                try boot(journal, failing: false)
                try boot(journal, failing: true)
            }
            let published = BootJournal.open(directory: path, writable: false).0.histograms
            #expect(published.phases[.recovering]?.count == 1)
            var bytes = try fileBytes(journalPath)
            let end = try #require(BootJournalTests().frameOffsets(bytes).last)
            #expect(String(decoding: bytes[(end + 8)...], as: UTF8.self).contains("\"type\":\"end\""))
            bytes.removeSubrange((end + 12)...)
            try Data(bytes).write(to: URL(fileURLWithPath: journalPath))
            let (reread, warnings) = BootJournal.open(directory: path, writable: false)
            #expect(reread.histograms == published, "recover, which failed, is not counted: \(warnings)")
            #expect(reread.boots.last?.outcome == .crashed)
        }
    }

    @Test("changed budgets: counted histograms keep their buckets (with a warning), empty ones take the new budgets")
    func changedBudgets() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            do {
                let (journal, _) = BootJournal.open(directory: path, writable: true, budgets: BootBudgets())
                try boot(journal, failing: false)
            }
            let first = BootJournal.open(directory: path, writable: false).0.histograms
            let changed = BootBudgets.forKubernetes(startupProbeTotalSeconds: 600)
            let (journal, warnings) = BootJournal.open(directory: path, writable: true, budgets: changed)
            #expect(warnings.count == 1 && warnings[0].contains("boot, migrate, recover keep the buckets"), "\(warnings)")
            #expect(journal.histograms.boot == first.boot)
            #expect(journal.histograms.phases[.warmingUp]?.budgetMilliseconds == 60_000, "never counted: follows the budgets")
            try boot(journal, failing: false, budgets: changed)
            #expect(journal.histograms.boot.count == 2)
            #expect(journal.histograms.boot.budgetMilliseconds == 3_600_000)
            #expect(neverLower(journal.histograms, than: first))
        }
    }
}
