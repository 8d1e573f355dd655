// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing
@testable import WALStore

@Suite("Recovery")
struct RecoveryTests {
    /// 40,000 records spread over 1,000 pages and thousands of transactions, in segments of 16 KiB
    /// and of 256 KiB: redo's page and transaction tables grow past their first 512 slots mid-replay
    /// (with writes queued in the redo pipeline), and the read buffer grows past its first size.
    @Test("every committed write is present and nothing else",
          arguments: [(1, 16 * 1024), (2, 16 * 1024), (50, 16 * 1024), (3_000, 16 * 1024), (40_000, 16 * 1024), (40_000, 256 * 1024)])
    func recoversGeneratedLog(records: Int, segmentSize: Int) throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: records, segmentSize: segmentSize)
            #expect(summary.log.count == records)
            let expected = ExpectedState(summary.log)
            let (store, report) = try recoverStore(at: path)
            #expect(try store.contents() == expected.tuples)
            #expect(report.recordsReplayed == UInt64(records))
            #expect(report.bytesReplayed == UInt64(summary.log.map { $0.encoded.count }.reduce(0, +)))
            #expect(report.transactionsCommitted == UInt64(expected.committed))
            #expect(report.transactionsRolledBack == UInt64(expected.rolledBack))
            #expect(report.transactionsRolledBack == UInt64(summary.aborted + summary.unfinished))
            #expect(report.pagesRecovered == UInt64(expected.changedPages.count))
            #expect(report.tornTail == nil)
            #expect(Set(report.preloadPageIDs) == expected.changedPages)
            if records >= 40_000 {
                #expect(expected.changedPages.count > 512 && expected.committed > 512, "the tables must outgrow their first size")
            }
        }
    }

    @Test func generatedLogIsRealistic() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 5_000)
            #expect(summary.committed > 500)
            #expect(summary.aborted > 10)
            #expect(summary.unfinished >= 1)
            #expect(summary.segments > 3)
            #expect(Set(summary.log.filter { $0.kind == .put }.map(\.pageID)).count > 100)
            #expect(summary.log.contains { $0.kind == .delete })
            // Transactions interleave.
            let firstKinds = summary.log.prefix(50).map(\.txid)
            #expect(Set(firstKinds).count > 2)
        }
    }

    @Test func checkpointMakesTheNextBootReplayNothing() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 2_000)
            let expected = ExpectedState(summary.log)
            do {
                let (store, _) = try recoverStore(at: path)
                try store.checkpoint()
                store.close()
            }
            #expect(try WALSegment.list(path + "/wal").isEmpty)
            let (store, report) = try recoverStore(at: path)
            #expect(report.recordsReplayed == 0)
            #expect(report.checkpointLSN == UInt64(summary.log.count))
            #expect(!report.preloadPageIDs.isEmpty, "the checkpoint remembers the hot pages")
            let warm = try store.warmUp(pageIDs: report.preloadPageIDs)
            #expect(warm.misses == report.preloadPageIDs.count)
            #expect(warm.hitRatio == 0)
            #expect(try store.contents() == expected.tuples)
        }
    }

    @Test("a checkpoint refuses to carry a damaged page into the next page file")
    func checkpointChecksTheCopiedPages() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 2_000)
            do {
                let (store, _) = try recoverStore(at: path)
                try store.checkpoint()
                store.close()
            }
            // One bit of a page's value flips on disk; nothing touches that page before the next checkpoint.
            let pageFile = path + "/" + PageFile.name(generation: 1)
            try flipBits(in: pageFile, at: UInt64(Page.size + Page.headerSize + 3), mask: 0x01)
            let before = try directoryImage(path)
            let (store, _) = try recoverStore(at: path)
            let error = #expect(throws: StoreError.self) { try store.checkpoint() }
            #expect("\(error!)".contains("fails its checksum or layout"))
            store.close()
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" },
                    "the current page file and checkpoint stay, and no new generation is left behind")
        }
    }

    @Test("a checkpoint on a store that also wrote keeps the written records")
    func checkpointAfterWritingKeepsTheWrites() throws {
        try withTemporaryDirectory { path in
            let store = try WALStore.open(path: path, access: .readWrite)
            _ = try store.recover(RecoveryOptions())
            let summary = try WALGenerator.generate(into: store, options: .init(records: 500, segmentSize: 16 * 1024), keepLog: true)
            try store.checkpoint()
            store.close()
            let (again, report) = try recoverStore(at: path)
            #expect(report.recordsReplayed == 500)
            #expect(try again.contents() == ExpectedState(summary.log).tuples)
        }
    }

    @Test func warmupHitsThePagesRecoveryLoaded() throws {
        try withTemporaryDirectory { path in
            let first = try generateStore(at: path, records: 1_000)
            do {
                let (store, _) = try recoverStore(at: path)
                try store.checkpoint()
                store.close()
            }
            // More writes after the checkpoint: recovery loads some pages, warmup reads the others.
            let second = try {
                let store = try WALStore.open(path: path, access: .readWrite)
                defer { store.close() }
                _ = try store.recover(RecoveryOptions())
                return try WALGenerator.generate(into: store, options: .init(records: 300, seed: 99, pages: 5, segmentSize: 16 * 1024),
                                                 keepLog: true)
            }()
            let (recovered, report) = try recoverStore(at: path)
            let warm = try recovered.warmUp(pageIDs: report.preloadPageIDs)
            #expect(warm.hits == Int(report.pagesRecovered))
            #expect(warm.misses > 0)
            #expect(warm.hitRatio > 0 && warm.hitRatio < 1)
            #expect(try recovered.contents() == ExpectedState(first.log + second.log).tuples)
        }
    }

    @Test("a torn tail is truncated in normal and force mode", arguments: [RecoveryOptions.Mode.normal, .force])
    func tornTailTruncated(mode: RecoveryOptions.Mode) throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 400)
            let last = try #require(try WALSegment.list(path + "/wal").last)
            let size = try FileIO.size(last.path)
            // Cut the last record in half.
            let lastRecord = summary.log.last!.encoded
            #expect(truncate(last.path, off_t(size - lastRecord.count / 2)) == 0)
            let (store, report) = try recoverStore(at: path, mode: mode)
            #expect(report.tornTail != nil)
            #expect(report.tailTruncated)
            #expect(report.recordsReplayed == UInt64(summary.log.count - 1))
            #expect(try FileIO.size(last.path) == size - lastRecord.count)
            #expect(try store.contents() == ExpectedState(Array(summary.log.dropLast())).tuples)
            store.close()
            // The next boot finds a clean log.
            let (_, again) = try recoverStore(at: path)
            #expect(again.tornTail == nil)
        }
    }

    @Test("read-only recovery leaves the directory byte-for-byte unchanged")
    func readOnlyWritesNothing() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 400)
            let last = try #require(try WALSegment.list(path + "/wal").last)
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: last.path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data([0x40, 0, 0, 0, 1, 2, 3]))  // a torn frame
            try handle.close()
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let before = try directoryImage(path)
            let (store, report) = try recoverStore(at: path, mode: .readOnly)
            #expect(report.tornTail != nil)
            #expect(!report.tailTruncated)
            #expect(try store.contents() == ExpectedState(summary.log).tuples)
            #expect(throws: StoreError.self) { try store.checkpoint() }
            #expect(try directoryImage(path) == before)
        }
    }

    @Test func midLogCorruptionIsRefusedInNormalModeAndSkippedInForce() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 600)
            let first = try #require(try WALSegment.list(path + "/wal").first)
            // Damage the value of a put in the middle of the first segment.
            var offset = WALSegment.headerSize
            var target: WALRecord?
            for record in summary.log {
                let size = record.encoded.count
                if record.kind == .put && offset > 4_000 { target = record; offset += size - 1; break }
                offset += size
            }
            let damaged = try #require(target)
            try flipBits(in: first.path, at: UInt64(offset), mask: 0xFF)

            let before = try directoryImage(path)
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect("\(error!)".contains("--recovery-mode force"))
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })

            let (readOnly, readOnlyReport) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnlyReport.recordsReplayed < UInt64(summary.log.count - 1))
            readOnly.close()

            let (store, report) = try recoverStore(at: path, mode: .force)
            #expect(report.corruptRecordsSkipped == 1)
            #expect(report.recordsReplayed == UInt64(summary.log.count - 1))
            // Every transaction open across the damage is rolled back, so none is applied in part.
            let openAcross = Set(summary.log.filter { $0.kind == .begin && $0.lsn < damaged.lsn }.map(\.txid))
                .subtracting(summary.log.filter { ($0.kind == .commit || $0.kind == .abort) && $0.lsn < damaged.lsn }.map(\.txid))
            let survivors = summary.log.filter { !openAcross.contains($0.txid) }
            #expect(openAcross.contains(damaged.txid))
            #expect(try store.contents() == ExpectedState(survivors).tuples)
            #expect(report.transactionsCommitted == UInt64(ExpectedState(survivors).committed))
        }
    }

    @Test("force mode skips a damaged segment header, replays the segment's frames and keeps it; normal mode refuses")
    func forceSkipsADamagedSegmentHeader() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            #expect(segments.count >= 4)
            let victim = segments[1]
            try overwrite(victim.path, at: 0, with: Data("BROKEN!!".utf8))
            #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            let (store, report) = try recoverStore(at: path, mode: .force)
            #expect(report.corruptRecordsSkipped == 1)
            #expect(try WALSegment.list(path + "/wal").count == segments.count, "no segment is removed")
            #expect(report.lastLSN == UInt64(summary.log.count))
            store.close()
        }
    }

    /// The transactions force mode applies when the records in `lost` are gone: those with every
    /// record on one side of it (one open across it, or with records in it, is rolled back).
    static func survivors(of log: [WALRecord], losing lost: ClosedRange<UInt64>) -> [WALRecord] {
        let crossing = Dictionary(grouping: log, by: \.txid).filter { _, records in
            !(records.allSatisfy { $0.lsn < lost.lowerBound } || records.allSatisfy { $0.lsn > lost.upperBound })
        }
        return log.filter { crossing[$0.txid] == nil }
    }

    /// The LSN of the first frame of `segment`.
    static func firstLSN(_ segment: WALSegment) throws -> UInt64 {
        let bytes = try Data(contentsOf: URL(fileURLWithPath: segment.path))
        return try bytes.withUnsafeBytes { raw in
            guard case .frame(let frame) = WALFrame.parse(raw, at: WALSegment.headerSize) else { throw StoreError.corrupt(path: segment.path, reason: "no first frame") }
            return frame.lsn
        }
    }

    @Test("a damaged header on the last segment is damage, never a torn tail: refused, or skipped in force mode")
    func aDamagedLastSegmentHeaderIsNeverCutOff() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            let last = try #require(segments.last)
            let firstLost = try Self.firstLSN(last)
            try overwrite(last.path, at: 0, with: Data("X".utf8))

            let before = try directoryImage(path)
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect("\(error!)".contains("bad segment header"))
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })

            let (readOnly, readOnlyReport) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnlyReport.lastLSN == firstLost - 1)
            readOnly.close()
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })

            // Force mode loses only the header: every frame of the segment is replayed, and since its
            // first frame follows the last record, no transaction open across it is rolled back.
            let open = Set(summary.log.filter { $0.lsn < firstLost }.map(\.txid))
                .subtracting(summary.log.filter { ($0.kind == .commit || $0.kind == .abort) && $0.lsn < firstLost }.map(\.txid))
            #expect(!open.isEmpty, "a transaction is open across the damaged header")
            let (store, report) = try recoverStore(at: path, mode: .force)
            #expect(report.corruptRecordsSkipped == 1)
            #expect(report.lastLSN == UInt64(summary.log.count))
            #expect(try store.contents() == ExpectedState(summary.log).tuples)
            #expect(report.transactionsCommitted == UInt64(ExpectedState(summary.log).committed))
            #expect(try WALSegment.list(path + "/wal").count == segments.count, "no segment is removed")
            store.close()

            // Damage that reaches into the first frame: what was open across it is rolled back.
            try overwrite(last.path, at: UInt64(WALSegment.headerSize), with: Data([0xFF, 0xFF]))
            let (forced, forcedReport) = try recoverStore(at: path, mode: .force)
            #expect(forcedReport.corruptRecordsSkipped == 1)
            let lostFrame = summary.log[Int(firstLost) - 1]
            let rolledBack = open.union([lostFrame.txid])
            #expect(try forced.contents() == ExpectedState(summary.log.filter { !rolledBack.contains($0.txid) && $0.lsn != firstLost }).tuples)
            forced.close()
        }
    }

    @Test("damage at the end of one segment and the start of the next: the valid frames after it are never cut off")
    func damageAcrossASegmentBoundaryIsRefused() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            #expect(segments.count >= 3)
            let (middle, last) = (segments[segments.count - 2], segments[segments.count - 1])
            // The last byte of the middle segment (its last frame's payload) and the first frame's length in the last.
            let middleSize = try FileManager.default.attributesOfItem(atPath: middle.path)[.size] as! UInt64
            try flipBits(in: middle.path, at: middleSize - 1, mask: 0x5A)
            try flipBits(in: last.path, at: UInt64(WALSegment.headerSize), mask: 0x5A)
            let before = try directoryImage(path)
            #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })
        }
    }

    @Test("force mode after a gap replays from the first frame after it")
    func forceResumesAtTheFrameAfterAGap() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 600)
            let first = try #require(try WALSegment.list(path + "/wal").first)
            let size = Int(try FileManager.default.attributesOfItem(atPath: first.path)[.size] as! UInt64)
            // Where each record of the first segment starts.
            var starts: [Int] = []
            var offset = WALSegment.headerSize
            for record in summary.log where offset < size {
                starts.append(offset)
                offset += record.encoded.count
            }
            // Cut out the three frames before the `begin` of a transaction that commits: losing them
            // must not lose that transaction (the frame right after a gap used to be skipped too).
            let committed = Set(summary.log.filter { $0.kind == .commit }.map(\.txid))
            let index = try #require((10..<(starts.count - 1)).first { index in
                let record = summary.log[index]
                return record.kind == .begin && committed.contains(record.txid)
            })
            var bytes = try Data(contentsOf: URL(fileURLWithPath: first.path))
            bytes.removeSubrange(starts[index - 3]..<starts[index])
            try bytes.write(to: URL(fileURLWithPath: first.path))
            let lost = summary.log[index - 3].lsn...summary.log[index - 1].lsn

            #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            let (store, report) = try recoverStore(at: path, mode: .force)
            let expected = ExpectedState(Self.survivors(of: summary.log, losing: lost))
            #expect(report.corruptRecordsSkipped == 1)
            #expect(report.recordsReplayed == UInt64(summary.log.count - 3))
            #expect(try store.contents() == expected.tuples)
            #expect(report.transactionsCommitted == UInt64(expected.committed))
            store.close()
        }
    }

    @Test("a record with a valid checksum and a forged LSN: force mode skips it alone, normal mode refuses",
          arguments: [false, true])
    func forceSkipsOneRecordWithAForgedLSN(lastInItsSegment: Bool) throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            let first = try #require(segments.first)
            let size = Int(try FileManager.default.attributesOfItem(atPath: first.path)[.size] as! UInt64)
            // Where each record of the first segment starts; the forged one is in its middle, or its
            // last (the record after it is then the next segment's first).
            var starts: [Int] = []
            var offset = WALSegment.headerSize
            for record in summary.log where offset < size {
                starts.append(offset)
                offset += record.encoded.count
            }
            let index = lastInItsSegment ? starts.count - 1 : starts.count / 2
            var forged = summary.log[index]
            forged.lsn = WALRecord.maxSequence - 1
            try overwrite(first.path, at: UInt64(starts[index]), with: Data(forged.encoded))

            let before = try directoryImage(path)
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description.contains("LSN gap (\(WALRecord.maxSequence - 1) after \(index))") == true)
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })

            let (store, report) = try recoverStore(at: path, mode: .force)
            let lost = summary.log[index].lsn
            let expected = ExpectedState(Self.survivors(of: summary.log, losing: lost...lost))
            #expect(report.corruptRecordsSkipped == 1)
            #expect(report.recordsReplayed == UInt64(summary.log.count - 1))
            #expect(report.lastLSN == UInt64(summary.log.count))
            #expect(report.tornTail == nil)
            #expect(try store.contents() == expected.tuples)
            #expect(report.transactionsCommitted == UInt64(expected.committed))
            #expect(try WALSegment.list(path + "/wal").count == segments.count, "nothing is cut off")
            store.close()
        }
    }

    @Test("LSNs and transaction ids out of range are corruption, not a crash")
    func sequenceNumbersOutOfRangeAreCorrupt() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 200)
            // A frame that checks out but whose transaction id is the largest there is: damage, cut as a torn tail.
            let last = try #require(try WALSegment.list(path + "/wal").last)
            try overwrite(last.path, at: nil, with: Data(WALRecord(lsn: UInt64(summary.log.count) + 1, txid: .max, kind: .begin).encoded))
            let (store, report) = try recoverStore(at: path, mode: .normal)
            #expect(report.recordsReplayed == UInt64(summary.log.count))
            #expect(report.tornTail != nil)
            store.close()
        }
        // A format-1 checkpoint (no checksum) whose LSN is the largest there is: refused before migration
        // could give it a checksum.
        try withTemporaryDirectory { path in
            try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent("format-1").path, toPath: path)
            let checkpoint = URL(fileURLWithPath: path + "/checkpoint")
            var bytes = try Data(contentsOf: checkpoint)
            bytes.replaceSubrange(8..<16, with: [UInt8](repeating: 0xFF, count: 8))
            try bytes.write(to: checkpoint)
            let before = try directoryImage(path)
            #expect(throws: StoreError.self) {
                let store = try WALStore.open(path: path, access: .readWrite)
                defer { store.close() }
                try store.migrate()
                _ = try store.recover(RecoveryOptions())
            }
            #expect(try directoryImage(path).filter { $0.key != "LOCK" } == before.filter { $0.key != "LOCK" })
        }
    }

    @Test("a missing middle segment: refused in normal mode, reported in readonly (nothing written), skipped and reported in force")
    func aMissingMiddleSegment() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            #expect(segments.count >= 3)
            let lost = try Self.firstLSN(segments[1])...(try Self.firstLSN(segments[2]) - 1)
            try FileManager.default.removeItem(atPath: segments[1].path)
            let name = WALSegment.name(index: 2)
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let before = try directoryImage(path)
            // Normal: refused, saying how to go on (it was "corrupt WAL record … LSN gap").
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description == "\(path) is corrupt: its WAL segment wal/\(name) is missing, with any transaction committed in it: restore it, or boot with --recovery-mode force to go on without it (readonly to inspect)")
            // Readonly: what comes before the hole, the missing segment reported, nothing written.
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let (reader, readOnly) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnly.tornTail == "\(path)/wal/\(name) is missing" && !readOnly.tailTruncated)
            #expect(readOnly.lastLSN == lost.lowerBound - 1)
            reader.close()
            #expect(try directoryImage(path) == before)
            // Force: on past the hole, which is counted and reported; nothing is removed.
            let (forced, force) = try recoverStore(at: path, mode: .force)
            #expect(force.tornTail == "\(path)/wal/\(name) is missing")
            #expect(force.corruptRecordsSkipped == 1)
            #expect(force.lastLSN == UInt64(summary.log.count))
            #expect(try forced.contents() == ExpectedState(Self.survivors(of: summary.log, losing: lost)).tuples)
            forced.close()
            #expect(try WALSegment.list(path + "/wal").count == segments.count - 1)
        }
    }

    @Test("a missing last segment the checkpoint shows (in a directory without wal/last-segment): refused in normal mode, reported in readonly (nothing written) and in force")
    func aMissingLastSegment() throws {
        try withTemporaryDirectory { path in
            let first = try generateStore(at: path, records: 1_500)
            // Commits after recovery, then a checkpoint at the end of recovery: the segments stay,
            // the last one holding the checkpoint's LSN and the commits after it.
            do {
                let (store, _) = try recoverStore(at: path)
                _ = try WALGenerator.generate(into: store, options: .init(records: 40, seed: 3, segmentSize: 16 * 1024))
                try store.checkpoint()
                store.close()
            }
            let segments = try WALSegment.list(path + "/wal")
            let last = try #require(segments.last)
            let lastKept = try Self.firstLSN(last) - 1
            try #require(lastKept < 1_500, "the last segment holds the checkpoint's LSN")
            try FileManager.default.removeItem(atPath: last.path)
            try FileManager.default.removeItem(atPath: path + "/wal/last-segment")
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let before = try directoryImage(path)
            let checkpointed = ExpectedState(first.log).tuples
            // Normal: refused (it booted to ready without the 40 commits, and said nothing).
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description == "\(path) is corrupt: its WAL ends at LSN \(lastKept), before the checkpoint's 1500: its last segments are missing, with any transaction committed after the checkpoint: restore them, or boot with --recovery-mode force to go on without them (readonly to inspect)")
            let reported = "\(path)/wal ends at LSN \(lastKept), before the checkpoint's 1500: its last segments are missing"
            // Readonly: the checkpoint's state, reported, nothing written.
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let (reader, readOnly) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnly.tornTail == reported && !readOnly.tailTruncated)
            #expect(try reader.contents() == checkpointed)
            reader.close()
            #expect(try directoryImage(path) == before)
            // Force: the checkpoint's state, reported.
            let (forced, force) = try recoverStore(at: path, mode: .force)
            #expect(force.tornTail == reported)
            #expect(force.lastLSN == 1_500)
            #expect(try forced.contents() == checkpointed)
            forced.close()
        }
    }

    @Test("a missing last segment that only wal/last-segment shows (a generated store: its checkpoint is at LSN 0): refused in normal mode, reported in readonly and force")
    func aMissingLastSegmentAfterGenerate() throws {
        try withTemporaryDirectory { path in
            let summary = try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            #expect(segments.count >= 3)
            let last = try #require(segments.last)
            let lostFrom = try Self.firstLSN(last)
            try FileManager.default.removeItem(atPath: last.path)
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let name = WALSegment.name(index: last.index)
            let before = try directoryImage(path)
            // Normal: refused (it booted to ready without the last segment's commits, and said nothing).
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description == "\(path) is corrupt: its last WAL segment wal/\(name) is missing (wal/last-segment names wal/\(name)), with any transaction committed in it: restore it, or boot with --recovery-mode force to go on without it (readonly to inspect)")
            let reported = "\(path)/wal/\(name) is missing (wal/last-segment names wal/\(name))"
            let survivors = ExpectedState(summary.log.filter { $0.lsn < lostFrom }).tuples
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let (reader, readOnly) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnly.tornTail == reported && !readOnly.tailTruncated)
            #expect(readOnly.lastLSN == lostFrom - 1)
            #expect(try reader.contents() == survivors)
            reader.close()
            #expect(try directoryImage(path) == before)
            let (forced, force) = try recoverStore(at: path, mode: .force)
            #expect(force.tornTail == reported)
            #expect(try forced.contents() == survivors)
            // The checkpoint that ends a forced boot takes the loss in: the next normal boot is clean.
            try forced.checkpoint()
            forced.close()
            let (clean, report) = try recoverStore(at: path, mode: .normal)
            #expect(report.tornTail == nil)
            #expect(try clean.contents() == survivors)
            clean.close()
        }
        // Two segments gone: both named.
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 1_500)
            let segments = try WALSegment.list(path + "/wal")
            for segment in segments.suffix(2) { try FileManager.default.removeItem(atPath: segment.path) }
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let first = WALSegment.name(index: segments[segments.count - 2].index)
            let last = WALSegment.name(index: segments[segments.count - 1].index)
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description == "\(path) is corrupt: its last WAL segments wal/\(first) to wal/\(last) are missing (wal/last-segment names wal/\(last)), with any transaction committed in them: restore them, or boot with --recovery-mode force to go on without them (readonly to inspect)")
        }
    }

    @Test("wal/last-segment never names a segment removed on purpose: a torn tail's, a checkpoint's; a directory without one boots and gets one; an unreadable one is refused in normal mode")
    func lastSegmentRecord() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 1_500)
            let marker = path + "/wal/last-segment"
            let segments = try WALSegment.list(path + "/wal")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == String(WALSegment.name(index: segments.last!.index).dropLast(4)) + "\n")
            // A crash as the last segment was made: only its header, torn. The tail is cut (the segment
            // removed) and wal/last-segment lowered first: the next boot in normal mode is clean.
            let torn = WALSegment.name(index: segments.last!.index + 1)
            #expect(FileManager.default.createFile(atPath: path + "/wal/" + torn, contents: Data("BFWALS".utf8)))
            try WALSegment.recordLastCreated(segments.last!.index + 1, in: path + "/wal")
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            do {
                let (store, report) = try recoverStore(at: path, mode: .normal)
                #expect(report.tailTruncated)
                store.close()
            }
            #expect(!FileManager.default.fileExists(atPath: path + "/wal/" + torn))
            let (again, clean) = try recoverStore(at: path, mode: .normal)
            #expect(clean.tornTail == nil)
            // A directory older than the record: none, no check; the next writer writes one.
            try FileManager.default.removeItem(atPath: marker)
            _ = try WALGenerator.generate(into: again, options: .init(records: 10, seed: 5, segmentSize: 16 * 1024))
            #expect(try WALSegment.lastCreated(in: path + "/wal") == .index(try WALSegment.list(path + "/wal").last!.index))
            again.close()
            // A checkpoint that removes every segment removes the record first; the numbers start again.
            let (recovered, _) = try recoverStore(at: path, mode: .normal)
            try recovered.checkpoint()
            recovered.close()
            #expect(try WALSegment.list(path + "/wal").isEmpty && !FileManager.default.fileExists(atPath: marker))
            let (reopened, afterCheckpoint) = try recoverStore(at: path, mode: .normal)
            #expect(afterCheckpoint.tornTail == nil)
            _ = try WALGenerator.generate(into: reopened, options: .init(records: 10, seed: 6, segmentSize: 16 * 1024))
            reopened.close()
            #expect(try WALSegment.lastCreated(in: path + "/wal") == .index(1))
            // Unreadable: refused in normal mode, reported in force.
            try Data("not a segment\n".utf8).write(to: URL(fileURLWithPath: marker))
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect(error?.description == "\(path) is corrupt: its wal/last-segment is unreadable (16 hex digits and a newline expected): whether the last WAL segments are missing cannot be told: restore it, or boot with --recovery-mode force to go on with the segments there (readonly to inspect)")
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let (forced, force) = try recoverStore(at: path, mode: .force)
            #expect(force.tornTail == "\(path)/wal/last-segment is unreadable: whether the last segments are missing cannot be told")
            forced.close()
        }
    }

    @Test("a missing WAL directory: refused in normal mode, reported in readonly (nothing written), made anew in force")
    func aMissingWALDirectory() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 1_500)
            let checkpointed = try recoverStore(at: path).0
            let tuples = try checkpointed.contents()
            try checkpointed.checkpoint()
            checkpointed.close()
            try FileManager.default.removeItem(atPath: path + "/wal")
            // Normal: refused (it booted to ready on the checkpoint alone, and failed at shutdown).
            let error = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: .normal) }
            #expect("\(error!)" == "\(path) is corrupt: its WAL directory wal/ is missing, with any transaction committed after the checkpoint: restore it, or boot with --recovery-mode force to start an empty one (readonly to inspect)")
            #expect(!FileManager.default.fileExists(atPath: path + "/wal"))
            // Readonly: the checkpoint's state, the missing directory reported, nothing written.
            try FileManager.default.removeItem(atPath: path + "/LOCK")
            let before = try directoryImage(path)
            let (reader, readOnly) = try recoverStore(at: path, mode: .readOnly)
            #expect(readOnly.tornTail == "\(path)/wal is missing" && !readOnly.tailTruncated)
            #expect(try reader.contents() == tuples)
            reader.close()
            #expect(try directoryImage(path) == before)
            // Force: made anew, empty; the next boot in normal mode is clean.
            let (forced, force) = try recoverStore(at: path, mode: .force)
            #expect(force.tornTail == "\(path)/wal is missing (made anew, empty)")
            #expect(try forced.contents() == tuples)
            forced.close()
            #expect(try WALSegment.list(path + "/wal").isEmpty && FileManager.default.fileExists(atPath: path + "/wal"))
            let (_, clean) = try recoverStore(at: path, mode: .normal)
            #expect(clean.tornTail == nil)
            // A file where the directory should be: refused in every mode.
            try FileManager.default.removeItem(atPath: path + "/wal")
            #expect(FileManager.default.createFile(atPath: path + "/wal", contents: Data("x".utf8)))
            for mode in [RecoveryOptions.Mode.normal, .readOnly, .force] {
                let notDirectory = #expect(throws: StoreError.self) { try recoverStore(at: path, mode: mode) }
                #expect("\(notDirectory!)" == "open \(path)/wal: Not a directory")
            }
        }
    }

    @Test func garbageInsteadOfAWALIsATornTailInEveryMode() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 0)
            var random = SystemRandomNumberGenerator()
            let garbage = Data((0..<50_000).map { _ in UInt8.random(in: 0...255, using: &random) })
            try garbage.write(to: URL(fileURLWithPath: path + "/wal/" + WALSegment.name(index: 1)))
            let (_, report) = try recoverStore(at: path, mode: .normal)
            #expect(report.recordsReplayed == 0)
            #expect(report.tornTail != nil)
            #expect(try WALSegment.list(path + "/wal").isEmpty, "a segment with nothing valid is removed")
        }
    }

    @Test func recoveryReportsProgressWithTotalsKnownUpFront() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 2_000)
            let store = try WALStore.open(path: path, access: .readWrite)
            var reports: [RecoveryProgress] = []
            var replayed: UInt64 = 0
            var checkpointBytes: UInt64 = 0
            var analysed: (rolledBack: UInt64, skipped: UInt64)?
            var pageReports: [UInt64] = []
            var replayedAtFirstPages: UInt64?
            let report = try store.recover(RecoveryOptions(
                reportEvery: 500, onCheckpointRead: { checkpointBytes = $0 },
                onProgress: { reports.append($0) }, onReplayed: { records, _ in replayed += records },
                onAnalysed: { rolledBack, skipped in
                    #expect(replayed == 0, "known before replay starts")
                    analysed = (rolledBack, skipped)
                },
                onPagesRecovered: { pages in
                    if pageReports.isEmpty { replayedAtFirstPages = replayed }
                    pageReports.append(pages)
                }))
            let replay = reports.filter { $0.message == "replaying WAL" }
            #expect(replay.count >= 4)
            #expect(replay.allSatisfy { $0.recordsTotal == 2_000 })
            #expect(replay.last?.recordsDone == 2_000)
            #expect(replayed == 2_000)
            #expect(checkpointBytes > 0)
            // Rollbacks and skips come with analysis, pages as replay goes: a dashboard sees them move.
            #expect(analysed?.rolledBack == report.transactionsRolledBack && analysed?.skipped == 0)
            #expect(replayedAtFirstPages.map { $0 < 2_000 } == true, "pages are reported while replay goes on")
            #expect(pageReports.reduce(0, +) == report.pagesRecovered)
        }
    }

    @Test func throttledReplayTakesItsTimeAndCanBeStopped() throws {
        try withTemporaryDirectory { path in
            try generateStore(at: path, records: 300)
            let store = try WALStore.open(path: path, access: .readWrite)
            var calls = 0
            let started = ContinuousClock.now
            let error = #expect(throws: StoreError.self) {
                _ = try store.recover(RecoveryOptions(maxRecordsPerSecond: 1_000, shouldContinue: { calls += 1; return calls < 3 }))
            }
            #expect(error == .interrupted("recovery stopped"))
            // Batches of 100 records at 1,000 a second: the second report comes about 0.1 s in.
            #expect(ContinuousClock.now - started >= .milliseconds(80))
        }
    }
}
