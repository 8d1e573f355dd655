// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// How long one phase of the boot took.
public struct PhaseTiming: Sendable, Equatable {
    /// The phase.
    public var phase: BootPhase
    /// When it began, as an offset from the start of the boot.
    public var start: Duration
    /// How long it lasted.
    public var duration: Duration

    public init(phase: BootPhase, start: Duration, duration: Duration) {
        self.phase = phase
        self.start = start
        self.duration = duration
    }
}

/// A change of phase, as handed to the machine's phase-change observer.
public struct PhaseChange: Sendable, Equatable {
    /// The phase left.
    public var from: BootPhase
    /// The phase entered.
    public var to: BootPhase
    /// How long `from` lasted.
    public var duration: Duration
    /// Time since the boot started, at the change.
    public var totalElapsed: Duration
    /// The failure reason, when `to` is `failed`.
    public var failureReason: String?
    /// The counters at the change (read under the machine's lock, just after it).
    public var counters: BootCounters
}

/// Everything about the machine at one moment: one consistent, immutable value.
///
/// Phase, progress, budgets, history and failure come from the same critical section, so a snapshot
/// never mixes the phase of one moment with the progress or budget of another. Counters are read in
/// that section too; being lock-free, each is as current as its last `record…` call.
public struct BootSnapshot: Sendable {
    /// The current phase.
    public var phase: BootPhase
    /// The recovery mode the boot was started with.
    public var recoveryMode: RecoveryMode
    /// The budget policy in force.
    public var budgetPolicy: BudgetPolicy
    /// The configured budgets.
    public var budgets: BootBudgets
    /// The current phase's progress, `elapsed` filled in.
    public var progress: PhaseProgress
    /// ``PhaseProgress/fraction`` of ``progress``, or 1 once the machine is ready or shutting down.
    public var progressFraction: Double
    /// Estimated time left in the current phase at its recent pace (a 30 to 60 s window; steady between bursts
    /// of reports, rising in a stall until progress resumes: <doc:BootLifecycle>). `nil` until the phase's
    /// progress has moved, and outside booting phases.
    public var phaseETA: Duration?
    /// Time spent in the current phase.
    public var phaseElapsed: Duration
    /// Time since the boot started (zero before it starts).
    public var totalElapsed: Duration
    /// How long the boot took, from `init` to `ready` or `failed`; `nil` while it runs.
    public var bootDuration: Duration?
    /// When the boot started, as wall-clock time since the Unix epoch; `nil` before it starts.
    public var bootStartWallClock: Duration?
    /// The current phase's budget, or `nil` when the phase has none.
    public var phaseBudget: Duration?
    /// Time left in the current phase's budget; 0 outside booting phases and once exceeded.
    public var phaseBudgetRemaining: Duration
    /// Time left in the total budget: all of it before the boot, what was left at the end after it.
    public var totalBudgetRemaining: Duration
    /// Whether the current phase's budget has run out (after a failure: whether it had when the
    /// machine failed).
    public var phaseBudgetExceeded: Bool
    /// Whether the total budget has run out (after a failure: whether it had when the machine failed).
    public var totalBudgetExceeded: Bool
    /// Every completed phase of this boot, in order.
    public var history: [PhaseTiming]
    /// The recovery counters.
    public var counters: BootCounters
    /// Why the boot failed, once failed.
    public var failureReason: String?
    /// The phase the machine was in when it failed, once failed.
    public var failedPhase: BootPhase?

    /// Whether either budget has run out.
    public var budgetExceeded: Bool { phaseBudgetExceeded || totalBudgetExceeded }

    /// The progress in whole percent: 100 once booted, else the caller's `percent` when set (at most
    /// 100), else the fraction's rounded down after a nudge of 10^-12, so that 29 of 100 items
    /// (28.999…%) reads 29 while 99.999999999% still reads 99.
    public var progressPercent: UInt8 {
        if phase.hasBooted { return 100 }
        if progress.percent > 0 { return min(progress.percent, 100) }
        let percent = progressFraction * 100 * (1 + 1e-12)
        // (False for NaN too. Converting truncates, which for these values is rounding down.)
        guard percent >= 1 else { return 0 }
        return percent >= 100 ? 100 : UInt8(percent)
    }
}
