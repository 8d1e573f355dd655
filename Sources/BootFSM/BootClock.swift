// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

#if canImport(Glibc)
import Glibc
#endif

/// The time source of a ``BootStateMachine``. Inject ``ManualBootClock`` to test budget logic
/// without sleeping.
public protocol BootClock: Sendable {
    /// Monotonic time since an arbitrary fixed origin; never goes backwards.
    func monotonicNow() -> Duration
    /// Wall-clock time since the Unix epoch, used only to publish when the boot started.
    func wallClockNow() -> Duration
}

/// The system's clocks: `CLOCK_MONOTONIC` and `CLOCK_REALTIME`.
public struct SystemBootClock: BootClock {
    public init() {}

    public func monotonicNow() -> Duration { Self.read(CLOCK_MONOTONIC) }

    public func wallClockNow() -> Duration { Self.read(CLOCK_REALTIME) }

    private static func read(_ id: clockid_t) -> Duration {
        var time = timespec()
        clock_gettime(id, &time)
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }
}
