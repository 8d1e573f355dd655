// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

public import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The current phase's progress counts, which ``BootStateMachine/updateProgress(_:)`` writes without
/// taking the machine's lock: a sequence lock.
///
/// A writer claims the cell (one compare-and-swap makes `sequence` odd), stores the counts and
/// releases it (a plain store makes `sequence` even again). Readers, all under the machine's lock,
/// read the counts between two loads of `sequence` and read again if a writer was in between, so a
/// read never mixes two updates. Readers never delay writers, so a scrape building a report does not
/// hold up the thread replaying the WAL.
///
/// The message and the rate's origin stay in the machine's state, under its lock. The cell keeps the
/// raw bits of the state's message (which the state keeps alive, so equal bits are that very string)
/// and the phase they were admitted in: an update whose message has those bits, in that same phase,
/// needs nothing else and takes the lock-free path. Any other update goes through the lock. A change
/// of phase only moves `phaseChanges` on (a plain store, under the lock): the cell's counts, stamped with an
/// earlier phase, then no longer count, and the new phase's first update takes the lock.
@usableFromInline
struct ProgressCell: ~Copyable, Sendable {
    /// Even while no writer holds the cell, odd while one does.
    @usableFromInline let sequence = Atomic<UInt64>(0)
    @usableFromInline let percent = Atomic<UInt8>(0)
    @usableFromInline let itemsProcessed = Atomic<UInt64>(0)
    @usableFromInline let itemsTotal = Atomic<UInt64>(0)
    @usableFromInline let bytesProcessed = Atomic<UInt64>(0)
    @usableFromInline let bytesTotal = Atomic<UInt64>(0)
    /// The raw bits of the state's message, in two words.
    @usableFromInline let messageWord0 = Atomic<UInt64>(0)
    @usableFromInline let messageWord1 = Atomic<UInt64>(0)
    /// `phaseChanges` when the counts and the message were stored (none yet: `UInt64.max`).
    @usableFromInline let storedAtChange = Atomic<UInt64>(.max)
    /// The number of changes of phase so far; written only under the machine's lock.
    @usableFromInline let phaseChanges = Atomic<UInt64>(0)

    init() {}

    /// The raw bits of a string, to tell whether it is the state's message without reading the state.
    @inlinable @inline(__always)
    static func bits(of message: borrowing String) -> (UInt64, UInt64) {
        // Read in place: a copy of a string on the heap would cost a retain and a release, each an
        // atomic operation, on every update.
        withUnsafeBytes(of: message) { ($0.load(as: UInt64.self), $0.load(fromByteOffset: 8, as: UInt64.self)) }
    }

    /// Claims the cell for writing; returns the odd sequence number to pass to ``release(_:)``.
    @inlinable @inline(__always)
    func claim() -> UInt64 {
        if let claimed = tryClaim() { return claimed }
        return claimContended()
    }

    @inlinable @inline(__always)
    func tryClaim() -> UInt64? {
        let current = sequence.load(ordering: .relaxed)
        guard current & 1 == 0,
              sequence.compareExchange(expected: current, desired: current | 1, successOrdering: .acquiring,
                                       failureOrdering: .relaxed).exchanged else { return nil }
        // The odd number is ordered before the counts stored next: a reader that sees any of them
        // then sees the sequence moved. (No instruction on x86.)
        atomicMemoryFence(ordering: .releasing)
        return current | 1
    }

    /// ``claim()`` when another writer holds the cell: spins briefly, then yields the processor, so a
    /// writer that was preempted while holding it gets to run.
    @usableFromInline
    func claimContended() -> UInt64 {
        var attempts = 0
        while true {
            if let claimed = tryClaim() { return claimed }
            attempts += 1
            if attempts >= 64 { sched_yield() }
        }
    }

    /// Ends a write begun with ``claim()``.
    @inlinable @inline(__always)
    func release(_ claimed: UInt64) {
        sequence.store(claimed &+ 1, ordering: .releasing)
    }

    /// Stores `progress`'s counts; only while claimed.
    @inlinable @inline(__always)
    func store(_ progress: borrowing PhaseProgress) {
        percent.store(progress.percent, ordering: .relaxed)
        itemsProcessed.store(progress.itemsProcessed, ordering: .relaxed)
        itemsTotal.store(progress.itemsTotal, ordering: .relaxed)
        bytesProcessed.store(progress.bytesProcessed, ordering: .relaxed)
        bytesTotal.store(progress.bytesTotal, ordering: .relaxed)
    }

    /// Whether an update with a message of these bits may take the lock-free path; only while claimed.
    @inlinable @inline(__always)
    func admits(messageBits bits: (UInt64, UInt64)) -> Bool {
        storedAtChange.load(ordering: .relaxed) == phaseChanges.load(ordering: .relaxed)
            && messageWord0.load(ordering: .relaxed) == bits.0
            && messageWord1.load(ordering: .relaxed) == bits.1
    }

    /// Records the state's message, in the current phase; only while claimed, and under the
    /// machine's lock.
    func storeMessage(_ message: borrowing String) {
        let bits = Self.bits(of: message)
        messageWord0.store(bits.0, ordering: .relaxed)
        messageWord1.store(bits.1, ordering: .relaxed)
        storedAtChange.store(phaseChanges.load(ordering: .relaxed), ordering: .relaxed)
    }

    /// Notes a change of phase; only under the machine's lock. No claim: counts stored before it,
    /// or by an update that raced with it, are stamped with the phase before and are ignored.
    @inline(__always)
    func phaseChanged() {
        phaseChanges.store(phaseChanges.load(ordering: .relaxed) &+ 1, ordering: .relaxed)
    }

    /// Copies the counts into `progress` as one consistent reading, if they were stored in the
    /// current phase (else `progress` keeps the counts the phase began with); under the machine's lock.
    func load(into progress: inout PhaseProgress) {
        var attempts = 0
        while true {
            let before = sequence.load(ordering: .acquiring)
            if before & 1 == 1 {
                attempts += 1
                if attempts >= 64 { sched_yield() }
                continue
            }
            let percent = percent.load(ordering: .relaxed)
            let itemsProcessed = itemsProcessed.load(ordering: .relaxed)
            let itemsTotal = itemsTotal.load(ordering: .relaxed)
            let bytesProcessed = bytesProcessed.load(ordering: .relaxed)
            let bytesTotal = bytesTotal.load(ordering: .relaxed)
            let storedAtChange = storedAtChange.load(ordering: .relaxed)
            atomicMemoryFence(ordering: .acquiring)
            if sequence.load(ordering: .relaxed) == before {
                guard storedAtChange == phaseChanges.load(ordering: .relaxed) else { return }
                progress.percent = percent
                progress.itemsProcessed = itemsProcessed
                progress.itemsTotal = itemsTotal
                progress.bytesProcessed = bytesProcessed
                progress.bytesTotal = bytesTotal
                return
            }
        }
    }
}
