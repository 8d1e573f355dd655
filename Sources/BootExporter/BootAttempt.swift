// SPDX-License-Identifier: AGPL-3.0-or-later

/// One boot of a data directory as remembered across restarts (boot-exporter keeps a journal of
/// them), for ``BootHistorySource`` to publish.
public struct BootAttempt: Sendable, Equatable {
    /// How the boot ended.
    public enum Outcome: Sendable, Equatable {
        case ready
        case failed
        /// A shutdown was requested during the boot (a rolling restart): not a failure.
        case stopped
        /// The process ended (killed, crashed) before the boot did.
        case crashed
        /// The boot is still going.
        case running
    }

    /// A completed phase and how long it took.
    public struct PhaseDuration: Sendable, Equatable {
        /// The phase's name, as in the `phase` label of the boot metrics (`init`, `recover`, …).
        public var phase: String
        public var duration: Duration

        public init(phase: String, duration: Duration) {
            self.phase = phase
            self.duration = duration
        }
    }

    /// The boot's number in the data directory, counted across restarts from 1.
    public var attempt: UInt64
    public var outcome: Outcome
    /// The phase a failed boot failed in (`nil`: unknown, or not failed).
    public var failedPhase: String?
    /// Why the boot failed or stopped.
    public var reason: String?
    /// How long the boot took, to ready, failed or stopped (`nil` while it runs, or if it crashed).
    public var duration: Duration?
    /// The phases the boot completed, in order.
    public var phaseDurations: [PhaseDuration]

    public init(attempt: UInt64, outcome: Outcome, failedPhase: String? = nil, reason: String? = nil,
                duration: Duration? = nil, phaseDurations: [PhaseDuration] = []) {
        self.attempt = attempt
        self.outcome = outcome
        self.failedPhase = failedPhase
        self.reason = reason
        self.duration = duration
        self.phaseDurations = phaseDurations
    }
}
