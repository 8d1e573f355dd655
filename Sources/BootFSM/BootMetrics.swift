// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

public import Synchronization

// Public: the inlinable `recordWALProgress` reads the calling thread's id (`pthread_self`).
#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

/// The recovery counters of a boot: lock-free, allocation-free relaxed atomics.
///
/// Every `record…` call is one or two relaxed atomic adds, safe from any thread; readers see each
/// counter's latest value (the counters are independent, so no cross-counter consistency is implied).
///
/// The WAL counters, the hottest (a redo loop may record every record, from several threads), are
/// per thread: the first four threads that record each claim a stripe of their own, on cache lines of
/// their own, and add into it with plain loads and stores (no other thread writes it, so no locked
/// instruction is needed); later threads add atomically into a shared stripe. A read sums them. Two
/// threads replaying at once then neither pass one cache line back and forth nor pay for an atomic
/// add on every call.
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
            walStripes.add(records: records, bytes: bytes)
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

/// The striped WAL counters: ``owned`` stripes that one thread each claims, then a shared one, each
/// of 128 bytes, aligned to 128 bytes, the counters at the start of each, so that no two stripes'
/// counters share a cache line. Plain allocated memory rather than stored properties (which cannot
/// be aligned, nor padded without initialising the padding). (A machine makes its ``BootMetrics``
/// at the first record, so one that records nothing allocates no stripes either.)
///
/// A stripe's `owner` is the id of the thread that claimed it (0 while free). Only its owner writes
/// its counters, so it adds with a relaxed load and a relaxed store, which need no locked instruction;
/// readers load them. A thread's id is only reused once the thread has ended, so a stripe is never
/// written by two live threads; a stripe whose owner has ended is simply used by whichever new
/// thread gets its id, or by nobody. Threads that find no stripe free add atomically into the shared
/// stripe, and a thread whose first stripe (by its id's hash) is another's finds its own out of line:
/// both cost speed only. (Not for signal handlers: one interrupting its own thread's add could lose it.)
@usableFromInline
struct WALStripes: ~Copyable, @unchecked Sendable {
    // @unchecked: the memory is only reached through atomics, and freed once, by the owner's deinit.
    /// Stripes one thread each can own; the shared stripe follows them.
    @inlinable static var owned: Int { 4 }
    @inlinable static var records: Int { 0 }
    @inlinable static var bytes: Int { 1 }
    @inlinable static var owner: Int { 2 }
    /// Counters per stripe; 16 of 8 bytes is 128 bytes.
    @inlinable static var stride: Int { 16 }
    static var byteCount: Int { (owned + 1) * stride * 8 }

    /// The stripes: `owned + 1` of `stride` counters each.
    @usableFromInline let base: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        guard let memory = aligned_alloc(128, Self.byteCount) else { fatalError("BootMetrics: out of memory") }
        base = memory.bindMemory(to: Atomic<UInt64>.self, capacity: Self.byteCount / 8)
        for stripe in 0...Self.owned {
            (base + stripe * Self.stride + Self.records).initialize(to: Atomic(0))
            (base + stripe * Self.stride + Self.bytes).initialize(to: Atomic(0))
            (base + stripe * Self.stride + Self.owner).initialize(to: Atomic(0))
        }
    }

    deinit {
        Self.release(base)
    }

    private static func release(_ base: UnsafeMutablePointer<Atomic<UInt64>>) {
        for stripe in 0...owned {
            (base + stripe * stride + records).deinitialize(count: 1)
            (base + stripe * stride + bytes).deinitialize(count: 1)
            (base + stripe * stride + owner).deinitialize(count: 1)
        }
        free(base)
    }

    /// The calling thread's id: never 0, and unique among live threads.
    @inlinable @inline(__always)
    static func callingThread() -> UInt64 {
        #if canImport(Darwin)
        UInt64(UInt(bitPattern: pthread_self()))
        #else
        UInt64(pthread_self())
        #endif
    }

    /// The stripe a thread looks at first: its id's hash, so threads spread over the stripes.
    @inlinable @inline(__always)
    static func firstStripe(of thread: UInt64) -> Int {
        Int(truncatingIfNeeded: (thread &* 0x9E37_79B9_7F4A_7C15) >> 62) & (owned - 1)
    }

    /// Adds to the calling thread's stripe: inline when the thread owns its first stripe, the usual case.
    @inlinable @inline(__always)
    func add(records: UInt64, bytes: UInt64) {
        let thread = Self.callingThread()
        let stripe = base + Self.firstStripe(of: thread) * Self.stride
        if stripe[Self.owner].load(ordering: .relaxed) == thread {
            Self.addOwned(stripe, records: records, bytes: bytes)
            return
        }
        addClaiming(thread: thread, records: records, bytes: bytes)
    }

    /// Adds to a stripe only the calling thread writes.
    @inlinable @inline(__always)
    static func addOwned(_ stripe: UnsafeMutablePointer<Atomic<UInt64>>, records: UInt64, bytes: UInt64) {
        stripe[Self.records].store(stripe[Self.records].load(ordering: .relaxed) &+ records, ordering: .relaxed)
        stripe[Self.bytes].store(stripe[Self.bytes].load(ordering: .relaxed) &+ bytes, ordering: .relaxed)
    }

    /// Adds for a thread that does not own its first stripe: into another stripe it owns or claims
    /// now, else atomically into the shared stripe.
    @usableFromInline
    func addClaiming(thread: UInt64, records: UInt64, bytes: UInt64) {
        let first = Self.firstStripe(of: thread)
        for probe in 0..<Self.owned {
            let stripe = base + ((first + probe) & (Self.owned - 1)) * Self.stride
            let owner = stripe[Self.owner].load(ordering: .relaxed)
            if owner == thread
                || (owner == 0 && stripe[Self.owner].compareExchange(
                    expected: 0, desired: thread, ordering: .relaxed).exchanged) {
                Self.addOwned(stripe, records: records, bytes: bytes)
                return
            }
        }
        let shared = base + Self.owned * Self.stride
        shared[Self.records].wrappingAdd(records, ordering: .relaxed)
        shared[Self.bytes].wrappingAdd(bytes, ordering: .relaxed)
    }

    /// The sum of one counter over the stripes.
    func sum(slot: Int) -> UInt64 {
        var total: UInt64 = 0
        for stripe in 0...Self.owned { total &+= base[stripe * Self.stride + slot].load(ordering: .relaxed) }
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
