// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// How the recovery phase treats the write-ahead log. Its raw value, `normal`, `readonly` or `force`,
/// is its name in metrics, the health JSON and flags, and its `Codable` form.
public enum RecoveryMode: String, Sendable, CaseIterable, Hashable, Codable {
    /// Full redo/undo; a torn tail is truncated.
    case normal
    /// Nothing in the data directory is written (forensics).
    case readOnly = "readonly"
    /// Corrupt records are skipped and counted instead of ending replay.
    case force

    /// The label used in metrics, the health JSON and flags: `normal`, `readonly`, `force`.
    public var name: String { rawValue }

    /// The mode whose name is `name`, or `nil`.
    public init?(name: String) {
        self.init(rawValue: name)
    }

    /// The recovery phase this mode boots through.
    public var recoveryPhase: BootPhase {
        switch self {
        case .normal: .recovering
        case .readOnly: .readOnlyRecovery
        case .force: .forceRecovery
        }
    }
}
