// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

private struct DiskOnFire: Error, CustomStringConvertible {
    var description: String { "disk on fire" }
}

@Suite("Orchestrator")
struct OrchestratorTests {
    @Test func successPathRunsEveryPhaseInOrder() throws {
        let orchestrator = BootOrchestrator()
        var seen: [BootPhase] = []
        try orchestrator.runBoot(
            mode: .normal,
            initialize: { seen.append($0.currentPhase) },
            migrate: { seen.append($0.currentPhase); $0.metrics.recordMigrationSteps() },
            recover: { fsm in
                seen.append(fsm.currentPhase)
                fsm.recordWALProgress(records: 10, bytes: 100)
                return PreloadHints(pageIDs: [1, 2], workingSetBytes: 8192)
            },
            warmup: { fsm, hints in
                seen.append(fsm.currentPhase)
                #expect(hints.pageIDs == [1, 2])
            }
        )
        #expect(seen == [.initializing, .migrating, .recovering, .warmingUp])
        #expect(orchestrator.fsm.isReady)
        #expect(orchestrator.fsm.preloadHints.workingSetBytes == 8192)
        #expect(orchestrator.fsm.snapshot().history.map(\.phase) == [.initializing, .migrating, .recovering, .warmingUp])
        try orchestrator.shutdown()
        #expect(orchestrator.fsm.currentPhase == .shuttingDown)
    }

    @Test("warmup is skipped when there is no working set, no index and no page")
    func warmupSkipped() throws {
        let orchestrator = BootOrchestrator()
        var warmedUp = false
        try orchestrator.runBoot(initialize: { _ in }, migrate: { _ in }, recover: { _ in PreloadHints() },
                                 warmup: { _, _ in warmedUp = true })
        #expect(!warmedUp)
        #expect(orchestrator.fsm.snapshot().history.map(\.phase) == [.initializing, .migrating, .recovering])
        #expect(orchestrator.fsm.isReady)
    }

    @Test("page IDs alone are worth a warmup (the seed skips them)")
    func pageIDsAloneWarmUp() throws {
        let orchestrator = BootOrchestrator()
        var warmedUp = false
        try orchestrator.runBoot(initialize: { _ in }, migrate: { _ in }, recover: { _ in PreloadHints(pageIDs: [7]) },
                                 warmup: { _, _ in warmedUp = true })
        #expect(warmedUp)
    }

    @Test("read-only recovery goes straight to ready (the seed fails trying warmup)")
    func readOnlyNeverWarmsUp() throws {
        let orchestrator = BootOrchestrator()
        var warmedUp = false
        try orchestrator.runBoot(mode: .readOnly, initialize: { _ in }, migrate: { _ in },
                                 recover: { _ in PreloadHints(indexes: ["primary"], workingSetBytes: 1) },
                                 warmup: { _, _ in warmedUp = true })
        #expect(!warmedUp)
        #expect(orchestrator.fsm.isReady)
        #expect(orchestrator.fsm.snapshot().history.map(\.phase) == [.initializing, .migrating, .readOnlyRecovery])
    }

    @Test func forceModeUsesForceRecovery() throws {
        let orchestrator = BootOrchestrator()
        try orchestrator.runBoot(mode: .force, initialize: { _ in }, migrate: { _ in },
                                 recover: { #expect($0.currentPhase == .forceRecovery); return PreloadHints() },
                                 warmup: { _, _ in })
        #expect(orchestrator.fsm.recoveryMode == .force)
    }

    @Test("correction 4: a throwing phase fails the machine with the error's message")
    func throwingPhaseFailsTheMachine() throws {
        let orchestrator = BootOrchestrator()
        var warmedUp = false
        let error = #expect(throws: BootError.self) {
            try orchestrator.runBoot(initialize: { _ in }, migrate: { _ in }, recover: { _ in throw DiskOnFire() },
                                     warmup: { _, _ in warmedUp = true })
        }
        #expect(error?.phase == .recovering)
        #expect(error?.message == "disk on fire")
        #expect(!warmedUp)
        #expect(orchestrator.fsm.currentPhase == .failed)
        #expect(orchestrator.fsm.failureReason == "Failed in recover: disk on fire")
        #expect(orchestrator.fsm.snapshot().failedPhase == .recovering)
        #expect(!orchestrator.fsm.isAlive)
    }

    @Test func aPhaseThatFailsTheMachineItselfKeepsItsReason() throws {
        let orchestrator = BootOrchestrator()
        #expect(throws: BootError.self) {
            try orchestrator.runBoot(initialize: { fsm in
                fsm.fail(reason: "config missing")
                throw DiskOnFire()
            }, migrate: { _ in }, recover: { _ in PreloadHints() }, warmup: { _, _ in })
        }
        #expect(orchestrator.fsm.failureReason == "Failed in init: config missing")
    }
}
