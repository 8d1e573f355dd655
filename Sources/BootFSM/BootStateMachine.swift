// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

public import Synchronization

/// A deterministic, thread-safe boot state machine with per-phase time budgets.
///
/// All phase, progress, budget and failure state lives behind one `Mutex`, so every read is a
/// consistent view; the current phase's progress counts, which updates write without the lock when
/// the message is unchanged, are read under it from a sequence lock (`ProgressCell`), and the
/// recovery counters (``metrics``) are lock-free atomics. Budgets are checked at every observation —
/// a transition, a read of the phase, a ``snapshot()`` or ``checkBudgets()`` — and under
/// ``BudgetPolicy/failFast`` the first observation after a deadline fails the machine.
public final class BootStateMachine: Sendable {
    /// The configured budgets.
    public let budgets: BootBudgets
    /// What happens when a budget runs out.
    public let budgetPolicy: BudgetPolicy
    /// The recovery counters; record into them from any thread without locking. Made at the first
    /// record or access: a machine that records nothing allocates none.
    ///
    /// Each access returns a new reference (a call, and a retain and release on the counters'
    /// shared header). In a loop, record through the machine's own `record…` methods, which take
    /// none, or read `metrics` once before the loop.
    public var metrics: BootMetrics {
        (existingMetrics ?? makeMetricsUnmanaged()).takeUnretainedValue()
    }
    /// The address of ``metrics`` once made (0 before), holding one reference to it; published by
    /// compare-and-swap, so threads racing to make it all end up with the same one.
    @usableFromInline let metricsAddress = Atomic<UInt>(0)

    /// The clock given to `init`, or `nil` for ``SystemBootClock``, which is then read directly: a
    /// call through the protocol, and copying and destroying the existential, cost more than the
    /// read itself on every transition. (In a box: an optional existential is copied through its
    /// value witnesses at every test for `nil`; a reference is one comparison.)
    let injectedClock: InjectedClock?
    private let onPhaseChange: (@Sendable (PhaseChange) -> Void)?
    private let state: StateMutex<MachineState>
    /// The current phase's progress counts, written by ``updateProgress(_:)`` without the lock when
    /// it can (see ``ProgressCell``); `state.progress`'s counts are loaded from it under the lock.
    @usableFromInline let progressCell = ProgressCell()
    /// `state.phase`, stored at every change of phase (under the lock), so that reading a phase
    /// that has no budget to enforce takes no lock: probes read readiness constantly.
    private let publishedPhase = Atomic<UInt8>(BootPhase.uninitialized.rawValue)
    /// Changes not yet handed to `onPhaseChange`, oldest first, and whether a thread is handing them
    /// over. Only used when there is an observer; taken inside `state`'s lock, never the other way.
    private let deliveries = StateMutex(Deliveries())

    /// A machine in `uninitialized`, on the system's clocks (``SystemBootClock``).
    ///
    /// - Parameters:
    ///   - budgets: the time budgets; the seed's defaults unless given.
    ///   - budgetPolicy: what a budget that runs out does; ``BudgetPolicy/failFast`` by default.
    ///   - onPhaseChange: called once for every change of phase, in the order the changes happened,
    ///     outside the lock, with the counters as they were at the change. Calls never overlap: each
    ///     change is delivered by whichever thread is delivering when it is queued or just after,
    ///     usually the one that made it (a transition, or a read that failed the machine on a
    ///     budget); so a call that changes the phase may return before the observer has seen that
    ///     change. The observer may read the machine and even change its phase (delivered after it
    ///     returns); keep it short, since it delays the next delivery.
    public convenience init(
        budgets: BootBudgets = BootBudgets(),
        budgetPolicy: BudgetPolicy = .failFast,
        onPhaseChange: (@Sendable (PhaseChange) -> Void)? = nil
    ) {
        self.init(budgets: budgets, budgetPolicy: budgetPolicy, injectedClock: nil, onPhaseChange: onPhaseChange)
    }

    /// A machine in `uninitialized` that reads time from `clock` (tests inject ``ManualBootClock``).
    /// The other parameters are as in ``init(budgets:budgetPolicy:onPhaseChange:)``.
    public convenience init(
        budgets: BootBudgets = BootBudgets(),
        budgetPolicy: BudgetPolicy = .failFast,
        clock: any BootClock,
        onPhaseChange: (@Sendable (PhaseChange) -> Void)? = nil
    ) {
        let injectedClock = type(of: clock) == SystemBootClock.self ? nil : InjectedClock(clock)
        self.init(budgets: budgets, budgetPolicy: budgetPolicy, injectedClock: injectedClock, onPhaseChange: onPhaseChange)
    }

    private init(budgets: BootBudgets, budgetPolicy: BudgetPolicy, injectedClock: InjectedClock?,
                 onPhaseChange: (@Sendable (PhaseChange) -> Void)?) {
        self.budgets = budgets
        self.budgetPolicy = budgetPolicy
        self.injectedClock = injectedClock
        self.onPhaseChange = onPhaseChange
        self.state = StateMutex(MachineState(now: injectedClock?.clock.monotonicNow() ?? SystemBootClock.monotonicNow()))
    }

    // MARK: Reads (each one also enforces the budgets)

    /// The current phase.
    public var currentPhase: BootPhase {
        // A booting phase under fail-fast is read under the lock, where its budgets are enforced.
        if let phase = BootPhase(rawValue: publishedPhase.load(ordering: .acquiring)), !enforcesBudgets(in: phase) {
            return phase
        }
        return observeUntimed { $0.phase }
    }

    /// The current phase's progress, with `elapsed` set to the time spent in the phase.
    public var currentProgress: PhaseProgress {
        observe { state, now in
            var progress = state.progress
            progress.elapsed = now.since(state.phaseStart)
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
        observe { state, now in state.budgetStatus(budgets: budgets, now: now).phaseRemaining }
    }

    /// Time since the boot started, zero before it starts.
    public var totalElapsed: Duration { observe { state, now in state.totalElapsed(now: now) } }

    /// Why the boot failed, once it has.
    public var failureReason: String? { observeUntimed { $0.failureReason } }

    /// The preload hints recovery left for warmup.
    public var preloadHints: PreloadHints { state.withLock { $0.hints } }

    /// Checks the budgets now; under ``BudgetPolicy/failFast`` an exceeded budget fails the machine.
    /// Returns whether a budget is exceeded. Call it periodically from long phases that report
    /// nothing, or rely on the exporter's scrapes, which observe the machine too.
    @discardableResult
    public func checkBudgets() -> Bool {
        observe { state, now in
            (state.phase == .failed ? state.exceededAtFailure : state.exceeded(budgets: budgets, now: now)).any
        }
    }

    /// Everything about the machine at this moment, as one consistent value.
    public func snapshot() -> BootSnapshot {
        let counters = self.counters
        return observe { state, now in
            let history = state.historyTimings()
            return state.snapshot(budgets: budgets, policy: budgetPolicy, counters: counters, now: now, history: history)
        }
    }

    /// The health report for probes and people: `HealthStatus(snapshot())`, with the history's
    /// entries kept from one report to the next instead of made anew.
    public func healthStatus() -> HealthStatus {
        let counters = self.counters
        // Made inside the critical section straight from the state, without a snapshot in between
        // (`HealthStatusTests` checks that both ways agree in every state).
        return observe { state, now in
            let entries = state.historyEntries()
            return HealthStatus.report(state: state, budgets: budgets, counters: counters, now: now, history: entries)
        }
    }

    // MARK: Changes

    /// Starts the boot: `uninitialized → init`, recording the boot's start and its recovery mode.
    public func startBoot(mode: RecoveryMode = .normal) throws(BootError) {
        try state.withLock { (state) throws(BootError) in
            // Time is read under the lock, so changes and reads never see it go backwards.
            let now = monotonicNow()
            let wallClock = wallClockNow()
            guard state.phase == .uninitialized else {
                throw BootError(phase: state.phase, message: "Boot already started")
            }
            didChangePhase(state.start(mode: mode, now: now, wallClock: wallClock, budgets: budgets), in: &state)
        }
        if onPhaseChange != nil { deliverChanges() }
    }

    /// Moves to `next` if the seed's transition table allows it.
    ///
    /// Throws for an invalid transition (the machine is unchanged) and, under
    /// ``BudgetPolicy/failFast``, when the current phase or the whole boot ran over its budget (the
    /// machine is then `failed`). `uninitialized → init` is the same as ``startBoot(mode:)`` with
    /// `normal`. Failing an already failed machine changes nothing.
    public func transition(to next: BootPhase) throws(BootError) {
        // At most one change per transition: no array to allocate on every call.
        var step: MachineState.Step?
        defer { if step != nil, onPhaseChange != nil { deliverChanges() } }
        try state.withLock { (state) throws(BootError) in
            defer { if let step { didChangePhase(step, in: &state) } }
            let now = monotonicNow()
            let current = state.phase
            guard current.canTransition(to: next) else {
                throw BootError(phase: current, message: "Invalid transition: \(current.name) -> \(next.name)")
            }
            if current == .uninitialized && next == .initializing {
                step = state.start(mode: .normal, now: now, wallClock: wallClockNow(), budgets: budgets)
                return
            }
            if next == .failed {
                step = state.fail(reason: "Failed in \(current.name): transition to failed", now: now, budgets: budgets)
                return
            }
            if let (failure, error) = state.enforceBudgets(budgets: budgets, policy: budgetPolicy, now: now) {
                step = failure
                throw error
            }
            step = state.enter(next, now: now, budgets: budgets)
        }
    }

    /// Replaces the current phase's progress. No allocation of its own. No lock when the message is
    /// the very string of the previous update (the usual update: counts moving on under one message;
    /// a short string, up to 15 UTF-8 bytes, is the same string whenever it is equal); one short lock
    /// otherwise, for the first update of each phase, and when another thread is writing progress.
    /// Not for signal handlers (one interrupting its own thread's update would wait for it forever).
    @inlinable
    public func updateProgress(_ progress: borrowing PhaseProgress) {
        // Inlined into the caller, so a progress built there goes from registers straight into the
        // cell. The lock-free path is one compare-and-swap and plain stores; the locked one took two
        // compare-and-swaps (the lock and its release).
        let messageBits = ProgressCell.bits(of: progress.message)
        if let claimed = progressCell.tryClaim() {
            if progressCell.admits(messageBits: messageBits) {
                progressCell.store(progress)
                progressCell.release(claimed)
                return
            }
            progressCell.release(claimed)
        }
        updateProgressLocked(progress)
    }

    /// ``updateProgress(_:)`` under the lock: a new message, the phase's first update (which starts
    /// measuring its rate), or another writer in the cell.
    @usableFromInline
    func updateProgressLocked(_ progress: borrowing PhaseProgress) {
        state.withLock { state in
            if state.progressOrigin == nil { startMeasuringRate(&state, firstFraction: progress.fraction) }
            // Claimed before the message changes: a lock-free update must not compare its message
            // with the bits of one already released.
            let claimed = progressCell.claim()
            // The caller's string is kept whenever it is not the very one held (even when equal),
            // so that its next updates, under the same string, match the cell's bits and skip the
            // lock; a caller that keeps one string pays for this once.
            if ProgressCell.bits(of: state.progress.message) != ProgressCell.bits(of: progress.message) {
                state.progress.message = progress.message
            }
            progressCell.store(progress)
            progressCell.storeMessage(state.progress.message)
            progressCell.release(claimed)
        }
    }

    /// Sets the point the phase's rate of progress is measured from, at its first report.
    private func startMeasuringRate(_ state: inout MachineState, firstFraction fraction: Double) {
        // If the first report already shows progress, the work since the phase began produced it.
        state.progressOrigin = fraction > 0 ? (state.phaseStart, 0) : (monotonicNow(), 0)
    }

    /// Fails the machine in one atomic step, with the reason `Failed in <phase>: <reason>`.
    /// The first failure's reason is kept; failing again changes nothing.
    public func fail(reason: String) {
        let step = state.withLock { state in
            let now = monotonicNow()
            return state.fail(reason: "Failed in \(state.phase.name): \(reason)", now: now, budgets: budgets)
                .map { didChangePhase($0, in: &state) }
        }
        if step != nil, onPhaseChange != nil { deliverChanges() }
    }

    /// Sets the hints recovery leaves for warmup.
    public func setPreloadHints(_ hints: PreloadHints) {
        state.withLock { $0.hints = hints }
    }

    // MARK: Counters (lock-free; forwarded to ``metrics``)

    /// Adds replayed WAL records and their bytes.
    @inlinable
    public func recordWALProgress(records: UInt64, bytes: UInt64) {
        withMetrics { $0.recordWALProgress(records: records, bytes: bytes) }
    }

    /// Adds recovered pages.
    @inlinable
    public func recordPagesRecovered(_ count: UInt64) { withMetrics { $0.recordPagesRecovered(count) } }

    /// Adds rolled-back transactions.
    @inlinable
    public func recordTxnRollbacks(_ count: UInt64) { withMetrics { $0.recordTxnRollbacks(count) } }

    /// Calls `body` with ``metrics`` without retaining it (the machine holds it until its deinit).
    @inlinable @inline(__always)
    func withMetrics(_ body: (BootMetrics) -> Void) {
        // The machine, which holds the counters, is kept alive until `body` is done with them.
        withExtendedLifetime(self) {
            (existingMetrics ?? makeMetricsUnmanaged())._withUnsafeGuaranteedRef(body)
        }
    }

    /// Every counter's value now (all zero while ``metrics`` is not made: reading makes nothing).
    private var counters: BootCounters {
        existingMetrics?._withUnsafeGuaranteedRef { $0.counters } ?? BootCounters()
    }

    /// ``metrics`` if it was made.
    @inlinable @inline(__always)
    var existingMetrics: Unmanaged<BootMetrics>? {
        // Acquiring: the counters' initialisation is seen before their address.
        let address = metricsAddress.load(ordering: .acquiring)
        guard address != 0, let pointer = UnsafeRawPointer(bitPattern: address) else { return nil }
        return Unmanaged.fromOpaque(pointer)
    }

    /// Makes ``metrics`` at its first use and returns the machine's reference to it (not retained
    /// again); a thread that loses the race to publish it uses the winner's. Out of line, so a loop
    /// of records inlines only the path that finds the counters made.
    @usableFromInline @inline(never)
    func makeMetricsUnmanaged() -> Unmanaged<BootMetrics> {
        let made = Unmanaged.passRetained(BootMetrics())
        let address = UInt(bitPattern: made.toOpaque())
        let (exchanged, winner) = metricsAddress.compareExchange(expected: 0, desired: address,
                                                                 successOrdering: .releasing,
                                                                 failureOrdering: .acquiring)
        if exchanged { return made }
        made.release()
        return Unmanaged<BootMetrics>.fromOpaque(UnsafeRawPointer(bitPattern: winner)!)
    }

    deinit {
        existingMetrics?.release()
    }

    // MARK: Internals

    /// A clock other than the system's.
    final class InjectedClock: Sendable {
        let clock: any BootClock
        init(_ clock: any BootClock) { self.clock = clock }
    }

    /// The observer's queue (a struct rather than a tuple: a tuple is destroyed through the
    /// runtime's generic path, on every machine's deinit).
    private struct Deliveries {
        var undelivered: [PhaseChange] = []
        var delivering = false
    }

    /// Runs `body` under the lock after enforcing the budgets at the current time.
    @inline(__always)
    private func observe<T>(_ body: (inout MachineState, Duration) -> T) -> T {
        var step: MachineState.Step?
        let result = state.withLock { state in
            let now = monotonicNow()
            if enforcesBudgets(in: state.phase) { step = enforceBudgets(&state, now: now) }
            progressCell.load(into: &state.progress)
            return body(&state, now)
        }
        if step != nil, onPhaseChange != nil { deliverChanges() }
        return result
    }

    /// ``observe(_:)`` for reads that need no time: the clock is read only when there are budgets to
    /// enforce (a booting phase under `failFast`), so reading the phase of a machine that is ready
    /// costs no clock read.
    private func observeUntimed<T>(_ body: (inout MachineState) -> T) -> T {
        var step: MachineState.Step?
        let result = state.withLock { state in
            if enforcesBudgets(in: state.phase) { step = enforceBudgets(&state, now: monotonicNow()) }
            return body(&state)
        }
        if step != nil, onPhaseChange != nil { deliverChanges() }
        return result
    }

    @inline(__always)
    private func monotonicNow() -> Duration {
        if let injectedClock { return injectedClock.clock.monotonicNow() }
        return SystemBootClock.monotonicNow()
    }

    @inline(__always)
    private func wallClockNow() -> Duration {
        if let injectedClock { return injectedClock.clock.wallClockNow() }
        return SystemBootClock.wallClockNow()
    }

    @inline(__always)
    private func enforcesBudgets(in phase: BootPhase) -> Bool {
        budgetPolicy == .failFast && phase.isBooting
    }

    /// Fails the machine, under the lock, if a budget ran out at `now`; returns the change.
    @inline(__always)
    private func enforceBudgets(_ state: inout MachineState, now: Duration) -> MachineState.Step? {
        state.enforceBudgets(budgets: budgets, policy: budgetPolicy, now: now).map { didChangePhase($0.0, in: &state) }
    }

    /// Follows every change of phase, under the machine's lock, right after the change: publishes
    /// the phase, tells the progress cell (whose counts then no longer count, and which takes the new
    /// phase's first update through the lock, where it starts measuring the rate), and queues `step`
    /// for the observer, if there is one, with the counters as they are at the change, so the queue
    /// holds the changes in order.
    @inline(__always) @discardableResult
    private func didChangePhase(_ step: MachineState.Step, in state: inout MachineState) -> MachineState.Step {
        progressCell.phaseChanged()
        publishedPhase.store(step.to.rawValue, ordering: .releasing)
        if onPhaseChange != nil {
            let change = PhaseChange(from: step.from, to: step.to, duration: step.duration,
                                     totalElapsed: step.totalElapsed,
                                     failureReason: step.to == .failed ? state.failureReason : nil,
                                     counters: counters)
            deliveries.withLock { $0.undelivered.append(change) }
        }
        return step
    }

    /// Hands the queued changes to the observer, oldest first, outside every lock. One thread
    /// delivers at a time (`delivering`, claimed and released under `deliveries`' lock); a thread
    /// that finds another delivering leaves its change to it, so a slow observer, or one that
    /// changes the phase, neither deadlocks nor reorders the changes.
    private func deliverChanges() {
        guard let onPhaseChange else { return }
        var next = deliveries.withLock { pending -> PhaseChange? in
            guard !pending.delivering, !pending.undelivered.isEmpty else { return nil }
            pending.delivering = true
            return pending.undelivered.removeFirst()
        }
        while let change = next {
            onPhaseChange(change)
            next = deliveries.withLock { pending in
                guard !pending.undelivered.isEmpty else {
                    pending.delivering = false
                    return nil
                }
                return pending.undelivered.removeFirst()
            }
        }
    }
}
