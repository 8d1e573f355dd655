// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import WALStore

/// `boot-exporter generate`: writes a realistic WAL into a new data directory.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Create a data directory holding a realistic WAL: interleaved transactions over many pages, committed, aborted and unfinished."
    )

    @OptionGroup var dataDirectory: DataDirectoryOption

    @Option(help: "Records to write (begin, put, delete, commit and abort records alike).")
    var records = 200_000

    @Option(help: "Seed of the generator: the same seed writes the same WAL.")
    var seed: UInt64 = StoreGeneration.defaultSeed

    @Option(help: "Pages the transactions spread over (default: one per 40 records, at least 16).")
    var pages: Int?

    func validate() throws {
        guard records >= 0 else { throw ValidationError("--records must not be negative") }
        if let pages, pages < 1 { throw ValidationError("--pages must be at least 1") }
    }

    func run() throws {
        guard StoreGeneration.isEmpty(dataDirectory.path) else {
            throw RuntimeFailure("\(dataDirectory.path) is not empty: generate writes a new data directory")
        }
        do {
            let summary = try StoreGeneration.generate(path: dataDirectory.path, records: records, seed: seed, pages: pages)
            print("generated \(summary.records) records in \(summary.segments) segments: \(summary.committed) committed, \(summary.aborted) aborted, \(summary.unfinished) unfinished transactions")
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }
}

/// Generation of a fresh data directory, shared by `generate` and `run`.
enum StoreGeneration {
    /// The seed of the default data directory, so every first boot sees the same WAL.
    static let defaultSeed: UInt64 = 0xB007

    static func isEmpty(_ path: String) -> Bool { WALStore.isMissingOrEmpty(path) }

    static func generate(path: String, records: Int, seed: UInt64 = defaultSeed, pages: Int? = nil,
                         onLocked: () -> Void = {}) throws -> WALGenerator.Summary {
        let store = try WALStore.open(path: path, access: .readWrite, onLocked: onLocked)
        defer { store.close() }
        _ = try store.recover(RecoveryOptions())
        return try WALGenerator.generate(into: store, options: .init(records: records, seed: seed, pages: pages))
    }
}
