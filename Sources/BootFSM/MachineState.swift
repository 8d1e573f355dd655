// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// The mutable state of a ``BootStateMachine``; only ever touched under its lock.
struct MachineState: Sendable {
    var phase: BootPhase = .uninitialized
    var mode: RecoveryMode = .normal
    /// Monotonic time the current phase began.
    var phaseStart: Duration
    /// Monotonic time the boot began.
    var bootStart: Duration?
    var bootStartWallClock: Duration?
    /// Monotonic time the boot reached `ready` or `failed`.
    var bootEnd: Duration?
    var progress = PhaseProgress()
    /// The (time, fraction) the current phase's rate of progress is measured from.
    var progressOrigin: (time: Duration, fraction: Double)?
    var failureReason: String?
    var failedPhase: BootPhase?
    /// The exceeded flags as they stood when the machine failed.
    var exceededAtFailure = ExceededFlags()
    var hints = PreloadHints()
    /// Only ever appended to (``historyTimings()`` and ``historyEntries()`` rely on it: their copies
    /// are current while the counts agree).
    var history = PhaseHistory()
    /// No budget can have run out before this time (on the monotonic clock): the earlier of the
    /// phase's and the total budget's deadlines, set at every change of phase, so that checking the
    /// budgets is one comparison until then. `Duration(attoseconds: .max)` when nothing can run out.
    /// (A `Duration`, not an `Int128`: a 16-byte-aligned field made every machine an aligned
    /// allocation, `posix_memalign` instead of `malloc`.)
    var budgetsHoldUntil = Duration(attoseconds: .max)
    /// `history` as snapshots and health reports list it, each made on the first read after a change
    /// of phase and kept until the next: probes and scrapes read far more often than the phase changes.
    private var snapshotHistory: [PhaseTiming] = []
    private var reportedHistory: [HealthStatus.PhaseEntry] = []

    @inline(__always) // built in place inside the machine's lock: out of line, it was built and then copied
    init(now: Duration) {
        phaseStart = now
    }

    struct ExceededFlags {
        var phase = false
        var total = false
        var any: Bool { phase || total }
    }

    struct BudgetStatus {
        var phaseBudget: Duration?
        var phaseRemaining: Duration
        var phaseExceeded: Bool
        var totalRemaining: Duration
        var totalExceeded: Bool
    }

    @inline(__always)
    func totalElapsed(now: Duration) -> Duration {
        guard let bootStart else { return .inlineZero }
        return now.since(bootStart)
    }

    /// Time spent on the whole boot at `now`: it stops counting once the boot first reached
    /// `ready` or `failed`.
    @inline(__always)
    private func totalSpent(now: Duration) -> Duration? {
        bootStart.map { (bootEnd ?? now).since($0) }
    }

    /// Whether the current phase's budget and the total budget have run out at `now`: the one
    /// definition that ``budgetStatus(budgets:now:)``, failing and enforcement share. As in the seed,
    /// a budget is spent when nothing of it remains; only booting phases can exceed the total.
    @inline(__always)
    func exceeded(budgets: BootBudgets, now: Duration) -> ExceededFlags {
        var flags = ExceededFlags()
        if let budget = budgets.budget(for: phase) { flags.phase = now.since(phaseStart).isAtLeast(budget) }
        if phase.isBooting, let spent = totalSpent(now: now) { flags.total = spent.isAtLeast(budgets.totalBudget) }
        return flags
    }

    /// The budgets as they stand at `now`. Only booting phases have a phase budget; the total
    /// budget runs from the start of the boot to its end.
    @inline(__always)
    func budgetStatus(budgets: BootBudgets, now: Duration) -> BudgetStatus {
        let phaseBudget = budgets.budget(for: phase)
        let flags = exceeded(budgets: budgets, now: now)
        return BudgetStatus(
            phaseBudget: phaseBudget,
            phaseRemaining: phaseBudget?.remaining(after: now.since(phaseStart)) ?? .inlineZero,
            phaseExceeded: flags.phase,
            totalRemaining: totalSpent(now: now).map { budgets.totalBudget.remaining(after: $0) } ?? budgets.totalBudget,
            totalExceeded: flags.total
        )
    }

    // MARK: Changes

    /// A change of phase as the machine's methods return it: cheap to build on every transition.
    /// The observer's ``PhaseChange`` (with the counters) is made from it only when there is an
    /// observer.
    struct Step {
        var from: BootPhase
        var to: BootPhase
        var duration: Duration
        var totalElapsed: Duration
        // (No failure reason: a step holds no reference, so making, copying and dropping one costs
        // nothing on every transition; the observer's change takes the reason from the state.)
    }

    mutating func start(mode: RecoveryMode, now: Duration, wallClock: Duration, budgets: BootBudgets) -> Step {
        self.mode = mode
        bootStart = now
        bootStartWallClock = wallClock
        let step = enter(.initializing, now: now, budgets: budgets, recordHistory: false)
        progress = PhaseProgress(message: "Initializing core subsystems")
        return step
    }

    /// Leaves the current phase for `next`, recording the phase left in the history.
    @discardableResult @inline(__always)
    mutating func enter(_ next: BootPhase, now: Duration, budgets: BootBudgets, recordHistory: Bool = true) -> Step {
        let left = phase
        let duration = now.since(phaseStart)
        if recordHistory, let bootStart {
            history.append(PhaseTiming(phase: left, start: phaseStart.since(bootStart), duration: duration))
        }
        phase = next
        phaseStart = now
        progress = PhaseProgress()
        progressOrigin = nil
        if next == .ready || next == .failed, bootEnd == nil, bootStart != nil {
            bootEnd = now
        }
        // (Fields passed one by one: a method on `self` here made the compiler copy the whole state.)
        budgetsHoldUntil = Duration(attoseconds: Self.earliestDeadline(phase: next, phaseStart: now, bootStart: bootStart,
                                                                       bootEnd: bootEnd, budgets: budgets))
        // (`totalElapsed(now:)` spelled out: calling it here made the compiler copy the whole state.)
        return Step(from: left, to: next, duration: duration, totalElapsed: bootStart.map { now.since($0) } ?? .inlineZero)
    }

    /// Fails the machine unless it already failed (the first reason is kept).
    mutating func fail(reason: String, now: Duration, budgets: BootBudgets) -> Step? {
        guard phase != .failed else { return nil }
        exceededAtFailure = exceeded(budgets: budgets, now: now)
        failureReason = reason
        failedPhase = phase
        return enter(.failed, now: now, budgets: budgets, recordHistory: phase != .uninitialized)
    }

    /// Under `failFast`, fails a booting machine whose phase or total budget ran out. Returns the
    /// change and the error to report, or `nil` when every budget holds (or the policy only reports).
    @inline(__always)
    mutating func enforceBudgets(budgets: BootBudgets, policy: BudgetPolicy, now: Duration) -> (Step, BootError)? {
        // The common case, every budget holding, is one comparison.
        guard policy == .failFast, now.isAtLeast(budgetsHoldUntil) else { return nil }
        return failOnExceededBudget(budgets: budgets, now: now)
    }

    /// The first time, in attoseconds, at which ``exceeded(budgets:now:)`` can be true in `phase`:
    /// only booting phases can exceed a budget; the phase's budget runs from its start, the total
    /// from the boot's start. (A booting phase after the boot ended, which the transition table does
    /// not allow, would be checked every time: its spent total is fixed.)
    private static func earliestDeadline(phase: BootPhase, phaseStart: Duration, bootStart: Duration?,
                                         bootEnd: Duration?, budgets: BootBudgets) -> Int128 {
        guard phase.isBooting else { return .max }
        // (A sum that overflows, from a clock or budget near the limits, means checking every time.)
        var deadline = Int128.max
        if let budget = budgets.budget(for: phase) {
            let (sum, overflow) = phaseStart.attoseconds.addingReportingOverflow(budget.attoseconds)
            deadline = overflow ? .min : sum
        }
        if let bootStart {
            guard bootEnd == nil else { return .min }
            let (sum, overflow) = bootStart.attoseconds.addingReportingOverflow(budgets.totalBudget.attoseconds)
            deadline = min(deadline, overflow ? .min : sum)
        }
        return deadline
    }

    /// ``enforceBudgets(budgets:policy:now:)`` past the earliest deadline.
    private mutating func failOnExceededBudget(budgets: BootBudgets, now: Duration) -> (Step, BootError)? {
        guard phase.isBooting else { return nil }
        let flags = exceeded(budgets: budgets, now: now)
        guard flags.any else { return nil }
        let current = phase
        let reason: String
        if flags.phase, let phaseBudget = budgets.budget(for: current) {
            reason = "budget exceeded in phase \(current.name) (budget \(formatSeconds(phaseBudget)) s)"
        } else {
            reason = "total budget exceeded in phase \(current.name) (budget \(formatSeconds(budgets.totalBudget)) s)"
        }
        guard let step = fail(reason: reason, now: now, budgets: budgets) else { return nil }
        return (step, BootError(phase: current, message: reason))
    }

    /// The snapshot at `now`, its history being `history` (``historyTimings()``, made by the caller:
    /// a mutating call here made the compiler copy the whole state to build the report).
    @inline(__always)
    func snapshot(budgets: BootBudgets, policy: BudgetPolicy, counters: BootCounters, now: Duration,
                  history: [PhaseTiming]) -> BootSnapshot {
        let status = budgetStatus(budgets: budgets, now: now)
        let phaseElapsed = now.since(phaseStart)
        var progress = self.progress
        progress.elapsed = phaseElapsed
        let fraction = phase.hasBooted ? 1 : progress.fraction
        let failed = phase == .failed
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
            bootDuration: bootEnd.flatMap { end in bootStart.map { end.since($0) } },
            bootStartWallClock: bootStartWallClock,
            phaseBudget: status.phaseBudget,
            phaseBudgetRemaining: status.phaseRemaining,
            totalBudgetRemaining: status.totalRemaining,
            phaseBudgetExceeded: failed ? exceededAtFailure.phase : status.phaseExceeded,
            totalBudgetExceeded: failed ? exceededAtFailure.total : status.totalExceeded,
            history: history,
            counters: counters,
            failureReason: failureReason,
            failedPhase: failedPhase
        )
    }

    /// ``history`` as an array, for snapshots. The history only ever grows, so the array made for
    /// the last snapshot is current while its count is.
    mutating func historyTimings() -> [PhaseTiming] {
        if snapshotHistory.count != history.count {
            snapshotHistory = history.map { $0 }
        }
        return snapshotHistory
    }

    /// ``history`` as ``HealthStatus/phaseHistory`` lists it (see ``historyTimings()``).
    mutating func historyEntries() -> [HealthStatus.PhaseEntry] {
        if reportedHistory.count != history.count {
            reportedHistory = history.map(HealthStatus.PhaseEntry.init)
        }
        return reportedHistory
    }

    /// Time left in the phase at the rate observed since `progressOrigin`, or `nil` when no rate
    /// can be measured yet.
    func eta(fraction: Double, now: Duration) -> Duration? {
        if fraction >= 1 { return .inlineZero }
        guard let origin = progressOrigin, fraction > origin.fraction, !origin.time.isAtLeast(now) else { return nil }
        let seconds = now.since(origin.time).secondsValue
        let rate = (fraction - origin.fraction) / seconds
        let left = (1 - fraction) / rate
        let nanoseconds = (left * 1e9).rounded()
        // An estimate past ~292 years is no estimate.
        guard nanoseconds.isFinite, nanoseconds < 9.2e18 else { return nil }
        return .nanoseconds(Int64(nanoseconds))
    }
}
