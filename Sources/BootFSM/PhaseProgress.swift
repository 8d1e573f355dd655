// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Progress of the current phase, as reported by the code doing the phase's work.
public struct PhaseProgress: Sendable, Equatable {
    /// Progress in percent (0–100). When non-zero it wins over the item and byte counts.
    public var percent: UInt8
    /// A human-readable status message.
    public var message: String
    /// Items processed so far (for example WAL records replayed).
    public var itemsProcessed: UInt64
    /// Items to process in all, or 0 when unknown.
    public var itemsTotal: UInt64
    /// Bytes processed so far.
    public var bytesProcessed: UInt64
    /// Bytes to process in all, or 0 when unknown.
    public var bytesTotal: UInt64
    /// Time spent in the phase. Filled in by the machine when read; ignored when reported.
    public var elapsed: Duration

    public init(
        percent: UInt8 = 0,
        message: String = "",
        itemsProcessed: UInt64 = 0,
        itemsTotal: UInt64 = 0,
        bytesProcessed: UInt64 = 0,
        bytesTotal: UInt64 = 0,
        elapsed: Duration = .zero
    ) {
        self.percent = percent
        self.message = message
        self.itemsProcessed = itemsProcessed
        self.itemsTotal = itemsTotal
        self.bytesProcessed = bytesProcessed
        self.bytesTotal = bytesTotal
        self.elapsed = elapsed
    }

    /// Progress as a fraction in `0…1`: `percent` when set, else items over their total, else bytes
    /// over their total, else 0.
    public var fraction: Double {
        if percent > 0 { return Double(min(percent, 100)) / 100 }
        if itemsTotal > 0 { return min(Double(itemsProcessed) / Double(itemsTotal), 1) }
        if bytesTotal > 0 { return min(Double(bytesProcessed) / Double(bytesTotal), 1) }
        return 0
    }
}
