// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// How the recovery phase treats the write-ahead log.
public enum RecoveryMode: Sendable, CaseIterable, Hashable {
    /// Full redo/undo; a torn tail is truncated.
    case normal
    /// Nothing in the data directory is written (forensics).
    case readOnly
    /// Corrupt records are skipped and counted instead of ending replay.
    case force

    /// The label used in metrics, the health JSON and flags: `normal`, `readonly`, `force`.
    public var name: String {
        switch self {
        case .normal: "normal"
        case .readOnly: "readonly"
        case .force: "force"
        }
    }

    /// The mode whose name is `name`, or `nil`.
    public init?(name: String) {
        guard let mode = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = mode
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

extension RecoveryMode: Codable {
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let mode = RecoveryMode(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown recovery mode \"\(name)\"")
        }
        self = mode
    }
}
