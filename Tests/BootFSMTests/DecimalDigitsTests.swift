// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

@Suite("Decimal digits")
struct DecimalDigitsTests {
    /// Every power of ten and its neighbours, powers of two and their neighbours, and the extremes.
    static let values: [UInt64] = {
        var values: [UInt64] = [0, 1, 2, 7, 8, 9, UInt64.max - 1, UInt64.max]
        var power: UInt64 = 1
        for _ in 0..<20 {
            values += [power - 1, power, power + 1]
            if power <= UInt64.max / 10 { power *= 10 }
        }
        for shift in 1..<64 {
            let two = UInt64(1) << shift
            values += [two - 1, two, two + 1]
        }
        return values
    }()

    @Test func writesWhatTheStandardLibraryWrites() {
        var buffer = [UInt8](repeating: 0, count: 20)
        for value in Self.values {
            let count = buffer.withUnsafeMutableBufferPointer { DecimalDigits.write(value, to: $0.baseAddress!) }
            #expect(String(decoding: buffer[..<count], as: UTF8.self) == String(value))
            #expect(DecimalDigits.count(value) == String(value).count)
        }
    }
}
