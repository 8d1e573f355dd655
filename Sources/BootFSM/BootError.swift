// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// An error of the boot: an invalid transition, an exceeded budget or a failed phase.
public struct BootError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The phase the machine was in when the error happened.
    public var phase: BootPhase
    /// What went wrong.
    public var message: String
    /// Whether retrying might succeed.
    public var recoverable: Bool

    public init(phase: BootPhase, message: String, recoverable: Bool = false) {
        self.phase = phase
        self.message = message
        self.recoverable = recoverable
    }

    /// The seed's format: `Boot error in phase recover: … (recoverable: false)`.
    public var description: String {
        "Boot error in phase \(phase.name): \(message) (recoverable: \(recoverable))"
    }
}
