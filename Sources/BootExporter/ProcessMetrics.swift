// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// This process's figures now, or `nil` where `/proc` cannot be read (not Linux, or hidden).
    public static func current() -> ProcessMetrics? {
        ProcFileSystem.shared.read()
    }
}

/// Reads `/proc/self/stat`, `/proc/self/fd` and the system's boot time, without allocating.
struct ProcFileSystem: Sendable {
    static let shared = ProcFileSystem()

    private let ticksPerSecond: Double
    private let pageSize: UInt64
    /// The system's boot time (`btime` of `/proc/stat`), in seconds since the Unix epoch.
    private let bootTime: Double?

    init() {
        ticksPerSecond = Double(max(sysconf(Int32(_SC_CLK_TCK)), 1))
        pageSize = UInt64(max(sysconf(Int32(_SC_PAGESIZE)), 1))
        bootTime = Self.withFile("/proc/stat", capacity: 16_384) { bytes in
            guard let range = Self.find(Array("\nbtime ".utf8), in: bytes) else { return nil }
            var fields = FieldScanner(bytes[range.upperBound...])
            return fields.next().map { Double($0) }
        }
    }

    func read() -> ProcessMetrics? {
        guard let bootTime else { return nil }
        let stat: (cpu: Double, start: Double, virtual: UInt64, resident: UInt64)? =
            Self.withFile("/proc/self/stat", capacity: 1024) { bytes in
                // The command name in field 2 may hold spaces and parentheses: fields restart after
                // its last ')'.
                guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
                var fields = FieldScanner(bytes[(close + 1)...])
                var utime: UInt64 = 0, stime: UInt64 = 0, start: UInt64 = 0, vsize: UInt64 = 0, rss: UInt64 = 0
                for field in 3...24 {
                    guard let value = fields.next() else { return nil }
                    switch field {
                    case 14: utime = value
                    case 15: stime = value
                    case 22: start = value
                    case 23: vsize = value
                    case 24: rss = value
                    default: break
                    }
                }
                return (Double(utime + stime) / ticksPerSecond, bootTime + Double(start) / ticksPerSecond,
                        vsize, rss * pageSize)
            }
        guard let stat else { return nil }
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        return ProcessMetrics(
            cpuSeconds: stat.cpu, residentMemoryBytes: stat.resident, virtualMemoryBytes: stat.virtual,
            openFileDescriptors: Self.countOpenFileDescriptors(),
            maxFileDescriptors: UInt64(limit.rlim_cur), startTimeSeconds: stat.start
        )
    }

    /// Entries of `/proc/self/fd`, less the descriptor used to list them.
    private static func countOpenFileDescriptors() -> UInt64 {
        guard let directory = opendir("/proc/self/fd") else { return 0 }
        defer { closedir(directory) }
        var count: UInt64 = 0
        while let entry = readdir(directory) {
            if entry.pointee.d_name.0 != UInt8(ascii: ".") { count += 1 }
        }
        return count > 0 ? count - 1 : 0
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
