// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

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
    private(set) var changedPages: [UInt64] = []
    /// The pages redo has touched.
    private let pages = PageTable()
    private var unreportedRecords: UInt64 = 0
    private var unreportedBytes: UInt64 = 0
    private let started = SystemBootClock().monotonicNow()

    init(store: WALStore, options: RecoveryOptions, totalRecords: UInt64, totalBytes: UInt64) {
        self.store = store
        self.options = options
        self.totalRecords = totalRecords
        self.totalBytes = totalBytes
        options.onProgress(progress)
    }

    /// Replays the frames in `range` of a segment's `bytes` (already verified by analysis).
    mutating func replay(_ bytes: UnsafeRawBufferPointer, range: Range<Int>, checkpointLSN: UInt64,
                         transactions: TransactionTable) throws(StoreError) {
        var offset = range.lowerBound
        while offset < range.upperBound {
            guard case .frame(let frame) = WALFrame.parse(bytes, at: offset, verify: false) else {
                throw .corrupt(path: store.path, reason: "a WAL frame changed between analysis and redo")
            }
            offset += frame.size
            guard frame.lsn > checkpointLSN else { continue }
            if (frame.kind == .put || frame.kind == .delete), transactions.isCommitted(frame.txid) {
                let entry = try page(frame.pageID)
                // A page joins the recovered set when it first changes (pages are clean when loaded).
                if entry.pointee.view.unsafelyUnwrapped.apply(slot: frame.slot, value: frame.kind == .put ? frame.value : nil,
                                                              lsn: frame.lsn),
                   !entry.pointee.changed {
                    entry.pointee.changed = true
                    entry.pointee.page.unsafelyUnwrapped._withUnsafeGuaranteedRef { $0.isDirty = true }
                    changedPages.append(frame.pageID)
                }
            }
            recordsDone += 1
            bytesDone += UInt64(frame.size)
            unreportedRecords += 1
            unreportedBytes += UInt64(frame.size)
            if unreportedRecords >= batchSize { try report() }
        }
    }

    /// The table entry of page `id`, the page loaded (or created) on first use.
    @inline(__always)
    private func page(_ id: UInt64) throws(StoreError) -> UnsafeMutablePointer<PageTable.Entry> {
        if let entry = pages.find(id) { return entry }
        return pages.add(try store.pageForWriting(id))
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
        options.onProgress(progress)
        guard options.shouldContinue() else { throw .interrupted("recovery stopped") }
        if let rate = options.maxRecordsPerSecond, rate > 0 {
            // Sleep until the replayed records are no ahead of the allowed rate.
            let due = Duration.seconds(Double(recordsDone) / Double(rate))
            let ahead = due - (SystemBootClock().monotonicNow() - started)
            if ahead > .zero {
                let (seconds, attoseconds) = ahead.components
                var request = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
                var remaining = timespec()
                while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
            }
        }
    }
}
