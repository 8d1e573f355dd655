// SPDX-License-Identifier: AGPL-3.0-or-later

import CWALStore

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
///
/// The bytes live in a block of memory of their own (see ``PageView``), edited in place: replay
/// touches a page per record, so no copy-on-write array or exclusivity check stands in its way. The
/// block holds the page's bytes up to the last one in use, not always all 4096 (the rest are zeros),
/// and is replaced by a larger one when the page grows.
public final class Page {
    public static let size = 4096
    /// Tuple slots per page.
    public static let slotCount: UInt8 = 32
    /// The longest tuple value; 32 full slots still fit in a page.
    public static let maxValueSize: UInt8 = 120
    static let headerSize = 24

    public let id: UInt64
    /// The page's bytes and slot index; replaced by a larger block when the page outgrows it.
    private(set) var view: PageView
    /// The chunk the view's memory was carved from, kept alive by the page; `nil` when the memory is
    /// the page's own allocation.
    private var chunk: PageChunk?
    /// Whether the page changed since it was read or last written.
    var isDirty = false

    /// An empty page.
    convenience init(id: UInt64) {
        self.init(id: id, capacity: PageView.smallCapacity)
    }

    private init(id: UInt64, capacity: Int) {
        self.id = id
        (view, chunk) = PageMemory.shared.allocate(capacity: capacity)
        view.base.storeBytes(of: id.littleEndian, toByteOffset: 0, as: UInt64.self)
    }

    /// A page read from disk, or `nil` if its bytes are not a valid v3 page.
    convenience init?(v3 bytes: UnsafeRawBufferPointer) {
        guard bytes.count == Page.size else { return nil }
        var reader = ByteReader(bytes)
        guard let id = reader.u64(), reader.u64() != nil, let count = reader.u16(), let used = reader.u16(),
              let crc = reader.u32(), Int(used) <= Page.size - Page.headerSize, count <= UInt16(Page.slotCount) else { return nil }
        // Memory for the bytes up to the last non-zero one (give or take seven): the rest read as zeros.
        var end = Page.size
        while end - 8 >= Page.headerSize + Int(used), bytes.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self) == 0 {
            end -= 8
        }
        self.init(id: id, capacity: PageView.capacity(holding: end))
        view.base.copyMemory(from: bytes.baseAddress!, byteCount: end)
        guard crc == view.checksum else { return nil }
        guard view.indexTuples(count: Int(count), used: Int(used)) else { return nil }
    }

    deinit {
        if chunk == nil { view.storage.deallocate() }
    }

    /// The LSN of the last record applied to the page.
    public var lsn: UInt64 { view.lsn }

    /// The value in `slot`, or `nil` when it is empty.
    public func value(slot: UInt8) -> [UInt8]? {
        view.value(slot: slot)
    }

    /// Every occupied slot and its value, in slot order.
    public var tuples: [(slot: UInt8, value: [UInt8])] {
        view.tuples
    }

    /// Applies a put (`value` non-nil) or a delete at `lsn`, unless the page already has it.
    /// Returns whether the page changed.
    @discardableResult
    func apply(slot: UInt8, value: UnsafeRawBufferPointer?, lsn: UInt64) -> Bool {
        if let value, lsn > view.lsn { makeRoom(valueCount: value.count) }
        guard view.apply(slot: slot, value: value, lsn: lsn) else { return false }
        isDirty = true
        return true
    }

    /// Makes sure the block can take a put of `valueCount` bytes, whatever it replaces: moves the
    /// page to a larger block if not. Returns the view.
    @discardableResult
    func makeRoom(valueCount: Int) -> PageView {
        guard !view.fits(valueCount: valueCount) else { return view }
        let (larger, largerChunk) = PageMemory.shared.allocate(
            capacity: PageView.capacity(holding: Page.headerSize + view.used + 2 + valueCount))
        larger.storage.copyMemory(from: view.storage, byteCount: PageView.indexSize + view.capacity)
        if chunk == nil { view.storage.deallocate() }
        view = larger
        chunk = largerChunk
        return larger
    }

    /// Sets the page LSN (used when a page is converted from an older layout).
    func resetLSN(_ lsn: UInt64) {
        view.resetLSN(lsn)
    }

    /// Whether `bytes` are 4 KiB of page `id` in the v3 layout, whole: its checksum holds and its
    /// tuples are what ``Page/init(v3:)`` accepts (without reading them into a page: a checkpoint
    /// copies untouched pages this way).
    static func isIntact(_ bytes: [UInt8], id: UInt64) -> Bool {
        bytes.withUnsafeBytes { raw in
            guard raw.count == Page.size, UInt64(littleEndian: raw.loadUnaligned(as: UInt64.self)) == id else { return false }
            let count = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 16, as: UInt16.self)))
            let used = Int(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 18, as: UInt16.self)))
            guard used <= Page.size - Page.headerSize, count <= Int(Page.slotCount) else { return false }
            var slots: UInt64 = 0
            let tuplesHold = forEachTuple(in: raw.baseAddress!, count: count, used: used) { slot, _ in
                defer { slots |= 1 << slot }
                return slots & (1 << slot) == 0
            }
            let stored = UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 20, as: UInt32.self))
            return tuplesHold && checksum(of: raw.baseAddress!, used: used) == stored
        }
    }

    /// Walks the `count` tuples of the page bytes at `base` (its header first), calling `body` with
    /// each one's slot and offset; `false` as soon as `body` does, or when the tuples do not add up
    /// to `used` bytes, name a slot out of range or hold a value longer than a put can write (which
    /// would leave a full page no room for the next put). What ``Page/init(v3:)`` accepts.
    static func forEachTuple(in base: UnsafeRawPointer, count: Int, used: Int, _ body: (UInt8, Int) -> Bool) -> Bool {
        var offset = Page.headerSize
        for _ in 0..<count {
            guard offset + 2 <= Page.headerSize + used else { return false }
            let slot = base.load(fromByteOffset: offset, as: UInt8.self)
            let length = base.load(fromByteOffset: offset + 1, as: UInt8.self)
            guard slot < Page.slotCount, length <= Page.maxValueSize, body(slot, offset) else { return false }
            offset += 2 + Int(length)
        }
        return offset == Page.headerSize + used
    }

    /// The CRC of the page bytes at `base`: its header (the CRC field taken as zero), then the
    /// `used` tuple bytes.
    static func checksum(of base: UnsafeRawPointer, used: Int) -> UInt32 {
        let header = CRC32C.checksum(UnsafeRawBufferPointer(start: base, count: 20))
        let zero: UInt32 = 0
        let withZero = withUnsafeBytes(of: zero) { CRC32C.checksum($0, continuing: header) }
        return CRC32C.checksum(UnsafeRawBufferPointer(start: base + Page.headerSize, count: used), continuing: withZero)
    }

    /// The page's bytes with their CRC, ready to be written.
    var encoded: [UInt8] {
        var copy = [UInt8](repeating: 0, count: Page.size)
        copy.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(start: view.base, count: view.capacity)) }
        let crc = view.checksum
        withUnsafeBytes(of: crc.littleEndian) { copy.replaceSubrange(20..<24, with: $0) }
        return copy
    }
}

/// A page's memory, without the ``Page`` object that owns it: its slot index — where each slot's
/// tuple starts in the page's bytes (0: the slot is empty), so finding a slot costs one load instead
/// of a walk through the tuples; kept in memory only — then the page's first `capacity` bytes, in the
/// v3 layout except for the CRC (computed at write). The page's bytes after those are zeros.
///
/// One block of memory (see ``PageMemory``), aligned so that the index and the page's header share
/// a 128-byte pair of cache lines. Pages hold about 1 KiB of tuples on average: a block only as
/// large as the page's bytes in use (in three sizes) takes a third of the memory of a whole 4 KiB
/// page, to allocate and to fault in, and as much less room in the caches. Redo edits pages through
/// views it keeps in a table of its own: a record then touches the page's memory only, never the
/// object (no retain, no extra cache line).
struct PageView {
    /// Bytes before the page's: the slot index, 32 × u16.
    static let indexSize = 2 * Int(Page.slotCount)
    static let alignment = 128
    /// The sizes of the page's bytes a block holds: with the index, 1.5 KiB, 2.5 KiB and the whole
    /// page. (Every page fits the largest: 32 tuples of at most 122 bytes after the 24 of the header.)
    static let capacities = [smallCapacity, mediumCapacity, Page.size]
    static let smallCapacity = 1536 - 64
    static let mediumCapacity = 2560 - 64

    /// The start of the block: the slot index.
    let storage: UnsafeMutableRawPointer
    /// How many of the page's bytes the block holds: one of ``capacities``.
    let capacity: Int

    /// A view of `storage`, zeroed memory of `indexSize + capacity` bytes: an empty page of id 0.
    init(zeroed storage: UnsafeMutableRawPointer, capacity: Int) {
        storage.bindMemory(to: UInt16.self, capacity: Int(Page.slotCount))
        self.storage = storage
        self.capacity = capacity
    }

    /// The view of a page's block (as ``storage`` and ``capacity`` give it).
    @inline(__always)
    init(storage: UnsafeMutableRawPointer, capacity: Int) {
        self.storage = storage
        self.capacity = capacity
    }

    /// The position of `capacity` in ``capacities`` (its size class), and back: how ``PageTable``
    /// packs a block's capacity into two bits. Branches, not array loads, on redo's hot path.
    @inline(__always)
    static func sizeClass(of capacity: Int) -> Int {
        capacity == smallCapacity ? 0 : capacity == mediumCapacity ? 1 : 2
    }

    @inline(__always)
    static func capacity(ofSizeClass sizeClass: Int) -> Int {
        sizeClass == 0 ? smallCapacity : sizeClass == 1 ? mediumCapacity : Page.size
    }

    /// The smallest of ``capacities`` holding `count` bytes of a page.
    static func capacity(holding count: Int) -> Int {
        capacities.first { $0 >= count } ?? Page.size
    }

    /// Whether a put of `valueCount` bytes fits in the block, whatever tuple it replaces.
    @inline(__always)
    func fits(valueCount: Int) -> Bool {
        Page.headerSize + used + 2 + valueCount <= capacity
    }

    /// Starts loading what every record applied to the page reads first — the slot index and the
    /// page's header, one 128-byte pair of lines — into the CPU's caches.
    @inline(__always)
    func prefetch() {
        bootfsm_prefetch(storage)
        bootfsm_prefetch(storage + 64)
    }

    /// Starts loading what a record applied to `slot` reads next (the index and header being in
    /// cache): the slot's tuple, and the end of the used bytes, where a put appends.
    @inline(__always)
    func prefetchTuples(slot: UInt8) {
        bootfsm_prefetch(base + Int(slotOffsets[Int(slot)]))
        bootfsm_prefetch(base + Page.headerSize + used)
    }

    /// The page's bytes.
    @inline(__always)
    var base: UnsafeMutableRawPointer { storage + Self.indexSize }

    @inline(__always)
    private var slotOffsets: UnsafeMutablePointer<UInt16> { storage.assumingMemoryBound(to: UInt16.self) }

    /// The LSN of the last record applied to the page.
    @inline(__always)
    var lsn: UInt64 { UInt64(littleEndian: base.loadUnaligned(fromByteOffset: 8, as: UInt64.self)) }
    private var count: Int { Int(load16(16)) }
    var used: Int { Int(load16(18)) }

    /// Fills the slot index from the `count` tuples in the first `used` tuple bytes; `false` if
    /// they are not what ``Page/forEachTuple(in:count:used:_:)`` accepts, or name a slot twice.
    func indexTuples(count: Int, used: Int) -> Bool {
        Page.forEachTuple(in: base, count: count, used: used) { slot, offset in
            guard slotOffsets[Int(slot)] == 0 else { return false }
            slotOffsets[Int(slot)] = UInt16(offset)
            return true
        }
    }

    /// The value in `slot`, or `nil` when it is empty.
    func value(slot: UInt8) -> [UInt8]? {
        guard let offset = find(slot) else { return nil }
        return Array(UnsafeRawBufferPointer(start: base + offset + 2, count: Int(byte(offset + 1))))
    }

    /// Every occupied slot and its value, in slot order.
    var tuples: [(slot: UInt8, value: [UInt8])] {
        var result: [(UInt8, [UInt8])] = []
        var offset = Page.headerSize
        for _ in 0..<count {
            let length = Int(byte(offset + 1))
            result.append((byte(offset), Array(UnsafeRawBufferPointer(start: base + offset + 2, count: length))))
            offset += 2 + length
        }
        return result.sorted { $0.0 < $1.0 }
    }

    /// Applies a put (`value` non-nil) or a delete at `lsn`, unless the page already has it.
    /// Returns whether the page changed (its owner is then dirty).
    @inline(__always)
    func apply(slot: UInt8, value: UnsafeRawBufferPointer?, lsn: UInt64) -> Bool {
        guard lsn > self.lsn else { return false }
        if let offset = find(slot) { remove(at: offset) }
        if let value {
            let used = self.used
            let offset = Page.headerSize + used
            precondition(offset + 2 + value.count <= capacity, "a page's block holds the put (see fits(valueCount:))")
            base.storeBytes(of: slot, toByteOffset: offset, as: UInt8.self)
            base.storeBytes(of: UInt8(value.count), toByteOffset: offset + 1, as: UInt8.self)
            if let source = value.baseAddress { (base + offset + 2).copyMemory(from: source, byteCount: value.count) }
            slotOffsets[Int(slot)] = UInt16(offset)
            store16(UInt16(count + 1), at: 16)
            store16(UInt16(used + 2 + value.count), at: 18)
        }
        resetLSN(lsn)
        return true
    }

    /// Sets the page LSN.
    @inline(__always)
    func resetLSN(_ lsn: UInt64) {
        base.storeBytes(of: lsn.littleEndian, toByteOffset: 8, as: UInt64.self)
    }

    /// The CRC of the header (its CRC field taken as zero) and the used tuple bytes.
    var checksum: UInt32 { Page.checksum(of: base, used: used) }

    @inline(__always)
    private func find(_ slot: UInt8) -> Int? {
        guard slot < Page.slotCount else { return nil }
        let offset = Int(slotOffsets[Int(slot)])
        return offset == 0 ? nil : offset
    }

    private func remove(at offset: Int) {
        let length = 2 + Int(byte(offset + 1))
        let end = Page.headerSize + used
        slotOffsets[Int(byte(offset))] = 0
        memmove(base + offset, base + offset + length, end - offset - length)
        // The tuples after the removed one moved down. (Branch-free, and so vectorised: no offset
        // above the removed tuple's is less than its length.)
        let removed = UInt16(offset)
        let shift = UInt16(length)
        for slot in 0..<Int(Page.slotCount) {
            let current = slotOffsets[slot]
            slotOffsets[slot] = current &- (current > removed ? shift : 0)
        }
        store16(UInt16(count - 1), at: 16)
        store16(UInt16(used - length), at: 18)
    }

    @inline(__always)
    private func byte(_ offset: Int) -> UInt8 { base.load(fromByteOffset: offset, as: UInt8.self) }

    @inline(__always)
    private func load16(_ offset: Int) -> UInt16 {
        UInt16(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: UInt16.self))
    }

    @inline(__always)
    private func store16(_ value: UInt16, at offset: Int) {
        base.storeBytes(of: value.littleEndian, toByteOffset: offset, as: UInt16.self)
    }
}

/// Where pages' memory comes from: chunks of blocks for many pages (blocks of one size per chunk),
/// each chunk mapped — and its memory faulted in — by one `mmap` with `MAP_POPULATE`. Recovery
/// creates tens of thousands of pages; a page fault for every 4 KiB first touched (and, with
/// `malloc`, a `memset` to zero it) costs several times more than the kernel populating a chunk in one
/// go. Blocks are never reused: a chunk is unmapped when the last page carved from it is gone (pages
/// leave the pool only all together, when the store closes; a page that moves to a larger block
/// leaves its small one unused). Chunks start small and grow, so a small store does not map
/// megabytes. Thread-safe: stores on several threads share it.
final class PageMemory: @unchecked Sendable {
    // @unchecked: the state is only reached under `lock`.
    static let shared = PageMemory()

    /// The size of the largest chunks.
    private static let maxChunkBytes = 2 << 20

    /// The chunk blocks of one size are carved from.
    private struct Pool {
        let capacity: Int
        let stride: Int
        var chunk: PageChunk?
        var used = 0
        var nextChunkBytes = 32 << 10
    }

    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var pools = PageView.capacities.map { capacity in
        Pool(capacity: capacity,
             stride: (PageView.indexSize + capacity + PageView.alignment - 1) / PageView.alignment * PageView.alignment)
    }

    private init() {
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    /// A zeroed block for a page's index and `capacity` (one of ``PageView/capacities``) of its
    /// bytes, and the chunk it comes from (which the page must keep alive); `nil` instead of a chunk
    /// when mapping one failed and the block is an allocation of its own (which the page must
    /// deallocate).
    func allocate(capacity: Int) -> (PageView, PageChunk?) {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        guard let index = pools.firstIndex(where: { $0.capacity == capacity }) else {
            preconditionFailure("no block size of \(capacity) bytes")
        }
        if pools[index].used == pools[index].chunk?.blocks ?? 0 {
            let bytes = pools[index].nextChunkBytes
            pools[index].chunk = PageChunk(blocks: max(1, bytes / pools[index].stride), stride: pools[index].stride)
            pools[index].used = 0
            pools[index].nextChunkBytes = min(2 * bytes, Self.maxChunkBytes)
        }
        guard let chunk = pools[index].chunk else {
            let byteCount = PageView.indexSize + capacity
            let storage = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: PageView.alignment)
            storage.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
            return (PageView(zeroed: storage, capacity: capacity), nil)
        }
        let storage = chunk.start + pools[index].used * pools[index].stride
        pools[index].used += 1
        return (PageView(zeroed: storage, capacity: capacity), chunk)
    }
}

/// Anonymous memory mapped for `blocks` page blocks (zeroed by the kernel), unmapped when the
/// last page holding it goes.
final class PageChunk: @unchecked Sendable {
    // @unchecked: each block is reached only through its page, by one thread at a time.
    let start: UnsafeMutableRawPointer
    let blocks: Int
    private let byteCount: Int

    /// `nil` if the memory cannot be mapped.
    init?(blocks: Int, stride: Int) {
        byteCount = blocks * stride
        #if os(Linux)
        let flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE
        #else
        let flags = MAP_PRIVATE | MAP_ANONYMOUS
        #endif
        guard let start = mmap(nil, byteCount, PROT_READ | PROT_WRITE, flags, -1, 0),
              start != UnsafeMutableRawPointer(bitPattern: -1) else { return nil }
        self.start = start
        self.blocks = blocks
    }

    deinit {
        munmap(start, byteCount)
    }
}
