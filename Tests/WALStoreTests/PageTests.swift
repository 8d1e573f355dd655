// SPDX-License-Identifier: AGPL-3.0-or-later

import Testing
@testable import WALStore

/// The v3 page layout kept as the whole 4096 bytes it is on disk, edited the plainest way: a put
/// removes the slot's tuple (the tuples after it move down, leaving their old last bytes behind
/// the used ones) and appends the new one. What ``Page`` writes must be these bytes exactly,
/// stale ones included, whatever block it keeps them in.
private struct ReferencePage {
    var bytes = [UInt8](repeating: 0, count: Page.size)

    init(id: UInt64) {
        withUnsafeBytes(of: id.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    }

    private var count: Int { Int(bytes[16]) | Int(bytes[17]) << 8 }
    private var used: Int { Int(bytes[18]) | Int(bytes[19]) << 8 }
    private var lsn: UInt64 { bytes[8..<16].reversed().reduce(0) { $0 << 8 | UInt64($1) } }

    private mutating func store16(_ value: Int, at offset: Int) {
        bytes[offset] = UInt8(value & 0xFF)
        bytes[offset + 1] = UInt8(value >> 8)
    }

    mutating func apply(slot: UInt8, value: [UInt8]?, lsn: UInt64) {
        guard lsn > self.lsn else { return }
        var offset = Page.headerSize
        for _ in 0..<count {
            let length = 2 + Int(bytes[offset + 1])
            if bytes[offset] == slot {
                let end = Page.headerSize + used
                bytes.replaceSubrange(offset..<(end - length), with: Array(bytes[(offset + length)..<end]))
                store16(count - 1, at: 16)
                store16(used - length, at: 18)
                break
            }
            offset += length
        }
        if let value {
            let end = Page.headerSize + used
            bytes[end] = slot
            bytes[end + 1] = UInt8(value.count)
            bytes.replaceSubrange((end + 2)..<(end + 2 + value.count), with: value)
            store16(count + 1, at: 16)
            store16(used + 2 + value.count, at: 18)
        }
        withUnsafeBytes(of: lsn.littleEndian) { bytes.replaceSubrange(8..<16, with: $0) }
    }

    /// The bytes with the CRC field as ``Page/encoded`` leaves it aside.
    func matches(_ encoded: [UInt8]) -> Bool {
        Array(encoded[..<20]) == Array(bytes[..<20]) && Array(encoded[24...]) == Array(bytes[24...])
    }
}

@Suite("Pages")
struct PageTests {
    @Test("a page grows through every block size and writes the bytes of the plain layout", arguments: [1, 2, 3])
    func growsAndEncodesLikeTheWholePage(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        func next(_ bound: Int) -> Int { Int(random.next() % UInt64(bound)) }
        let page = Page(id: 42)
        var reference = ReferencePage(id: 42)
        var reread = [page]
        for step in 1...3_000 {
            let slot = UInt8(next(Int(Page.slotCount)))
            // Larger values as the steps go on, so that the page fills up; some stale LSNs.
            let lsn = UInt64(step) - (next(50) == 0 ? 1 : 0)
            let length = step <= 1_000 ? next(40) : step <= 2_000 ? next(90) : 60 + next(61)
            let value: [UInt8]? = next(6) == 0 ? nil : (0..<length).map { _ in UInt8(next(256)) }
            if let value {
                value.withUnsafeBytes { _ = page.apply(slot: slot, value: $0, lsn: lsn) }
            } else {
                page.apply(slot: slot, value: nil, lsn: lsn)
            }
            reference.apply(slot: slot, value: value, lsn: lsn)
            if step % 97 == 0 || step == 3_000 {
                let encoded = page.encoded
                #expect(reference.matches(encoded), "step \(step)")
                #expect(Page.isIntact(encoded, id: page.id), "step \(step)")
                // Read back, it holds and writes the same.
                let copy = try #require(encoded.withUnsafeBytes { Page(v3: $0) })
                #expect(copy.encoded == encoded)
                #expect(copy.tuples.map(\.slot) == page.tuples.map(\.slot))
                #expect(copy.tuples.map(\.value) == page.tuples.map(\.value))
                reread.append(copy)
            }
        }
        #expect(page.view.capacity == Page.size)
        #expect(Set(reread.map(\.view.capacity)) == Set(PageView.capacities))
    }

    /// The page table packs a block's capacity as its size class: each capacity has its own.
    @Test func sizeClassesNameEveryCapacity() {
        for (sizeClass, capacity) in PageView.capacities.enumerated() {
            #expect(PageView.sizeClass(of: capacity) == sizeClass)
            #expect(PageView.capacity(ofSizeClass: sizeClass) == capacity)
        }
    }

    /// A page whose checksum holds but whose tuple is longer than a put can write: read as such, a full
    /// page would have no room left for the next put (redo used to trap on it).
    @Test func aTupleLongerThanAPutCanWriteIsCorrupt() {
        func bytes(valueLength: Int) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: Page.size)
            func put64(_ value: UInt64, at offset: Int) { for i in 0..<8 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) } }
            let used = 2 + valueLength
            put64(7, at: 0)      // id
            put64(1, at: 8)      // lsn
            bytes[16] = 1        // count
            bytes[18] = UInt8(used & 0xFF)
            bytes[19] = UInt8(used >> 8)
            bytes[24] = 0        // slot
            bytes[25] = UInt8(valueLength)
            for i in 0..<valueLength { bytes[26 + i] = 0x61 }
            // The CRC covers the header with the CRC field zeroed, then the tuple bytes.
            var covered = Array(bytes[0..<20]) + [0, 0, 0, 0]
            covered += bytes[24..<(24 + used)]
            let crc = CRC32C.checksum(covered)
            for i in 0..<4 { bytes[20 + i] = UInt8(truncatingIfNeeded: crc >> (8 * i)) }
            return bytes
        }
        let fits = bytes(valueLength: Int(Page.maxValueSize)), tooLong = bytes(valueLength: Int(Page.maxValueSize) + 1)
        #expect(fits.withUnsafeBytes { Page(v3: $0) } != nil)
        #expect(tooLong.withUnsafeBytes { Page(v3: $0) } == nil)
        // The check a checkpoint makes on the pages it copies agrees.
        #expect(Page.isIntact(fits, id: 7))
        #expect(!Page.isIntact(fits, id: 8))
        #expect(!Page.isIntact(tooLong, id: 7))
    }
}
