// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Writes one JSON document straight into a `String`'s storage: RFC 8259 string escaping, no
/// whitespace, one allocation.
///
/// The caller states an upper bound on the document's size up front (``write(capacity:_:)``);
/// every write checks it, so a wrong bound stops the process instead of writing out of bounds.
/// Keys are static text copied as is; numbers are written digit by digit, without building a
/// `String` for each (the health report is served to every probe and scrape).
package struct JSONWriter: ~Copyable {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    /// Whether the next value in the current object or array needs a comma before it.
    private var needsComma = false

    private init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    /// The document `body` writes, in a string of at most `capacity` UTF-8 bytes.
    package static func write(capacity: Int, _ body: (inout JSONWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: max(capacity, 1)) { buffer in
            var writer = JSONWriter(buffer)
            body(&writer)
            return writer.count
        }
    }

    package mutating func beginObject() { separate(); byte(UInt8(ascii: "{")); needsComma = false }
    package mutating func endObject() { byte(UInt8(ascii: "}")); needsComma = true }
    package mutating func beginArray() { separate(); byte(UInt8(ascii: "[")); needsComma = false }
    package mutating func endArray() { byte(UInt8(ascii: "]")); needsComma = true }

    /// `"key":`; keys are plain ASCII that needs no escaping. Inlined so that each key's length is a
    /// constant and its copy a few moves rather than a call to `memcpy`.
    @inline(__always)
    package mutating func key(_ key: StaticString) {
        separate()
        reserve(key.utf8CodeUnitCount + 3)
        base[count] = UInt8(ascii: "\"")
        (base + count + 1).update(from: key.utf8Start, count: key.utf8CodeUnitCount)
        count += key.utf8CodeUnitCount + 1
        base[count] = UInt8(ascii: "\"")
        base[count + 1] = UInt8(ascii: ":")
        count += 2
        needsComma = false
    }

    package mutating func bool(_ value: Bool) {
        separate()
        value ? raw("true") : raw("false")
        needsComma = true
    }

    package mutating func number(_ value: UInt64) {
        separate()
        reserve(20)
        count += DecimalDigits.write(value, to: base + count)
        needsComma = true
    }

    package mutating func number(_ value: UInt64?) {
        guard let value else { return null() }
        number(value)
    }

    /// A finite number in its shortest round-trip form (`Double.description`); NaN and infinities,
    /// which JSON cannot hold, are written as `null`.
    package mutating func number(_ value: Double) {
        guard value.isFinite else { return null() }
        separate()
        // The commonest values skip the float formatter; the text is the one it would write.
        if value == 0 && value.sign == .plus {
            raw("0.0")
        } else if value == 1 {
            raw("1.0")
        } else {
            reserve(28)
            count += DecimalDigits.writeDescription(value, to: base + count)
        }
        needsComma = true
    }

    /// A string, escaped as RFC 8259 requires (control characters and DEL as `\u00XX`). At most
    /// six bytes are written per byte of `value`.
    package mutating func string(_ value: String?) {
        guard var value else { return null() }
        separate()
        value.withUTF8 { utf8 in
            // Room for the worst case at once, so plain bytes are copied without a check each.
            reserve(6 * utf8.count + 2)
            base[count] = UInt8(ascii: "\"")
            count += 1
            for byte in utf8 {
                if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0x7F {
                    base[count] = byte
                    count += 1
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""): raw("\\\"")
                case UInt8(ascii: "\\"): raw("\\\\")
                case UInt8(ascii: "\n"): raw("\\n")
                case UInt8(ascii: "\r"): raw("\\r")
                case UInt8(ascii: "\t"): raw("\\t")
                case 0x08: raw("\\b")
                case 0x0C: raw("\\f")
                default:
                    raw("\\u00")
                    reserve(2)
                    base[count] = Self.hexDigit(byte >> 4)
                    base[count + 1] = Self.hexDigit(byte & 0xF)
                    count += 2
                }
            }
            reserve(1)
            base[count] = UInt8(ascii: "\"")
            count += 1
        }
        needsComma = true
    }

    package mutating func null() {
        separate()
        raw("null")
        needsComma = true
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private mutating func separate() {
        if needsComma { byte(UInt8(ascii: ",")) }
    }

    private mutating func byte(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    private mutating func raw(_ text: StaticString) {
        reserve(text.utf8CodeUnitCount)
        (base + count).update(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count += text.utf8CodeUnitCount
    }

    /// Stops the process rather than write past the buffer: a too-small bound is a bug here.
    @inline(__always)
    private func reserve(_ bytes: Int) {
        precondition(capacity - count >= bytes, "JSONWriter: the document outgrew its stated bound")
    }
}
