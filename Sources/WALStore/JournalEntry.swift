// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// One entry of the boot journal: a flat JSON object, written and read here without a general JSON
/// library (the journal is written at every change of phase of every boot; Foundation's coders
/// would be the only users of their code in a running exporter).
///
/// `{"type":"boot","attempt":3,"start_unix_ms":1767225600000,"mode":"normal"}`,
/// `{"type":"phase","phase":"init","duration_ms":12}`,
/// `{"type":"end","phase":"recover","duration_ms":1234,"outcome":"failed","reason":"…"}`.
/// Absent values are left out. Reading ignores unknown keys (whatever their values), as a newer
/// writer may add some; a value of the wrong kind makes the entry unreadable.
struct JournalEntry: Equatable {
    var type: String
    var attempt: UInt64?
    var startUnixMs: UInt64?
    var mode: String?
    var phase: String?
    var durationMs: UInt64?
    var outcome: String?
    var reason: String?

    init(type: String, attempt: UInt64? = nil, startUnixMs: UInt64? = nil, mode: String? = nil, phase: String? = nil,
         durationMs: UInt64? = nil, outcome: String? = nil, reason: String? = nil) {
        self.type = type
        self.attempt = attempt
        self.startUnixMs = startUnixMs
        self.mode = mode
        self.phase = phase
        self.durationMs = durationMs
        self.outcome = outcome
        self.reason = reason
    }

    /// The entry as JSON text.
    var json: [UInt8] {
        let strings = [type, mode, phase, outcome, reason].reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        // Keys and numbers take under 256 bytes; an escaped byte at most six.
        let text = JSONWriter.write(capacity: 256 + 6 * strings) { w in
            w.beginObject()
            w.key("type"); w.string(type)
            if let attempt { w.key("attempt"); w.number(attempt) }
            if let startUnixMs { w.key("start_unix_ms"); w.number(startUnixMs) }
            if let mode { w.key("mode"); w.string(mode) }
            if let phase { w.key("phase"); w.string(phase) }
            if let durationMs { w.key("duration_ms"); w.number(durationMs) }
            if let outcome { w.key("outcome"); w.string(outcome) }
            if let reason { w.key("reason"); w.string(reason) }
            w.endObject()
        }
        return Array(text.utf8)
    }

    /// The entry in `json`, or `nil` when it is not a JSON object with a string `type` and values
    /// of the right kinds.
    init?(json: some Collection<UInt8>) {
        var scanner = FlatJSONScanner(Array(json))
        var type: String?
        var entry = JournalEntry(type: "")
        let complete = scanner.object { key, scanner in
            switch key {
            case "type": return scanner.string().map { type = $0 } != nil
            case "attempt": return scanner.unsigned(into: &entry.attempt)
            case "start_unix_ms": return scanner.unsigned(into: &entry.startUnixMs)
            case "mode": return scanner.optionalString(into: &entry.mode)
            case "phase": return scanner.optionalString(into: &entry.phase)
            case "duration_ms": return scanner.unsigned(into: &entry.durationMs)
            case "outcome": return scanner.optionalString(into: &entry.outcome)
            case "reason": return scanner.optionalString(into: &entry.reason)
            default: return scanner.skipValue()
            }
        }
        guard complete, let type else { return nil }
        entry.type = type
        self = entry
    }
}

/// Reads one JSON object whose values the caller takes one by one (RFC 8259; nested values can be
/// skipped). Every method returns `false` or `nil` on malformed input instead of throwing.
struct FlatJSONScanner {
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Reads `{ "key": value, … }` and nothing after it but whitespace; `member` reads each value.
    mutating func object(_ member: (String, inout FlatJSONScanner) -> Bool) -> Bool {
        skipSpace()
        guard take(UInt8(ascii: "{")) else { return false }
        skipSpace()
        if !take(UInt8(ascii: "}")) {
            repeat {
                skipSpace()
                guard let key = string() else { return false }
                skipSpace()
                guard take(UInt8(ascii: ":")) else { return false }
                skipSpace()
                guard member(key, &self) else { return false }
                skipSpace()
            } while take(UInt8(ascii: ","))
            guard take(UInt8(ascii: "}")) else { return false }
        }
        skipSpace()
        return index == bytes.count
    }

    /// `null` (leaving `value` nil) or an unsigned integer that fits 64 bits.
    mutating func unsigned(into value: inout UInt64?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        var result: UInt64 = 0
        let start = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) {
            let (times10, overflow1) = result.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(bytes[index] - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return false }
            result = sum
            index += 1
        }
        // At least one digit, no leading zero, and no fraction or exponent (the journal writes none).
        guard index > start, !(bytes[start] == UInt8(ascii: "0") && index - start > 1) else { return false }
        if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) { return false }
        value = result
        return true
    }

    /// `null` (leaving `value` nil) or a string.
    mutating func optionalString(into value: inout String?) -> Bool {
        if takeLiteral("null") { value = nil; return true }
        guard let text = string() else { return false }
        value = text
        return true
    }

    /// A string, unescaped; `nil` when malformed (including invalid UTF-8 and lone surrogates).
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
                return nil  // Control characters must be escaped.
            default:
                utf8.append(byte)
            }
        }
        return nil
    }

    /// Skips any value: string, number, literal, or a nested object or array.
    mutating func skipValue() -> Bool {
        skipSpace()
        guard index < bytes.count else { return false }
        switch bytes[index] {
        case UInt8(ascii: "\""):
            return string() != nil
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            // Nested values: match brackets, stepping over strings (which may hold brackets).
            var depth = 0
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\""):
                    guard string() != nil else { return false }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 { index += 1; return true }
                default:
                    break
                }
                index += 1
            }
            return false
        default:
            // A number or a literal: up to the next delimiter.
            let start = index
            while index < bytes.count, ![UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), UInt8(ascii: " "),
                                          UInt8(ascii: "\n"), UInt8(ascii: "\t"), UInt8(ascii: "\r")].contains(bytes[index]) {
                index += 1
            }
            return index > start
        }
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
