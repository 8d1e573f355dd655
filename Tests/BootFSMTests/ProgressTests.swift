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
        // Silence as long as the last gap between reports (10 s) is their rhythm; past it, a stall lowers
        // the observed pace and so raises the estimate.
        clock.advance(by: .seconds(10))
        #expect(fsm.snapshot().phaseETA == .seconds(30))
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

    /// Reports `done(t)` (a fraction) every `every` seconds from `from` to `to` seconds into the phase.
    private func report(_ fsm: BootStateMachine, _ clock: ManualBootClock, from: Int, to: Int, every: Int = 2,
                        _ done: (Int) -> Double) {
        for t in stride(from: from, through: to, by: every) {
            if t > from { clock.advance(by: .seconds(every)) }
            fsm.updateProgress(PhaseProgress(itemsProcessed: UInt64((done(t) * 1_000_000).rounded()), itemsTotal: 1_000_000))
        }
    }

    private func etaSeconds(_ fsm: BootStateMachine) -> Double? {
        fsm.snapshot().phaseETA.map { Double($0.attoseconds) / 1e18 }
    }

    @Test("the ETA is unknown until progress moves, however long the phase reports none")
    func etaUnknownUntilProgressMoves() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        report(fsm, clock, from: 0, to: 120) { _ in 0 }
        #expect(fsm.snapshot().phaseETA == nil)
        clock.advance(by: .seconds(2))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 10, itemsTotal: 100))
        // Measured from the first report (0 at 0 s): 10% in 122 s.
        #expect(abs(try #require(etaSeconds(fsm)) - 1098) < 0.001)
    }

    @Test("after a slowdown the ETA follows the recent pace, not the phase's average")
    func etaFollowsTheRecentPace() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        // 1% a second for 60 s (the cache is warm), then 0.25% a second (the disk is the limit).
        report(fsm, clock, from: 0, to: 120) { t in t <= 60 ? Double(t) / 100 : 0.6 + Double(t - 60) / 400 }
        // 25% left at 0.25% a second; the phase's average (0.75 in 120 s) would say 40 s.
        #expect(abs(try #require(etaSeconds(fsm)) - 100) < 0.001)
        // Twice as fast again: a window later the ETA follows that too (10% left at 0.5% a second).
        report(fsm, clock, from: 120, to: 150) { t in 0.75 + Double(t - 120) / 200 }
        #expect(abs(try #require(etaSeconds(fsm)) - 20) < 0.001)
    }

    @Test("reports finer than 0.1% are timed at each 0.1% they cross")
    func etaFromFineReports() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        // 0.02% a second, reported every second: timed every 5 s, when a 0.1% is crossed.
        report(fsm, clock, from: 0, to: 100, every: 1) { t in Double(t) / 5000 }
        #expect(abs(try #require(etaSeconds(fsm)) - 4900) < 0.01)
        report(fsm, clock, from: 100, to: 103, every: 1) { t in Double(t) / 5000 }
        // 3 s after the last crossing: the pace is the one measured up to it, the fraction the latest.
        #expect(abs(try #require(etaSeconds(fsm)) - 4897) < 0.01)
    }

    @Test("progress that goes back more than 1% starts the pace over, from that report; less leaves it")
    func etaStartsOverWhenProgressGoesBack() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        clock.advance(by: .seconds(10))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 50, itemsTotal: 100))
        #expect(fsm.snapshot().phaseETA == .seconds(10))
        // A total refined a little upwards (50% to 49.5%): the pace stands, the ETA follows the fraction.
        fsm.updateProgress(PhaseProgress(itemsProcessed: 50, itemsTotal: 101))
        #expect(abs(try #require(etaSeconds(fsm)) - 10.1) < 0.01)
        fsm.updateProgress(PhaseProgress(itemsProcessed: 50, itemsTotal: 100))
        clock.advance(by: .seconds(10))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 50, itemsTotal: 250)) // more to do than was known
        #expect(fsm.snapshot().phaseETA == nil, "no pace yet since the count went back")
        clock.advance(by: .seconds(10))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 75, itemsTotal: 250))
        // 10% in 10 s since it went back (not 30% in 30 s): 70% left.
        #expect(abs(try #require(etaSeconds(fsm)) - 70) < 0.001)
    }

    @Test("a stall raises the ETA with every second past the reports' rhythm, until progress resumes")
    func etaRisesDuringAStall() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        report(fsm, clock, from: 0, to: 60) { t in Double(t) / 200 }
        let atStall = try #require(etaSeconds(fsm))
        #expect(abs(atStall - 140) < 0.001)
        var last = atStall
        for second in 1...120 {
            clock.advance(by: .seconds(1))
            let eta = try #require(etaSeconds(fsm), "still an estimate after \(second) s")
            if second <= 2 { #expect(eta == atStall, "within the rhythm of the reports") } else { #expect(eta > last) }
            last = eta
        }
        #expect(last > 3 * atStall)
        // Progress resumes at its old pace: the stall no longer counts against it.
        clock.advance(by: .seconds(2))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 310_000, itemsTotal: 1_000_000))
        #expect(abs(try #require(etaSeconds(fsm)) - 138) < 0.001)
    }

    @Test("reports in bursts every 30 s keep the ETA steady between them")
    func etaSteadyOnBursts() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .recovering, clock: clock)
        fsm.updateProgress(PhaseProgress(itemsProcessed: 0, itemsTotal: 300))
        // 30 items every 30 s: 300 s in all. Between bursts the ETA is what the last burst said.
        clock.advance(by: .seconds(30))
        for burst in 1...8 {
            fsm.updateProgress(PhaseProgress(itemsProcessed: UInt64(30 * burst), itemsTotal: 300))
            for _ in 0..<30 {
                #expect(abs(try #require(etaSeconds(fsm)) - Double(300 - 30 * burst)) < 0.001, "burst \(burst)")
                clock.advance(by: .seconds(1))
            }
        }
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
