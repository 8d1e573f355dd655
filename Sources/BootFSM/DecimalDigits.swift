// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Unsigned integers in decimal, written straight into a buffer two digits per division (for the
/// health JSON here and the exposition in BootExporter, which write numbers on every request).
package enum DecimalDigits {
    /// Writes `value` at `destination` and returns the number of digits (at most 20, the most a
    /// `UInt64` takes); nothing past the digits is written.
    @inline(__always)
    package static func write(_ value: UInt64, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        // The digits go straight to their places, right to left, two per division. (Made in a
        // scratch buffer and copied as one block instead, each copy's wide load spanned several
        // narrow stores still in flight, which the CPU cannot forward: a stall per number.)
        let count = digitCount(value)
        var remaining = value
        var index = count
        while remaining >= 100 {
            let pair = Int(truncatingIfNeeded: remaining % 100) &* 2
            remaining /= 100
            index &-= 2
            destination[index] = pairs.utf8Start[pair]
            destination[index &+ 1] = pairs.utf8Start[pair &+ 1]
        }
        if remaining >= 10 {
            let pair = Int(truncatingIfNeeded: remaining) &* 2
            destination[0] = pairs.utf8Start[pair]
            destination[1] = pairs.utf8Start[pair &+ 1]
        } else {
            destination[0] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: remaining)
        }
        return count
    }

    /// The number of decimal digits of `value` (1 for 0), without a loop: the bit length times
    /// log10(2) (as 1233 / 4096) is the digit count or one less, and one comparison tells which.
    @inline(__always)
    package static func digitCount(_ value: UInt64) -> Int {
        let value = value | 1
        let estimate = ((64 &- value.leadingZeroBitCount) &* 1233) &>> 12
        return estimate &+ (value >= powersOfTen[estimate] ? 1 : 0)
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
        // Rounded to the nearest integer by adding and removing 2^52, past which doubles are
        // integers (the product is below 2^52): `rounded()` is a call into libm on x86-64's baseline.
        let millionths = (magnitude * 1_000_000 + 0x1p52) - 0x1p52
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

/// 10^0 through 10^19: a constant array, statically initialised by the compiler.
private let powersOfTen: [UInt64] = [
    1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000,
    100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000,
    10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000, 10_000_000_000_000_000_000,
]
