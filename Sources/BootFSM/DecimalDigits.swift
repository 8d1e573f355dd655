// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Unsigned integers in decimal, written straight into a buffer two digits per division (for the
/// health JSON here and the exposition in BootExporter, which write numbers on every request).
package enum DecimalDigits {
    /// Writes `value` at `destination` and returns the number of digits. `destination` must have
    /// room for 20 bytes (the most a `UInt64` takes), all of which may be written: the digits are
    /// made right to left in a scratch buffer, which needs no digit count first, and then copied
    /// as one fixed-size move.
    @inline(__always)
    package static func write(_ value: UInt64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        // 40 bytes on the stack: the digits end at 20; the copy reads the 20 bytes from the first
        // digit on, so the 20 after the digits are given a value too (two stores).
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 40) { scratch in
            let digits = scratch.baseAddress!
            (digits + 20).initialize(repeating: 0, count: 20)
            var remaining = value
            var index = 20
            while remaining >= 100 {
                let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
                remaining /= 100
                index &-= 2
                digits[index] = pairs.utf8Start[pair]
                digits[index &+ 1] = pairs.utf8Start[pair &+ 1]
            }
            if remaining >= 10 {
                let pair = Int(truncatingIfNeeded: remaining) &* 2
                index &-= 2
                digits[index] = pairs.utf8Start[pair]
                digits[index &+ 1] = pairs.utf8Start[pair &+ 1]
            } else {
                index &-= 1
                digits[index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining)
            }
            UnsafeMutableRawPointer(destination).copyMemory(from: digits + index, byteCount: 20)
            return 20 &- index
        }
    }

    /// Writes a finite, non-whole `value` of at most six decimals (CPU seconds in microseconds,
    /// times in clock ticks, ratios in permille, most progress fractions) exactly as
    /// `value.description` would, without building a `String`, and returns the byte count; returns
    /// `nil`, writing nothing, for any other value. `destination` needs room for 28 bytes.
    ///
    /// Below 2^32 doubles are closer together than 10^-6, so the only decimal of at most six
    /// places that reads back as `value` is the one written here, and it is the shortest that does:
    /// the digits `description` chooses. Below 10^-4 `description` switches to an exponent, so
    /// those are left to it.
    package static func writeShortFraction(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int? {
        let magnitude = value.magnitude
        guard magnitude >= 0.0001, magnitude < 4_294_967_296 else { return nil }
        let millionths = (magnitude * 1_000_000).rounded()
        guard millionths / 1_000_000 == magnitude else { return nil }
        var fraction = UInt64(millionths)
        let whole = fraction / 1_000_000
        fraction %= 1_000_000
        guard fraction != 0 else { return nil }
        var count = 0
        if value < 0 {
            destination[0] = UInt8(ascii: "-")
            count = 1
        }
        count += write(whole, to: destination + count)
        var digits = 6
        while fraction % 10 == 0 {
            fraction /= 10
            digits -= 1
        }
        destination[count] = UInt8(ascii: ".")
        for index in stride(from: digits, to: 0, by: -1) {
            destination[count + index] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: fraction % 10)
            fraction /= 10
        }
        return count + digits + 1
    }

    /// Writes a finite `value` exactly as `value.description` does and returns the byte count (at
    /// most 24): through ``writeShortFraction(_:to:)`` when it can, else by copying `description`.
    /// `destination` needs room for 28 bytes.
    package static func writeDescription(_ value: Double, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if let written = writeShortFraction(value, to: destination) { return written }
        var text = value.description
        return text.withUTF8 { bytes in
            // A finite double's description is at most 24 bytes (`-2.2250738585072014e-308`).
            precondition(bytes.count <= 28, "DecimalDigits: a description longer than a double's")
            destination.update(from: bytes.baseAddress!, count: bytes.count)
            return bytes.count
        }
    }

    /// "00" through "99".
    private static var pairs: StaticString {
        "00010203040506070809101112131415161718192021222324252627282930313233343536373839404142434445464748495051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899"
    }
}
