// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Writes one JSON document straight into a `String`'s storage: RFC 8259 string escaping, no
/// whitespace, one allocation.
///
/// The caller states an upper bound on the document's size up front; every write checks it, so a
/// wrong bound stops the process instead of writing out of bounds. Keys are static text copied as
/// is; numbers are written digit by digit, without building a `String` for each (the health report
/// is served to every probe and scrape).
///
/// Every method is inlined, so that a writer made and used inside one function lives in registers,
/// its commas decided at compile time: the health report makes its string itself and writes into
/// it with `init(_:)` for that reason. Passed `inout` to a closure, as ``write(capacity:_:)`` does, the
/// writer is reloaded from memory after every byte it writes.
package struct JSONWriter: ~Copyable {
    private let base: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var count = 0
    /// Whether the next value in the current object or array needs a comma before it.
    private var needsComma = false

    /// A writer into `buffer`; ``written`` is how much of it the document took.
    @inline(__always)
    package init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        base = buffer.baseAddress!
        capacity = buffer.count
    }

    /// The bytes written so far.
    package var written: Int { count }

    /// The document `body` writes, in a string of at most `capacity` UTF-8 bytes.
    package static func write(capacity: Int, _ body: (inout JSONWriter) -> Void) -> String {
        String(unsafeUninitializedCapacity: max(capacity, 1)) { buffer in
            var writer = JSONWriter(buffer)
            body(&writer)
            return writer.count
        }
    }

    @inline(__always) package mutating func beginObject() { open(UInt8(ascii: "{")) }
    @inline(__always) package mutating func endObject() { close(UInt8(ascii: "}")) }
    @inline(__always) package mutating func beginArray() { open(UInt8(ascii: "[")) }
    @inline(__always) package mutating func endArray() { close(UInt8(ascii: "]")) }

    /// `"key":`, after a comma when one is due; keys are plain ASCII that needs no escaping. Each
    /// key's length is a constant, so its copy is a few moves rather than a call to `memcpy`.
    @inline(__always)
    package mutating func key(_ key: StaticString) {
        let length = key.utf8CodeUnitCount
        reserve(length &+ 4)
        var at = count
        if needsComma {
            base[at] = UInt8(ascii: ",")
            at &+= 1
        }
        base[at] = UInt8(ascii: "\"")
        (base + (at &+ 1)).initialize(from: key.utf8Start, count: length)
        base[at &+ length &+ 1] = UInt8(ascii: "\"")
        base[at &+ length &+ 2] = UInt8(ascii: ":")
        count = at &+ length &+ 3
        needsComma = false
    }

    @inline(__always)
    package mutating func bool(_ value: Bool) {
        separate()
        value ? raw("true") : raw("false")
        needsComma = true
    }

    @inline(__always)
    package mutating func number(_ value: UInt64) {
        separate()
        reserve(20)
        if value < 10 {
            // One digit (counters still at zero, mostly): no digit count, no division.
            base[count] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value)
            count &+= 1
        } else {
            count &+= DecimalDigits.write(value, to: base + count)
        }
        needsComma = true
    }

    @inline(__always)
    package mutating func number(_ value: UInt64?) {
        guard let value else { return null() }
        number(value)
    }

    /// A finite number in its shortest round-trip form (`Double.description`); NaN and infinities,
    /// which JSON cannot hold, are written as `null`.
    @inline(__always)
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
            count &+= DecimalDigits.writeDescription(value, to: base + count)
        }
        needsComma = true
    }

    /// A string, escaped as RFC 8259 requires (control characters and DEL as `\u00XX`). At most
    /// six bytes are written per byte of `value`.
    @inline(__always)
    package mutating func string(_ value: borrowing String?) {
        guard let value = copy value else { return null() }
        separate()
        let start = base + count
        let room = capacity &- count
        // The closure captures the position, not the writer, which stays in registers. A native
        // string's bytes are read in place; only another (a bridged one) is copied to be made
        // contiguous.
        if let written = value.utf8.withContiguousStorageIfAvailable({ Self.writeQuoted($0, to: start, room: room) }) {
            count &+= written
        } else {
            var contiguous = value
            count &+= contiguous.withUTF8 { Self.writeQuoted($0, to: start, room: room) }
        }
        needsComma = true
    }

    /// A string known to need no escaping (names of phases and modes): copied between quotes.
    @inline(__always)
    package mutating func string(plain value: StaticString) {
        separate()
        let length = value.utf8CodeUnitCount
        assert(UnsafeBufferPointer(start: value.utf8Start, count: length).allSatisfy {
            $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") && $0 != 0x7F
        }, "JSONWriter: a plain string needs escaping")
        reserve(length &+ 2)
        base[count] = UInt8(ascii: "\"")
        (base + (count &+ 1)).initialize(from: value.utf8Start, count: length)
        base[count &+ length &+ 1] = UInt8(ascii: "\"")
        count &+= length &+ 2
        needsComma = true
    }

    @inline(__always)
    package mutating func null() {
        separate()
        raw("null")
        needsComma = true
    }

    /// Writes `utf8` between quotes at `destination`, escaped, and returns the byte count.
    /// Eight bytes at a time while none of them needs escaping (a message is mostly plain text).
    private static func writeQuoted(
        _ utf8: UnsafeBufferPointer<UInt8>, to destination: UnsafeMutablePointer<UInt8>, room: Int
    ) -> Int {
        // Room for the worst case at once, so the bytes are copied without a check each.
        precondition(room >= 6 &* utf8.count &+ 2, "JSONWriter: the document outgrew its stated bound")
        destination[0] = UInt8(ascii: "\"")
        var out = 1
        var index = 0
        if let source = utf8.baseAddress {
            let end = utf8.count
            // Whole words while none of their bytes needs escaping (a message is mostly plain text).
            while end &- index >= 8 {
                let word = UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)
                if needsEscaping(word) { break }
                UnsafeMutableRawPointer(destination + out).storeBytes(of: word, as: UInt64.self)
                index &+= 8
                out &+= 8
            }
            // Fewer than eight bytes left after clean words: the string's last eight bytes as one
            // more word, overlapping bytes already copied (written again, the same), when none of
            // them needs escaping. Byte by byte otherwise, and after a word that needed escaping.
            if index < end, end &- index < 8, end >= 8 {
                let last = UnsafeRawPointer(source + (end &- 8)).loadUnaligned(as: UInt64.self)
                if !needsEscaping(last) {
                    UnsafeMutableRawPointer(destination + (out &- (index &- (end &- 8)))).storeBytes(of: last, as: UInt64.self)
                    out &+= end &- index
                    index = end
                }
            }
            while index < end {
                if end &- index >= 8 {
                    let word = UnsafeRawPointer(source + index).loadUnaligned(as: UInt64.self)
                    if !needsEscaping(word) {
                        UnsafeMutableRawPointer(destination + out).storeBytes(of: word, as: UInt64.self)
                        index &+= 8
                        out &+= 8
                        continue
                    }
                }
                out &+= writeEscaped(source[index], to: destination + out)
                index &+= 1
            }
        }
        destination[out] = UInt8(ascii: "\"")
        return out &+ 1
    }

    /// Whether any of the eight bytes of `word` is a control character, `"`, `\` or DEL.
    @inline(__always)
    private static func needsEscaping(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        // A byte below 0x20: the subtraction borrows into its high bit, which was clear.
        let control = (word &- 0x20 &* ones) & ~word & highs
        // A byte equal to c: that byte of word ^ (c repeated) is zero.
        func has(_ c: UInt64) -> UInt64 {
            let x = word ^ (c &* ones)
            return (x &- ones) & ~x & highs
        }
        return (control | has(0x22) | has(0x5C) | has(0x7F)) != 0
    }

    /// Writes one byte of a string, escaped if it must be, and returns the byte count (1 to 6).
    @inline(__always)
    private static func writeEscaped(_ byte: UInt8, to destination: UnsafeMutablePointer<UInt8>) -> Int {
        if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0x7F {
            destination[0] = byte
            return 1
        }
        let short: UInt8
        switch byte {
        case UInt8(ascii: "\""): short = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): short = UInt8(ascii: "\\")
        case UInt8(ascii: "\n"): short = UInt8(ascii: "n")
        case UInt8(ascii: "\r"): short = UInt8(ascii: "r")
        case UInt8(ascii: "\t"): short = UInt8(ascii: "t")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        default:
            destination[0] = UInt8(ascii: "\\")
            destination[1] = UInt8(ascii: "u")
            destination[2] = UInt8(ascii: "0")
            destination[3] = UInt8(ascii: "0")
            destination[4] = hexDigit(byte >> 4)
            destination[5] = hexDigit(byte & 0xF)
            return 6
        }
        destination[0] = UInt8(ascii: "\\")
        destination[1] = short
        return 2
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    @inline(__always)
    private mutating func open(_ bracket: UInt8) {
        separate()
        byte(bracket)
        needsComma = false
    }

    @inline(__always)
    private mutating func close(_ bracket: UInt8) {
        byte(bracket)
        needsComma = true
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { byte(UInt8(ascii: ",")) }
    }

    @inline(__always)
    private mutating func byte(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count &+= 1
    }

    @inline(__always)
    private mutating func raw(_ text: StaticString) {
        reserve(text.utf8CodeUnitCount)
        (base + count).initialize(from: text.utf8Start, count: text.utf8CodeUnitCount)
        count &+= text.utf8CodeUnitCount
    }

    /// Stops the process rather than write past the buffer: a too-small bound is a bug here.
    @inline(__always)
    private func reserve(_ bytes: Int) {
        precondition(capacity &- count >= bytes, "JSONWriter: the document outgrew its stated bound")
    }
}
