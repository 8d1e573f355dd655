// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The layout of a data directory and its two guards: the format-version file and the lock.
///
/// ```
/// FORMAT            format=<n>
/// LOCK              flock'd by the process using the directory; holds its pid
/// journal           the application's (WALStore.journalFileName), never touched here
/// checkpoint        see Checkpoint
/// pages-<gen>.db    see PageFile
/// wal/<index>.wal   see WALSegment
/// ```
struct DataDirectory {
    /// The format this binary writes.
    static let currentFormat = 3

    let path: String

    var formatFile: String { FileIO.join(path, "FORMAT") }
    var lockFile: String { FileIO.join(path, "LOCK") }
    var checkpointFile: String { FileIO.join(path, Checkpoint.fileName) }
    var walDirectory: String { FileIO.join(path, "wal") }
    func pageFile(generation: UInt64) -> String { FileIO.join(path, PageFile.name(generation: generation)) }

    /// The format version, or `nil` if there is no FORMAT file.
    func readFormat() throws(StoreError) -> Int? {
        guard FileIO.exists(formatFile) else { return nil }
        let text = String(decoding: try FileIO.read(formatFile), as: UTF8.self)
        guard text.hasPrefix("format="), text.hasSuffix("\n"),
              let version = Int(text.dropFirst("format=".count).dropLast()), version >= 1 else {
            throw .corrupt(path: formatFile, reason: "expected format=<number>")
        }
        return version
    }

    func writeFormat(_ version: Int) throws(StoreError) {
        try FileIO.writeAtomically(formatFile, Array("format=\(version)\n".utf8))
    }

    /// Whether the directory is missing, holds nothing but a boot journal (boots that never got as
    /// far as creating the store), or holds a creation cut short: no FORMAT file (written last) and
    /// only what `create()` writes before it, with an empty WAL directory.
    var isMissingOrEmpty: Bool {
        guard FileIO.isDirectory(path) else { return !FileIO.exists(path) }
        guard let names = try? FileIO.list(path) else { return false }
        let creation: Set<String> = [WALStore.journalFileName, "LOCK", Checkpoint.fileName, Checkpoint.fileName + ".tmp",
                                     PageFile.name(generation: 0), PageFile.name(generation: 0) + ".tmp", "FORMAT.tmp"]
        return names.allSatisfy { name in
            creation.contains(name) || (name == "wal" && ((try? FileIO.list(walDirectory).isEmpty) ?? false))
        }
    }

    /// Removes what a crash can leave behind: temporary files, and page files of generations other
    /// than the checkpoint's (a crash between a checkpoint and the removal of the old page file).
    func removeLeftovers(generation: UInt64) throws(StoreError) {
        let current = PageFile.name(generation: generation)
        for name in try FileIO.list(path) where name.hasSuffix(".tmp") || (name.hasPrefix("pages-") && name.hasSuffix(".db") && name != current) {
            try FileIO.remove(FileIO.join(path, name))
        }
    }

    /// Creates a fresh store: an empty checkpoint and page file, an empty WAL directory, then
    /// the FORMAT file last, so a directory with a FORMAT file is always complete.
    func create() throws(StoreError) {
        try FileIO.makeDirectory(path)
        // The store's own layout goes in beside a boot journal that may already be there.
        try FileIO.makeDirectory(walDirectory)
        try PageFile.write(path: pageFile(generation: 0), pageIDs: []) { _ in [] }
        try FileIO.writeAtomically(checkpointFile, Checkpoint().encode(version: Self.currentFormat))
        try writeFormat(Self.currentFormat)
    }
}

/// An exclusive (writer) or shared (reader) `flock` on the data directory's LOCK file, held
/// until released or the process ends.
final class DirectoryLock {
    private let fd: Int32

    /// Takes the lock without waiting. A read-only lock on a directory without a LOCK file takes
    /// nothing (creating the file would be a write) and returns `nil`.
    static func acquire(_ directory: DataDirectory, exclusive: Bool) throws(StoreError) -> DirectoryLock? {
        let path = directory.lockFile
        let fd: Int32
        do {
            // (Not through a link: the pid written below would overwrite whatever it points to.)
            fd = try FileIO.openWithoutFollowing(path, exclusive ? O_RDWR | O_CREAT : O_RDONLY)
        } catch .io(_, _, ENOENT) where !exclusive {
            return nil
        }
        guard flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 else {
            let code = errno
            let holder = (try? FileIO.read(path)).map { String(decoding: $0, as: UTF8.self) }
                .flatMap { $0.isEmpty ? nil : "pid \($0.split(separator: "\n").first ?? "")" } ?? "unknown pid"
            close(fd)
            if code == EWOULDBLOCK { throw .locked(path: directory.path, holder: holder) }
            throw .io(operation: "flock", path: path, errno: code)
        }
        if exclusive {
            let pid = Array("\(getpid())\n".utf8)
            _ = ftruncate(fd, 0)
            _ = pid.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        }
        return DirectoryLock(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    deinit { close(fd) }
}
