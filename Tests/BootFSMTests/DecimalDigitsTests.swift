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

    /// Doubles of every kind: short fractions (clock ticks, permille, microseconds), longer ones,
    /// whole numbers, the extremes, and bit patterns from a Weyl sequence (the same at every run).
    static let doubles: [Double] = {
        var values: [Double] = [0.5, -0.5, 0.42, 0.0001, 0.00015, 9.9e-5, 1e-7, 4_294_967_295.999999, 4_294_967_296.5,
                                1_764_221_520.37, 0.1 + 0.2, 1.0 / 3, .pi, 0, -0.0, 1, 42, .nan, .infinity, -.infinity,
                                .leastNonzeroMagnitude, .greatestFiniteMagnitude, -.leastNormalMagnitude, 1e16, -123e300]
        for step in 0..<20_000 {
            let spread = UInt64(step) &* 0x9E37_79B9_7F4A_7C15
            values.append(Double(spread % 10_000_000_001) / 100)
            values.append(Double(spread % 1001) / 1000)
            values.append(Double(Int64(bitPattern: spread) % 4_000_000_000_000_001) / 1_000_000)
            values.append(Double(bitPattern: spread))
        }
        return values
    }()

    @Test func writesWhatTheStandardLibraryWrites() {
        for value in Self.values {
            // Bytes past the digits are left alone: callers write on right after them.
            var buffer = [UInt8](repeating: 0xAA, count: 21)
            let count = buffer.withUnsafeMutableBufferPointer { DecimalDigits.write(value, to: $0.baseAddress!) }
            #expect(String(decoding: buffer[..<count], as: UTF8.self) == String(value))
            #expect(buffer[count...].allSatisfy { $0 == 0xAA }, "\(value)")
            #expect(DecimalDigits.digitCount(value) == String(value).utf8.count, "\(value)")
        }
    }

    /// The fast path for fractions writes exactly what `description` writes, and takes the values
    /// it is for (clock ticks, microseconds, permille) rather than leaving them all to `description`.
    @Test func shortFractionsAreWhatDescriptionWrites() {
        var buffer = [UInt8](repeating: 0, count: 28)
        func written(_ value: Double) -> String? {
            let count = buffer.withUnsafeMutableBufferPointer { DecimalDigits.writeShortFraction(value, to: $0.baseAddress!) }
            return count.map { String(decoding: buffer[..<$0], as: UTF8.self) }
        }
        var taken = 0
        for value in Self.doubles {
            guard let text = written(value) else { continue }
            taken += 1
            #expect(value.isFinite && value != value.rounded())
            #expect(text == value.description, "\(value)")
        }
        #expect(taken > 40_000)
        #expect(written(0.42) == "0.42" && written(1.0 / 3) == nil && written(9.9e-5) == nil && written(2) == nil)
    }

    /// Every finite double, fast path or not, comes out as `description` writes it.
    @Test func descriptionsAreWhatDescriptionWrites() {
        var buffer = [UInt8](repeating: 0, count: 28)
        for value in Self.doubles where value.isFinite {
            let count = buffer.withUnsafeMutableBufferPointer { DecimalDigits.writeDescription(value, to: $0.baseAddress!) }
            #expect(String(decoding: buffer[..<count], as: UTF8.self) == value.description, "\(value)")
        }
    }
}
