// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// Why the store cannot do what was asked. Every case reads as one line naming what and where.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A system call failed.
    case io(operation: String, path: String, errno: Int32)
    /// Another process holds the data directory's lock.
    case locked(path: String, holder: String)
    /// The directory's format is newer than this binary knows; nothing was changed.
    case newerFormat(path: String, found: Int, supported: Int)
    /// A file of the store is not what it should be.
    case corrupt(path: String, reason: String)
    /// The write-ahead log is damaged before its end; normal mode will not cut valid records off.
    case corruptWAL(path: String, offset: Int, reason: String)
    /// The directory is not a data directory of this store.
    case notADataDirectory(path: String)
    /// A file of the data directory is a symbolic link, which the store never follows.
    case symbolicLink(path: String)
    /// A write was refused because the store was opened read-only.
    case readOnly(path: String)
    /// The boot was stopped from outside (a failed machine or a shutdown).
    case interrupted(String)

    public var description: String {
        switch self {
        case let .io(operation, path, code):
            "\(operation) \(path): \(String(cString: strerror(code)))"
        case let .locked(path, holder):
            "data directory \(path) is locked by another process (\(holder))"
        case let .newerFormat(path, found, supported):
            "data directory \(path) has format version \(found), newer than the \(supported) this binary supports; left untouched"
        case let .corrupt(path, reason):
            "\(path) is corrupt: \(reason)"
        case let .corruptWAL(path, offset, reason):
            "corrupt WAL record in \(path) at offset \(offset) (\(reason)) with valid records after it; refusing to truncate them: boot with --recovery-mode force to skip it, or readonly to inspect"
        case let .notADataDirectory(path):
            "\(path) is not a boot-exporter data directory (no FORMAT file) and is not empty"
        case let .symbolicLink(path):
            "\(path) is a symbolic link: refusing to follow it out of the data directory; put the file itself there"
        case let .readOnly(path):
            "\(path) is open read-only"
        case let .interrupted(reason):
            reason
        }
    }

    /// The error of the last failed system call on `path`.
    static func system(_ operation: String, _ path: String) -> StoreError {
        .io(operation: operation, path: path, errno: errno)
    }
}
