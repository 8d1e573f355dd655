// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import Glibc
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

    /// Bytes a generated record takes in the WAL, on average (about 73), with a margin.
    static let bytesPerRecord: UInt64 = 80

    static func generate(path: String, records: Int, seed: UInt64 = defaultSeed, pages: Int? = nil,
                         onLocked: () -> Void = {}, shouldContinue: () -> Bool = { true }) throws -> WALGenerator.Summary {
        // A WAL that cannot fit is refused before anything is written: filling the disk would
        // leave a partial directory behind, and starve everything else on that file system.
        let needed = UInt64(records).multipliedReportingOverflow(by: bytesPerRecord)
        if let free = freeBytes(near: path), needed.overflow || needed.partialValue > free {
            let size = needed.overflow ? "more than 1 EB" : "about \(gigabytes(needed.partialValue))"
            throw RuntimeFailure("\(records) records need \(size) and \(gigabytes(free)) are free for \(path): generate fewer")
        }
        let store = try WALStore.open(path: path, access: .readWrite, onLocked: onLocked)
        defer { store.close() }
        _ = try store.recover(RecoveryOptions())
        return try WALGenerator.generate(into: store, options: .init(records: records, seed: seed, pages: pages),
                                         shouldContinue: shouldContinue)
    }

    /// Bytes an unprivileged writer may still use on the file system of `path`, or of its nearest
    /// existing ancestor (the directory may not exist yet); `nil` if none can be asked, or if that
    /// file system is read-only or has no blocks (creating the directory then says what is wrong).
    static func freeBytes(near path: String) -> UInt64? {
        var candidate = path.isEmpty ? "." : path
        while true {
            var stats = statvfs()
            if statvfs(candidate, &stats) == 0 {
                // (Pseudo file systems such as sysfs report no blocks at all.)
                guard stats.f_flag & UInt(ST_RDONLY) == 0, stats.f_blocks > 0 else { return nil }
                return UInt64(stats.f_bavail) &* UInt64(stats.f_frsize)
            }
            guard candidate != "/" && candidate != "." else { return nil }
            if let slash = candidate.lastIndex(of: "/") {
                candidate = slash == candidate.startIndex ? "/" : String(candidate[..<slash])
            } else {
                candidate = "."
            }
        }
    }

    /// `bytes` in GB, one decimal.
    static func gigabytes(_ bytes: UInt64) -> String {
        let tenths = bytes / 100_000_000
        return "\(tenths / 10).\(tenths % 10) GB"
    }
}
