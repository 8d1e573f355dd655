// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

public import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The recovery counters of a boot: lock-free, allocation-free relaxed atomics.
///
/// Every `record…` call is one or two relaxed atomic adds, safe from any thread; readers see each
/// counter's latest value (the counters are independent, so no cross-counter consistency is implied).
///
/// The WAL counters, the hottest (a redo loop may record every record, from several threads), are
/// striped: each thread adds into one of four stripes, each on cache lines of its own, picked by its
/// stack's address, and a read sums them. Two threads replaying at once then do not pass one cache
/// line back and forth on every call.
public final class BootMetrics: Sendable {
    // The hot counters are `@usableFromInline` so that recording into them inlines into callers in
    // other modules: the call would cost about as much as the atomic add itself.
    @usableFromInline let walStripes = WALStripes()
    @usableFromInline let pages = Atomic<UInt64>(0)
    @usableFromInline let rollbacks = Atomic<UInt64>(0)
    private let checkpointBytes = Atomic<UInt64>(0)
    private let migrationSteps = Atomic<UInt64>(0)
    private let warmupPermille = Atomic<UInt64>(0)
    private let skippedRecords = Atomic<UInt64>(0)

    public init() {}

    /// WAL records replayed.
    public var walRecordsReplayed: UInt64 {
        walStripes.sum(slot: WALStripes.records)
    }
    /// WAL bytes processed.
    public var walBytesProcessed: UInt64 {
        walStripes.sum(slot: WALStripes.bytes)
    }
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
        // `self` owns the stripes' memory: kept alive until the adds are done, even inlined elsewhere.
        withExtendedLifetime(self) {
            let stripe = walStripes.forCallingThread()
            stripe[WALStripes.records].wrappingAdd(records, ordering: .relaxed)
            stripe[WALStripes.bytes].wrappingAdd(bytes, ordering: .relaxed)
        }
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

/// The striped WAL counters: ``count`` stripes of 128 bytes each, aligned to 128 bytes, the
/// counters at the start of each, so that no two stripes' counters share a cache line. Plain
/// allocated memory rather than stored properties: a machine is made with one small allocation
/// more, instead of a noncopyable array's generic initialisation and destruction (and aligned by
/// hand inside it: `malloc`'s aligned allocations cost several times more to make and free).
@usableFromInline
struct WALStripes: ~Copyable, @unchecked Sendable {
    // @unchecked: the memory is only reached through atomics, and freed once, by the owner's deinit.
    @inlinable static var count: Int { 4 }
    @inlinable static var records: Int { 0 }
    @inlinable static var bytes: Int { 1 }
    /// Counters per stripe; 16 of 8 bytes is 128 bytes.
    @inlinable static var stride: Int { 16 }

    @usableFromInline let base: UnsafeMutablePointer<Atomic<UInt64>>
    private let allocation: UnsafeMutableRawPointer

    init() {
        // `malloc`, aligned by hand below: the standard library's raw `allocate` takes the Swift
        // runtime's aligned path (posix_memalign) whatever alignment it is given.
        guard let memory = malloc(Self.count * Self.stride * 8 + 128) else { fatalError("BootMetrics: out of memory") }
        allocation = memory
        let aligned = UnsafeMutableRawPointer(bitPattern: (UInt(bitPattern: allocation) + 127) & ~UInt(127))!
        base = aligned.bindMemory(to: Atomic<UInt64>.self, capacity: Self.count * Self.stride)
        for stripe in 0..<Self.count {
            (base + stripe * Self.stride + Self.records).initialize(to: Atomic(0))
            (base + stripe * Self.stride + Self.bytes).initialize(to: Atomic(0))
        }
    }

    deinit {
        for stripe in 0..<Self.count {
            (base + stripe * Self.stride + Self.records).deinitialize(count: 1)
            (base + stripe * Self.stride + Self.bytes).deinitialize(count: 1)
        }
        free(allocation)
    }

    /// The calling thread's stripe, from its stack's address. Threads' stacks are far apart: 8 MiB
    /// each by default with glibc, 512 KiB on Darwin, 128 KiB with musl; the address bits at each of
    /// those scales are mixed, so threads started one after the other land on different stripes with
    /// any of them. Two threads may share a stripe, or one thread use two; either only costs speed.
    @inlinable @inline(__always)
    func forCallingThread() -> UnsafeMutablePointer<Atomic<UInt64>> {
        var marker: UInt8 = 0
        let address = withUnsafeMutablePointer(to: &marker) { UInt(bitPattern: $0) }
        let stripe = Int(truncatingIfNeeded: (address >> 17) ^ (address >> 19) ^ (address >> 23)) & (Self.count - 1)
        return base + stripe * Self.stride
    }

    /// The sum of one counter over the stripes.
    func sum(slot: Int) -> UInt64 {
        var total: UInt64 = 0
        for stripe in 0..<Self.count { total &+= base[stripe * Self.stride + slot].load(ordering: .relaxed) }
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
