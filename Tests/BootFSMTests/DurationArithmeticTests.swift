// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

@Suite("Duration arithmetic")
struct DurationArithmeticTests {
    /// Attoseconds around every boundary the fast paths have (whole milliseconds and seconds, the
    /// powers of two where they hand over to 128-bit division), negatives, and a spread between.
    static let attoseconds: [Int128] = {
        var values: [Int128] = [0, 1, -1, 999_999_999_999_999, 1_000_000_000_000_000, Int128(Int64.max), Int128(Int64.min)]
        for shift in 0..<126 {
            let two = Int128(1) << shift
            values += [two - 1, two, two + 1, -two, -(two - 1)]
        }
        var power: Int128 = 1
        for _ in 0..<37 {
            values += [power - 1, power, power + 1, -power]
            power *= 10
        }
        for step in 0..<20_000 {
            let spread = UInt64(truncatingIfNeeded: step) &* 0x9E37_79B9_7F4A_7C15
            values.append(Int128(spread) << (step % 40))
            values.append(-(Int128(spread >> 3) << (step % 23)))
        }
        return values
    }()

    @Test func wholeMillisecondsDividesAsInt128Does() {
        for value in Self.attoseconds {
            let expected: UInt64 = value > 0 ? UInt64(clamping: value / 1_000_000_000_000_000) : 0
            #expect(Duration(attoseconds: value).wholeMilliseconds == expected, "\(value)")
        }
    }

    @Test func secondsValueSplitsAsInt128Does() {
        for value in Self.attoseconds {
            let (seconds, rest) = value.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
            let expected = Double(Int64(truncatingIfNeeded: seconds)) + Double(Int64(truncatingIfNeeded: rest)) * 1e-18
            #expect(Duration(attoseconds: value).secondsValue == expected, "\(value)")
        }
    }
}
