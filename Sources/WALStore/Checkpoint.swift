// SPDX-License-Identifier: AGPL-3.0-or-later

/// The checkpoint: the LSN up to which the page file holds every committed change, the page file's
/// generation and directory, and the pages written most recently (warmup's hints).
///
/// `magic "BFCK" | version u32 | lsn u64 | next txid u64 | generation u64 | page count u32 |
/// hot count u32 | page ids u64… | hot page ids u64… | crc32c u32` — the CRC (over everything
/// before it) since format 2; format 1 has none.
struct Checkpoint: Equatable {
    static let magic: [UInt8] = Array("BFCK".utf8)
    static let fileName = "checkpoint"

    var lsn: UInt64 = 0
    var nextTxID: UInt64 = 1
    var generation: UInt64 = 0
    /// The pages of the page file, in file order.
    var pageIDs: [UInt64] = []
    var hotPages: [UInt64] = []

    func encode(version: Int) -> [UInt8] {
        var bytes = Self.magic
        bytes.reserveCapacity(48 + 8 * (pageIDs.count + hotPages.count))
        bytes.appendLE(UInt32(version))
        bytes.appendLE(lsn)
        bytes.appendLE(nextTxID)
        bytes.appendLE(generation)
        bytes.appendLE(UInt32(pageIDs.count))
        bytes.appendLE(UInt32(hotPages.count))
        for id in pageIDs { bytes.appendLE(id) }
        for id in hotPages { bytes.appendLE(id) }
        if version >= 2 { bytes.appendLE(CRC32C.checksum(bytes)) }
        return bytes
    }

    /// Parses a checkpoint of any known version; returns it and its version.
    static func decode(_ bytes: [UInt8], path: String) throws(StoreError) -> (Checkpoint, version: Int) {
        let parsed: (Checkpoint, Int)? = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard let magic = reader.take(4), Array(magic) == Self.magic, let version = reader.u32(),
                  (1...3).contains(version),
                  let lsn = reader.u64(), let nextTxID = reader.u64(), let generation = reader.u64(),
                  let pageCount = reader.u32(), let hotCount = reader.u32() else { return nil }
            // (Bounded, so that the next LSN, transaction id or generation never overflows.)
            guard lsn < WALRecord.maxSequence, nextTxID < WALRecord.maxSequence,
                  generation < WALRecord.maxSequence else { return nil }
            let idsSize = 8 * (Int(pageCount) + Int(hotCount))
            let crcSize = version >= 2 ? 4 : 0
            guard reader.remaining == idsSize + crcSize else { return nil }
            var checkpoint = Checkpoint(lsn: lsn, nextTxID: nextTxID, generation: generation)
            checkpoint.pageIDs = (0..<pageCount).map { _ in reader.u64()! }
            checkpoint.hotPages = (0..<hotCount).map { _ in reader.u64()! }
            if version >= 2 {
                let stored = reader.u32()!
                guard stored == CRC32C.checksum(UnsafeRawBufferPointer(rebasing: raw[..<(raw.count - 4)])) else { return nil }
            }
            return (checkpoint, Int(version))
        }
        guard let parsed else {
            throw .corrupt(path: path, reason: "not a valid checkpoint (\(bytes.count) bytes; truncated, checksum mismatch or unknown layout)")
        }
        return parsed
    }
}
