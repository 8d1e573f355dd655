// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

extension BootStateMachine {
    /// The machine's mutable state; only ever touched under its lock.
    struct State {
        var phase: BootPhase = .uninitialized
        var mode: RecoveryMode = .normal
        /// Monotonic time the current phase began.
        var phaseStart: Duration
        /// Monotonic time the boot began, and its wall-clock time (since the Unix epoch).
        var bootStart: Duration?
        var bootStartWallClock: Duration?
        /// Monotonic time the boot first reached `ready` or `failed`: the total budget stops there.
        var bootEnd: Duration?
        var progress = PhaseProgress()
        /// The current phase's pace, from its first progress report on.
        var pace: ProgressPace?
        var failureReason: String?
        var failedPhase: BootPhase?
        /// The budgets' exceeded flags as they stood when the machine failed.
        var exceededAtFailure = Exceeded()
        var hints = PreloadHints()
        var history: [PhaseTiming] = []

        init(phaseStart: Duration) {
            self.phaseStart = phaseStart
        }

        struct Exceeded {
            var phase = false, total = false
            var any: Bool { phase || total }
        }

        func totalElapsed(now: Duration) -> Duration { bootStart.map { now - $0 } ?? .zero }

        /// Time spent on the whole boot at `now`; it stops counting once the boot ended.
        private func totalSpent(now: Duration) -> Duration? { bootStart.map { (bootEnd ?? now) - $0 } }

        /// Whether the phase's budget and the total budget have run out at `now`. As in the seed, a
        /// budget is spent when nothing of it remains; only booting phases can exceed the total. A
        /// failed machine reports the flags as they stood when it failed.
        func exceeded(_ budgets: BootBudgets, now: Duration) -> Exceeded {
            if phase == .failed { return exceededAtFailure }
            var flags = Exceeded()
            if let budget = budgets.budget(for: phase) { flags.phase = now - phaseStart >= budget }
            if phase.isBooting, let spent = totalSpent(now: now) { flags.total = spent >= budgets.totalBudget }
            return flags
        }

        func phaseBudgetRemaining(_ budgets: BootBudgets, now: Duration) -> Duration {
            budgets.budget(for: phase).map { $0.remaining(after: now - phaseStart) } ?? .zero
        }

        mutating func start(mode: RecoveryMode, now: Duration, wallClock: Duration) -> PhaseChange {
            self.mode = mode
            history.reserveCapacity(6) // a boot completes at most six phases
            bootStart = now
            bootStartWallClock = wallClock
            let change = enter(.initializing, now: now)
            progress = PhaseProgress(message: "Initializing core subsystems")
            return change
        }

        /// Leaves the current phase for `next`, recording the phase left in the history.
        mutating func enter(_ next: BootPhase, now: Duration) -> PhaseChange {
            // The failure reason and the counters are filled in by `fail` and the machine.
            let change = PhaseChange(from: phase, to: next, duration: now - phaseStart, totalElapsed: totalElapsed(now: now),
                                     failureReason: nil, counters: BootCounters())
            if phase != .uninitialized, let bootStart {
                history.append(PhaseTiming(phase: phase, start: phaseStart - bootStart, duration: change.duration))
            }
            phase = next
            phaseStart = now
            progress = PhaseProgress()
            pace = nil
            if next == .ready || next == .failed, bootEnd == nil, bootStart != nil { bootEnd = now }
            return change
        }

        /// Fails the machine unless it already failed (the first reason is kept).
        mutating func fail(reason: String, budgets: BootBudgets, now: Duration) -> PhaseChange? {
            guard phase != .failed else { return nil }
            exceededAtFailure = exceeded(budgets, now: now)
            failureReason = reason
            failedPhase = phase
            var change = enter(.failed, now: now)
            change.failureReason = reason
            return change
        }

        /// Under `failFast`, fails a booting machine whose phase or total budget ran out; returns the
        /// change and the error to report, or `nil` when every budget holds or the policy only reports.
        mutating func enforceBudgets(_ budgets: BootBudgets, policy: BudgetPolicy, now: Duration) -> (PhaseChange, BootError)? {
            guard policy == .failFast, phase.isBooting else { return nil }
            let flags = exceeded(budgets, now: now)
            guard flags.any else { return nil }
            let current = phase
            let reason = if flags.phase, let budget = budgets.budget(for: current) {
                "budget exceeded in phase \(current.name) (budget \(Self.seconds(budget)) s)"
            } else {
                "total budget exceeded in phase \(current.name) (budget \(Self.seconds(budgets.totalBudget)) s)"
            }
            guard let change = fail(reason: reason, budgets: budgets, now: now) else { return nil }
            return (change, BootError(phase: current, message: reason))
        }

        /// `1800`, or `0.5` for fractions of a second: how budgets are written in failure reasons.
        private static func seconds(_ duration: Duration) -> String {
            // From the attoseconds: `components` traps past Int64.max seconds, and a budget may be that large.
            let (seconds, rest) = duration.attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
            return rest == 0 ? String(seconds) : String(Double(duration.attoseconds) / 1e18)
        }

        func snapshot(budgets: BootBudgets, policy: BudgetPolicy, counters: BootCounters, now: Duration) -> BootSnapshot {
            let phaseElapsed = now - phaseStart
            var progress = self.progress
            progress.elapsed = phaseElapsed
            let fraction = phase.hasBooted ? 1 : progress.fraction
            let exceeded = exceeded(budgets, now: now)
            return BootSnapshot(
                phase: phase,
                recoveryMode: mode,
                budgetPolicy: policy,
                budgets: budgets,
                progress: progress,
                progressFraction: fraction,
                phaseETA: phase.isBooting ? eta(fraction: fraction, now: now) : nil,
                phaseElapsed: phaseElapsed,
                totalElapsed: totalElapsed(now: now),
                bootDuration: bootEnd.flatMap { end in bootStart.map { end - $0 } },
                bootStartWallClock: bootStartWallClock,
                phaseBudget: budgets.budget(for: phase),
                phaseBudgetRemaining: phaseBudgetRemaining(budgets, now: now),
                totalBudgetRemaining: totalSpent(now: now).map { budgets.totalBudget.remaining(after: $0) } ?? budgets.totalBudget,
                phaseBudgetExceeded: exceeded.phase,
                totalBudgetExceeded: exceeded.total,
                history: history,
                counters: counters,
                failureReason: failureReason,
                failedPhase: failedPhase
            )
        }

        private func eta(fraction: Double, now: Duration) -> Duration? {
            fraction >= 1 ? .zero : pace?.timeLeft(from: fraction, at: now)
        }
    }
}

extension Duration {
    /// What is left of `self` after `spent`, never negative; saturating, so that budgets near
    /// `Duration`'s limits do not trap.
    func remaining(after spent: Duration) -> Duration {
        let (left, overflow) = attoseconds.subtractingReportingOverflow(spent.attoseconds)
        if overflow { return Duration(attoseconds: spent.attoseconds < 0 ? .max : 0) }
        return Duration(attoseconds: max(left, 0))
    }
}
