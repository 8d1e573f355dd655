// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

@testable import BootFSM
import Synchronization
import Testing

/// What the machine allocates and stores, which its public API cannot show.
@Suite("Machine internals")
struct MachineInternalsTests {
    @Test("reads, changes of phase and an observer make no counters; the first record does")
    func countersAreMadeByTheFirstRecord() throws {
        let heard = Mutex(0)
        let fsm = BootStateMachine(onPhaseChange: { change in
            #expect(change.counters == BootCounters())
            heard.withLock { $0 += 1 }
        })
        try fsm.startBoot()
        try fsm.transition(to: .migrating)
        _ = fsm.snapshot()
        _ = fsm.healthStatus().toJSON()
        _ = fsm.currentProgress
        fsm.checkBudgets()
        fsm.updateProgress(PhaseProgress(message: "step", itemsProcessed: 1, itemsTotal: 2))
        fsm.fail(reason: "stop")
        #expect(heard.withLock { $0 } == 3)
        #expect(fsm.metricsAddress.load(ordering: .relaxed) == 0)
        fsm.recordPagesRecovered(1)
        #expect(fsm.metricsAddress.load(ordering: .relaxed) != 0)
    }

    @Test("the system clock, defaulted or given, is read directly; any other clock is kept")
    func systemClockIsRecognised() {
        #expect(BootStateMachine().injectedClock == nil)
        #expect(BootStateMachine(clock: SystemBootClock()).injectedClock == nil)
        let anyClock: any BootClock = SystemBootClock()
        #expect(BootStateMachine(clock: anyClock).injectedClock == nil)
        #expect(BootStateMachine(clock: ManualBootClock()).injectedClock != nil)
    }
}
