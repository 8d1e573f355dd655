// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The redo pass: applies the records of committed transactions after the checkpoint to their
/// pages, in LSN order, reporting progress in batches.
struct WALReplay {
    let store: WALStore
    let options: RecoveryOptions
    let totalRecords: UInt64
    let totalBytes: UInt64
    private(set) var recordsDone: UInt64 = 0
    private(set) var bytesDone: UInt64 = 0
    /// The pages redo changed, each once, in the order they first changed.
    var changedPages: [UInt64] { pipeline.changedPages }
    private let pipeline: RedoPipeline
    private var unreportedRecords: UInt64 = 0
    private var unreportedBytes: UInt64 = 0
    private var reportedPages = 0
    private let started = ContinuousClock.now

    init(store: WALStore, options: RecoveryOptions, totalRecords: UInt64, totalBytes: UInt64) {
        self.store = store
        self.options = options
        self.totalRecords = totalRecords
        self.totalBytes = totalBytes
        pipeline = RedoPipeline(store: store)
        options.onProgress(progress)
    }

    /// Replays the frames in `range` of a segment's `bytes` (already verified by analysis).
    mutating func replay(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, checkpointLSN: UInt64,
                         transactions: TransactionTable) throws(StoreError) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard case .frame(let frame) = WALFrame.parse(bytes, at: offset, verify: false) else {
                try pipeline.drain()
                throw .corrupt(path: store.path, reason: "a WAL frame changed between analysis and redo")
            }
            offset += frame.size
            guard frame.lsn > checkpointLSN else { continue }
            if (frame.kind == .put || frame.kind == .delete), transactions.isCommitted(frame.txid) {
                try pipeline.push(RedoPipeline.Write(pageID: frame.pageID, lsn: frame.lsn,
                                                     value: frame.kind == .put ? frame.value : nil, slot: frame.slot))
            }
            recordsDone += 1
            bytesDone += UInt64(frame.size)
            unreportedRecords += 1
            unreportedBytes += UInt64(frame.size)
            if unreportedRecords >= batchSize {
                // Reports (and a stop) come with every record counted so far applied.
                try pipeline.drain()
                try report()
            }
        }
        // The writes point into `bytes`, which the next segment's read replaces.
        try pipeline.drain()
    }

    /// Reports what is left.
    mutating func finish() throws(StoreError) {
        try report()
    }

    /// Records between two reports: the configured interval, or a tenth of a second's worth when
    /// replay is throttled (so the pace stays smooth).
    private var batchSize: UInt64 {
        guard let rate = options.maxRecordsPerSecond, rate > 0 else { return options.reportEvery }
        return max(1, min(options.reportEvery, rate / 10))
    }

    private var progress: RecoveryProgress {
        RecoveryProgress(message: "replaying WAL", recordsDone: recordsDone, recordsTotal: totalRecords,
                         bytesDone: bytesDone, bytesTotal: totalBytes)
    }

    private mutating func report() throws(StoreError) {
        options.onReplayed(unreportedRecords, unreportedBytes)
        unreportedRecords = 0
        unreportedBytes = 0
        let pages = pipeline.changedPages.count
        if pages > reportedPages {
            options.onPagesRecovered(UInt64(pages - reportedPages))
            reportedPages = pages
        }
        options.onProgress(progress)
        guard options.shouldContinue() else { throw .interrupted("recovery stopped") }
        if let rate = options.maxRecordsPerSecond, rate > 0 {
            // Sleep until the replayed records are no ahead of the allowed rate.
            let due = Duration.seconds(Double(recordsDone) / Double(rate))
            let ahead = due - (ContinuousClock.now - started)
            if ahead > .zero {
                let (seconds, attoseconds) = ahead.components
                var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            }
        }
    }
}

/// Committed writes on their way to their pages.
///
/// The page a record changes is, most of the time, in none of the CPU's caches: recovery touches
/// tens of thousands of 4 KiB pages in no order. Applied one by one, each record would wait for
/// memory three times: for its page's table entry, for the page's header and slot index, then for
/// the tuple it replaces. Writes queue here instead, and go through stages `lookAhead` writes apart.
/// When one enters, the CPU starts fetching its table slot; then it is looked up (its page loaded or
/// created if it is the page's first) and the CPU starts fetching the page's header and index; then
/// the index gives where its slot's tuple and the page's free space are, and the CPU starts fetching
/// those; then it is applied, all it reads having arrived meanwhile. So the waits overlap. Each
/// stage takes writes in the order they entered.
final class RedoPipeline {
    struct Write {
        var pageID: UInt64
        var lsn: UInt64
        /// The new value of a put; `nil` for a delete.
        var value: UnsafeRawBufferPointer?
        var slot: UInt8
        /// Set once looked up.
        var entry: UnsafeMutablePointer<PageTable.Entry>?

        init(pageID: UInt64, lsn: UInt64, value: UnsafeRawBufferPointer?, slot: UInt8) {
            self.pageID = pageID
            self.lsn = lsn
            self.value = value
            self.slot = slot
        }
    }

    private static let lookAhead = 8
    /// Room for the writes of the three stages before application.
    private static let capacity = 4 * lookAhead

    private let store: WALStore
    private let pages = PageTable()
    /// The pages redo changed, each once, in the order they first changed.
    private(set) var changedPages: [UInt64] = []
    private let ring = UnsafeMutablePointer<Write>.allocate(capacity: capacity)
    /// Writes `applied..<staged` have had their tuples fetched, `staged..<looked` are looked up,
    /// `looked..<entered` not yet (counters, not indices).
    private var applied = 0
    private var staged = 0
    private var looked = 0
    private var entered = 0

    init(store: WALStore) {
        self.store = store
    }

    deinit { ring.deallocate() }

    /// Queues `write`, looking up and applying earlier ones as the queue fills.
    @inline(__always)
    func push(_ write: Write) throws(StoreError) {
        if entered - looked == Self.lookAhead {
            if looked - staged == Self.lookAhead {
                if staged - applied == Self.lookAhead { applyNext() }
                stageNext()
            }
            try lookUpNext()
        }
        pages.prefetch(write.pageID)
        (ring + entered % Self.capacity).initialize(to: write)
        entered += 1
    }

    /// Applies every queued write.
    func drain() throws(StoreError) {
        while looked < entered { try lookUpNext() }
        applyLookedUp()
    }

    /// Applies every write already looked up.
    private func applyLookedUp() {
        while applied < looked { applyNext() }
        staged = applied
    }

    private func lookUpNext() throws(StoreError) {
        let write = ring + looked % Self.capacity
        let pageID = write.pointee.pageID
        if let entry = pages.find(pageID) {
            write.pointee.entry = entry
        } else {
            let page: Page
            do throws(StoreError) {
                page = try store.pageForWriting(pageID)
            } catch {
                // What came before the failing record is applied, as if applied one by one; it and
                // the writes after it are dropped (they point into a segment's bytes, which do not
                // outlive the replay that threw).
                applyLookedUp()
                entered = looked
                throw error
            }
            let generation = pages.generation
            write.pointee.entry = pages.add(page)
            if pages.generation != generation {
                // The table grew, its entries moved: look the waiting writes up again.
                for index in applied..<looked {
                    ring[index % Self.capacity].entry = pages.find(ring[index % Self.capacity].pageID)
                }
            }
        }
        write.pointee.entry.unsafelyUnwrapped.pointee.view.prefetch()
        looked += 1
    }

    /// Starts fetching the lines the next looked-up write will touch in its page's tuples.
    @inline(__always)
    private func stageNext() {
        let write = ring[staged % Self.capacity]
        staged += 1
        write.entry.unsafelyUnwrapped.pointee.view.prefetchTuples(slot: write.slot)
    }

    @inline(__always)
    private func applyNext() {
        let write = ring[applied % Self.capacity]
        applied += 1
        let entry = write.entry.unsafelyUnwrapped
        // A page joins the recovered set when it first changes (pages are clean when loaded).
        var view = entry.pointee.view
        if let value = write.value, write.lsn > view.lsn, !view.fits(valueCount: value.count) {
            // The page outgrows its block (rarely): it moves to a larger one.
            view = pages.makeRoom(entry, valueCount: value.count)
        }
        if view.apply(slot: write.slot, value: write.value, lsn: write.lsn), !entry.pointee.changed {
            pages.markChanged(entry)
            changedPages.append(write.pageID)
        }
    }
}
