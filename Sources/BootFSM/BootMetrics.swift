// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

public import Synchronization

/// The recovery counters of a boot: lock-free, allocation-free relaxed atomics.
///
/// Every `record…` call is a single relaxed atomic add, safe from any thread; readers see each
/// counter's latest value (the counters are independent, so no cross-counter consistency is implied).
public final class BootMetrics: Sendable {
    // The hot counters are `@usableFromInline` so that recording into them inlines into callers in
    // other modules: the call would cost about as much as the atomic add itself.
    @usableFromInline let walRecords = Atomic<UInt64>(0)
    @usableFromInline let walBytes = Atomic<UInt64>(0)
    @usableFromInline let pages = Atomic<UInt64>(0)
    @usableFromInline let rollbacks = Atomic<UInt64>(0)
    private let checkpointBytes = Atomic<UInt64>(0)
    private let migrationSteps = Atomic<UInt64>(0)
    private let warmupPermille = Atomic<UInt64>(0)
    private let skippedRecords = Atomic<UInt64>(0)

    public init() {}

    /// WAL records replayed.
    public var walRecordsReplayed: UInt64 { walRecords.load(ordering: .relaxed) }
    /// WAL bytes processed.
    public var walBytesProcessed: UInt64 { walBytes.load(ordering: .relaxed) }
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
    @inlinable
    public func recordWALProgress(records: UInt64, bytes: UInt64) {
        walRecords.wrappingAdd(records, ordering: .relaxed)
        walBytes.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// Adds recovered pages.
    @inlinable
    public func recordPagesRecovered(_ count: UInt64) {
        pages.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds rolled-back transactions.
    @inlinable
    public func recordTxnRollbacks(_ count: UInt64) {
        rollbacks.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds scanned checkpoint bytes.
    @inline(__always)
    public func recordCheckpointBytesScanned(_ bytes: UInt64) {
        checkpointBytes.wrappingAdd(bytes, ordering: .relaxed)
    }

    /// Adds completed migration steps.
    @inline(__always)
    public func recordMigrationSteps(_ count: UInt64 = 1) {
        migrationSteps.wrappingAdd(count, ordering: .relaxed)
    }

    /// Adds corrupt WAL records skipped.
    @inline(__always)
    public func recordWALRecordsSkipped(_ count: UInt64) {
        skippedRecords.wrappingAdd(count, ordering: .relaxed)
    }

    /// Sets the warmup hit rate in thousandths; values above 1000 are clamped.
    @inline(__always)
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
        BootCounters(
            walRecordsReplayed: walRecordsReplayed,
            walBytesProcessed: walBytesProcessed,
            pagesRecovered: pagesRecovered,
            txnsRolledBack: txnsRolledBack,
            checkpointBytesScanned: checkpointBytesScanned,
            migrationStepsCompleted: migrationStepsCompleted,
            warmupHitRatePermille: warmupHitRatePermille,
            walRecordsSkipped: walRecordsSkipped
        )
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
