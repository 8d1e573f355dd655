// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

import Synchronization

/// A clock that moves only when told to, for deterministic tests of budgets, ETAs and elapsed times.
public final class ManualBootClock: BootClock {
    private struct Now {
        var monotonic: Duration
        var wallClock: Duration
    }

    private let now: StateMutex<Now>

    /// A clock whose monotonic time starts at zero and whose wall clock starts at `wallClock`
    /// (seconds since the Unix epoch; 2026-01-01T00:00:00Z by default).
    public init(wallClock: Duration = .seconds(1_767_225_600)) {
        now = StateMutex(Now(monotonic: .zero, wallClock: wallClock))
    }

    public func monotonicNow() -> Duration { now.withLock { $0.monotonic } }

    public func wallClockNow() -> Duration { now.withLock { $0.wallClock } }

    /// Moves both clocks forward by `duration` (which must not be negative).
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a monotonic clock cannot go backwards")
        now.withLock {
            $0.monotonic += duration
            $0.wallClock += duration
        }
    }
}
