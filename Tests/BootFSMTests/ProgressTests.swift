// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Testing

@Suite("Progress, ETA and history")
struct ProgressTests {
    @Test func fractionPrefersPercentThenItemsThenBytes() {
        #expect(PhaseProgress().fraction == 0)
        #expect(PhaseProgress(percent: 40, itemsProcessed: 1, itemsTotal: 10).fraction == 0.4)
        #expect(PhaseProgress(itemsProcessed: 1, itemsTotal: 4, bytesProcessed: 3, bytesTotal: 4).fraction == 0.25)
        #expect(PhaseProgress(bytesProcessed: 3, bytesTotal: 4).fraction == 0.75)
        #expect(PhaseProgress(percent: 250).fraction == 1)
        #expect(PhaseProgress(itemsProcessed: 9, itemsTotal: 4).fraction == 1)
    }

    @Test("whole percent rounds down, but never below the exact value (29 of 100 is 29, not 28)")
    func wholePercentOfTheFraction() throws {
        let fsm = BootStateMachine(clock: ManualBootClock())
        try fsm.startBoot()
        for (done, expected) in [(0, 0), (1, 1), (29, 29), (57, 57), (99, 99), (100, 100), (150, 100)] as [(UInt64, UInt8)] {
            fsm.updateProgress(PhaseProgress(itemsProcessed: done, itemsTotal: 100))
            #expect(fsm.healthStatus().progressPercent == expected, "\(done) of 100")
            #expect(fsm.snapshot().progressPercent == expected, "\(done) of 100")
        }
        fsm.updateProgress(PhaseProgress(itemsProcessed: 99_999_999_999, itemsTotal: 100_000_000_000))
        #expect(fsm.healthStatus().progressPercent == 99, "never 100 before done")
        fsm.updateProgress(PhaseProgress(percent: 42, itemsProcessed: 1, itemsTotal: 100))
        #expect(fsm.healthStatus().progressPercent == 42, "the caller's percent wins")
    }

    /// Progress reported after the boot (the seed accepts it in any phase) cannot make a ready
    /// machine read 10% done next to a fraction of 1.
    @Test("ready and shutting down read 100% and a fraction of 1, whatever is reported after the boot")
    func completeOnceBooted() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot()
        for phase in [BootPhase.migrating, .recovering, .warmingUp, .ready] { try fsm.transition(to: phase) }
        for phase in [BootPhase.ready, .shuttingDown] {
            if phase == .shuttingDown { try fsm.transition(to: .shuttingDown) }
            for progress in [PhaseProgress(percent: 10), PhaseProgress(itemsProcessed: 1, itemsTotal: 4), PhaseProgress()] {
                fsm.updateProgress(progress)
                #expect(fsm.healthStatus().progressPercent == 100, "\(phase.name)")
                #expect(fsm.healthStatus().progressFraction == 1, "\(phase.name)")
                #expect(fsm.snapshot().progressPercent == 100, "\(phase.name)")
                #expect(HealthStatus(fsm.snapshot()).progressPercent == 100, "\(phase.name)")
            }
        }
    }

    @Test func currentProgressCarriesElapsed() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(3))
        fsm.updateProgress(PhaseProgress(percent: 10, message: "opening", elapsed: .seconds(99)))
        let progress = fsm.currentProgress
        #expect(progress.percent == 10)
        #expect(progress.message == "opening")
        #expect(progress.elapsed == .seconds(3))
        #expect(fsm.snapshot().progress.elapsed == .seconds(3))
    }

    @Test func etaFromTheObservedRate() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        #expect(fsm.snapshot().phaseETA == nil)
        clock.advance(by: .seconds(5)) // reading the checkpoint: not part of the rate
        fsm.updateProgress(PhaseProgress(itemsProcessed: 0, itemsTotal: 1000))
        #expect(fsm.snapshot().phaseETA == nil, "no rate before any progress")
        clock.advance(by: .seconds(10))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 250, itemsTotal: 1000))
        var snapshot = fsm.snapshot()
        #expect(snapshot.progressFraction == 0.25)
        #expect(snapshot.phaseETA == .seconds(30))
        // A stall lowers the observed rate and so raises the estimate.
        clock.advance(by: .seconds(10))
        snapshot = fsm.snapshot()
        #expect(snapshot.phaseETA == .seconds(60))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 1000, itemsTotal: 1000))
        #expect(fsm.snapshot().phaseETA == .zero)
    }

    @Test func etaWhenTheFirstReportAlreadyShowsProgress() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .migrating, clock: clock)
        clock.advance(by: .seconds(4))
        fsm.updateProgress(PhaseProgress(percent: 50))
        #expect(fsm.snapshot().phaseETA == .seconds(4))
    }

    @Test func etaIsResetByATransitionAndAbsentOutsideBooting() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        clock.advance(by: .seconds(1))
        fsm.updateProgress(PhaseProgress(percent: 50))
        #expect(fsm.snapshot().phaseETA != nil)
        try fsm.transition(to: .warmingUp)
        let snapshot = fsm.snapshot()
        #expect(snapshot.phaseETA == nil)
        #expect(snapshot.progress == PhaseProgress())
        try fsm.transition(to: .ready)
        #expect(fsm.snapshot().phaseETA == nil)
        #expect(fsm.snapshot().progressFraction == 1)
    }

    @Test("updates under one message, then another, then the first again: the counts and message of the last one")
    func messagesAndCountsOfTheLastUpdate() throws {
        let fsm = try machine(in: .recovering)
        // A message on the heap, and an equal one in other storage: equal content is the same message.
        let long = "replaying WAL segment 7 of 12 (\(fsm.currentPhase.name))"
        let sameContent = String(decoding: Array(long.utf8), as: UTF8.self)
        for (index, message) in [long, long, "checkpoint", "checkpoint", sameContent, long, ""].enumerated() {
            let count = UInt64(index + 1)
            fsm.updateProgress(PhaseProgress(percent: UInt8(index), message: message, itemsProcessed: count,
                                             itemsTotal: 100, bytesProcessed: 10 * count, bytesTotal: 1000))
            let progress = fsm.currentProgress
            #expect(progress.message == message)
            #expect(progress.percent == UInt8(index))
            #expect(progress.itemsProcessed == count && progress.itemsTotal == 100)
            #expect(progress.bytesProcessed == 10 * count && progress.bytesTotal == 1000)
            #expect(fsm.healthStatus().progressMessage == message)
        }
    }

    @Test("a change of phase drops the last phase's counts, and the new phase's first update under the old message starts its rate")
    func countsDoNotCrossAPhaseChange() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        for done in [10, 20, 30] as [UInt64] {
            fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: done, itemsTotal: 100))
        }
        try fsm.transition(to: .warmingUp)
        #expect(fsm.currentProgress == PhaseProgress())
        clock.advance(by: .seconds(2))
        fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 0, itemsTotal: 10))
        clock.advance(by: .seconds(2))
        fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 5, itemsTotal: 10))
        let snapshot = fsm.snapshot()
        #expect(snapshot.progress.itemsProcessed == 5 && snapshot.progress.itemsTotal == 10)
        #expect(snapshot.phaseETA == .seconds(2), "measured from the warmup's first update, not from its start")
        try fsm.transition(to: .ready)
        #expect(fsm.currentProgress.itemsProcessed == 0)
    }

    @Test func historyRecordsEveryCompletedPhase() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(1))
        try fsm.transition(to: .migrating)
        clock.advance(by: .seconds(2))
        try fsm.transition(to: .recovering)
        clock.advance(by: .seconds(3))
        try fsm.transition(to: .warmingUp)
        clock.advance(by: .seconds(4))
        try fsm.transition(to: .ready)
        clock.advance(by: .seconds(5))
        var snapshot = fsm.snapshot()
        #expect(snapshot.history == [
            PhaseTiming(phase: .initializing, start: .zero, duration: .seconds(1)),
            PhaseTiming(phase: .migrating, start: .seconds(1), duration: .seconds(2)),
            PhaseTiming(phase: .recovering, start: .seconds(3), duration: .seconds(3)),
            PhaseTiming(phase: .warmingUp, start: .seconds(6), duration: .seconds(4)),
        ])
        #expect(snapshot.bootDuration == .seconds(10))
        #expect(snapshot.totalElapsed == .seconds(15))
        #expect(snapshot.phaseElapsed == .seconds(5))
        try fsm.transition(to: .shuttingDown)
        snapshot = fsm.snapshot()
        #expect(snapshot.history.last == PhaseTiming(phase: .ready, start: .seconds(10), duration: .seconds(5)))
        #expect(snapshot.bootDuration == .seconds(10))
    }

    @Test func phaseChangesAreObserved() throws {
        let clock = ManualBootClock()
        let seen = ChangeLog()
        let fsm = BootStateMachine(budgets: BootBudgets(migrateBudget: .seconds(2)), clock: clock,
                                   onPhaseChange: { seen.append($0) })
        try fsm.startBoot()
        clock.advance(by: .seconds(1))
        fsm.recordWALProgress(records: 7, bytes: 70)
        try fsm.transition(to: .migrating)
        clock.advance(by: .seconds(2))
        _ = fsm.currentPhase // the observation that fails the machine
        let changes = seen.changes
        #expect(changes.map(\.to) == [.initializing, .migrating, .failed])
        #expect(changes[1].duration == .seconds(1))
        #expect(changes[1].counters.walRecordsReplayed == 7)
        #expect(changes[2].failureReason == "budget exceeded in phase migrate (budget 2 s)")
        #expect(changes[2].totalElapsed == .seconds(3))
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

final class ChangeLog: Sendable {
    private let storage = Mutex<[PhaseChange]>([])
    func append(_ change: PhaseChange) { storage.withLock { $0.append(change) } }
    var changes: [PhaseChange] { storage.withLock { $0 } }
}

import Synchronization
