// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import Testing

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("threads that transition, record and snapshot at once leave exact counters and consistent snapshots")
    func stress() async throws {
        let fsm = BootStateMachine(budgets: BootBudgets(), budgetPolicy: .failFast)
        let recorders = 4
        let perRecorder: UInt64 = 50_000
        let readers = 2
        let violations = ViolationCounter()
        let order: [BootPhase] = [.initializing, .migrating, .recovering, .warmingUp, .ready, .shuttingDown]

        DispatchQueue.concurrentPerform(iterations: recorders + readers + 1) { worker in
            switch worker {
            case 0:
                // The driver walks the whole boot, reporting progress as it goes.
                for phase in order {
                    try! fsm.transition(to: phase)
                    for step in 0..<2_000 {
                        fsm.updateProgress(PhaseProgress(message: phase.name, itemsProcessed: UInt64(step), itemsTotal: 2_000))
                    }
                }
            case 1...recorders:
                for _ in 0..<perRecorder {
                    fsm.recordWALProgress(records: 1, bytes: 3)
                    fsm.recordPagesRecovered(1)
                    fsm.recordTxnRollbacks(2)
                }
            default:
                var lastPhaseIndex = -1
                var lastRecords: UInt64 = 0
                for _ in 0..<20_000 {
                    let snapshot = fsm.snapshot()
                    // The progress message is set only with the phase that owns it.
                    if !snapshot.progress.message.isEmpty,
                       snapshot.progress.message != snapshot.phase.name,
                       snapshot.progress.message != "Initializing core subsystems" {
                        violations.add("message \(snapshot.progress.message) in phase \(snapshot.phase.name)")
                    }
                    // Phases only move forward; the history always ends with the phase before the current one.
                    let index = order.firstIndex(of: snapshot.phase) ?? -1
                    if index < lastPhaseIndex { violations.add("phase went back to \(snapshot.phase.name)") }
                    lastPhaseIndex = index
                    // The phase read on its own (without the lock once no budget applies) is never older.
                    let current = fsm.currentPhase
                    let currentIndex = order.firstIndex(of: current) ?? -1
                    if currentIndex < index { violations.add("currentPhase \(current.name) after a snapshot in \(snapshot.phase.name)") }
                    if index > 0, snapshot.history.last?.phase != order[index - 1] {
                        violations.add("history \(snapshot.history.map(\.phase)) in \(snapshot.phase.name)")
                    }
                    if snapshot.history.count != max(index, 0) { violations.add("history length") }
                    if snapshot.counters.walRecordsReplayed < lastRecords { violations.add("counter went back") }
                    lastRecords = snapshot.counters.walRecordsReplayed
                    if snapshot.progressFraction < 0 || snapshot.progressFraction > 1 { violations.add("fraction") }
                    let json = fsm.healthStatus().toJSON()
                    if !json.hasPrefix("{\"phase\":") || !json.hasSuffix("]}") { violations.add("json") }
                }
            }
        }

        #expect(violations.all.isEmpty, "\(violations.all.prefix(5))")
        let total = UInt64(recorders) * perRecorder
        let counters = fsm.metrics.counters
        #expect(counters.walRecordsReplayed == total)
        #expect(counters.walBytesProcessed == 3 * total)
        #expect(counters.pagesRecovered == total)
        #expect(counters.txnsRolledBack == 2 * total)
        #expect(fsm.currentPhase == .shuttingDown)
    }

    @Test("WAL counters stay exact with more threads than stripes, threads ending and new ones taking their ids, a reader never seeing them go back")
    func walCountersAcrossThreads() {
        let metrics = BootMetrics()
        let perThread: UInt64 = 20_000
        let rounds = 6, threadsPerRound = 10
        let done = Atomic<Bool>(false)
        let violations = ViolationCounter()
        let reader = Thread {
            var last: UInt64 = 0
            while !done.load(ordering: .acquiring) {
                let records = metrics.walRecordsReplayed
                if records < last { violations.add("records went back from \(last) to \(records)") }
                last = records
            }
        }
        reader.start()
        // Each round's threads end before the next round's start, so ids are reused and stripes
        // keep their ended owners' counts.
        for _ in 0..<rounds {
            let threads = (0..<threadsPerRound).map { _ in
                Thread {
                    for _ in 0..<perThread { metrics.recordWALProgress(records: 1, bytes: 7) }
                }
            }
            for thread in threads { thread.start() }
            for thread in threads { thread.join() }
        }
        done.store(true, ordering: .releasing)
        reader.join()
        let total = UInt64(rounds * threadsPerRound) * perThread
        #expect(metrics.walRecordsReplayed == total)
        #expect(metrics.walBytesProcessed == 7 * total)
        let found = violations.all
        #expect(found.count == 0, "\(found.prefix(3))")
    }

    @Test("threads that all record first into a new machine share one set of counters and lose no count")
    func countersMadeByRacingThreads() {
        // Enough rounds that a race lost by publishing with a plain store shows every run.
        for _ in 0..<300 {
            let fsm = BootStateMachine()
            let go = Atomic<Bool>(false)
            // One slot per thread (each writes only its own; joining orders the writes before the reads).
            let seen = Slots(count: 4)
            let threads = (0..<4).map { index in
                Thread {
                    while !go.load(ordering: .acquiring) {}
                    switch index % 3 {
                    case 0: fsm.recordWALProgress(records: 1, bytes: 10)
                    case 1: fsm.recordPagesRecovered(1)
                    default: fsm.recordTxnRollbacks(1)
                    }
                    seen.base[index] = ObjectIdentifier(fsm.metrics)
                }
            }
            for thread in threads { thread.start() }
            go.store(true, ordering: .releasing)
            for thread in threads { thread.join() }
            #expect(Set(seen.values) == [ObjectIdentifier(fsm.metrics)])
            let counters = fsm.snapshot().counters
            #expect(counters.walRecordsReplayed == 2 && counters.walBytesProcessed == 20)
            #expect(counters.pagesRecovered == 1 && counters.txnsRolledBack == 1)
        }
    }

    @Test("lock-free progress updates are never read half-written, and never outlive the phase they were made in")
    func progressReadsAreWhole() throws {
        let fsm = try machine(in: .recovering)
        let violations = ViolationCounter()
        let done = Atomic<Bool>(false)
        let updates: UInt64 = 400_000
        DispatchQueue.concurrentPerform(iterations: 3) { worker in
            switch worker {
            case 0:
                // Every update keeps bytes = 3 · items and the totals = items + 7, one message throughout.
                for count in 1...updates {
                    fsm.updateProgress(PhaseProgress(message: "replaying WAL segment 7 of 12", itemsProcessed: count,
                                                     itemsTotal: count + 7, bytesProcessed: 3 * count, bytesTotal: count + 7))
                    if count == updates / 2 { try! fsm.transition(to: .warmingUp) }
                }
                done.store(true, ordering: .releasing)
            default:
                var last: (phase: BootPhase, items: UInt64) = (.recovering, 0)
                while !done.load(ordering: .acquiring) {
                    let snapshot = fsm.snapshot()
                    let progress = snapshot.progress
                    if progress.itemsProcessed == 0 {
                        if progress != PhaseProgress(elapsed: progress.elapsed) { violations.add("a phase's first progress: \(progress)") }
                    } else if progress.bytesProcessed != 3 * progress.itemsProcessed || progress.itemsTotal != progress.itemsProcessed + 7
                                || progress.bytesTotal != progress.itemsTotal || progress.message != "replaying WAL segment 7 of 12" {
                        violations.add("torn: \(progress)")
                    }
                    if snapshot.phase == .warmingUp, progress.itemsProcessed != 0, progress.itemsProcessed <= updates / 2 {
                        violations.add("recover's count \(progress.itemsProcessed) in warmup")
                    }
                    if snapshot.phase == last.phase, progress.itemsProcessed < last.items {
                        violations.add("went back from \(last.items) to \(progress.itemsProcessed)")
                    }
                    last = (snapshot.phase, progress.itemsProcessed)
                }
            }
        }
        let found = violations.all
        #expect(found.count == 0, "\(found.prefix(3))")
        #expect(fsm.currentProgress.itemsProcessed == updates)
    }

    @Test("many threads racing to fail: exactly one reason wins and it is complete")
    func racingFailures() throws {
        for _ in 0..<200 {
            let fsm = try machine(in: .recovering)
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                fsm.fail(reason: "worker \(worker)")
                _ = fsm.snapshot()
            }
            let reason = try #require(fsm.failureReason)
            #expect(reason.hasPrefix("Failed in recover: worker "))
            #expect(fsm.snapshot().history.count == 3)
        }
    }
}

extension ConcurrencyTests {
    @Test("the observer hears every change once, in the order the changes happened, one call at a time, while threads race to change the phase")
    func changesAreDeliveredInOrder() throws {
        for round in 0..<300 {
            let seen = ChangeLog()
            let inCallback = Atomic<Bool>(false)
            let violations = ViolationCounter()
            // Zero budgets: any observation of a booting phase may fail the machine (from a reader).
            let fsm = BootStateMachine(budgets: round % 2 == 0 ? BootBudgets() : BootBudgets(initBudget: .zero, migrateBudget: .zero),
                                       onPhaseChange: { change in
                if inCallback.exchange(true, ordering: .acquiring) { violations.add("overlapping calls") }
                seen.append(change)
                // Slow enough that, delivered by the changing threads themselves, changes would overtake.
                usleep(50)
                inCallback.store(false, ordering: .releasing)
            })
            DispatchQueue.concurrentPerform(iterations: 3) { worker in
                switch worker {
                case 0:
                    for phase: BootPhase in [.initializing, .migrating, .recovering, .warmingUp, .ready, .shuttingDown] {
                        try? fsm.transition(to: phase)
                    }
                case 1:
                    for _ in 0..<20 { _ = fsm.snapshot() }
                    fsm.fail(reason: "worker 1")
                default:
                    for _ in 0..<50 { _ = fsm.checkBudgets() }
                }
            }
            let changes = seen.changes
            #expect(violations.all.isEmpty)
            #expect(changes.first?.from == .uninitialized)
            for (earlier, later) in zip(changes, changes.dropFirst()) where earlier.to != later.from {
                Issue.record("delivered out of order: \(changes.map { "\($0.from.name)->\($0.to.name)" })")
                break
            }
            // Every change of the machine's life, and nothing else.
            #expect(changes.last?.to == fsm.currentPhase)
            // (Leaving `uninitialized` adds no history entry; every later change adds one.)
            #expect(changes.count == fsm.snapshot().history.count + 1)
        }
    }

    @Test("transitions racing a budget that runs out: one failure, with the budget's reason, heard once and last, in order")
    func transitionsRacingABudgetFailure() throws {
        for _ in 0..<200 {
            let clock = ManualBootClock()
            let seen = ChangeLog()
            let fsm = BootStateMachine(budgets: BootBudgets(recoverBudget: .seconds(10)), clock: clock,
                                       onPhaseChange: { seen.append($0) })
            try fsm.startBoot()
            try fsm.transition(to: .migrating)
            try fsm.transition(to: .recovering)
            let thrown = Mutex<[BootError]>([])
            DispatchQueue.concurrentPerform(iterations: 4) { worker in
                switch worker {
                case 0: clock.advance(by: .seconds(10))
                case 1:
                    do throws(BootError) { try fsm.transition(to: .warmingUp) } catch { thrown.withLock { $0.append(error) } }
                    do throws(BootError) { try fsm.transition(to: .ready) } catch { thrown.withLock { $0.append(error) } }
                case 2: for _ in 0..<20 { _ = fsm.healthStatus() }
                default: for _ in 0..<20 { fsm.checkBudgets() }
                }
            }
            // Whoever observes after the deadline fails the machine; a boot that reached warmup or
            // ready first is not failed by it (warmup has its own budget, ready none).
            fsm.checkBudgets()
            let changes = seen.changes
            for (earlier, later) in zip(changes, changes.dropFirst()) where earlier.to != later.from {
                Issue.record("delivered out of order: \(changes.map { "\($0.from.name)->\($0.to.name)" })")
                break
            }
            #expect(changes.last?.to == fsm.currentPhase)
            let failures = changes.filter { $0.to == .failed }
            #expect(failures.count <= 1)
            if let failure = failures.first {
                #expect(failure.from == .recovering)
                #expect(failure.failureReason == "budget exceeded in phase recover (budget 10 s)")
                #expect(fsm.snapshot().phaseBudgetExceeded)
                // A transition that lost the race threw the budget's error or found the machine failed.
                for error in thrown.withLock({ $0 }) {
                    #expect(error.message == failure.failureReason || error.message.hasPrefix("Invalid transition: failed ->"))
                }
            } else {
                #expect(fsm.currentPhase == .ready)
                #expect(thrown.withLock { $0 }.isEmpty)
            }
        }
    }

    @Test("an observer may change the phase itself: the change is delivered after the one it reacts to")
    func observerThatChangesThePhase() throws {
        let (fsm, seen) = selfObservedMachine { change, fsm in
            // Reads are allowed too.
            #expect(fsm.snapshot().phase.rawValue >= change.to.rawValue || fsm.currentPhase == .failed)
            switch change.to {
            case .initializing: try? fsm.transition(to: .migrating)
            case .migrating: try? fsm.transition(to: .recovering)
            default: break
            }
        }
        try fsm.startBoot()
        #expect(seen.changes.map(\.to) == [.initializing, .migrating, .recovering])
        #expect(fsm.currentPhase == .recovering)
    }

    @Test("a change's counters are the ones at the change, not at its (later) delivery")
    func countersAreTakenAtTheChange() throws {
        let (fsm, seen) = selfObservedMachine { change, fsm in
            guard change.to == .initializing else { return }
            // Queued now, delivered after this call returns: the records below come after it.
            try? fsm.transition(to: .migrating)
            fsm.recordWALProgress(records: 100, bytes: 1000)
        }
        try fsm.startBoot()
        let changes = seen.changes
        #expect(changes.map(\.to) == [.initializing, .migrating])
        #expect(changes.last?.counters.walRecordsReplayed == 0)
        #expect(fsm.metrics.walRecordsReplayed == 100)
    }
}

/// A machine whose observer logs each change, then hands it to `react` with the machine itself (to
/// read it or change its phase from inside the observer).
private func selfObservedMachine(
    _ react: @escaping @Sendable (PhaseChange, BootStateMachine) -> Void
) -> (BootStateMachine, ChangeLog) {
    let seen = ChangeLog()
    let machine = Mutex<BootStateMachine?>(nil)
    let fsm = BootStateMachine(onPhaseChange: { change in
        seen.append(change)
        react(change, machine.withLock { $0 }!)
    })
    machine.withLock { $0 = fsm }
    return (fsm, seen)
}

/// One slot per thread, each written by its thread only; read after joining them.
final class Slots: @unchecked Sendable {
    let base: UnsafeMutablePointer<ObjectIdentifier?>
    private let count: Int

    init(count: Int) {
        self.count = count
        base = .allocate(capacity: count)
        base.initialize(repeating: nil, count: count)
    }

    deinit { base.deallocate() }

    var values: [ObjectIdentifier?] { Array(UnsafeBufferPointer(start: base, count: count)) }
}

final class ViolationCounter: Sendable {
    private let storage = Mutex<[String]>([])
    func add(_ violation: String) { storage.withLock { $0.append(violation) } }
    var all: [String] { storage.withLock { $0 } }
}

/// A joinable POSIX thread (Dispatch's pool reuses a handful of threads; these tests need threads
/// that end and new ones that start).
final class Thread: @unchecked Sendable {
    private let body: @Sendable () -> Void
    private var handle = pthread_t()

    init(_ body: @escaping @Sendable () -> Void) { self.body = body }

    func start() {
        let context = Unmanaged.passRetained(self).toOpaque()
        let created = pthread_create(&handle, nil, { context in
            let thread = Unmanaged<Thread>.fromOpaque(context!).takeRetainedValue()
            thread.body()
            return nil
        }, context)
        precondition(created == 0, "pthread_create: \(created)")
    }

    func join() { pthread_join(handle, nil) }
}
