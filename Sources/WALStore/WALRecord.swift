// SPDX-License-Identifier: AGPL-3.0-or-later

/// One write-ahead-log record.
///
/// On disk a record is a frame: `length u32 | crc32c u32 | lsn u64 | txid u64 | kind u8 | payload`,
/// little-endian, where `length` counts the bytes after the CRC and the CRC covers them too.
public struct WALRecord: Sendable, Equatable {
    /// What a record does.
    public enum Kind: UInt8, Sendable {
        case begin = 1
        case put = 2
        case delete = 3
        case commit = 4
        case abort = 5
    }

    /// The log sequence number: strictly increasing through the log.
    public var lsn: UInt64
    /// The transaction the record belongs to.
    public var txid: UInt64
    public var kind: Kind
    /// For `put` and `delete`: the page and the tuple slot in it.
    public var pageID: UInt64
    public var slot: UInt8
    /// For `put`: the tuple's new value.
    public var value: [UInt8]

    public init(lsn: UInt64, txid: UInt64, kind: Kind, pageID: UInt64 = 0, slot: UInt8 = 0, value: [UInt8] = []) {
        self.lsn = lsn
        self.txid = txid
        self.kind = kind
        self.pageID = pageID
        self.slot = slot
        self.value = value
    }

    /// Bytes before the body: length and CRC.
    static let frameHeaderSize = 8
    /// Bytes of the body before the payload: LSN, transaction id and kind.
    static let bodyHeaderSize = 17
    /// LSNs, transaction ids and indexes (segments, page-file generations) from this value up are
    /// corruption: no store gets there (2^62 records at a billion a second take 146 years), and
    /// refusing them keeps every `+ 1` on a value read from disk from overflowing.
    static let maxSequence: UInt64 = 1 << 62

    /// The largest body a valid frame can have; anything longer is corruption.
    static let maxBodySize = bodyHeaderSize + 8 + 1 + 1 + Int(Page.maxValueSize)

    /// The frame's bytes, appended to `out`.
    func encode(into out: inout [UInt8]) {
        var body: [UInt8] = []
        body.reserveCapacity(Self.bodyHeaderSize + 10 + value.count)
        body.appendLE(lsn)
        body.appendLE(txid)
        body.append(kind.rawValue)
        switch kind {
        case .put:
            body.appendLE(pageID)
            body.append(slot)
            body.append(UInt8(value.count))
            body.append(contentsOf: value)
        case .delete:
            body.appendLE(pageID)
            body.append(slot)
        case .begin, .commit, .abort:
            break
        }
        out.appendLE(UInt32(body.count))
        out.appendLE(CRC32C.checksum(body))
        out.append(contentsOf: body)
    }

    var encoded: [UInt8] {
        var bytes: [UInt8] = []
        encode(into: &bytes)
        return bytes
    }
}

/// A frame's fields, read in place without copying the value.
struct WALFrame {
    var lsn: UInt64
    var txid: UInt64
    var kind: WALRecord.Kind
    var pageID: UInt64
    var slot: UInt8
    var value: UnsafeRawBufferPointer
    /// Bytes the whole frame takes.
    var size: Int

    /// What is at `offset` of `bytes`.
    enum Parse {
        case frame(WALFrame)
        /// The bytes end before the frame does: a torn write.
        case truncated
        /// The frame is complete but wrong: bad length, checksum, kind or payload.
        case corrupt
    }

    /// Parses the frame at `offset`; `verify` checks the CRC (the redo pass skips it, the
    /// analysis pass having checked every frame). Every other check is made either way.
    @inline(__always)
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int, verify: Bool = true) -> Parse {
        // Each field is loaded in place once the lengths are known to be in bounds: this runs twice
        // for every record of every recovery.
        let remaining = bytes.count - offset
        guard remaining >= WALRecord.frameHeaderSize, let start = bytes.baseAddress else { return .truncated }
        let frame = start + offset
        let bodyLength = Int(UInt32(littleEndian: frame.loadUnaligned(as: UInt32.self)))
        guard bodyLength >= WALRecord.bodyHeaderSize, bodyLength <= WALRecord.maxBodySize else {
            return remaining == WALRecord.frameHeaderSize ? .truncated : .corrupt
        }
        guard remaining - WALRecord.frameHeaderSize >= bodyLength else { return .truncated }
        let body = frame + WALRecord.frameHeaderSize
        if verify {
            let crc = UInt32(littleEndian: frame.loadUnaligned(fromByteOffset: 4, as: UInt32.self))
            guard CRC32C.checksum(UnsafeRawBufferPointer(start: body, count: bodyLength)) == crc else { return .corrupt }
        }
        guard let kind = WALRecord.Kind(rawValue: body.load(fromByteOffset: 16, as: UInt8.self)) else { return .corrupt }
        let lsn = UInt64(littleEndian: body.loadUnaligned(as: UInt64.self))
        let txid = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        guard lsn < WALRecord.maxSequence, txid < WALRecord.maxSequence else { return .corrupt }
        var parsed = WALFrame(lsn: lsn, txid: txid, kind: kind, pageID: 0, slot: 0,
                              value: UnsafeRawBufferPointer(start: nil, count: 0),
                              size: WALRecord.frameHeaderSize + bodyLength)
        // After the body's header (17 bytes): page u64, slot u8, then for a put: count u8, value.
        switch kind {
        case .put:
            guard bodyLength >= WALRecord.bodyHeaderSize + 10 else { return .corrupt }
            let slot = body.load(fromByteOffset: 25, as: UInt8.self)
            let count = body.load(fromByteOffset: 26, as: UInt8.self)
            guard bodyLength == WALRecord.bodyHeaderSize + 10 + Int(count), slot < Page.slotCount,
                  count <= Page.maxValueSize else { return .corrupt }
            parsed.pageID = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: 17, as: UInt64.self))
            parsed.slot = slot
            parsed.value = UnsafeRawBufferPointer(start: body + WALRecord.bodyHeaderSize + 10, count: Int(count))
        case .delete:
            guard bodyLength == WALRecord.bodyHeaderSize + 9 else { return .corrupt }
            let slot = body.load(fromByteOffset: 25, as: UInt8.self)
            guard slot < Page.slotCount else { return .corrupt }
            parsed.pageID = UInt64(littleEndian: body.loadUnaligned(fromByteOffset: 17, as: UInt64.self))
            parsed.slot = slot
        case .begin, .commit, .abort:
            guard bodyLength == WALRecord.bodyHeaderSize else { return .corrupt }
        }
        return .frame(parsed)
    }
}
