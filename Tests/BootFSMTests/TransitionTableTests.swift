// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

/// The seed's transition table, written out independently of the implementation.
private let seedTable: Set<[BootPhase]> = [
    [.uninitialized, .initializing],
    [.initializing, .migrating],
    [.migrating, .recovering], [.migrating, .readOnlyRecovery], [.migrating, .forceRecovery],
    [.recovering, .warmingUp], [.recovering, .ready],
    [.readOnlyRecovery, .ready],
    [.forceRecovery, .warmingUp], [.forceRecovery, .ready],
    [.warmingUp, .ready],
    [.ready, .shuttingDown],
]

/// Drives a fresh machine into `phase` along valid edges.
func machine(in phase: BootPhase, clock: ManualBootClock = ManualBootClock()) throws -> BootStateMachine {
    let fsm = BootStateMachine(clock: clock)
    let paths: [BootPhase: [BootPhase]] = [
        .uninitialized: [],
        .initializing: [.initializing],
        .migrating: [.initializing, .migrating],
        .recovering: [.initializing, .migrating, .recovering],
        .readOnlyRecovery: [.initializing, .migrating, .readOnlyRecovery],
        .forceRecovery: [.initializing, .migrating, .forceRecovery],
        .warmingUp: [.initializing, .migrating, .recovering, .warmingUp],
        .ready: [.initializing, .migrating, .recovering, .ready],
        .shuttingDown: [.initializing, .migrating, .recovering, .ready, .shuttingDown],
        .failed: [.initializing, .failed],
    ]
    for step in paths[phase]! { try fsm.transition(to: step) }
    #expect(fsm.currentPhase == phase)
    return fsm
}

@Suite("Transition table")
struct TransitionTableTests {
    @Test("every one of the 10×10 pairs", arguments: BootPhase.allCases, BootPhase.allCases)
    func pair(from: BootPhase, to: BootPhase) throws {
        let fsm = try machine(in: from)
        let allowed = to == .failed || seedTable.contains([from, to])
        #expect(from.canTransition(to: to) == allowed)
        if allowed {
            try fsm.transition(to: to)
            #expect(fsm.currentPhase == to)
        } else {
            let error = #expect(throws: BootError.self) { try fsm.transition(to: to) }
            #expect(error?.message == "Invalid transition: \(from.name) -> \(to.name)")
            #expect(error?.phase == from)
            #expect(fsm.currentPhase == from, "a refused transition changes nothing")
        }
    }

    @Test func namesAndRawValuesAreTheSeeds() {
        let names = BootPhase.allCases.map(\.name)
        #expect(names == ["uninitialized", "init", "migrate", "recover", "warmup", "ready",
                          "readonly_recovery", "force_recovery", "shutting_down", "failed"])
        #expect(BootPhase.allCases.map(\.rawValue) == Array(0...9))
        for phase in BootPhase.allCases { #expect(BootPhase(name: phase.name) == phase) }
        #expect(BootPhase.allCases.filter(\.isBooting) == [.initializing, .migrating, .recovering, .warmingUp,
                                                            .readOnlyRecovery, .forceRecovery])
        #expect(BootPhase.allCases.filter { !$0.isAlive } == [.failed])
        #expect(BootPhase.allCases.filter(\.isReady) == [.ready])
    }

    @Test func startBootTwiceIsRefused() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot(mode: .force)
        let error = #expect(throws: BootError.self) { try fsm.startBoot(mode: .normal) }
        #expect(error?.message == "Boot already started")
        #expect(fsm.recoveryMode == .force)
    }

    @Test("correction 7: uninitialized → init records the boot start")
    func transitionToInitStartsTheBoot() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        clock.advance(by: .seconds(5))
        try fsm.transition(to: .initializing)
        clock.advance(by: .seconds(2))
        let snapshot = fsm.snapshot()
        #expect(snapshot.totalElapsed == .seconds(2))
        #expect(snapshot.bootStartWallClock == .seconds(1_767_225_600 + 5))
        #expect(snapshot.recoveryMode == .normal)
        #expect(snapshot.progress.message == "Initializing core subsystems")
    }
}
