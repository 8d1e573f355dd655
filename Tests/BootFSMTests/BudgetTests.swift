// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Synchronization
import Testing

@Suite("Budgets")
struct BudgetTests {
    @Test func seedDefaults() {
        let budgets = BootBudgets()
        #expect(budgets.initBudget == .seconds(30))
        #expect(budgets.migrateBudget == .seconds(300))
        #expect(budgets.recoverBudget == .seconds(1800))
        #expect(budgets.warmupBudget == .seconds(300))
        #expect(budgets.totalBudget == .seconds(3600))
    }

    @Test func forKubernetes600() {
        let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: 600)
        #expect(budgets == BootBudgets(initBudget: .seconds(30), migrateBudget: .seconds(120),
                                       recoverBudget: .seconds(360), warmupBudget: .seconds(60),
                                       totalBudget: .seconds(600)))
    }

    @Test("forKubernetes uses the seed's integer arithmetic", arguments: [0, 1, 7, 19, 20, 99, 601, 86_399] as [UInt64])
    func forKubernetesArithmetic(total: UInt64) {
        let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: total)
        #expect(budgets.initBudget == .seconds(Int64(total / 20)))
        #expect(budgets.migrateBudget == .seconds(Int64(total / 5)))
        #expect(budgets.recoverBudget == .seconds(Int64(total * 3 / 5)))
        #expect(budgets.warmupBudget == .seconds(Int64(total / 10)))
        #expect(budgets.totalBudget == .seconds(Int64(total)))
    }

    @Test func forKubernetesDoesNotOverflow() {
        // `total * 3` overflows u64 here (the seed panics in debug builds); the result is still exact.
        for total in [UInt64.max / 2, UInt64.max / 3 + 7] {
            let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: total)
            #expect(budgets.recoverBudget == .seconds(Int64(UInt128(total) * 3 / 5)))
        }
        // Beyond what `Duration` holds in seconds, budgets saturate instead of trapping.
        #expect(BootBudgets.forKubernetes(startupProbeTotalSeconds: .max).totalBudget == .seconds(Int64.max))
    }

    @Test func phaseBudgetCountsDown() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot()
        #expect(fsm.remainingBudget == .seconds(30))
        clock.advance(by: .seconds(12))
        #expect(fsm.remainingBudget == .seconds(18))
        try fsm.transition(to: .migrating)
        #expect(fsm.remainingBudget == .seconds(300))
        let snapshot = fsm.snapshot()
        #expect(snapshot.phaseBudget == .seconds(300))
        #expect(snapshot.totalBudgetRemaining == .seconds(3600 - 12))
        #expect(!snapshot.budgetExceeded)
    }

    @Test("correction 3: an exceeded phase budget fails the machine at the next snapshot under fail-fast")
    func failFastPhaseBudgetOnSnapshot() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot()
        try fsm.transition(to: .migrating)
        try fsm.transition(to: .recovering)
        clock.advance(by: .seconds(1799))
        #expect(fsm.snapshot().phase == .recovering)
        clock.advance(by: .seconds(1))
        let snapshot = fsm.snapshot()
        #expect(snapshot.phase == .failed)
        #expect(snapshot.failureReason == "budget exceeded in phase recover (budget 1800 s)")
        #expect(snapshot.failedPhase == .recovering)
        #expect(snapshot.phaseBudgetExceeded)
        #expect(snapshot.budgetExceeded)
        #expect(!snapshot.totalBudgetExceeded)
        #expect(snapshot.history.last == PhaseTiming(phase: .recovering, start: .zero, duration: .seconds(1800)))
    }

    @Test("correction 3: a transition after the deadline fails with the budget's reason")
    func failFastOnTransition() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(budgets: BootBudgets(initBudget: .seconds(1)), clock: clock)
        try fsm.startBoot()
        clock.advance(by: .milliseconds(1500))
        let error = #expect(throws: BootError.self) { try fsm.transition(to: .migrating) }
        #expect(error?.phase == .initializing)
        #expect(error?.message == "budget exceeded in phase init (budget 1 s)")
        #expect(fsm.currentPhase == .failed)
    }

    @Test func explicitCheckFailsAndFractionalBudgetsAreWritten() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(budgets: BootBudgets(warmupBudget: .milliseconds(500)), clock: clock)
        try fsm.startBoot()
        for phase: BootPhase in [.migrating, .recovering, .warmingUp] { try fsm.transition(to: phase) }
        #expect(!fsm.checkBudgets())
        clock.advance(by: .milliseconds(500))
        #expect(fsm.checkBudgets())
        #expect(fsm.failureReason == "budget exceeded in phase warmup (budget 0.5 s)")
    }

    @Test("correction 2: the total budget is enforced")
    func totalBudgetEnforced() throws {
        let clock = ManualBootClock()
        let budgets = BootBudgets(initBudget: .seconds(10), migrateBudget: .seconds(10),
                                  recoverBudget: .seconds(10), warmupBudget: .seconds(10), totalBudget: .seconds(25))
        let fsm = BootStateMachine(budgets: budgets, clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(9))
        try fsm.transition(to: .migrating)
        clock.advance(by: .seconds(9))
        try fsm.transition(to: .recovering)
        clock.advance(by: .seconds(6))
        #expect(fsm.snapshot().totalBudgetRemaining == .seconds(1))
        clock.advance(by: .seconds(1))
        let snapshot = fsm.snapshot()
        #expect(snapshot.phase == .failed)
        #expect(snapshot.failureReason == "total budget exceeded in phase recover (budget 25 s)")
        #expect(snapshot.totalBudgetExceeded)
        #expect(!snapshot.phaseBudgetExceeded)
        #expect(snapshot.bootDuration == .seconds(25))
    }

    @Test("report-only: remaining 0 and the flags set, and the boot goes on")
    func reportOnly() throws {
        let clock = ManualBootClock()
        let budgets = BootBudgets(initBudget: .seconds(1), totalBudget: .seconds(2))
        let fsm = BootStateMachine(budgets: budgets, budgetPolicy: .reportOnly, clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(3))
        var snapshot = fsm.snapshot()
        #expect(snapshot.phase == .initializing)
        #expect(snapshot.phaseBudgetRemaining == .zero)
        #expect(snapshot.totalBudgetRemaining == .zero)
        #expect(snapshot.phaseBudgetExceeded && snapshot.totalBudgetExceeded)
        #expect(fsm.checkBudgets())
        try fsm.transition(to: .migrating)
        #expect(!fsm.snapshot().phaseBudgetExceeded)
        #expect(fsm.snapshot().totalBudgetExceeded)
        try fsm.transition(to: .recovering)
        try fsm.transition(to: .ready)
        snapshot = fsm.snapshot()
        #expect(snapshot.phase == .ready)
        #expect(!snapshot.budgetExceeded, "a finished boot is no longer over budget")
        #expect(snapshot.failureReason == nil)
    }

    @Test("reading the phase or the failure reason enforces budgets while booting")
    func readsEnforceBudgets() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(budgets: BootBudgets(initBudget: .seconds(1)), clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(1))
        #expect(fsm.currentPhase == .failed, "the read after the deadline fails the machine")
        #expect(fsm.failureReason == "budget exceeded in phase init (budget 1 s)")
        let other = BootStateMachine(budgets: BootBudgets(initBudget: .seconds(1)), clock: clock)
        try other.startBoot()
        clock.advance(by: .seconds(1))
        #expect(other.failureReason == "budget exceeded in phase init (budget 1 s)", "reading the reason fails it too")
    }

    @Test("a machine on the system clock, given or defaulted, keeps its budgets and elapsed times")
    func explicitSystemClock() throws {
        let given = BootStateMachine(budgets: BootBudgets(initBudget: .seconds(3600)), clock: SystemBootClock())
        let defaulted = BootStateMachine(budgets: BootBudgets(initBudget: .seconds(3600)))
        for fsm in [given, defaulted] {
            let before = SystemBootClock().wallClockNow()
            try fsm.startBoot()
            let after = SystemBootClock().wallClockNow()
            let snapshot = fsm.snapshot()
            let started = try #require(snapshot.bootStartWallClock)
            #expect(started >= before && started <= after)
            #expect(snapshot.phaseElapsed >= .zero && snapshot.phaseElapsed < .seconds(60))
            #expect(fsm.remainingBudget > .seconds(3500) && fsm.remainingBudget <= .seconds(3600))
            try fsm.transition(to: .migrating)
            #expect(fsm.currentPhase == .migrating)
        }
    }

    @Test("reading a machine's counters before anything is recorded reads zeros")
    func countersBeforeAnyRecord() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot()
        #expect(fsm.snapshot().counters == BootCounters())
        #expect(fsm.healthStatus().walRecordsReplayed == 0)
        #expect(fsm.metrics.walRecordsReplayed == 0)
        #expect(fsm.metrics === fsm.metrics)
        fsm.metrics.recordMigrationSteps(2)
        fsm.recordWALProgress(records: 3, bytes: 30)
        #expect(fsm.snapshot().counters == BootCounters(walRecordsReplayed: 3, walBytesProcessed: 30,
                                                        migrationStepsCompleted: 2))
    }

    @Test("budgets near the limits of Duration neither run out early nor stop being checked")
    func budgetsNearTheLimits() throws {
        let clock = ManualBootClock()
        let endless = Duration(_high: .max, low: .max)
        let fsm = BootStateMachine(budgets: BootBudgets(initBudget: endless, migrateBudget: .seconds(2), totalBudget: endless),
                                   clock: clock)
        try fsm.startBoot()
        clock.advance(by: .seconds(86_400 * 365))
        try fsm.transition(to: .migrating)
        clock.advance(by: .milliseconds(1999))
        #expect(fsm.currentPhase == .migrating)
        clock.advance(by: .milliseconds(1))
        #expect(fsm.currentPhase == .failed)
        #expect(fsm.failureReason == "budget exceeded in phase migrate (budget 2 s)")
    }

    @Test("budgets past Int64.max seconds, or hugely negative, run out without trapping and name themselves")
    func extremeBudgetsRunOut() throws {
        let clock = ManualBootClock()
        let negative = BootStateMachine(budgets: BootBudgets(initBudget: Duration(_high: .min, low: 0)), clock: clock)
        try negative.startBoot()
        #expect(negative.remainingBudget == .zero)
        #expect(negative.currentPhase == .failed)
        #expect(negative.failureReason?.hasPrefix("budget exceeded in phase init (budget -") == true)
        let huge = Duration(_high: 1 << 62, low: 0) // about 8.5e19 s
        let fsm = BootStateMachine(budgets: BootBudgets(initBudget: huge, totalBudget: huge), clock: clock)
        try fsm.startBoot()
        #expect(fsm.remainingBudget == huge)
        #expect(fsm.snapshot().totalBudgetRemaining == huge)
        #expect(fsm.currentPhase == .initializing)
    }

    @Test func budgetsDoNotRunOutsideBooting() throws {
        let clock = ManualBootClock()
        let fsm = try machine(in: .ready, clock: clock)
        clock.advance(by: .seconds(100_000))
        let snapshot = fsm.snapshot()
        #expect(snapshot.phase == .ready)
        #expect(snapshot.phaseBudget == nil)
        #expect(snapshot.phaseBudgetRemaining == .zero)
        #expect(snapshot.totalBudgetRemaining == .seconds(3600))
        #expect(!snapshot.budgetExceeded)
    }
}
