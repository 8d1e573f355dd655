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
}
