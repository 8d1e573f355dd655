// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// A 4 KiB page of tuple slots, in the current (v3) layout:
///
/// `page id u64 | page LSN u64 | tuple count u16 | used bytes u16 | crc32c u32 | tuples…`
///
/// where each tuple is `slot u8 | length u8 | value`, and the CRC covers the header (with the CRC
/// field zeroed) and the used tuple bytes. Redo applies a record only if its LSN is newer than the
/// page's, which makes replay idempotent.
public final class Page {
    public static let size = 4096
    /// Tuple slots per page.
    public static let slotCount: UInt8 = 32
    /// The longest tuple value; 32 full slots still fit in a page.
    public static let maxValueSize: UInt8 = 120
    static let headerSize = 24

    public let id: UInt64
    /// The LSN of the last record applied to the page.
    public private(set) var lsn: UInt64
    /// The page's bytes (always `size` long, in the v3 layout except for the CRC, computed at write).
    private var bytes: [UInt8]
    /// Whether the page changed since it was read or last written.
    var isDirty = false

    /// An empty page.
    init(id: UInt64) {
        self.id = id
        self.lsn = 0
        bytes = [UInt8](repeating: 0, count: Page.size)
        store(id, at: 0)
    }

    /// A page read from disk, or `nil` if its bytes are not a valid v3 page.
    init?(v3 bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Page.size else { return nil }
        var reader = ByteReader(bytes)
        guard let id = reader.u64(), let lsn = reader.u64(), let count = reader.u16(), let used = reader.u16(),
              let crc = reader.u32(), Int(used) <= Page.size - Page.headerSize, count <= UInt16(Page.slotCount) else { return nil }
        self.id = id
        self.lsn = lsn
        self.bytes = Array(bytes)
        guard crc == checksum else { return nil }
        // The tuples must add up to the used bytes.
        var offset = Page.headerSize
        for _ in 0..<count {
            guard offset + 2 <= Page.headerSize + Int(used) else { return nil }
            offset += 2 + Int(self.bytes[offset + 1])
        }
        guard offset == Page.headerSize + Int(used) else { return nil }
    }

    private var count: Int { Int(load16(16)) }
    private var used: Int { Int(load16(18)) }

    /// The value in `slot`, or `nil` when it is empty.
    public func value(slot: UInt8) -> [UInt8]? {
        guard let offset = find(slot) else { return nil }
        let length = Int(bytes[offset + 1])
        return Array(bytes[(offset + 2)..<(offset + 2 + length)])
    }

    /// Every occupied slot and its value, in slot order.
    public var tuples: [(slot: UInt8, value: [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var offset = Page.headerSize
        for _ in 0..<count {
            let length = Int(bytes[offset + 1])
            result.append((bytes[offset], Array(bytes[(offset + 2)..<(offset + 2 + length)])))
            offset += 2 + length
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Applies a put (`value` non-nil) or a delete at `lsn`, unless the page already has it.
    /// Returns whether the page changed.
    @discardableResult
    func apply(slot: UInt8, value: UnsafeRawBufferPointer?, lsn: UInt64) -> Bool {
        guard lsn > self.lsn else { return false }
        if let offset = find(slot) { remove(at: offset) }
        if let value {
            let offset = Page.headerSize + used
            precondition(offset + 2 + value.count <= Page.size, "a page holds 32 slots of at most 120 bytes")
            bytes[offset] = slot
            bytes[offset + 1] = UInt8(value.count)
            bytes.withUnsafeMutableBytes { page in
                if let base = value.baseAddress { (page.baseAddress! + offset + 2).copyMemory(from: base, byteCount: value.count) }
            }
            store16(UInt16(count + 1), at: 16)
            store16(UInt16(used + 2 + value.count), at: 18)
        }
        self.lsn = lsn
        store(lsn, at: 8)
        isDirty = true
        return true
    }

    /// Sets the page LSN (used when a page is converted from an older layout).
    func resetLSN(_ lsn: UInt64) {
        self.lsn = lsn
        store(lsn, at: 8)
    }

    /// The page's bytes with their CRC, ready to be written.
    var encoded: [UInt8] {
        var copy = bytes
        let crc = checksum
        withUnsafeBytes(of: crc.littleEndian) { copy.replaceSubrange(20..<24, with: $0) }
        return copy
    }

    private var checksum: UInt32 {
        bytes.withUnsafeBytes { raw in
            let header = CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[0..<20]))
            let zero: UInt32 = 0
            let withZero = withUnsafeBytes(of: zero) { CRC32C.checksum($0, continuing: header) }
            let usedBytes = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 18, as: UInt16.self)))
            return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[Page.headerSize..<(Page.headerSize + usedBytes)]),
                                   continuing: withZero)
        }
    }

    private func find(_ slot: UInt8) -> Int? {
        var offset = Page.headerSize
        for _ in 0..<count {
            if bytes[offset] == slot { return offset }
            offset += 2 + Int(bytes[offset + 1])
        }
        return nil
    }

    private func remove(at offset: Int) {
        let length = 2 + Int(bytes[offset + 1])
        let end = Page.headerSize + used
        bytes.withUnsafeMutableBytes { page in
            let base = page.baseAddress!
            memmove(base + offset, base + offset + length, end - offset - length)
        }
        store16(UInt16(count - 1), at: 16)
        store16(UInt16(used - length), at: 18)
    }

    private func load16(_ offset: Int) -> UInt16 {
        bytes.withUnsafeBytes { UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: UInt16.self)) }
    }

    private func store16(_ value: UInt16, at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self) }
    }

    private func store(_ value: UInt64, at offset: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt64.self) }
    }
}
