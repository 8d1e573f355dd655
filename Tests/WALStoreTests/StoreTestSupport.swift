// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing
@testable import WALStore

/// A fresh directory under the system's temporary folder, removed after `body`.
func withTemporaryDirectory<T>(_ body: (String) throws -> T) throws -> T {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("walstore-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try body(path)
}

/// The state recovery must produce from `log`, computed independently of the store: the puts and
/// deletes of committed transactions, in LSN order.
struct ExpectedState: Equatable {
    var tuples: [UInt64: [UInt8: [UInt8]]] = [:]
    var committed = 0
    var rolledBack = 0
    var changedPages: Set<UInt64> = []

    init(_ log: [WALRecord]) {
        let committedIDs = Set(log.filter { $0.kind == .commit }.map(\.txid))
        committed = committedIDs.count
        rolledBack = Set(log.map(\.txid)).subtracting(committedIDs).count
        for record in log.sorted(by: { $0.lsn < $1.lsn }) where committedIDs.contains(record.txid) {
            switch record.kind {
            case .put:
                tuples[record.pageID, default: [:]][record.slot] = record.value
                changedPages.insert(record.pageID)
            case .delete:
                tuples[record.pageID, default: [:]][record.slot] = nil
                changedPages.insert(record.pageID)
            default: break
            }
        }
        tuples = tuples.filter { !$0.value.isEmpty }
    }
}

extension WALStore {
    /// Every non-empty page's tuples.
    func contents() throws -> [UInt64: [UInt8: [UInt8]]] {
        var result: [UInt64: [UInt8: [UInt8]]] = [:]
        for id in pageIDs {
            let tuples = try tuples(pageID: id)
            if !tuples.isEmpty { result[id] = Dictionary(uniqueKeysWithValues: tuples.map { ($0.slot, $0.value) }) }
        }
        return result
    }
}

/// Every file under `path` and its bytes: to prove a directory did not change.
func directoryImage(_ path: String) throws -> [String: Data] {
    var image: [String: Data] = [:]
    let enumerator = FileManager.default.enumerator(atPath: path)!
    while let name = enumerator.nextObject() as? String {
        var isDirectory: ObjCBool = false
        let full = path + "/" + name
        _ = FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory)
        image[name] = isDirectory.boolValue ? Data() : try Data(contentsOf: URL(fileURLWithPath: full))
    }
    return image
}

/// Creates a store at `path` and generates `records` records in small segments.
@discardableResult
func generateStore(at path: String, records: Int, segmentSize: Int = 16 * 1024, seed: UInt64 = 7) throws -> WALGenerator.Summary {
    let store = try WALStore.open(path: path, access: .readWrite)
    defer { store.close() }
    _ = try store.recover(RecoveryOptions())
    return try WALGenerator.generate(into: store, options: .init(records: records, seed: seed, segmentSize: segmentSize), keepLog: true)
}

/// Opens and recovers the store at `path`.
func recoverStore(at path: String, mode: RecoveryOptions.Mode = .normal) throws -> (WALStore, RecoveryReport) {
    let store = try WALStore.open(path: path, access: mode == .readOnly ? .readOnly : .readWrite)
    let report = try store.recover(RecoveryOptions(mode: mode))
    return (store, report)
}

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// Flips bits of the byte at `offset` of the file at `path` (XOR with `mask`): damage on disk.
func flipBits(in path: String, at offset: UInt64, mask: UInt8) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    try handle.seek(toOffset: offset)
    let byte = try #require(try handle.read(upToCount: 1)?.first)
    try handle.seek(toOffset: offset)
    try handle.write(contentsOf: Data([byte ^ mask]))
}

/// Writes `bytes` over the file at `path` from `offset` (`nil`: at its end).
func overwrite(_ path: String, at offset: UInt64?, with bytes: Data) throws {
    let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
    defer { try? handle.close() }
    if let offset { try handle.seek(toOffset: offset) } else { try handle.seekToEnd() }
    try handle.write(contentsOf: bytes)
}
