// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import FoundationEssentials
import WALStore

#if canImport(Glibc)
import Glibc
#endif

/// `boot-exporter history`: the boot journal of a data directory.
struct HistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Print the boots the data directory's journal remembers: attempt, start, outcome, duration, phases, failure."
    )

    @OptionGroup var dataDirectory: DataDirectoryOption

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let path = dataDirectory.path
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw RuntimeFailure(errno == ENOENT ? "\(path) does not exist" : "\(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_mode & S_IFMT == S_IFDIR else { throw RuntimeFailure("\(path): Not a directory") }
        // Any other directory would read as one that never booted.
        guard ["FORMAT", BootJournal.fileName].contains(where: { FileManager.default.fileExists(atPath: path + "/" + $0) }) else {
            throw RuntimeFailure("\(path) is not a boot-exporter data directory (no FORMAT file, no boot journal)")
        }
        let (journal, warnings) = BootJournal.open(directory: path, writable: false)
        // A journal that cannot be read at all is no history, not an empty one.
        if let readFailure = journal.readFailure { throw RuntimeFailure(readFailure) }
        for warning in warnings { StandardStream.error.write("warning: \(warning)\n") }
        let boots = journal.boots
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            encoder.keyEncodingStrategy = .convertToSnakeCase
            print(String(decoding: try encoder.encode(boots), as: UTF8.self))
            return
        }
        let rows = [["ATTEMPT", "STARTED (UTC)", "MODE", "OUTCOME", "DURATION", "PHASES", "FAILURE"]] + boots.map { boot in
            [
                String(boot.attempt),
                Self.timestamp(boot.startUnixMilliseconds),
                boot.mode,
                boot.outcome.rawValue,
                boot.durationMilliseconds.map(Self.seconds) ?? "-",
                boot.phases.map { "\($0.phase) \(Self.seconds($0.durationMilliseconds))" }.joined(separator: ", "),
                boot.outcome == .failed ? "\(boot.failedPhase ?? "?"): \(boot.reason ?? "")" : "",
            ]
        }
        let widths = (0..<7).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }
            print(Substring(padded.joined(separator: "  ")).trimmed)
        }
        if boots.isEmpty { print("(no boots recorded in \(dataDirectory.path))") }
    }

    /// `2026-01-01T00:00:00Z`, the second the boot started in.
    static func timestamp(_ milliseconds: UInt64) -> String {
        UTCTimestamp.string(unixMilliseconds: milliseconds, withMilliseconds: false)
    }

    /// `1.234s`.
    static func seconds(_ milliseconds: UInt64) -> String {
        let fraction = String(milliseconds % 1000)
        return "\(milliseconds / 1000).\(String(repeating: "0", count: 3 - fraction.count))\(fraction)s"
    }
}
