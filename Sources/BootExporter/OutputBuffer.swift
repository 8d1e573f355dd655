// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer in `malloc` memory, so a finished response body can be handed to
/// libmicrohttpd (which frees it) without another copy.
struct OutputBuffer: ~Copyable {
    private(set) var base: UnsafeMutablePointer<UInt8>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int) {
        self.capacity = max(capacity, 64)
        guard let memory = malloc(self.capacity) else { fatalError("out of memory") }
        base = memory.assumingMemoryBound(to: UInt8.self)
    }

    deinit { free(base) }

    /// Gives up the memory: the caller must `free` it.
    consuming func take() -> (pointer: UnsafeMutableRawPointer, count: Int) {
        let result = (UnsafeMutableRawPointer(base), count)
        discard self
        return result
    }

    var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    /// Bytes that can be written at `base + count` without growing.
    var capacityLeft: Int { capacity - count }

    /// Counts `n` bytes written directly at `base + count` (at most ``capacityLeft``).
    mutating func advance(by n: Int) {
        precondition(n >= 0 && n <= capacityLeft)
        count += n
    }

    @inline(__always)
    mutating func reserve(_ extra: Int) {
        if count + extra > capacity { grow(to: count + extra) }
    }

    private mutating func grow(to needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        guard let memory = realloc(base, newCapacity) else { fatalError("out of memory") }
        base = memory.assumingMemoryBound(to: UInt8.self)
        capacity = newCapacity
    }

    @inline(__always)
    mutating func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard !bytes.isEmpty else { return }
        reserve(bytes.count)
        UnsafeMutableRawPointer(base + count).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
        count += bytes.count
    }

    mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    mutating func append(_ text: StaticString) {
        append(UnsafeRawBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends `value` in decimal.
    mutating func append(decimal value: UInt64) {
        reserve(20)
        if value == 0 {
            base[count] = UInt8(ascii: "0")
            count += 1
            return
        }
        var digits = 0
        var rest = value
        while rest > 0 { digits += 1; rest /= 10 }
        rest = value
        var index = count + digits - 1
        while rest > 0 {
            base[index] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            index -= 1
        }
        count += digits
    }

    /// Appends `duration` in seconds, exactly to the nanosecond and without going through a
    /// floating-point conversion: `12`, `0.25`, `1767225602.123456789`.
    mutating func append(seconds duration: Duration) {
        var (seconds, attoseconds) = duration.components
        if seconds < 0 || attoseconds < 0 {
            append(UInt8(ascii: "-"))
            seconds = -seconds
            attoseconds = -attoseconds
        }
        append(decimal: UInt64(seconds))
        var nanoseconds = UInt64(attoseconds / 1_000_000_000)
        guard nanoseconds > 0 else { return }
        var digits = 9
        while nanoseconds % 10 == 0 {
            nanoseconds /= 10
            digits -= 1
        }
        reserve(digits + 1)
        base[count] = UInt8(ascii: ".")
        for index in stride(from: digits, to: 0, by: -1) {
            base[count + index] = UInt8(ascii: "0") + UInt8(nanoseconds % 10)
            nanoseconds /= 10
        }
        count += digits + 1
    }

    /// Appends `value` as the Prometheus formats write floats: `NaN`, `+Inf`, `-Inf`, whole numbers
    /// without a fraction, everything else in Swift's shortest round-tripping form.
    mutating func append(sample value: Double) {
        if value.isNaN { return append("NaN" as StaticString) }
        if value.isInfinite { return append(value > 0 ? "+Inf" as StaticString : "-Inf") }
        if value == value.rounded(), abs(value) < 9.007_199_254_740_992e15 {
            if value < 0 { append(UInt8(ascii: "-")) }
            return append(decimal: UInt64(abs(value)))
        }
        append(value.description)
    }
}
