// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// What recovery learned about the working set, for the warmup phase to preload.
public struct PreloadHints: Sendable, Equatable {
    /// Pages to preload.
    public var pageIDs: [UInt64]
    /// Indexes to preload.
    public var indexes: [String]
    /// Estimated working-set size in bytes.
    public var workingSetBytes: UInt64

    public init(pageIDs: [UInt64] = [], indexes: [String] = [], workingSetBytes: UInt64 = 0) {
        self.pageIDs = pageIDs
        self.indexes = indexes
        self.workingSetBytes = workingSetBytes
    }

    /// Whether there is anything to warm up. Unlike the seed, named pages count too.
    public var isEmpty: Bool { pageIDs.isEmpty && indexes.isEmpty && workingSetBytes == 0 }
}
