// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// The recovery counters of a boot: lock-free relaxed atomics that any thread may record into.
///
/// Each counter is independent: a reader sees each one's latest value, with no consistency implied
/// between them. The WAL counters, which a redo loop may record for every record and from several
/// threads, are kept per thread (see `WALCounters`), so parallel redo threads do not contend.
public final class BootMetrics: Sendable {
    private let wal = WALCounters()
    private let pages = Atomic<UInt64>(0)
    private let rollbacks = Atomic<UInt64>(0)
    private let checkpointBytes = Atomic<UInt64>(0)
    private let migrationSteps = Atomic<UInt64>(0)
    private let warmupPermille = Atomic<UInt64>(0)
    private let skippedRecords = Atomic<UInt64>(0)

    public init() {}

    /// WAL records replayed.
    public var walRecordsReplayed: UInt64 { wal.records }
    /// WAL bytes processed.
    public var walBytesProcessed: UInt64 { wal.bytes }
    /// Pages recovered.
    public var pagesRecovered: UInt64 { pages.load(ordering: .relaxed) }
    /// Transactions rolled back.
    public var txnsRolledBack: UInt64 { rollbacks.load(ordering: .relaxed) }
    /// Checkpoint bytes scanned.
    public var checkpointBytesScanned: UInt64 { checkpointBytes.load(ordering: .relaxed) }
    /// Migration steps completed.
    public var migrationStepsCompleted: UInt64 { migrationSteps.load(ordering: .relaxed) }
    /// Warmup cache hit rate in thousandths (0–1000), as the seed keeps it.
    public var warmupHitRatePermille: UInt64 { warmupPermille.load(ordering: .relaxed) }
    /// Corrupt WAL records skipped by a force recovery (not in the seed).
    public var walRecordsSkipped: UInt64 { skippedRecords.load(ordering: .relaxed) }

    /// Adds replayed WAL records and their bytes.
    public func recordWALProgress(records: UInt64, bytes: UInt64) {
        wal.add(records: records, bytes: bytes)
    }

    /// Adds recovered pages.
    public func recordPagesRecovered(_ count: UInt64) {
        pages.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds rolled-back transactions.
    public func recordTxnRollbacks(_ count: UInt64) {
        rollbacks.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds scanned checkpoint bytes.
    public func recordCheckpointBytesScanned(_ bytes: UInt64) {
        checkpointBytes.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// Adds completed migration steps.
    public func recordMigrationSteps(_ count: UInt64 = 1) {
        migrationSteps.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds corrupt WAL records skipped.
    public func recordWALRecordsSkipped(_ count: UInt64) {
        skippedRecords.wrappingAdd(count, ordering: .relaxed)
    }

    /// Sets the warmup hit rate in thousandths; values above 1000 are clamped.
    public func recordWarmupHitRate(permille: UInt64) {
        warmupPermille.store(min(permille, 1000), ordering: .relaxed)
    }

    /// Sets the warmup hit rate from a ratio in `0…1` (rounded to thousandths; NaN counts as 0).
    public func recordWarmupHitRatio(_ ratio: Double) {
        let clamped = ratio.isNaN ? 0 : min(max(ratio, 0), 1)
        recordWarmupHitRate(permille: UInt64((clamped * 1000).rounded()))
    }

    /// Every counter's current value.
    public var counters: BootCounters {
        BootCounters(walRecordsReplayed: walRecordsReplayed, walBytesProcessed: walBytesProcessed,
                     pagesRecovered: pagesRecovered, txnsRolledBack: txnsRolledBack,
                     checkpointBytesScanned: checkpointBytesScanned, migrationStepsCompleted: migrationStepsCompleted,
                     warmupHitRatePermille: warmupHitRatePermille, walRecordsSkipped: walRecordsSkipped)
    }
}

/// The WAL counters, one stripe per recording thread.
///
/// The first four threads to record each claim a stripe (its owner: 0, then the thread's id). Only
/// its owner writes a stripe, so it adds with a relaxed load and store, no locked instruction, and no
/// two threads share a cache line. Other threads add atomically into a shared stripe; readers sum
/// them all. A thread id is reused only once its thread has ended, so a stripe never has two live
/// writers. (Not for signal handlers: one interrupting its own thread's add could lose it.)
struct WALCounters: ~Copyable, @unchecked Sendable {
    // @unchecked: the memory is reached only through atomics and freed once, in deinit.
    private static let recordsSlot = 0, bytesSlot = 1, ownerSlot = 2
    private static let ownedStripes = 4
    /// 16 slots of 8 bytes: 128 bytes a stripe.
    private static let stripeSlots = 16
    private static let stripeCount = ownedStripes + 1
    private let slots: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        // With stripes 128 bytes apart, two threads' counters (a stripe's first 24 bytes) never share
        // a 64-byte cache line, however the memory is aligned.
        slots = .allocate(capacity: Self.stripeCount * Self.stripeSlots)
        for index in 0..<(Self.stripeCount * Self.stripeSlots) { (slots + index).initialize(to: Atomic(0)) }
    }

    deinit {
        slots.deinitialize(count: Self.stripeCount * Self.stripeSlots)
        slots.deallocate()
    }

    private func stripe(_ index: Int) -> UnsafeMutablePointer<Atomic<UInt64>> {
        slots + index * Self.stripeSlots
    }

    func add(records: UInt64, bytes: UInt64) {
        let thread = UInt64(pthread_self())
        // The thread's id, hashed, picks the stripe it tries first, so threads spread out.
        let first = Int(truncatingIfNeeded: (thread &* 0x9E37_79B9_7F4A_7C15) >> 62)
        for probe in 0..<Self.ownedStripes {
            let stripe = stripe((first + probe) % Self.ownedStripes)
            let owner = stripe[Self.ownerSlot].load(ordering: .relaxed)
            if owner == thread || (owner == 0 && stripe[Self.ownerSlot].compareExchange(
                expected: 0, desired: thread, ordering: .relaxed).exchanged) {
                stripe[Self.recordsSlot].store(stripe[Self.recordsSlot].load(ordering: .relaxed) &+ records, ordering: .relaxed)
                stripe[Self.bytesSlot].store(stripe[Self.bytesSlot].load(ordering: .relaxed) &+ bytes, ordering: .relaxed)
                return
            }
        }
        let shared = stripe(Self.ownedStripes)
        shared[Self.recordsSlot].wrappingAdd(records, ordering: .relaxed)
        shared[Self.bytesSlot].wrappingAdd(bytes, ordering: .relaxed)
    }

    var records: UInt64 { sum(slot: Self.recordsSlot) }
    var bytes: UInt64 { sum(slot: Self.bytesSlot) }

    private func sum(slot: Int) -> UInt64 {
        var total: UInt64 = 0
        for index in 0..<Self.stripeCount { total &+= stripe(index)[slot].load(ordering: .relaxed) }
        return total
    }
}

/// The values of every ``BootMetrics`` counter at one moment.
public struct BootCounters: Sendable, Equatable, Codable {
    public var walRecordsReplayed: UInt64
    public var walBytesProcessed: UInt64
    public var pagesRecovered: UInt64
    public var txnsRolledBack: UInt64
    public var checkpointBytesScanned: UInt64
    public var migrationStepsCompleted: UInt64
    public var warmupHitRatePermille: UInt64
    public var walRecordsSkipped: UInt64

    public init(
        walRecordsReplayed: UInt64 = 0, walBytesProcessed: UInt64 = 0, pagesRecovered: UInt64 = 0,
        txnsRolledBack: UInt64 = 0, checkpointBytesScanned: UInt64 = 0, migrationStepsCompleted: UInt64 = 0,
        warmupHitRatePermille: UInt64 = 0, walRecordsSkipped: UInt64 = 0
    ) {
        self.walRecordsReplayed = walRecordsReplayed
        self.walBytesProcessed = walBytesProcessed
        self.pagesRecovered = pagesRecovered
        self.txnsRolledBack = txnsRolledBack
        self.checkpointBytesScanned = checkpointBytesScanned
        self.migrationStepsCompleted = migrationStepsCompleted
        self.warmupHitRatePermille = warmupHitRatePermille
        self.walRecordsSkipped = walRecordsSkipped
    }

    /// The warmup hit rate as a ratio in `0…1`.
    public var warmupHitRatio: Double { Double(warmupHitRatePermille) / 1000 }
}
