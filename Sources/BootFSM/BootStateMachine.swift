// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

import Synchronization

/// A deterministic, thread-safe boot state machine with per-phase time budgets.
///
/// Phase, progress, budgets, history and failure live in one state behind one lock, so every read
/// is a consistent view. The recovery counters (``metrics``) are lock-free atomics beside it.
///
/// Budgets are checked at every observation: a transition, a read of the phase, progress, budget or
/// failure, a ``snapshot()``, ``healthStatus()`` or ``checkBudgets()``. Under
/// ``BudgetPolicy/failFast`` the first observation after a deadline fails the machine.
public final class BootStateMachine: Sendable {
    /// The configured budgets.
    public let budgets: BootBudgets
    /// What happens when a budget runs out.
    public let budgetPolicy: BudgetPolicy
    /// The recovery counters; record into them from any thread without locking.
    public let metrics = BootMetrics()

    private let clock: any BootClock
    private let state: StateMutex<State>
    private let observer: PhaseObserver?

    /// A machine in `uninitialized`.
    ///
    /// - Parameters:
    ///   - budgets: the time budgets; the seed's defaults unless given.
    ///   - budgetPolicy: what a budget that runs out does; ``BudgetPolicy/failFast`` by default.
    ///   - clock: where time comes from; tests inject ``ManualBootClock``.
    ///   - onPhaseChange: called once for every change of phase, in the order the changes happened,
    ///     outside the lock, with the counters as they were at the change. Calls never overlap: a
    ///     change is delivered by whichever thread is delivering when it is made, usually the one that
    ///     made it, so a call that changes the phase may return before the observer has seen that
    ///     change. The observer may read the machine and even change its phase (that change is
    ///     delivered after it returns); keep it short, since it delays the next delivery.
    public init(
        budgets: BootBudgets = BootBudgets(),
        budgetPolicy: BudgetPolicy = .failFast,
        clock: any BootClock = SystemBootClock(),
        onPhaseChange: (@Sendable (PhaseChange) -> Void)? = nil
    ) {
        self.budgets = budgets
        self.budgetPolicy = budgetPolicy
        self.clock = clock
        self.observer = onPhaseChange.map(PhaseObserver.init)
        self.state = StateMutex(State(phaseStart: clock.monotonicNow()))
    }

    // MARK: Reads (each one also enforces the budgets)

    /// The current phase.
    public var currentPhase: BootPhase { observe { state, _ in state.phase } }

    /// The current phase's progress, with `elapsed` set to the time spent in the phase.
    public var currentProgress: PhaseProgress {
        observe { state, now in
            var progress = state.progress
            progress.elapsed = now - state.phaseStart
            return progress
        }
    }

    /// Whether the machine is `ready`.
    public var isReady: Bool { currentPhase.isReady }

    /// Whether the machine has not failed.
    public var isAlive: Bool { currentPhase.isAlive }

    /// The recovery mode the boot was started with (`normal` before it starts).
    public var recoveryMode: RecoveryMode { state.withLock { $0.mode } }

    /// Time left in the current phase's budget; zero outside booting phases and once exceeded.
    public var remainingBudget: Duration {
        observe { state, now in state.phaseBudgetRemaining(budgets, now: now) }
    }

    /// Time since the boot started, zero before it starts.
    public var totalElapsed: Duration { observe { state, now in state.totalElapsed(now: now) } }

    /// Why the boot failed, once it has.
    public var failureReason: String? { observe { state, _ in state.failureReason } }

    /// The preload hints recovery left for warmup.
    public var preloadHints: PreloadHints { state.withLock { $0.hints } }

    /// Checks the budgets now; under ``BudgetPolicy/failFast`` an exceeded budget fails the machine.
    /// Returns whether a budget is exceeded. Call it periodically from long phases that report
    /// nothing, or rely on the exporter's scrapes, which observe the machine too.
    @discardableResult
    public func checkBudgets() -> Bool {
        observe { state, now in state.exceeded(budgets, now: now).any }
    }

    /// Everything about the machine at this moment, as one consistent value.
    public func snapshot() -> BootSnapshot {
        observe { state, now in state.snapshot(budgets: budgets, policy: budgetPolicy, counters: metrics.counters, now: now) }
    }

    /// The health report for probes and people: `HealthStatus(snapshot())`.
    public func healthStatus() -> HealthStatus {
        HealthStatus(snapshot())
    }

    // MARK: Changes

    /// Starts the boot: `uninitialized → init`, recording the boot's start and its recovery mode.
    public func startBoot(mode: RecoveryMode = .normal) throws(BootError) {
        try change { (state, now) throws(BootError) in
            guard state.phase == .uninitialized else {
                throw BootError(phase: state.phase, message: "Boot already started")
            }
            return state.start(mode: mode, now: now, wallClock: clock.wallClockNow())
        }
    }

    /// Moves to `next` if the seed's transition table allows it.
    ///
    /// Throws for an invalid transition (the machine is unchanged) and, under
    /// ``BudgetPolicy/failFast``, when the current phase or the whole boot ran over its budget (the
    /// machine is then `failed`). `uninitialized → init` is the same as ``startBoot(mode:)`` with
    /// `normal`. Failing an already failed machine changes nothing.
    public func transition(to next: BootPhase) throws(BootError) {
        var budgetFailure: BootError?
        try change { (state, now) throws(BootError) in
            let current = state.phase
            guard current.canTransition(to: next) else {
                throw BootError(phase: current, message: "Invalid transition: \(current.name) -> \(next.name)")
            }
            if next == .failed {
                return state.fail(reason: "Failed in \(current.name): transition to failed", budgets: budgets, now: now)
            }
            if current == .uninitialized {
                return state.start(mode: .normal, now: now, wallClock: clock.wallClockNow())
            }
            if let (change, error) = state.enforceBudgets(budgets, policy: budgetPolicy, now: now) {
                // Thrown once the change is made and delivered.
                budgetFailure = error
                return change
            }
            return state.enter(next, now: now)
        }
        if let budgetFailure { throw budgetFailure }
    }

    /// Replaces the current phase's progress (its `elapsed` is ignored: the machine measures it).
    /// The phase's first report starts measuring its rate of progress, from which the ETA comes.
    public func updateProgress(_ progress: PhaseProgress) {
        state.withLock { state in
            if state.rateOrigin == nil {
                // A first report that already shows progress was made by the work since the phase began.
                state.rateOrigin = (progress.fraction > 0 ? state.phaseStart : clock.monotonicNow(), 0)
            }
            state.progress = progress
        }
    }

    /// Fails the machine, with the reason `Failed in <phase>: <reason>`. The first failure's reason
    /// is kept; failing again changes nothing.
    public func fail(reason: String) {
        change { state, now in
            state.fail(reason: "Failed in \(state.phase.name): \(reason)", budgets: budgets, now: now)
        }
    }

    /// Sets the hints recovery leaves for warmup.
    public func setPreloadHints(_ hints: PreloadHints) {
        state.withLock { $0.hints = hints }
    }

    // MARK: Counters (forwarded to ``metrics``)

    /// Adds replayed WAL records and their bytes.
    public func recordWALProgress(records: UInt64, bytes: UInt64) {
        metrics.recordWALProgress(records: records, bytes: bytes)
    }

    /// Adds recovered pages.
    public func recordPagesRecovered(_ count: UInt64) { metrics.recordPagesRecovered(count) }

    /// Adds rolled-back transactions.
    public func recordTxnRollbacks(_ count: UInt64) { metrics.recordTxnRollbacks(count) }

    // MARK: Internals

    /// Runs `body` on the state under the lock, after failing the machine if a budget ran out
    /// (``BudgetPolicy/failFast``).
    private func observe<T>(_ body: (State, Duration) -> T) -> T {
        var failed = false
        let result = state.withLock { state in
            let now = clock.monotonicNow()
            if let (change, _) = state.enforceBudgets(budgets, policy: budgetPolicy, now: now) {
                queue(change, state: state)
                failed = true
            }
            return body(state, now)
        }
        if failed { observer?.deliver() }
        return result
    }

    /// Runs `body` under the lock and, if it changed the phase, queues the change for the observer
    /// and delivers it.
    private func change<E: Error>(_ body: (inout State, Duration) throws(E) -> State.Change?) throws(E) {
        let changed = try state.withLock { (state) throws(E) -> Bool in
            guard let change = try body(&state, clock.monotonicNow()) else { return false }
            queue(change, state: state)
            return true
        }
        if changed { observer?.deliver() }
    }

    /// Queues `change` for the observer, if there is one. Called under the lock, right after the
    /// change, so the queue holds the changes in the order they were made, with the counters of
    /// that moment.
    private func queue(_ change: State.Change, state: State) {
        observer?.enqueue(PhaseChange(
            from: change.from, to: change.to, duration: change.duration, totalElapsed: change.totalElapsed,
            failureReason: change.to == .failed ? state.failureReason : nil, counters: metrics.counters))
    }
}

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
        /// The (time, fraction) the current phase's rate of progress is measured from.
        var rateOrigin: (time: Duration, fraction: Double)?
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
            var phase = false
            var total = false
            var any: Bool { phase || total }
        }

        /// A change of phase.
        struct Change {
            var from: BootPhase
            var to: BootPhase
            var duration: Duration
            var totalElapsed: Duration
        }

        func totalElapsed(now: Duration) -> Duration {
            bootStart.map { now - $0 } ?? .zero
        }

        /// Time spent on the whole boot at `now`; it stops counting once the boot ended.
        private func totalSpent(now: Duration) -> Duration? {
            bootStart.map { (bootEnd ?? now) - $0 }
        }

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

        mutating func start(mode: RecoveryMode, now: Duration, wallClock: Duration) -> Change {
            self.mode = mode
            bootStart = now
            bootStartWallClock = wallClock
            let change = enter(.initializing, now: now)
            progress = PhaseProgress(message: "Initializing core subsystems")
            return change
        }

        /// Leaves the current phase for `next`, recording the phase left in the history.
        mutating func enter(_ next: BootPhase, now: Duration) -> Change {
            let change = Change(from: phase, to: next, duration: now - phaseStart, totalElapsed: totalElapsed(now: now))
            if phase != .uninitialized, let bootStart {
                history.append(PhaseTiming(phase: phase, start: phaseStart - bootStart, duration: change.duration))
            }
            phase = next
            phaseStart = now
            progress = PhaseProgress()
            rateOrigin = nil
            if next == .ready || next == .failed, bootEnd == nil, bootStart != nil { bootEnd = now }
            return change
        }

        /// Fails the machine unless it already failed (the first reason is kept).
        mutating func fail(reason: String, budgets: BootBudgets, now: Duration) -> Change? {
            guard phase != .failed else { return nil }
            exceededAtFailure = exceeded(budgets, now: now)
            failureReason = reason
            failedPhase = phase
            return enter(.failed, now: now)
        }

        /// Under `failFast`, fails a booting machine whose phase or total budget ran out; returns the
        /// change and the error to report, or `nil` when every budget holds or the policy only reports.
        mutating func enforceBudgets(_ budgets: BootBudgets, policy: BudgetPolicy, now: Duration) -> (Change, BootError)? {
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

        /// Time left in the phase at the rate observed since `rateOrigin`, or `nil` when no rate can
        /// be measured yet.
        private func eta(fraction: Double, now: Duration) -> Duration? {
            if fraction >= 1 { return .zero }
            guard let origin = rateOrigin, fraction > origin.fraction, now > origin.time else { return nil }
            let rate = (fraction - origin.fraction) / ((now - origin.time) / .seconds(1))
            let nanoseconds = ((1 - fraction) / rate * 1e9).rounded()
            // An estimate past ~292 years is no estimate.
            guard nanoseconds.isFinite, nanoseconds < 9.2e18 else { return nil }
            return .nanoseconds(Int64(nanoseconds))
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
