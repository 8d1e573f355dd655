// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// A phase of a database boot.
///
/// The raw values are the seed's (`0…9`) and are what `boot_phase_code` exports, so dashboards
/// can map them back to names.
public enum BootPhase: UInt8, Sendable, CaseIterable, Hashable {
    /// Before any boot activity.
    case uninitialized = 0
    /// Initializing core subsystems (allocator, configuration, logging, the data directory).
    case initializing = 1
    /// Running schema or on-disk format migrations.
    case migrating = 2
    /// Replaying the write-ahead log (redo committed work, undo the rest).
    case recovering = 3
    /// Warming caches and indexes.
    case warmingUp = 4
    /// Fully operational.
    case ready = 5
    /// Recovering without writing anything (forensics).
    case readOnlyRecovery = 6
    /// Recovering while skipping corrupt records.
    case forceRecovery = 7
    /// Graceful shutdown in progress.
    case shuttingDown = 8
    /// The boot failed; terminal.
    case failed = 9

    /// The seed's name for the phase (`"init"`, `"recover"`, `"readonly_recovery"`, …), used as the
    /// `phase` label of every metric and in the health JSON.
    public var name: String {
        switch self {
        case .uninitialized: "uninitialized"
        case .initializing: "init"
        case .migrating: "migrate"
        case .recovering: "recover"
        case .warmingUp: "warmup"
        case .ready: "ready"
        case .readOnlyRecovery: "readonly_recovery"
        case .forceRecovery: "force_recovery"
        case .shuttingDown: "shutting_down"
        case .failed: "failed"
        }
    }

    /// The phase whose seed name is `name`, or `nil`.
    public init?(name: String) {
        guard let phase = Self.allCases.first(where: { $0.name == name }) else { return nil }
        self = phase
    }

    /// Whether the system accepts traffic (readiness).
    public var isReady: Bool { self == .ready }

    /// Whether the process is alive (liveness): everything but `failed`.
    public var isAlive: Bool { self != .failed }

    /// Whether a boot is in progress: every phase between `uninitialized` and `ready`.
    public var isBooting: Bool {
        switch self {
        case .initializing, .migrating, .recovering, .warmingUp, .readOnlyRecovery, .forceRecovery: true
        case .uninitialized, .ready, .shuttingDown, .failed: false
        }
    }

    /// Whether the boot is over and succeeded: `ready`, or `shuttingDown` after it (progress then
    /// reads complete, and the startup probe passes).
    public var hasBooted: Bool { self == .ready || self == .shuttingDown }

    /// The seed's transition table, unchanged: any phase may fail; otherwise only the edges of
    /// `uninitialized → init → migrate → (recover | readonly_recovery | force_recovery) → warmup → ready
    /// → shutting_down`, where `recover` and `force_recovery` may skip warmup and `readonly_recovery` must.
    public func canTransition(to next: BootPhase) -> Bool {
        switch (self, next) {
        case (_, .failed): true
        case (.uninitialized, .initializing): true
        case (.initializing, .migrating): true
        case (.migrating, .recovering), (.migrating, .readOnlyRecovery), (.migrating, .forceRecovery): true
        case (.recovering, .warmingUp), (.recovering, .ready): true
        case (.readOnlyRecovery, .ready): true
        case (.forceRecovery, .warmingUp), (.forceRecovery, .ready): true
        case (.warmingUp, .ready): true
        case (.ready, .shuttingDown): true
        default: false
        }
    }
}

extension BootPhase: CustomStringConvertible {
    public var description: String { name }
}

extension BootPhase: Codable {
    /// Encodes as the seed's name, as the health JSON does.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let name = try container.decode(String.self)
        guard let phase = BootPhase(name: name) else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "unknown boot phase \"\(name)\"")
        }
        self = phase
    }
}
