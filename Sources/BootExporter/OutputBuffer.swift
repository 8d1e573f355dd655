// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
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
        var value = value
        var digits = 1
        var power: UInt64 = 10
        while digits < 20, value >= power {
            digits += 1
            power = power &* 10
        }
        reserve(digits)
        for index in stride(from: digits - 1, through: 0, by: -1) {
            base[count + index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
        count += digits
    }

    /// Appends `duration` in seconds, exactly to the nanosecond and without going through a
    /// floating-point conversion: `12`, `0.25`, `1767225602.123456789`.
    mutating func append(seconds duration: Duration) {
        let attoseconds = duration.attoseconds
        if attoseconds < 0 { append(UInt8(ascii: "-")) }
        // One 128-bit division (`Duration.components` makes two, in software).
        let (seconds, fraction) = attoseconds.magnitude.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
        append(decimal: UInt64(truncatingIfNeeded: seconds))
        var nanoseconds = UInt64(truncatingIfNeeded: fraction) / 1_000_000_000
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
        let magnitude = abs(value)
        if value == value.rounded(), magnitude < 9.007_199_254_740_992e15 {
            if value < 0 { append(UInt8(ascii: "-")) }
            return append(decimal: UInt64(magnitude))
        }
        append(value.description)
    }
}
