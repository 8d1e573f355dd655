// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// Runs a boot through its phases with one callback per phase, keeping the machine truthful: a
/// callback that throws fails the machine with the error's message.
public final class BootOrchestrator: Sendable {
    /// The machine being driven; hand it to the exporter.
    public let fsm: BootStateMachine

    /// An orchestrator driving `fsm`.
    public init(fsm: BootStateMachine) {
        self.fsm = fsm
    }

    /// An orchestrator driving a new machine with `budgets`.
    public convenience init(budgets: BootBudgets = BootBudgets(), budgetPolicy: BudgetPolicy = .failFast) {
        self.init(fsm: BootStateMachine(budgets: budgets, budgetPolicy: budgetPolicy))
    }

    /// Boots: `init`, `migrate`, the recovery phase of `mode`, `warmup` when recovery returned hints
    /// (never in read-only mode, whose phase cannot lead to warmup), then `ready`.
    ///
    /// A callback that throws fails the machine with its message and the error is rethrown as a
    /// ``BootError``; so is an invalid transition or an exceeded budget.
    public func runBoot(
        mode: RecoveryMode = .normal,
        initialize: (BootStateMachine) throws -> Void,
        migrate: (BootStateMachine) throws -> Void,
        recover: (BootStateMachine) throws -> PreloadHints,
        warmup: (BootStateMachine, PreloadHints) throws -> Void
    ) throws(BootError) {
        try fsm.startBoot(mode: mode)
        try step { try initialize(fsm) }
        try fsm.transition(to: .migrating)
        try step { try migrate(fsm) }
        try fsm.transition(to: mode.recoveryPhase)
        let hints = try step { try recover(fsm) }
        fsm.setPreloadHints(hints)
        if mode != .readOnly, !hints.isEmpty {
            try fsm.transition(to: .warmingUp)
            try step { try warmup(fsm, hints) }
        }
        try fsm.transition(to: .ready)
    }

    /// Begins a graceful shutdown: `ready → shutting_down`.
    public func shutdown() throws(BootError) {
        try fsm.transition(to: .shuttingDown)
    }

    private func step<T>(_ body: () throws -> T) throws(BootError) -> T {
        do { return try body() } catch { throw failure(error) }
    }

    /// Fails the machine for a callback's error, unless it already failed (the callback itself may
    /// have called `fail`), and returns the error to rethrow.
    private func failure(_ error: any Error) -> BootError {
        let phase = fsm.currentPhase
        let message = (error as? BootError)?.message ?? String(describing: error)
        fsm.fail(reason: message)
        return (error as? BootError) ?? BootError(phase: phase, message: message)
    }
}
