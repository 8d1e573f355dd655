// SPDX-License-Identifier: AGPL-3.0-or-later

/// Reads one JSON object (RFC 8259) whose member values the caller takes one by one, skipping those
/// it does not know, whatever they hold: the boot journal's entries (see ``JournalEntry``). Every
/// method returns `false` or `nil` on malformed input.
struct FlatJSONReader {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads `{ "key": value, … }` and nothing after it but whitespace; `member` reads each value.
    mutating func object(_ member: (String, inout FlatJSONReader) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            repeat {
                guard let key = memberKey(), member(key, &self) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return false }
        }
        skipSpace()
        return index == bytes.count
    }

    /// `null` (leaving `value` nil) or a whole number from 0 to 2^64 − 1 written as plain digits.
    mutating func unsigned(into value: inout UInt64?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let token = numberToken(), let number = UInt64(String(decoding: token, as: UTF8.self)) else { return false }
        value = number
        return true
    }

    /// An array of whole numbers as ``unsigned(into:)`` reads them: `[1,0,2]`.
    mutating func unsignedArray() -> [UInt64]? {
        guard take(UInt8(ascii: "[")) else { return nil }
        var values: [UInt64] = []
        skipSpace()
        if take(UInt8(ascii: "]")) { return values }
        repeat {
            skipSpace()
            var value: UInt64?
            guard !takeLiteral("null"), unsigned(into: &value), let value else { return nil }
            values.append(value)
            skipSpace()
        } while take(UInt8(ascii: ","))
        return take(UInt8(ascii: "]")) ? values : nil
    }

    /// `null` (leaving `value` nil) or a string.
    mutating func optionalString(into value: inout String?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let text = string() else { return false }
        value = text
        return true
    }

    /// A string, unescaped; `nil` when malformed (invalid UTF-8, a raw control character, a lone
    /// surrogate).
    mutating func string() -> String? {
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
                return nil
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    /// Skips any value (a string, number or literal, or an object or array however deeply nested),
    /// checking its grammar. Iterative, so no nesting can overflow the stack.
    mutating func skipValue() -> Bool {
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

    /// A member's `"key" :` and the space after it, read past; the key, or `nil` if there is none.
    private mutating func memberKey() -> String? {
        skipSpace()
        guard let key = string() else { return nil }
        skipSpace()
        guard take(UInt8(ascii: ":")) else { return nil }
        skipSpace()
        return key
    }

    /// The bytes of a number in RFC 8259's grammar (an optional minus, no leading zero, an optional
    /// fraction and exponent), read past; `nil` if there is none.
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

    /// Skips decimal digits; returns how many.
    private mutating func digits() -> Int {
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        return index - start
    }

    private mutating func skipSpace() {
        while index < bytes.count, [0x20, 0x0A, 0x09, 0x0D].contains(bytes[index]) { index += 1 }
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
        guard bytes.count - index >= 4, let value = UInt32(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16),
              bytes[index..<index + 4].allSatisfy({ $0 != UInt8(ascii: "+") && $0 != UInt8(ascii: "-") }) else { return nil }
        index += 4
        return value
    }
}
