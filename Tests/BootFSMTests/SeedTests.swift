// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

/// The seed's own five tests, ported. The seed's `test_boot_fsm_transitions` never finishes there
/// (its `transition_to` deadlocks); here it completes.
@Suite("The seed's tests")
struct SeedTests {
    @Test func bootFSMTransitions() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot(mode: .normal)
        #expect(fsm.currentPhase == .initializing)
        try fsm.transition(to: .migrating)
        try fsm.transition(to: .recovering)
        try fsm.transition(to: .warmingUp)
        try fsm.transition(to: .ready)
        #expect(fsm.isReady)
        #expect(fsm.isAlive)
    }

    @Test func invalidTransition() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot(mode: .normal)
        #expect(throws: BootError.self) { try fsm.transition(to: .ready) }
        #expect(fsm.currentPhase == .initializing)
    }

    @Test func healthStatus() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot(mode: .normal)
        let status = fsm.healthStatus()
        #expect(!status.isReady)
        #expect(status.isAlive)
        #expect(status.isBooting)
        #expect(status.phase.name == "init")
    }

    @Test func progressTracking() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot(mode: .normal)
        fsm.recordWALProgress(records: 100, bytes: 4096)
        #expect(fsm.metrics.walRecordsReplayed == 100)
        #expect(fsm.metrics.walBytesProcessed == 4096)
    }

    @Test func kubernetesBudgets() {
        let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: 600)
        #expect(budgets.recoverBudget >= .seconds(300))
        #expect(budgets.totalBudget == .seconds(600))
    }
}
