// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

// Duration arithmetic on the machine's hot paths, done on `attoseconds` with the compiler's own
// 128-bit integers. The standard library's `Duration` operators and `components` are calls into a
// software 128-bit type (tens of instructions each, and every transition and snapshot does several).

extension Duration {
    /// The duration in seconds as a `Double`.
    @inlinable @inline(__always)
    public var secondsValue: Double {
        // `components`' split (seconds truncated toward zero), without its software division.
        let attoseconds = self.attoseconds
        // 10^18 = 2^18 · 5^18: for 0 ≤ a < 2^82 (about 56 days), a / 10^18 = (a >> 18) / 5^18, one
        // 64-bit division by a constant (a multiplication). A 128-bit division is a library call.
        let shifted = attoseconds &>> 18
        if attoseconds >= 0, shifted <= Int128(UInt64.max) {
            let seconds = UInt64(truncatingIfNeeded: shifted) / 3_814_697_265_625
            let rest = attoseconds &- Int128(seconds) &* 1_000_000_000_000_000_000
            return Double(seconds) + Double(Int64(truncatingIfNeeded: rest)) * 1e-18
        }
        let (seconds, rest) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
        return Double(Int64(truncatingIfNeeded: seconds)) + Double(Int64(truncatingIfNeeded: rest)) * 1e-18
    }

    /// The duration in whole milliseconds, rounded down; negative durations count as 0.
    @inlinable @inline(__always)
    public var wholeMilliseconds: UInt64 {
        let attoseconds = self.attoseconds
        guard attoseconds > 0 else { return 0 }
        // 10^15 = 2^15 · 5^15: below 2^79 attoseconds (about 7 days), one 64-bit division by a
        // constant, as in `secondsValue`.
        let shifted = attoseconds &>> 15
        if shifted <= Int128(UInt64.max) { return UInt64(truncatingIfNeeded: shifted) / 30_517_578_125 }
        return UInt64(clamping: attoseconds / 1_000_000_000_000_000)
    }

    /// `.zero`, made in place: the standard library's `zero` is a call into it, and every change of
    /// phase makes several.
    @inline(__always)
    static var inlineZero: Duration { Duration(attoseconds: 0) }

    /// `self - earlier`.
    @inline(__always)
    func since(_ earlier: Duration) -> Duration {
        Duration(attoseconds: attoseconds - earlier.attoseconds)
    }

    /// `self >= other`.
    @inline(__always)
    func isAtLeast(_ other: Duration) -> Bool {
        attoseconds >= other.attoseconds
    }

    /// What is left of `self` after `spent`: `max(.zero, self - spent)`.
    @inline(__always)
    func remaining(after spent: Duration) -> Duration {
        // Saturating: budgets near `Duration`'s limits must not trap.
        let (left, overflow) = attoseconds.subtractingReportingOverflow(spent.attoseconds)
        if overflow { return Duration(attoseconds: spent.attoseconds < 0 ? .max : 0) }
        return Duration(attoseconds: left > 0 ? left : 0)
    }

    /// `seconds` and `nanoseconds` as a duration (a clock reading: neither product can overflow
    /// 128 bits, so the arithmetic is unchecked).
    @inline(__always)
    static func seconds(_ seconds: Int64, nanoseconds: Int64) -> Duration {
        Duration(attoseconds: Int128(seconds) &* 1_000_000_000_000_000_000 &+ Int128(nanoseconds) &* 1_000_000_000)
    }
}

/// `1800`, or `0.5` for fractions of a second: how budgets are written in failure reasons.
func formatSeconds(_ duration: Duration) -> String {
    // From the attoseconds: `components` traps past Int64.max seconds, and budgets may be that large.
    let (seconds, rest) = duration.attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
    if rest == 0 { return String(seconds) }
    return String(Double(duration.attoseconds) / 1e18)
}
