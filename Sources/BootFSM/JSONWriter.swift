// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// JSON written member by member straight into a string's storage: what ``HealthStatus/toJSON()``
/// needs, and no more (probes and scrapes ask for the report constantly).
///
/// Each member first checks that its largest possible form fits, then writes without checks.
struct JSONWriter: ~Copyable {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    private var needsComma = false

    /// Runs `body` with a writer over `capacity` bytes and returns what it wrote. Writing past
    /// `capacity` traps: the caller's bound is wrong.
    static func write(capacity: Int, _ body: (inout JSONWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: capacity) { buffer in
            var writer = JSONWriter(base: buffer.baseAddress!, capacity: buffer.count)
            body(&writer)
            return writer.count
        }
    }

    private init(base: UnsafeMutablePointer<UInt8>, capacity: Int) {
        self.base = base
        self.capacity = capacity
    }

    mutating func beginObject() {
        room(for: 2)
        separate()
        append(UInt8(ascii: "{"))
        needsComma = false
    }

    /// A member whose value is an array, opened.
    mutating func beginArray(_ name: StaticString) {
        key(name, valueBytes: 1)
        append(UInt8(ascii: "["))
        needsComma = false
    }

    mutating func endObject() { close(UInt8(ascii: "}")) }
    mutating func endArray() { close(UInt8(ascii: "]")) }

    private mutating func close(_ bracket: UInt8) {
        room(for: 1)
        append(bracket)
        needsComma = true
    }

    mutating func field(_ name: StaticString, _ value: Bool) {
        key(name, valueBytes: 5)
        value ? append("true") : append("false")
    }

    mutating func field(_ name: StaticString, _ value: UInt64?) {
        key(name, valueBytes: 20)
        guard let value else { return append("null") }
        // The digit count, then two digits per division from the right: the divisions are a chain,
        // so shortening it counts.
        var digits = 1
        var left = value
        while left >= 10_000 {
            left /= 10_000
            digits += 4
        }
        if left >= 100 {
            left /= 100
            digits += 2
        }
        if left >= 10 { digits += 1 }
        var rest = value
        var end = count + digits
        while rest >= 10 {
            let pair = Int(rest % 100)
            rest /= 100
            base[end - 1] = Self.digitPairs.utf8Start[2 * pair + 1]
            base[end - 2] = Self.digitPairs.utf8Start[2 * pair]
            end -= 2
        }
        if end > count { base[count] = UInt8(ascii: "0") + UInt8(rest) }
        count += digits
    }

    /// A number in its shortest round-trip form (`description`); NaN and infinities, which JSON
    /// cannot hold, as `null`.
    mutating func field(_ name: StaticString, _ value: Double) {
        // A double's description is at most 24 bytes (`-2.2250738585072014e-308`).
        key(name, valueBytes: 24)
        guard value.isFinite else { return append("null") }
        // The commonest values (a ratio not yet measured, progress complete) without the formatter.
        if value == 0, value.sign == .plus { return append("0.0") }
        if value == 1 { return append("1.0") }
        var text = value.description
        text.withUTF8 { append($0) }
    }

    /// A string known to need no escaping (the names of phases and modes).
    mutating func field(_ name: StaticString, plain value: String) {
        var value = value
        value.withUTF8 { utf8 in
            key(name, valueBytes: utf8.count + 2)
            append(UInt8(ascii: "\""))
            append(utf8)
            append(UInt8(ascii: "\""))
        }
    }

    /// A string, escaped as RFC 8259 requires; control characters and DEL as `\u00XX`.
    mutating func field(_ name: StaticString, _ value: String?) {
        guard var value else {
            key(name, valueBytes: 4)
            return append("null")
        }
        value.withUTF8 { utf8 in
            // An escaped byte takes at most six.
            key(name, valueBytes: 6 * utf8.count + 2)
            append(UInt8(ascii: "\""))
            // Most strings need no escaping: copied whole.
            if utf8.contains(where: { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 == 0x7F }) {
                for byte in utf8 { appendEscaped(byte) }
            } else {
                append(utf8)
            }
            append(UInt8(ascii: "\""))
        }
    }

    /// A member's key (a plain name: written without escaping) and its colon, once the member's
    /// value, of at most `valueBytes`, is known to fit after it.
    @inline(__always)
    private mutating func key(_ name: StaticString, valueBytes: Int) {
        room(for: 1 + name.utf8CodeUnitCount + 3 + valueBytes)
        separate()
        append(UInt8(ascii: "\""))
        append(name.utf8Start, count: name.utf8CodeUnitCount)
        append(UInt8(ascii: "\""))
        append(UInt8(ascii: ":"))
        needsComma = true
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"): escape(byte)
        case UInt8(ascii: "\n"): escape(UInt8(ascii: "n"))
        case UInt8(ascii: "\r"): escape(UInt8(ascii: "r"))
        case UInt8(ascii: "\t"): escape(UInt8(ascii: "t"))
        case 0x08: escape(UInt8(ascii: "b"))
        case 0x0C: escape(UInt8(ascii: "f"))
        case 0..<0x20, 0x7F:
            escape(UInt8(ascii: "u"))
            append(UInt8(ascii: "0"))
            append(UInt8(ascii: "0"))
            append(Self.hexDigits.utf8Start[Int(byte >> 4)])
            append(Self.hexDigits.utf8Start[Int(byte & 0xF)])
        default: append(byte)
        }
    }

    private mutating func escape(_ character: UInt8) {
        append(UInt8(ascii: "\\"))
        append(character)
    }

    private static let hexDigits: StaticString = "0123456789abcdef"

    /// "00" through "99".
    private static let digitPairs: StaticString = """
        00010203040506070809101112131415161718192021222324252627282930313233343536373839\
        40414243444546474849505152535455565758596061626364656667686970717273747576777879\
        8081828384858687888990919293949596979899
        """

    // Writing: only after `room(for:)` has made sure the bytes fit. These few-instruction helpers are
    // inlined into every member (about 3% of the report's instructions, callgrind).

    @inline(__always)
    private func room(for bytes: Int) {
        precondition(count + bytes <= capacity, "JSONWriter: the document outgrew its stated bound")
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { append(UInt8(ascii: ",")) }
    }

    @inline(__always)
    private mutating func append(_ byte: UInt8) {
        base[count] = byte
        count += 1
    }

    @inline(__always)
    private mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) {
        guard let start = bytes.baseAddress else { return }
        append(start, count: bytes.count)
    }

    @inline(__always)
    private mutating func append(_ text: StaticString) {
        append(text.utf8Start, count: text.utf8CodeUnitCount)
    }

    @inline(__always)
    private mutating func append(_ start: UnsafePointer<UInt8>, count length: Int) {
        (base + count).initialize(from: start, count: length)
        count += length
    }
}
