// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Hands a machine's changes of phase to its `onPhaseChange` callback: each once, oldest first, one
/// call at a time, outside the machine's lock.
///
/// The machine queues each change under its own lock, as it makes it, then asks for delivery. One
/// thread delivers at a time; a thread that finds another delivering leaves its change to it. So a
/// slow callback, or one that changes the phase itself, neither deadlocks nor reorders the changes.
final class PhaseObserver: Sendable {
    private struct Queue {
        var pending: [PhaseChange] = []
        var delivering = false
    }

    private let callback: @Sendable (PhaseChange) -> Void
    private let queue = StateMutex(Queue())

    init(_ callback: @escaping @Sendable (PhaseChange) -> Void) {
        self.callback = callback
    }

    func enqueue(_ change: PhaseChange) {
        queue.withLock { $0.pending.append(change) }
    }

    /// Delivers every queued change, unless another thread is already doing so.
    func deliver() {
        var next = queue.withLock { queue -> PhaseChange? in
            guard !queue.delivering, !queue.pending.isEmpty else { return nil }
            queue.delivering = true
            return queue.pending.removeFirst()
        }
        while let change = next {
            callback(change)
            next = queue.withLock { queue in
                guard !queue.pending.isEmpty else {
                    queue.delivering = false
                    return nil
                }
                return queue.pending.removeFirst()
            }
        }
    }
}
