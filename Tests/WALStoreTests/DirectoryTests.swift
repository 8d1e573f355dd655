// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing
@testable import WALStore

@Suite("Data directory: formats, migration, locking")
struct DirectoryTests {
    /// The state the fixtures' checkpoint and WAL add up to (see make_fixtures.py).
    static let fixtureState: [UInt64: [UInt8: [UInt8]]] = [
        1: [0: Array("alpha".utf8)],
        2: [1: Array("gamma".utf8), 3: Array("new".utf8)],
        3: [31: [UInt8](repeating: UInt8(ascii: "z"), count: 120)],
    ]

    func copyFixture(_ name: String, to path: String) throws {
        try FileManager.default.copyItem(atPath: fixtures.appendingPathComponent(name).path, toPath: path)
    }

    @Test("migration from the checked-in fixtures", arguments: [(1, 2), (2, 1)])
    func migrates(version: Int, steps: Int) throws {
        try withTemporaryDirectory { path in
            try copyFixture("format-\(version)", to: path)
            let store = try WALStore.open(path: path, access: .readWrite)
            #expect(store.format == version)
            var reached: [Int] = []
            #expect(try store.migrate { reached.append($0) } == steps)
            #expect(reached == Array((version + 1)...3))
            #expect(try String(contentsOfFile: path + "/FORMAT", encoding: .utf8) == "format=3\n")
            let report = try store.recover(RecoveryOptions())
            #expect(report.recordsReplayed == 6)
            #expect(report.transactionsRolledBack == 1)
            #expect(report.pagesRecovered == 2)
            #expect(try store.contents() == Self.fixtureState)
            try store.checkpoint()
            store.close()
            // The upgraded directory boots again as format 3, with nothing to replay.
            let (again, againReport) = try { () throws -> (WALStore, RecoveryReport) in
                let reopened = try WALStore.open(path: path, access: .readWrite)
                #expect(reopened.format == 3)
                #expect(try reopened.migrate() == 0)
                return (reopened, try reopened.recover(RecoveryOptions()))
            }()
            #expect(againReport.recordsReplayed == 0)
            #expect(try again.contents() == Self.fixtureState)
        }
    }

    @Test func readOnlyMigratesInMemoryOnly() throws {
        try withTemporaryDirectory { path in
            try copyFixture("format-1", to: path)
            let before = try directoryImage(path)
            let store = try WALStore.open(path: path, access: .readOnly)
            #expect(try store.migrate() == 2)
            _ = try store.recover(RecoveryOptions(mode: .readOnly))
            #expect(try store.contents() == Self.fixtureState)
            #expect(try directoryImage(path) == before)
        }
    }

    @Test func aNewerFormatIsRefusedAndLeftUntouched() throws {
        try withTemporaryDirectory { path in
            try copyFixture("format-2", to: path)
            try "format=4\n".write(toFile: path + "/FORMAT", atomically: true, encoding: .utf8)
            let before = try directoryImage(path)
            for access in [WALStore.Access.readWrite, .readOnly] {
                let error = #expect(throws: StoreError.self) { try WALStore.open(path: path, access: access) }
                #expect(error == .newerFormat(path: path, found: 4, supported: 3))
                #expect("\(error!)".contains("left untouched"))
            }
            #expect(try directoryImage(path) == before, "not even a lock file")
        }
    }

    @Test("a creation cut short (no FORMAT yet) is finished by the next open; leftovers of a crash are removed")
    func unfinishedCreationAndLeftovers() throws {
        try withTemporaryDirectory { path in
            do { _ = try WALStore.open(path: path, access: .readWrite) }
            // As if the process died before writing FORMAT, with a temporary file about.
            try FileManager.default.removeItem(atPath: path + "/FORMAT")
            try Data([1, 2, 3]).write(to: URL(fileURLWithPath: path + "/checkpoint.tmp"))
            let store = try WALStore.open(path: path, access: .readWrite)
            #expect(store.format == 3)
            _ = try store.recover(RecoveryOptions())
            store.close()
            // A page file of another generation (a crash after a checkpoint) and a .tmp are removed.
            try Data(count: Page.size).write(to: URL(fileURLWithPath: path + "/pages-7.db"))
            try Data([0]).write(to: URL(fileURLWithPath: path + "/pages-0.db.tmp"))
            let again = try WALStore.open(path: path, access: .readWrite)
            _ = try again.recover(RecoveryOptions())
            #expect(try FileIO.list(path).filter { $0.hasPrefix("pages-") } == ["pages-0.db"])
        }
    }

    @Test func corruptCheckpointIsAClearError() throws {
        try withTemporaryDirectory { path in
            try copyFixture("format-2", to: path)
            let checkpoint = try Data(contentsOf: URL(fileURLWithPath: path + "/checkpoint"))
            try checkpoint.prefix(30).write(to: URL(fileURLWithPath: path + "/checkpoint"))
            let store = try WALStore.open(path: path, access: .readWrite)
            let error = #expect(throws: StoreError.self) { try store.migrate() }
            #expect("\(error!)".contains("checkpoint is corrupt"))
        }
    }

    @Test func aSecondWriterIsLockedOut() throws {
        try withTemporaryDirectory { path in
            let first = try WALStore.open(path: path, access: .readWrite)
            let error = #expect(throws: StoreError.self) { try WALStore.open(path: path, access: .readWrite) }
            #expect("\(error!)".contains("is locked by another process (pid \(getpid()))"))
            #expect(throws: StoreError.self) { try WALStore.open(path: path, access: .readOnly) }
            _ = first
        }
        try withTemporaryDirectory { path in
            _ = try WALStore.open(path: path, access: .readWrite)
            let reader = try WALStore.open(path: path, access: .readOnly)
            let otherReader = try WALStore.open(path: path, access: .readOnly)
            #expect(throws: StoreError.self) { try WALStore.open(path: path, access: .readWrite) }
            _ = (reader, otherReader)
        }
    }

    @Test("a symbolic link in the data directory is refused, naming it, and the file it points to is untouched",
          arguments: ["LOCK", "FORMAT", "checkpoint", PageFile.name(generation: 0), "wal/" + WALSegment.name(index: 1)])
    func symbolicLinksAreRefused(name: String) throws {
        try withTemporaryDirectory { outside in
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try withTemporaryDirectory { path in
                try generateStore(at: path, records: 300)
                // The entry moved out of the directory and linked back: only the link is wrong. (LOCK
                // points at a file of its own, which a pid written through the link would replace.)
                let entry = path + "/" + name
                let target = outside + "/target"
                try FileManager.default.moveItem(atPath: entry, toPath: target)
                if name == "LOCK" { try Data("precious\n".utf8).write(to: URL(fileURLWithPath: target)) }
                try FileManager.default.createSymbolicLink(atPath: entry, withDestinationPath: target)
                let before = try Data(contentsOf: URL(fileURLWithPath: target))
                for mode in [RecoveryOptions.Mode.normal, .readOnly, .force] {
                    let error = #expect(throws: StoreError.self) { _ = try recoverStore(at: path, mode: mode) }
                    #expect(error == .symbolicLink(path: entry))
                }
                #expect("\(StoreError.symbolicLink(path: entry))" == "\(entry) is a symbolic link: refusing to follow it out of the data directory; put the file itself there")
                #expect(try Data(contentsOf: URL(fileURLWithPath: target)) == before)
            }
        }
    }

    @Test("a symbolic link where a checkpoint writes its temporary file is refused, and nothing is written through it")
    func aLinkedTemporaryFileIsRefused() throws {
        try withTemporaryDirectory { outside in
            try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
            try withTemporaryDirectory { path in
                try generateStore(at: path, records: 300)
                let (store, _) = try recoverStore(at: path)
                defer { store.close() }
                let target = outside + "/target"
                try Data("precious\n".utf8).write(to: URL(fileURLWithPath: target))
                let temporary = path + "/" + PageFile.name(generation: 1) + ".tmp"
                try FileManager.default.createSymbolicLink(atPath: temporary, withDestinationPath: target)
                #expect(throws: StoreError.symbolicLink(path: temporary)) { try store.checkpoint() }
                #expect(try String(contentsOfFile: target, encoding: .utf8) == "precious\n")
            }
        }
    }

    @Test func notADataDirectory() throws {
        try withTemporaryDirectory { path in
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try "hello".write(toFile: path + "/notes.txt", atomically: true, encoding: .utf8)
            #expect(throws: StoreError.notADataDirectory(path: path)) { try WALStore.open(path: path, access: .readWrite) }
            #expect(throws: StoreError.self) { try WALStore.open(path: path + "/missing", access: .readOnly) }
        }
    }

    @Test func crcMatchesTheStandardCheckValue() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let long = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let split = long.withUnsafeBytes { raw in
            CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[500...]),
                            continuing: CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<500])))
        }
        #expect(split == CRC32C.checksum(long))
    }

    @Test func crcInstructionAndTablesAgree() {
        #expect(Array("123456789".utf8).withUnsafeBytes { CRC32C.softwareChecksum($0) } == 0xE306_9283)
        let bytes = (0..<4200).map { UInt8(truncatingIfNeeded: ($0 &* 2_654_435_761) >> 13) }
        bytes.withUnsafeBytes { raw in
            // Every length up to 70 at every alignment up to 8 (the instruction's word, half-word and
            // byte steps), some long runs, and a continued checksum.
            for start in 0..<8 {
                for length in [0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 63, 64, 65, 70, 4096, 4100] {
                    let part = UnsafeRawBufferPointer(rebasing: raw[start..<(start + length)])
                    #expect(CRC32C.checksum(part) == CRC32C.softwareChecksum(part), "start \(start), length \(length)")
                    #expect(CRC32C.checksum(part, continuing: 0x1234_5678)
                        == CRC32C.softwareChecksum(part, continuing: 0x1234_5678))
                }
            }
        }
        #expect(CRC32C.checksum(UnsafeRawBufferPointer(start: nil, count: 0)) == 0)
    }
}
