// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The few file operations the store makes, each reporting a ``StoreError`` that names the path.
/// Those an application needs for its own files in a data directory (a boot journal beside the
/// store, say) are public, so that they fail and are reported alike.
public enum FileIO {
    static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR
    }

    static func size(_ path: String) throws(StoreError) -> Int {
        var info = stat()
        guard stat(path, &info) == 0 else { throw .system("stat", path) }
        return Int(info.st_size)
    }

    /// Opens a file of the data directory, never through a symbolic link: a link planted there (LOCK
    /// pointing at a file elsewhere, say) would have the store read, truncate or overwrite whatever
    /// it points to. `O_NOFOLLOW` refuses the link in the same call that opens, with no window
    /// between a check and the open. `operation` names the call in other errors.
    public static func openWithoutFollowing(_ path: String, _ flags: Int32, operation: String = "open") throws(StoreError) -> Int32 {
        let fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            // (With O_NOFOLLOW, ELOOP is the last component being a link.)
            if errno == ELOOP { throw .symbolicLink(path: path) }
            throw .system(operation, path)
        }
        return fd
    }

    /// The whole file (never through a symbolic link).
    public static func read(_ path: String) throws(StoreError) -> [UInt8] {
        let fd = try openWithoutFollowing(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("stat", path) }
        var bytes = [UInt8](repeating: 0, count: Int(info.st_size))
        var total = 0
        while total < bytes.count {
            let n = bytes.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .system("read", path) }
            if n == 0 { break }
            total += n
        }
        // A file that shrank under us: what was there (no copy when, as usual, it did not).
        if total < bytes.count { bytes.removeSubrange(total...) }
        return bytes
    }

    /// `count` bytes at `offset`.
    static func read(fd: Int32, path: String, offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var total = 0
        while total < count {
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + total, count - total, off_t(offset + total)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { throw .corrupt(path: path, reason: "ends at \(offset + total), expected \(count) bytes at \(offset)") }
                throw .system("read", path)
            }
            total += n
        }
        return bytes
    }

    static func writeAll(fd: Int32, path: String, _ bytes: UnsafeRawBufferPointer) throws(StoreError) {
        var written = 0
        while written < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + written, bytes.count - written)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw .system("write", path) }
            written += n
        }
    }

    /// Writes all of `bytes` to `fd` (whatever short writes it takes); `path` names it in errors.
    public static func writeAll(fd: Int32, path: String, _ bytes: [UInt8]) throws(StoreError) {
        let failure = bytes.withUnsafeBytes { raw -> StoreError? in
            do throws(StoreError) { try writeAll(fd: fd, path: path, raw) } catch { return error }
            return nil
        }
        if let failure { throw failure }
    }

    static func fsync(fd: Int32, path: String) throws(StoreError) {
        guard Glibc.fsync(fd) == 0 else { throw .system("fsync", path) }
    }

    /// Makes a rename or a new file in `directory` durable.
    static func fsyncDirectory(_ directory: String) throws(StoreError) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .system("open", directory) }
        defer { close(fd) }
        try fsync(fd: fd, path: directory)
    }

    /// Replaces `path` with `bytes` atomically: a temporary file beside it, fsync, rename, fsync of
    /// the directory. A crash leaves either the old file or the new one, never a mix.
    public static func writeAtomically(_ path: String, _ bytes: [UInt8]) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = try openWithoutFollowing(temporary, O_WRONLY | O_CREAT | O_TRUNC, operation: "create")
        do throws(StoreError) {
            try writeAll(fd: fd, path: temporary, bytes)
            try fsync(fd: fd, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = StoreError.system("rename", temporary)
            unlink(temporary)
            throw error
        }
        try fsyncDirectory(parent(of: path))
    }

    static func makeDirectory(_ path: String) throws(StoreError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else { throw .system("mkdir", path) }
    }

    /// Creates `path` and every missing directory above it, as `mkdir -p` (and Prometheus for its
    /// storage path) does. An error names `path`, with the reason the first directory that could not
    /// be made gave.
    public static func makeDirectories(_ path: String) throws(StoreError) {
        do {
            try makeDirectoryAndParents(path)
        } catch .io(let operation, _, let code) {
            throw .io(operation: operation, path: path, errno: code)
        }
    }

    private static func makeDirectoryAndParents(_ path: String) throws(StoreError) {
        var trimmed = Substring(path)
        while trimmed.count > 1, trimmed.hasSuffix("/") { trimmed = trimmed.dropLast() }
        if let slash = trimmed.lastIndex(of: "/"), slash != trimmed.startIndex {
            let parent = String(trimmed[..<slash])
            if !exists(parent) { try makeDirectoryAndParents(parent) }
        }
        try makeDirectory(String(trimmed))
    }

    static func remove(_ path: String) throws(StoreError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw .system("unlink", path) }
    }

    /// The names in `directory`, sorted, without `.` and `..`.
    static func list(_ directory: String) throws(StoreError) -> [String] {
        guard let handle = opendir(directory) else { throw .system("opendir", directory) }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `directory/name`, with one slash between them.
    public static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}
