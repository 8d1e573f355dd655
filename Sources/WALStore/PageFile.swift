// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// A page file, `pages-<generation>.db`: the checkpoint's pages, 4 KiB each, in its directory's
/// order. Written whole at each checkpoint, never in place.
final class PageFile {
    static func name(generation: UInt64) -> String { "pages-\(generation).db" }

    let path: String
    private let fd: Int32
    /// Page id → position in the file.
    private let index: [UInt64: Int]

    init(path: String, pageIDs: [UInt64]) throws(StoreError) {
        self.path = path
        fd = try FileIO.openWithoutFollowing(path, O_RDONLY)
        let size = try FileIO.size(path)
        guard size == pageIDs.count * Page.size else {
            close(fd)
            throw .corrupt(path: path, reason: "holds \(size) bytes, the checkpoint names \(pageIDs.count) pages of \(Page.size)")
        }
        var index: [UInt64: Int] = [:]
        for (position, id) in pageIDs.enumerated() { index[id] = position }
        self.index = index
    }

    deinit { close(fd) }

    func contains(_ id: UInt64) -> Bool { index[id] != nil }

    /// The raw bytes of page `id`, or `nil` when the file does not hold it.
    func rawPage(_ id: UInt64) throws(StoreError) -> [UInt8]? {
        guard let position = index[id] else { return nil }
        return try FileIO.read(fd: fd, path: path, offset: position * Page.size, count: Page.size)
    }

    /// Page `id` in the current layout, or `nil` when the file does not hold it.
    func page(_ id: UInt64) throws(StoreError) -> Page? {
        guard let bytes = try rawPage(id) else { return nil }
        guard let page = bytes.withUnsafeBytes({ Page(v3: $0) }), page.id == id else {
            throw .corrupt(path: path, reason: "page \(id) fails its checksum")
        }
        return page
    }

    /// Writes a page file for `pageIDs` (sorted) atomically; `bytes(id)` gives each page's 4 KiB.
    static func write(path: String, pageIDs: [UInt64], bytes: (UInt64) throws(StoreError) -> [UInt8]) throws(StoreError) {
        let temporary = path + ".tmp"
        let fd = try FileIO.openWithoutFollowing(temporary, O_WRONLY | O_CREAT | O_TRUNC, operation: "create")
        do throws(StoreError) {
            var batch: [UInt8] = []
            batch.reserveCapacity(64 * Page.size)
            for id in pageIDs {
                let page = try bytes(id)
                precondition(page.count == Page.size)
                batch.append(contentsOf: page)
                if batch.count >= 64 * Page.size {
                    try FileIO.writeAll(fd: fd, path: temporary, batch)
                    batch.removeAll(keepingCapacity: true)
                }
            }
            try FileIO.writeAll(fd: fd, path: temporary, batch)
            try FileIO.fsync(fd: fd, path: temporary)
        } catch {
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw .system("rename", temporary) }
        try FileIO.fsyncDirectory(FileIO.parent(of: path))
    }
}

extension Page {
    /// A page in the layout of formats 1 and 2 — `page id u64 | tuple count u16 | tuples…`, no LSN
    /// and no checksum — converted to the current layout with `lsn` as its page LSN.
    static func fromLegacy(_ bytes: [UInt8], lsn: UInt64, path: String) throws(StoreError) -> Page {
        let result: Page? = bytes.withUnsafeBytes { raw in
            var reader = ByteReader(raw)
            guard raw.count == Page.size, let id = reader.u64(), let count = reader.u16(),
                  count <= UInt16(Page.slotCount) else { return nil }
            let page = Page(id: id)
            for index in 0..<count {
                guard let slot = reader.u8(), let length = reader.u8(), slot < Page.slotCount,
                      length <= Page.maxValueSize, let value = reader.take(Int(length)) else { return nil }
                page.apply(slot: slot, value: value, lsn: UInt64(index) + 1)
            }
            page.resetLSN(lsn)
            page.isDirty = false
            return page
        }
        guard let result else { throw .corrupt(path: path, reason: "a page is not in the format-2 layout") }
        return result
    }
}
