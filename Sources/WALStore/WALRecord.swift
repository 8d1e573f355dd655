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
    /// analysis pass having checked every frame).
    static func parse(_ bytes: UnsafeRawBufferPointer, at offset: Int, verify: Bool = true) -> Parse {
        var reader = ByteReader(bytes, offset: offset)
        guard let length = reader.u32(), let crc = reader.u32() else { return .truncated }
        let bodyLength = Int(length)
        guard bodyLength >= WALRecord.bodyHeaderSize, bodyLength <= WALRecord.maxBodySize else {
            return reader.remaining == 0 ? .truncated : .corrupt
        }
        guard let body = reader.take(bodyLength) else { return .truncated }
        if verify, CRC32C.checksum(body) != crc { return .corrupt }
        var fields = ByteReader(body)
        guard let lsn = fields.u64(), let txid = fields.u64(), let rawKind = fields.u8(),
              let kind = WALRecord.Kind(rawValue: rawKind) else { return .corrupt }
        var frame = WALFrame(lsn: lsn, txid: txid, kind: kind, pageID: 0, slot: 0,
                             value: UnsafeRawBufferPointer(start: nil, count: 0),
                             size: WALRecord.frameHeaderSize + bodyLength)
        switch kind {
        case .put:
            guard let page = fields.u64(), let slot = fields.u8(), let count = fields.u8(),
                  let value = fields.take(Int(count)), fields.remaining == 0,
                  slot < Page.slotCount, count <= Page.maxValueSize else { return .corrupt }
            frame.pageID = page
            frame.slot = slot
            frame.value = value
        case .delete:
            guard let page = fields.u64(), let slot = fields.u8(), fields.remaining == 0,
                  slot < Page.slotCount else { return .corrupt }
            frame.pageID = page
            frame.slot = slot
        case .begin, .commit, .abort:
            guard fields.remaining == 0 else { return .corrupt }
        }
        return .frame(frame)
    }
}
