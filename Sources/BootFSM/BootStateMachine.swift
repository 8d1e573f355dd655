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
    ///   - onPhaseChange: called once for every change of phase, in order, never two calls at once,
    ///     outside the lock, with the counters as they were at the change, by whichever thread is
    ///     delivering then (so a change may return before its call). It may read the machine and change
    ///     its phase; keep it short: it delays the next delivery.
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
    public var remainingBudget: Duration { observe { state, now in state.phaseBudgetRemaining(budgets, now: now) } }

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
    public func checkBudgets() -> Bool { observe { state, now in state.exceeded(budgets, now: now).any } }

    /// Everything about the machine at this moment, as one consistent value.
    public func snapshot() -> BootSnapshot {
        observe { state, now in state.snapshot(budgets: budgets, policy: budgetPolicy, counters: metrics.counters, now: now) }
    }

    /// The health report for probes and people: `HealthStatus(snapshot())`.
    public func healthStatus() -> HealthStatus { HealthStatus(snapshot()) }

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
    /// The phase's first report starts the pace the ETA comes from (at the phase's start if it shows progress).
    public func updateProgress(_ progress: PhaseProgress) {
        state.withLock { state in
            ProgressPace.report(&state.pace, from: state.progress.fraction, to: progress.fraction,
                                phaseStart: state.phaseStart, now: clock.monotonicNow)
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
    private func observe<T>(_ body: (borrowing State, Duration) -> T) -> T {
        var failed = false
        let result = state.withLock { state in
            let now = clock.monotonicNow()
            if let (change, _) = state.enforceBudgets(budgets, policy: budgetPolicy, now: now) {
                queue(change)
                failed = true
            }
            return body(state, now)
        }
        if failed { observer?.deliver() }
        return result
    }

    /// Runs `body` under the lock and, if it changed the phase, queues the change for the observer
    /// and delivers it.
    private func change<E: Error>(_ body: (inout State, Duration) throws(E) -> PhaseChange?) throws(E) {
        let changed = try state.withLock { (state) throws(E) -> Bool in
            guard let change = try body(&state, clock.monotonicNow()) else { return false }
            queue(change)
            return true
        }
        if changed { observer?.deliver() }
    }

    /// Queues `change` for the observer, if there is one, with the counters now. Called under the
    /// lock, right after the change, so the queue holds the changes in the order they were made.
    private func queue(_ change: PhaseChange) {
        guard let observer else { return }
        var change = change
        change.counters = metrics.counters
        observer.enqueue(change)
    }
}
