// SPDX-License-Identifier: AGPL-3.0-or-later

import CWALStore

#if canImport(Glibc)
import Glibc
#endif

/// The slot where open addressing starts looking for `key` in a table of `mask + 1` slots.
///
/// Transaction and page ids are mostly consecutive, so the low bits are kept as they are: the
/// transactions open at one time (and a run of pages) land in neighbouring slots, where a record's
/// lookup finds them in cache. The higher bits are folded in so that ids differing only there
/// (pages `2^32 + n`) do not pile up on the same slots.
@inline(__always)
private func homeSlot(_ key: UInt64, _ mask: Int) -> Int {
    Int(truncatingIfNeeded: key ^ (key >> 23) ^ (key >> 46)) & mask
}

/// What analysis learns of each transaction with records after the checkpoint, and what redo asks
/// of it: whether it committed.
///
/// One open-addressing table keyed by transaction id (linear probing, at most half full), a single
/// probe per record, where four sets (begun, open, tainted, committed) cost up to four hashes. A
/// transaction is *tainted* by a `put` or `delete` outside an open transaction, or by being open
/// across a stretch force mode skips: it then never counts as committed. Instead of marking every
/// open transaction at each skip, the table counts skips and notes, when a transaction opens, how
/// many there had been; a transaction still open once more were counted was open across one.
/// ``finish()`` settles every transaction.
final class TransactionTable {
    private struct Entry {
        var txid: UInt64
        /// 0 for an empty slot; else ``seen`` and the other flags below, and the skips counted when
        /// the transaction last opened from bit 8 up.
        var state: UInt64
    }

    private static let seen: UInt64 = 1
    private static let open: UInt64 = 2
    private static let tainted: UInt64 = 4
    private static let committed: UInt64 = 8
    private static let flagBits: UInt64 = 0xFF

    private var entries: UnsafeMutablePointer<Entry>
    private var mask: Int
    /// Transactions in the table: every one with a record after the checkpoint.
    private(set) var count = 0
    private var skips: UInt64 = 0
    /// Set by ``finish()``.
    private(set) var committedCount = 0

    init() {
        mask = 1024 - 1
        entries = Self.allocate(mask + 1)
    }

    deinit { free(entries) }

    /// Transactions that did not commit (aborted, unfinished or tainted), once finished.
    var rolledBackCount: Int { count - committedCount }

    /// A `begin` record: the transaction opens (unless it is open already).
    @inline(__always)
    func begin(_ txid: UInt64) {
        let entry = insert(txid)
        if entry.pointee.state & Self.open == 0 {
            entry.pointee.state = (entry.pointee.state & Self.flagBits) | Self.open | (skips << 8)
        }
    }

    /// A `put` or `delete` record: outside an open transaction, it taints it.
    @inline(__always)
    func write(_ txid: UInt64) {
        let entry = insert(txid)
        if entry.pointee.state & Self.open == 0 { entry.pointee.state |= Self.tainted }
    }

    /// A `commit` record: an open transaction closes, and commits unless it is tainted.
    @inline(__always)
    func commit(_ txid: UInt64) {
        let entry = insert(txid)
        guard close(entry) else { return }
        if entry.pointee.state & Self.tainted == 0 { entry.pointee.state |= Self.committed }
    }

    /// An `abort` record: an open transaction closes.
    @inline(__always)
    func abort(_ txid: UInt64) {
        _ = close(insert(txid))
    }

    /// Force mode skipped a damaged stretch: every transaction open now is tainted.
    func skip() {
        skips += 1
    }

    /// Settles every transaction (those still open across a skip are tainted; a tainted one did
    /// not commit) and counts the committed ones. Call once, after the last record.
    func finish() {
        var committed = 0
        for index in 0...mask where entries[index].state != 0 {
            taintIfOpenAcrossSkip(entries + index)
            let state = entries[index].state
            if state & Self.committed != 0 {
                if state & Self.tainted != 0 {
                    entries[index].state = state & ~Self.committed
                } else {
                    committed += 1
                }
            }
        }
        committedCount = committed
    }

    /// Whether `txid` committed (ask after ``finish()``).
    @inline(__always)
    func isCommitted(_ txid: UInt64) -> Bool {
        var index = homeSlot(txid, mask)
        while true {
            let entry = entries[index]
            if entry.state == 0 { return false }
            if entry.txid == txid { return entry.state & Self.committed != 0 }
            index = (index + 1) & mask
        }
    }

    /// Closes an open transaction (tainting it if it was open across a skip); whether it was open.
    @inline(__always)
    private func close(_ entry: UnsafeMutablePointer<Entry>) -> Bool {
        guard entry.pointee.state & Self.open != 0 else { return false }
        taintIfOpenAcrossSkip(entry)
        entry.pointee.state &= ~Self.open
        return true
    }

    @inline(__always)
    private func taintIfOpenAcrossSkip(_ entry: UnsafeMutablePointer<Entry>) {
        let state = entry.pointee.state
        if state & Self.open != 0, state >> 8 < skips { entry.pointee.state = state | Self.tainted }
    }

    /// The entry of `txid`, added (seen, no other flag) if missing.
    @inline(__always)
    private func insert(_ txid: UInt64) -> UnsafeMutablePointer<Entry> {
        var index = homeSlot(txid, mask)
        while true {
            let entry = entries + index
            if entry.pointee.state == 0 { break }
            if entry.pointee.txid == txid { return entry }
            index = (index + 1) & mask
        }
        return add(txid, at: index)
    }

    /// Adds `txid` in the empty slot `index` (where a lookup ended), or elsewhere after growing.
    private func add(_ txid: UInt64, at index: Int) -> UnsafeMutablePointer<Entry> {
        var index = index
        if 2 * (count + 1) > mask + 1 {
            grow()
            index = homeSlot(txid, mask)
            while entries[index].state != 0 { index = (index + 1) & mask }
        }
        entries[index] = Entry(txid: txid, state: Self.seen)
        count += 1
        return entries + index
    }

    private func grow() {
        let old = entries
        let oldCapacity = mask + 1
        mask = 2 * oldCapacity - 1
        entries = Self.allocate(mask + 1)
        for index in 0..<oldCapacity where old[index].state != 0 {
            var slot = homeSlot(old[index].txid, mask)
            while entries[slot].state != 0 { slot = (slot + 1) & mask }
            entries[slot] = old[index]
        }
        free(old)
    }

    /// Zeroed memory: empty slots. From `calloc`, which maps a large table rather than clearing
    /// it, so only the slots transactions land in (neighbouring ones, ids being mostly consecutive)
    /// are ever faulted in.
    private static func allocate(_ capacity: Int) -> UnsafeMutablePointer<Entry> {
        guard let memory = calloc(capacity, MemoryLayout<Entry>.stride) else { fatalError("out of memory") }
        return memory.bindMemory(to: Entry.self, capacity: capacity)
    }
}

/// The pages redo has touched, by page id: each with its ``PageView`` (so a record edits the page's
/// memory without touching, or retaining, the ``Page`` object) and whether it has changed yet.
/// Entries are 16 bytes, so the table stays small enough for the caches; the `Page` objects are in a
/// parallel array, reached only when a page first changes. The table holds a reference on each page,
/// released when it goes.
final class PageTable {
    struct Entry {
        var pageID: UInt64
        /// The address of the page's block (aligned on 128 bytes), with its capacity's size class
        /// (``PageView/sizeClass(of:)``) in bits 1 and 2, and bit 0 set once the page counts as
        /// changed; 0 for an empty slot.
        fileprivate var bits: UInt

        @inline(__always)
        var view: PageView {
            PageView(storage: UnsafeMutableRawPointer(bitPattern: bits & ~0x7F).unsafelyUnwrapped,
                     capacity: PageView.capacity(ofSizeClass: Int(bits >> 1) & 3))
        }

        fileprivate static func bits(_ view: PageView, changed: Bool) -> UInt {
            UInt(bitPattern: view.storage) | UInt(PageView.sizeClass(of: view.capacity)) << 1 | (changed ? 1 : 0)
        }

        /// Whether the page was dirty when first seen, or changed since (it then counts as recovered).
        @inline(__always)
        var changed: Bool { bits & 1 != 0 }
    }

    private var entries: UnsafeMutablePointer<Entry>
    private var pages: UnsafeMutablePointer<Unmanaged<Page>?>
    private var mask: Int
    private(set) var count = 0
    /// Incremented when the table grows: entries then move, and pointers to them are stale.
    private(set) var generation = 0

    init() {
        mask = 1024 - 1
        (entries, pages) = Self.allocate(mask + 1)
    }

    deinit {
        for index in 0...mask { pages[index]?.release() }
        entries.deallocate()
        pages.deallocate()
    }

    /// The entry of `pageID`, or `nil` if the table does not hold it yet.
    @inline(__always)
    func find(_ pageID: UInt64) -> UnsafeMutablePointer<Entry>? {
        var index = homeSlot(pageID, mask)
        while true {
            let entry = entries + index
            if entry.pointee.bits == 0 { return nil }
            if entry.pointee.pageID == pageID { return entry }
            index = (index + 1) & mask
        }
    }

    /// Starts loading the slot where a lookup of `pageID` begins into the CPU's caches.
    @inline(__always)
    func prefetch(_ pageID: UInt64) {
        bootfsm_prefetch(entries + homeSlot(pageID, mask))
    }

    /// Adds `page` (not in the table yet) and returns its entry.
    func add(_ page: Page) -> UnsafeMutablePointer<Entry> {
        if 2 * (count + 1) > mask + 1 { grow() }
        var index = homeSlot(page.id, mask)
        while entries[index].bits != 0 { index = (index + 1) & mask }
        entries[index] = Entry(pageID: page.id, bits: Entry.bits(page.view, changed: page.isDirty))
        pages[index] = .passRetained(page)
        count += 1
        return entries + index
    }

    /// Counts the page of `entry` as changed, and marks it dirty.
    func markChanged(_ entry: UnsafeMutablePointer<Entry>) {
        entry.pointee.bits |= 1
        pages[entry - entries].unsafelyUnwrapped.takeUnretainedValue().isDirty = true
    }

    /// Makes room in the page of `entry` for a put of `valueCount` bytes (see
    /// ``Page/makeRoom(valueCount:)``), and returns its view.
    func makeRoom(_ entry: UnsafeMutablePointer<Entry>, valueCount: Int) -> PageView {
        let view = pages[entry - entries].unsafelyUnwrapped.takeUnretainedValue().makeRoom(valueCount: valueCount)
        entry.pointee.bits = Entry.bits(view, changed: entry.pointee.changed)
        return view
    }

    private func grow() {
        generation += 1
        let (oldEntries, oldPages) = (entries, pages)
        let oldCapacity = mask + 1
        mask = 2 * oldCapacity - 1
        (entries, pages) = Self.allocate(mask + 1)
        for index in 0..<oldCapacity where oldEntries[index].bits != 0 {
            var slot = homeSlot(oldEntries[index].pageID, mask)
            while entries[slot].bits != 0 { slot = (slot + 1) & mask }
            entries[slot] = oldEntries[index]
            pages[slot] = oldPages[index]
        }
        oldEntries.deallocate()
        oldPages.deallocate()
    }

    private static func allocate(_ capacity: Int) -> (UnsafeMutablePointer<Entry>, UnsafeMutablePointer<Unmanaged<Page>?>) {
        let entries = UnsafeMutablePointer<Entry>.allocate(capacity: capacity)
        entries.initialize(repeating: Entry(pageID: 0, bits: 0), count: capacity)
        let pages = UnsafeMutablePointer<Unmanaged<Page>?>.allocate(capacity: capacity)
        pages.initialize(repeating: nil, count: capacity)
        return (entries, pages)
    }
}
