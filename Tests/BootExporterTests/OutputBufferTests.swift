// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import Testing

@Suite("Numbers in the exposition")
struct OutputBufferTests {
    func text(_ write: (inout OutputBuffer) -> Void) -> String {
        var buffer = OutputBuffer(capacity: 8)
        write(&buffer)
        return String(decoding: buffer.bytes, as: UTF8.self)
    }

    @Test("integers are written as the standard library writes them",
          arguments: [0, 1, 9, 10, 11, 99, 100, 101, 1_000, 65_536, 1_767_225_600, UInt64.max / 7, UInt64.max - 1, UInt64.max])
    func decimals(value: UInt64) {
        #expect(text { $0.append(decimal: value) } == String(value))
    }

    @Test func secondsAreExactToTheNanosecond() {
        #expect(text { $0.append(seconds: .zero) } == "0")
        #expect(text { $0.append(seconds: .seconds(12)) } == "12")
        #expect(text { $0.append(seconds: .milliseconds(250)) } == "0.25")
        #expect(text { $0.append(seconds: .nanoseconds(1)) } == "0.000000001")
        #expect(text { $0.append(seconds: .seconds(1_767_225_602) + .nanoseconds(123_456_789)) } == "1767225602.123456789")
        #expect(text { $0.append(seconds: .milliseconds(-1500)) } == "-1.5")
        // Below a nanosecond is below what the formats need: it is dropped, not rounded.
        #expect(text { $0.append(seconds: .seconds(3) + Duration(attoseconds: 999)) } == "3")
    }

    @Test func samplesUseThePrometheusSpellings() {
        #expect(text { $0.append(sample: .nan) } == "NaN")
        #expect(text { $0.append(sample: .infinity) } == "+Inf")
        #expect(text { $0.append(sample: -.infinity) } == "-Inf")
        #expect(text { $0.append(sample: 42) } == "42")
        #expect(text { $0.append(sample: -3) } == "-3")
        #expect(text { $0.append(sample: 0.42) } == "0.42")
    }

    /// Fractions come out exactly as `description` writes them (the golden scrape and every parser
    /// read the same digits), over what the exposition writes: CPU seconds, start times, ratios.
    @Test func fractionsMatchTheShortestRoundTrippingForm() {
        var values: [Double] = [0.5, -0.5, 0.001, 0.999, 1.25, 12.34, 0.1, 0.7, 1_764_221_520.37, 1_764_221_520.01,
                                4_294_967_295.999999, 4_294_967_296.5, 123_456_789.125, 1e-3, 1e-4, 1.5e-4, 9.9e-5, 2.5e-7,
                                0.1 + 0.2, 1.0 / 3, .pi]
        for step in 0..<20_000 {
            let ticks = UInt64(step) &* 7_919_777
            values.append(Double(ticks) / 100)                                // start time, clock ticks
            values.append(Double(ticks % 1001) / 1000)                        // permille ratios
            values.append(Double(ticks) / 1_000_000)                          // CPU seconds, microseconds
            values.append(-Double(ticks % 1_000_000_007) / 1_000_000_000)     // nine decimals: description
        }
        for value in values where value != value.rounded() {
            #expect(text { $0.append(sample: value) } == value.description, "\(value)")
        }
    }
}
