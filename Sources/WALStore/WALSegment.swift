// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// A WAL segment file, `wal/<index>.wal` (16 hex digits): a 16-byte header — `"BFWALSEG"` and
/// the index as u64 — then frames (see ``WALRecord``) until the file ends.
struct WALSegment {
    static let magic: [UInt8] = Array("BFWALSEG".utf8)
    static let headerSize = 16

    let index: UInt64
    let path: String

    static func name(index: UInt64) -> String {
        let hex = String(index, radix: 16)
        return String(repeating: "0", count: max(0, 16 - hex.count)) + hex + ".wal"
    }

    static func header(index: UInt64) -> [UInt8] {
        var bytes = magic
        bytes.appendLE(index)
        return bytes
    }

    /// The segments of `walDirectory`, in order. Other files are ignored; a segment name beyond
    /// ``WALRecord/maxSequence`` is an error (the next segment's index would overflow).
    static func list(_ walDirectory: String) throws(StoreError) -> [WALSegment] {
        guard FileIO.isDirectory(walDirectory) else { return [] }
        var segments: [WALSegment] = []
        for name in try FileIO.list(walDirectory) {
            guard name.hasSuffix(".wal"), name.count == 20, let index = UInt64(name.prefix(16), radix: 16) else { continue }
            let path = FileIO.join(walDirectory, name)
            guard index < WALRecord.maxSequence else { throw .corrupt(path: path, reason: "segment index out of range") }
            segments.append(WALSegment(index: index, path: path))
        }
        return segments.sorted { $0.index < $1.index }
    }

    /// `wal/last-segment`: the index of the newest segment a writer created (16 hex digits and a
    /// newline), replaced atomically once that segment is durable. Nothing else on disk shows how far
    /// the log reached, so without it a lost last segment looks like a shorter log. Lowered before a
    /// torn tail's segments are removed and removed before a checkpoint removes them all, so that it
    /// never names a segment removed on purpose. Directories older than it have none: no check then.
    static let lastSegmentFile = "last-segment"

    /// What `wal/last-segment` says.
    enum LastCreated: Equatable {
        case absent
        case index(UInt64)
        /// Not 16 hex digits and a newline, or an index out of range.
        case unreadable
    }

    static func lastCreated(in walDirectory: String) throws(StoreError) -> LastCreated {
        let path = FileIO.join(walDirectory, lastSegmentFile)
        guard FileIO.exists(path) else { return .absent }
        guard try FileIO.size(path) == 17 else { return .unreadable }
        let bytes = try FileIO.read(path)
        guard bytes.count == 17, bytes[16] == UInt8(ascii: "\n"),
              let index = UInt64(String(decoding: bytes[..<16], as: UTF8.self), radix: 16),
              index < WALRecord.maxSequence else { return .unreadable }
        return .index(index)
    }

    static func recordLastCreated(_ index: UInt64, in walDirectory: String) throws(StoreError) {
        let name = String(name(index: index).dropLast(4))
        try FileIO.writeAtomically(FileIO.join(walDirectory, lastSegmentFile), Array((name + "\n").utf8))
    }

    /// Removes `wal/last-segment`, durably: unlinks are not ordered, and a removal of the segments it
    /// names reaching the disk before its own would look like lost segments after a crash.
    static func forgetLastCreated(in walDirectory: String) throws(StoreError) {
        try FileIO.remove(FileIO.join(walDirectory, lastSegmentFile))
        try FileIO.fsyncDirectory(walDirectory)
    }

    /// Reads the segment and hands its bytes to `body`. Read, not mapped: an I/O error (or a file
    /// truncated under us) is then an error with a path, where a mapping would kill the process with
    /// SIGBUS.
    func withContents<T>(_ body: (UnsafeRawBufferPointer) throws(StoreError) -> T) throws(StoreError) -> T {
        let bytes = try FileIO.read(path)
        let result = bytes.withUnsafeBytes { raw -> Result<T, StoreError> in
            do throws(StoreError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Whether `bytes` start with this segment's header.
    func hasValidHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= Self.headerSize else { return false }
        return Array(bytes[..<Self.headerSize]) == Self.header(index: index)
    }
}

/// Memory that whole files are read into, one at a time, reused from one read to the next.
/// Recovery reads every segment twice, analysis then redo: one buffer for all those reads spares an
/// allocation, a zeroing and a copy of each segment each time. Not thread-safe.
final class SegmentBuffer {
    private var storage: UnsafeMutableRawPointer?
    private var capacity = 0

    init() {}

    deinit { storage?.deallocate() }

    /// Reads the whole file at `path` (up to its size when opened; less if it shrinks meanwhile),
    /// replacing what the buffer held. The bytes are valid until the next read.
    func read(_ path: String) throws(StoreError) -> UnsafeRawBufferPointer {
        let fd = try FileIO.openWithoutFollowing(path, O_RDONLY)
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw .system("stat", path) }
        let size = Int(info.st_size)
        if size > capacity {
            storage?.deallocate()
            storage = nil
            capacity = 0
            // Room for the next segment growing a little, without a new allocation.
            let rounded = (size + 0xFFFF) & ~0xFFFF
            storage = .allocate(byteCount: rounded, alignment: 64)
            capacity = rounded
        }
        guard let storage else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        var total = 0
        while total < size {
            let n = Glibc.read(fd, storage + total, size - total)
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else { throw .system("read", path) }
            if n == 0 { break }
            total += n
        }
        return UnsafeRawBufferPointer(start: storage, count: total)
    }
}

/// Appends records to the WAL: one open segment at a time, a new one past `segmentSize`.
/// ``sync()`` makes everything appended so far durable.
final class WALWriter {
    let directory: String
    let segmentSize: Int
    private var fd: Int32 = -1
    private var path = ""
    private var size = 0
    private var nextIndex: UInt64
    private var buffer: [UInt8] = []

    /// A writer appending to the last of `segments` (or starting the first).
    init(directory: String, segments: [WALSegment], segmentSize: Int = 4 << 20) throws(StoreError) {
        self.directory = directory
        self.segmentSize = segmentSize
        try FileIO.makeDirectory(directory)
        nextIndex = (segments.last?.index ?? 0) + 1
        if let last = segments.last {
            fd = try FileIO.openWithoutFollowing(last.path, O_WRONLY | O_APPEND)
            path = last.path
            size = try FileIO.size(last.path)
            // A directory older than wal/last-segment gets one here.
            let recorded: UInt64? = if case .index(let index) = try WALSegment.lastCreated(in: directory) { index } else { nil }
            if recorded.map({ $0 < last.index }) ?? true { try WALSegment.recordLastCreated(last.index, in: directory) }
        }
    }

    deinit { if fd >= 0 { close(fd) } }

    /// Buffers `record`; it reaches the file at the next ``flush()`` or ``sync()``.
    func append(_ record: WALRecord) throws(StoreError) {
        if fd < 0 || size + buffer.count >= segmentSize {
            try flush()
            try startSegment()
        }
        record.encode(into: &buffer)
        if buffer.count >= 256 * 1024 { try flush() }
    }

    /// Writes buffered records to the file.
    func flush() throws(StoreError) {
        guard !buffer.isEmpty else { return }
        try FileIO.writeAll(fd: fd, path: path, buffer)
        size += buffer.count
        buffer.removeAll(keepingCapacity: true)
    }

    /// Writes and fsyncs everything appended.
    func sync() throws(StoreError) {
        try flush()
        guard fd >= 0 else { return }
        try FileIO.fsync(fd: fd, path: path)
    }

    private func startSegment() throws(StoreError) {
        if fd >= 0 {
            try FileIO.fsync(fd: fd, path: path)
            close(fd)
        }
        path = FileIO.join(directory, WALSegment.name(index: nextIndex))
        fd = try FileIO.openWithoutFollowing(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND, operation: "create")
        nextIndex += 1
        let header = WALSegment.header(index: nextIndex - 1)
        try FileIO.writeAll(fd: fd, path: path, header)
        size = header.count
        // The segment is durable before wal/last-segment names it: a crash in between leaves a
        // segment it does not name yet, never a name without its segment.
        try FileIO.fsync(fd: fd, path: path)
        try FileIO.fsyncDirectory(directory)
        try WALSegment.recordLastCreated(nextIndex - 1, in: directory)
    }
}
