// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// The `process_*` metrics every official Prometheus client publishes, read from `/proc` at each
/// scrape.
public struct ProcessMetrics: Sendable, Equatable {
    /// User plus system CPU time, in seconds.
    public var cpuSeconds: Double
    /// Resident set size, in bytes.
    public var residentMemoryBytes: UInt64
    /// Virtual memory size, in bytes.
    public var virtualMemoryBytes: UInt64
    /// Open file descriptors.
    public var openFileDescriptors: UInt64
    /// The soft limit on open file descriptors.
    public var maxFileDescriptors: UInt64
    /// When the process started, in seconds since the Unix epoch.
    public var startTimeSeconds: Double

    public init(cpuSeconds: Double, residentMemoryBytes: UInt64, virtualMemoryBytes: UInt64,
                openFileDescriptors: UInt64, maxFileDescriptors: UInt64, startTimeSeconds: Double) {
        self.cpuSeconds = cpuSeconds
        self.residentMemoryBytes = residentMemoryBytes
        self.virtualMemoryBytes = virtualMemoryBytes
        self.openFileDescriptors = openFileDescriptors
        self.maxFileDescriptors = maxFileDescriptors
        self.startTimeSeconds = startTimeSeconds
    }

    /// This process's figures, at most `ProcFileSystem.maxAge` old, or `nil` where `/proc`
    /// cannot be read (not Linux, or hidden).
    public static func current() -> ProcessMetrics? {
        ProcFileSystem.shared.recent()
    }
}

/// Reads the process's figures: CPU time from `getrusage`, memory from `/proc/self/statm` through a
/// descriptor kept open (no path lookup), the descriptor count by listing `/proc/self/fd` through
/// another, the limit from `getrlimit`; the start time never changes and is read once.
///
/// A reading is reused for up to ``maxAge`` (100 ms): a busy scraper then costs no system call at
/// all, and no Prometheus scrape interval can tell the difference. Each figure is published in its
/// own atomic, so readers never wait; the one thread that refreshes does so without blocking others.
final class ProcFileSystem: Sendable {
    static let shared = ProcFileSystem()

    /// How old a reading may be.
    static let maxAge: UInt64 = 100_000_000

    private let readingTime = Atomic<UInt64>(0)
    private let cpuBits = Atomic<UInt64>(0)
    private let resident = Atomic<UInt64>(0)
    private let virtual = Atomic<UInt64>(0)
    private let openFDs = Atomic<UInt64>(0)
    private let maxFDs = Atomic<UInt64>(0)
    private let refreshing = Mutex(())

    private let pageSize: UInt64
    /// When the process started, in seconds since the Unix epoch; `nil` where `/proc` is missing.
    private let startTime: Double?
    private let statm: Int32
    /// `/proc/self/fd`, kept open; listing moves its position, so one lister at a time.
    private let fdDirectory: Mutex<DirectoryHandle>

    /// A `DIR *`, used only under the lock that holds it.
    private struct DirectoryHandle: @unchecked Sendable {
        let pointer: OpaquePointer?
    }

    init() {
        pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        let ticksPerSecond = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        let bootTime: Double? = Self.withFile("/proc/stat", capacity: 65_536) { bytes in
            guard let range = Self.find(Array("\nbtime ".utf8), in: bytes) else { return nil }
            var fields = FieldScanner(bytes[range.upperBound...])
            return fields.next().map { Double($0) }
        }
        let startTicks: UInt64? = Self.withFile("/proc/self/stat", capacity: 4096) { bytes in
            // The command name in field 2 may hold spaces and parentheses: fields restart after
            // its last ')'.
            guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
            var fields = FieldScanner(bytes[(close + 1)...])
            var value: UInt64?
            for _ in 3...22 { value = fields.next() }
            return value
        }
        if let bootTime, let startTicks { startTime = bootTime + Double(startTicks) / ticksPerSecond } else { startTime = nil }
        statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)
        fdDirectory = Mutex(DirectoryHandle(pointer: opendir("/proc/self/fd")))
    }

    func read() -> ProcessMetrics? {
        guard let startTime, statm >= 0 else { return nil }
        // statm: size resident shared text lib data dt, in pages.
        let memory: (UInt64, UInt64)? = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 256) { buffer in
            let n = pread(statm, buffer.baseAddress!, buffer.count, 0)
            guard n > 0 else { return nil }
            var fields = FieldScanner(UnsafeBufferPointer(rebasing: buffer[..<n])[...])
            guard let size = fields.next(), let resident = fields.next() else { return nil }
            return (size * pageSize, resident * pageSize)
        }
        guard let memory else { return nil }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        // Summed in whole microseconds and divided once: the nearest double to the exact figure
        // (a sum of doubles would print as 0.019145000000000002).
        let microseconds = (Int64(usage.ru_utime.tv_sec) + Int64(usage.ru_stime.tv_sec)) * 1_000_000
            + Int64(usage.ru_utime.tv_usec) + Int64(usage.ru_stime.tv_usec)
        let cpu = Double(microseconds) / 1e6
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessMetrics(
            cpuSeconds: cpu, residentMemoryBytes: memory.1, virtualMemoryBytes: memory.0,
            openFileDescriptors: countOpenFileDescriptors(), maxFileDescriptors: UInt64(limit.rlim_cur),
            startTimeSeconds: startTime
        )
    }

    /// The figures, read again if the last reading is older than ``maxAge`` and no other thread
    /// is reading them.
    func recent() -> ProcessMetrics? {
        guard let startTime else { return nil }
        let now = Self.monotonicNanoseconds()
        let last = readingTime.load(ordering: .acquiring)
        if last == 0 || now &- last >= Self.maxAge {
            let refreshed: Bool? = refreshing.withLockIfAvailable { _ in
                guard let reading = read() else { return false }
                cpuBits.store(reading.cpuSeconds.bitPattern, ordering: .relaxed)
                resident.store(reading.residentMemoryBytes, ordering: .relaxed)
                virtual.store(reading.virtualMemoryBytes, ordering: .relaxed)
                openFDs.store(reading.openFileDescriptors, ordering: .relaxed)
                maxFDs.store(reading.maxFileDescriptors, ordering: .relaxed)
                readingTime.store(now, ordering: .releasing)
                return true
            }
            // Unreadable, or another thread is making the very first reading: nothing to give yet.
            if refreshed == false || readingTime.load(ordering: .acquiring) == 0 { return nil }
        }
        return ProcessMetrics(
            cpuSeconds: Double(bitPattern: cpuBits.load(ordering: .relaxed)),
            residentMemoryBytes: resident.load(ordering: .relaxed), virtualMemoryBytes: virtual.load(ordering: .relaxed),
            openFileDescriptors: openFDs.load(ordering: .relaxed), maxFileDescriptors: maxFDs.load(ordering: .relaxed),
            startTimeSeconds: startTime
        )
    }

    private static func monotonicNanoseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Entries of `/proc/self/fd`, less the descriptor used to list them.
    private func countOpenFileDescriptors() -> UInt64 {
        fdDirectory.withLock { handle in
            guard let directory = handle.pointer else { return 0 }
            rewinddir(directory)
            var count: UInt64 = 0
            while let entry = readdir(directory) {
                if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
            }
            return count > 0 ? count - 1 : 0
        }
    }

    /// Reads a small file into a stack buffer and hands its bytes to `body`.
    private static func withFile<T>(_ path: StaticString, capacity: Int, _ body: (UnsafeBufferPointer<UInt8>) -> T?) -> T? {
        let fd = open(UnsafeRawPointer(path.utf8Start).assumingMemoryBound(to: CChar.self), O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: capacity) { buffer in
            var total = 0
            while total < capacity {
                let n = Glibc.read(fd, buffer.baseAddress! + total, capacity - total)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { break }
                total += n
            }
            return body(UnsafeBufferPointer(rebasing: buffer[..<total]))
        }
    }

    private static func find(_ needle: [UInt8], in haystack: UnsafeBufferPointer<UInt8>) -> Range<Int>? {
        guard haystack.count >= needle.count else { return nil }
        for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
            if (0..<needle.count).allSatisfy({ haystack[start + $0] == needle[$0] }) {
                return start..<(start + needle.count)
            }
        }
        return nil
    }
}

/// Splits space-separated fields and parses each as an unsigned integer (a leading '-' reads as 0;
/// non-numeric fields such as the process state read as 0).
struct FieldScanner {
    private var bytes: Slice<UnsafeBufferPointer<UInt8>>

    init(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) { self.bytes = bytes }

    mutating func next() -> UInt64? {
        while let first = bytes.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\n") {
            bytes = bytes.dropFirst()
        }
        guard !bytes.isEmpty else { return nil }
        var value: UInt64 = 0
        var digits = true
        while let byte = bytes.first, byte != UInt8(ascii: " "), byte != UInt8(ascii: "\n") {
            if digits, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
                value = value &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
            } else {
                digits = false
                value = 0
            }
            bytes = bytes.dropFirst()
        }
        return value
    }
}
