// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
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

    public func monotonicNow() -> Duration { Self.monotonicNow() }

    public func wallClockNow() -> Duration { Self.wallClockNow() }

    /// `CLOCK_MONOTONIC`, for the machine's direct reads (no protocol dispatch).
    @inline(__always)
    static func monotonicNow() -> Duration { read(CLOCK_MONOTONIC) }

    /// `CLOCK_REALTIME`, for the machine's direct reads.
    @inline(__always)
    static func wallClockNow() -> Duration { read(CLOCK_REALTIME) }

    @inline(__always)
    private static func read(_ id: clockid_t) -> Duration {
        var ts = timespec()
        clock_gettime(id, &ts)
        return .seconds(Int64(ts.tv_sec), nanoseconds: Int64(ts.tv_nsec))
    }
}
