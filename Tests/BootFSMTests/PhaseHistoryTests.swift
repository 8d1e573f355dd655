// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootFSM
import Testing

@Suite("Phase history storage")
struct PhaseHistoryTests {
    /// The slots in place and the array past them read back what was appended, in order, at every
    /// length: a boot never completes more than six phases, but more must not be lost either.
    @Test func readsBackEveryEntryInOrder() {
        var history = PhaseHistory()
        var expected: [PhaseTiming] = []
        #expect(history.map { $0 }.isEmpty)
        for index in 0..<20 {
            let timing = PhaseTiming(phase: BootPhase.allCases[index % BootPhase.allCases.count],
                                     start: .milliseconds(index * 100), duration: .nanoseconds(index * 7 + 1))
            history.append(timing)
            expected.append(timing)
            #expect(history.count == expected.count)
            #expect(history.map { $0 } == expected)
            #expect(history[index] == timing)
        }
    }

    /// A whole boot, through the machine: the history it reports is the phases it left, in order.
    @Test func aMachineRecordsTheLongestPathThroughTheTable() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot()
        for next in [BootPhase.migrating, .recovering, .warmingUp, .ready, .shuttingDown] {
            clock.advance(by: .milliseconds(10))
            try fsm.transition(to: next)
        }
        clock.advance(by: .milliseconds(10))
        fsm.fail(reason: "after shutting down")
        let snapshot = fsm.snapshot()
        #expect(snapshot.history.map(\.phase) == [.initializing, .migrating, .recovering, .warmingUp, .ready, .shuttingDown])
        #expect(snapshot.history.map(\.duration) == Array(repeating: .milliseconds(10), count: 6))
        #expect(snapshot.history.map(\.start) == (0..<6).map { .milliseconds($0 * 10) })
        #expect(fsm.healthStatus().phaseHistory.map(\.durationMs) == Array(repeating: 10, count: 6))
    }
}
