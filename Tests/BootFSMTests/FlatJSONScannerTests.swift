// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

@Suite("Flat JSON scanner")
struct FlatJSONScannerTests {
    /// The number in `{"n": text}`, `.some(nil)` for `null`, or `nil` when the object is refused.
    static func number(_ text: String) -> Double?? {
        var scanner = FlatJSONScanner(Array("{\"n\": \(text)}".utf8))
        var value: Double?
        return scanner.object { _, scanner in scanner.number(into: &value) } ? .some(value) : nil
    }

    @Test("numbers in RFC 8259's grammar are read as the nearest Double", arguments: [
        "0", "-0", "7", "0.5", "-12.25", "1e3", "1E+3", "2.5e-3", "123456789012345678901234567890", "0.1",
    ])
    func readsNumbers(text: String) {
        #expect(Self.number(text) == .some(Double(text)!))
    }

    @Test("what is not a JSON number is refused", arguments: [
        "01", "-", "+1", ".5", "5.", "1e", "1e+", "0x10", "\"1\"", "true", "NaN", "Infinity", "--1", "1.2.3",
    ])
    func refusesOthers(text: String) {
        #expect(Self.number(text) == nil)
    }

    @Test func nullIsNoValue() {
        #expect(Self.number("null") == .some(nil))
    }

    @Test("skipping a value still requires it to be JSON")
    func skippedValuesAreJSON() {
        let values: [(String, Bool)] = [("true", true), ("false", true), ("null", true), ("-1.5e3", true), ("\"x\"", true),
                                        ("[1, {\"a\": \"]\"}]", true), ("nope", false), ("tru", false), ("01", false),
                                        ("[]", true), ("{}", true), ("[[], {\"a\": [null, {}]}]", true),
                                        // Brackets that match in number but not in kind, or members out of place.
                                        ("{]", false), ("[}", false), ("[1,,2]", false), ("[1,]", false), ("[,1]", false),
                                        ("{\"a\" 1}", false), ("{\"a\": }", false), ("{1: 2}", false), ("[1 2]", false),
                                        ("[}}", false), ("[", false),
                                        (String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000), true)]
        for (text, valid) in values {
            var scanner = FlatJSONScanner(Array("{\"x\": \(text), \"y\": 1}".utf8))
            #expect(scanner.object { _, scanner in scanner.skipValue() } == valid, "\(text)")
        }
    }

    @Test("whole numbers: plain digits exactly, other forms when whole; nothing negative, fractional or past 64 bits")
    func readsWholeNumbers() {
        func whole(_ text: String) -> UInt64?? {
            var scanner = FlatJSONScanner(Array("{\"n\": \(text)}".utf8))
            var value: UInt64?
            return scanner.object { _, scanner in scanner.unsigned(into: &value) } ? .some(value) : nil
        }
        #expect(whole("0") == .some(0) && whole("18446744073709551615") == .some(.max) && whole("9007199254740993") == .some(9_007_199_254_740_993))
        #expect(whole("5.0") == .some(5) && whole("1e2") == .some(100) && whole("-0") == .some(0) && whole("null") == .some(nil))
        // Exactly, not through a Double: each of these a Double would read as a whole number.
        #expect(whole("9007199254740993.0") == .some(9_007_199_254_740_993) && whole("18446744073709551615.0") == .some(.max))
        #expect(whole("1.8446744073709551615e19") == .some(.max) && whole("123400e-2") == .some(1234) && whole("0.0e99999999") == .some(0))
        for refused in ["18446744073709551616", "1.5", "-1", "1e20", "01", "\"5\"", "true", "0.99999999999999999999", "1e-400",
                        "18446744073709551616.0", "1e99999999", "-1e-400", "1.00000000000000000001"] {
            #expect(whole(refused) == nil, "\(refused)")
        }
    }
}
