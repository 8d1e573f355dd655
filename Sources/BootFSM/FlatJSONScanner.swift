// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Reads one JSON object whose values the caller takes one by one (RFC 8259; nested values can be
/// skipped). Every method returns `false` or `nil` on malformed input instead of throwing.
package struct FlatJSONScanner {
    private let bytes: [UInt8]
    private var index = 0

    package init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads `{ "key": value, … }` and nothing after it but whitespace; `member` reads each value.
    package mutating func object(_ member: (String, inout FlatJSONScanner) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            repeat {
                guard let key = memberKey() else { return false }
                skipSpace()
                guard member(key, &self) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return false }
        }
        skipSpace()
        return index == bytes.count
    }

    /// `null` (leaving `value` nil) or a whole number from 0 to 2^64 − 1, also written with a
    /// fraction or an exponent (`5.0`, `1e2`, `-0`) — read exactly from its digits, never through a
    /// `Double` (which would take `0.99999999999999999999` for 1 and `1e-400` for 0).
    package mutating func unsigned(into value: inout UInt64?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let token = numberToken(), let whole = Self.wholeNumber(token) else { return false }
        value = whole
        return true
    }

    /// The value of a JSON number token (grammar already checked) if it is a whole number from 0
    /// to 2^64 − 1.
    static func wholeNumber(_ token: ArraySlice<UInt8>) -> UInt64? {
        // (Longer tokens are refused: the exponent below is capped, which is exact only while the
        // digits are fewer than the cap.)
        guard token.count <= 4096 else { return nil }
        let zero = UInt8(ascii: "0"), isDigit = { (byte: UInt8) in (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        var position = token.startIndex
        let negative = token[position] == UInt8(ascii: "-")
        if negative { position += 1 }
        var digits: [UInt8] = []
        while position < token.endIndex, isDigit(token[position]) { digits.append(token[position]); position += 1 }
        let integerDigits = digits.count
        if position < token.endIndex, token[position] == UInt8(ascii: ".") {
            position += 1
            while position < token.endIndex, isDigit(token[position]) { digits.append(token[position]); position += 1 }
        }
        var exponent = 0
        if position < token.endIndex {
            position += 1  // e or E
            var sign = 1
            if token[position] == UInt8(ascii: "-") { sign = -1; position += 1 } else if token[position] == UInt8(ascii: "+") { position += 1 }
            // Capped: past a million places only whether the number is zero matters.
            while position < token.endIndex { exponent = min(exponent * 10 + Int(token[position] - zero), 1_000_000); position += 1 }
            exponent *= sign
        }
        guard let first = digits.firstIndex(where: { $0 != zero }) else { return 0 }  // 0, -0, 0.0e5
        guard !negative else { return nil }
        let significant = digits[first...]
        // Where the decimal point falls among the significant digits; each digit after it must be 0.
        let point = integerDigits - first + exponent
        guard point > 0, point <= 20 else { return nil }
        if point < significant.count, significant.dropFirst(point).contains(where: { $0 != zero }) { return nil }
        var integer = Array(significant.prefix(point))
        if point > integer.count { integer += [UInt8](repeating: zero, count: point - integer.count) }
        return UInt64(String(decoding: integer, as: UTF8.self))  // nil past 2^64 - 1
    }

    /// `null` (leaving `value` nil) or any JSON number (RFC 8259's grammar: optional minus, no
    /// leading zero, optional fraction and exponent), as the nearest `Double`.
    package mutating func number(into value: inout Double?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let token = numberToken(), let number = Double(String(decoding: token, as: UTF8.self)) else { return false }
        value = number
        return true
    }

    /// The bytes of a number in RFC 8259's grammar, read past; `nil` if there is none.
    private mutating func numberToken() -> ArraySlice<UInt8>? {
        let start = index
        _ = take(UInt8(ascii: "-"))
        let integer = digits()
        guard integer > 0, !(integer > 1 && bytes[index - integer] == UInt8(ascii: "0")) else { return nil }
        if take(UInt8(ascii: ".")) { guard digits() > 0 else { return nil } }
        if take(UInt8(ascii: "e")) || take(UInt8(ascii: "E")) {
            _ = take(UInt8(ascii: "+")) || take(UInt8(ascii: "-"))
            guard digits() > 0 else { return nil }
        }
        return bytes[start..<index]
    }

    /// `null` (leaving `value` nil) or a string.
    package mutating func optionalString(into value: inout String?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let text = string() else { return false }
        value = text
        return true
    }

    /// A string, unescaped; `nil` when malformed (including invalid UTF-8 and lone surrogates).
    package mutating func string() -> String? {
        guard take(UInt8(ascii: "\"")) else { return nil }
        var utf8: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            switch byte {
            case UInt8(ascii: "\""):
                return String(validating: utf8, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard index < bytes.count else { return nil }
                let escape = bytes[index]
                index += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escape)
                case UInt8(ascii: "b"): utf8.append(0x08)
                case UInt8(ascii: "f"): utf8.append(0x0C)
                case UInt8(ascii: "n"): utf8.append(0x0A)
                case UInt8(ascii: "r"): utf8.append(0x0D)
                case UInt8(ascii: "t"): utf8.append(0x09)
                case UInt8(ascii: "u"):
                    guard var code = hex4() else { return nil }
                    if (0xD800..<0xDC00).contains(code) {
                        // A high surrogate must be followed by `\u` and a low one.
                        guard take(UInt8(ascii: "\\")), take(UInt8(ascii: "u")), let low = hex4(),
                              (0xDC00..<0xE000).contains(low) else { return nil }
                        code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let scalar = Unicode.Scalar(code) else { return nil }
                    utf8.append(contentsOf: String(Character(scalar)).utf8)
                default:
                    return nil
                }
            case 0x00..<0x20:
                return nil  // Control characters must be escaped.
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    /// Skips any value — string, number, literal, or a nested object or array — checking its
    /// grammar. Iterative (a stack of the brackets open), so no nesting depth can overflow the stack.
    package mutating func skipValue() -> Bool {
        var closers: [UInt8] = []
        while true {
            // One value: a scalar, or the start of a container (then its first member's value).
            skipSpace()
            guard index < bytes.count else { return false }
            switch bytes[index] {
            case UInt8(ascii: "{"):
                index += 1
                skipSpace()
                if !take(UInt8(ascii: "}")) {
                    closers.append(UInt8(ascii: "}"))
                    guard memberKey() != nil else { return false }
                    continue
                }
            case UInt8(ascii: "["):
                index += 1
                skipSpace()
                if !take(UInt8(ascii: "]")) {
                    closers.append(UInt8(ascii: "]"))
                    continue
                }
            case UInt8(ascii: "\""):
                guard string() != nil else { return false }
            default:
                guard takeLiteral("true") || takeLiteral("false") || takeLiteral("null") || numberToken() != nil else { return false }
            }
            // A value ended: the next member of its container, or the container's end.
            while let closer = closers.last {
                skipSpace()
                if take(UInt8(ascii: ",")) {
                    if closer == UInt8(ascii: "}") { guard memberKey() != nil else { return false } }
                    break
                }
                guard take(closer) else { return false }
                closers.removeLast()
            }
            if closers.isEmpty { return true }
        }
    }

    /// A member's `"key" :`, read past; the key, or `nil` if there is none.
    private mutating func memberKey() -> String? {
        skipSpace()
        guard let key = string() else { return nil }
        skipSpace()
        return take(UInt8(ascii: ":")) ? key : nil
    }

    /// Skips decimal digits; returns how many.
    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func skipSpace() {
        while index < bytes.count, [UInt8(ascii: " "), UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains(bytes[index]) {
            index += 1
        }
    }

    private mutating func take(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        return true
    }

    private mutating func takeLiteral(_ literal: StaticString) -> Bool {
        let count = literal.utf8CodeUnitCount
        guard bytes.count - index >= count else { return false }
        for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
        index += count
        return true
    }

    private mutating func hex4() -> UInt32? {
        guard bytes.count - index >= 4 else { return nil }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: return nil
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }
}
