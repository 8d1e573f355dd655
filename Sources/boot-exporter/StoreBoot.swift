// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Synchronization
import WALStore

/// Boots a ``WALStore`` through every phase of a ``BootStateMachine``: the work of each phase is
/// the store's, its progress and counters are the machine's.
final class StoreBoot: Sendable {
    struct Options: Sendable {
        var path: String
        var mode: RecoveryMode
        var maxRecordsPerSecond: UInt64?
        /// Called once the store's lock is held (see ``WALStore/open(path:access:onLocked:)``).
        var onLocked: (@Sendable () -> Void)?

        init(path: String, mode: RecoveryMode = .normal, maxRecordsPerSecond: UInt64? = nil,
                    onLocked: (@Sendable () -> Void)? = nil) {
            self.path = path
            self.mode = mode
            self.maxRecordsPerSecond = maxRecordsPerSecond
            self.onLocked = onLocked
        }
    }

    /// What a finished boot leaves: the open store and the reports of its phases.
    struct Outcome: @unchecked Sendable {
        // @unchecked: the store is handed over whole to the one thread that uses it next.
        let store: WALStore
        let migrationSteps: Int
        let recovery: RecoveryReport
        let warmup: WarmupReport?
    }

    let fsm: BootStateMachine
    let options: Options
    private let stopRequested = Atomic<Bool>(false)

    init(fsm: BootStateMachine, options: Options) {
        self.fsm = fsm
        self.options = options
    }

    /// Asks a running boot to stop at its next progress report (a shutdown during the boot).
    func requestStop() {
        stopRequested.store(true, ordering: .relaxed)
    }

    /// Whether ``requestStop()`` was called.
    var stopWasRequested: Bool { stopRequested.load(ordering: .relaxed) }

    /// The failure reason of a boot stopped by ``requestStop()``.
    static let stopReason = "shutdown requested during the boot"

    /// Runs the boot on the calling thread (it blocks on I/O). A phase that fails fails the machine
    /// and is rethrown; so is an exceeded budget (fail-fast) and a stop request.
    func run() throws(BootError) -> Outcome {
        let fsm = self.fsm
        var store: WALStore?
        var steps = 0
        var recovery: RecoveryReport?
        var warmup: WarmupReport?
        try BootOrchestrator(fsm: fsm).runBoot(
            mode: options.mode,
            initialize: { fsm in
                fsm.updateProgress(PhaseProgress(message: "opening and locking \(options.path)"))
                store = try WALStore.open(path: options.path, access: options.mode == .readOnly ? .readOnly : .readWrite,
                                          onLocked: { options.onLocked?() })
                try checkStillWanted()
            },
            migrate: { fsm in
                guard let store else { return }
                let from = store.format
                let total = max(WALStore.currentFormat - from, 0)
                fsm.updateProgress(PhaseProgress(message: "format \(from), current \(WALStore.currentFormat)",
                                                 itemsTotal: UInt64(total)))
                steps = try store.migrate { reached in
                    fsm.metrics.recordMigrationSteps(1)
                    fsm.updateProgress(PhaseProgress(message: "migrated to format \(reached)",
                                                     itemsProcessed: UInt64(reached - from), itemsTotal: UInt64(total)))
                }
                try checkStillWanted()
            },
            recover: { fsm in
                guard let store else { return PreloadHints() }
                let report: RecoveryReport
                do {
                    report = try store.recover(RecoveryOptions(
                    mode: Self.storeMode(options.mode),
                    maxRecordsPerSecond: options.maxRecordsPerSecond,
                    onCheckpointRead: { fsm.metrics.recordCheckpointBytesScanned($0) },
                    onProgress: { progress in
                        fsm.updateProgress(PhaseProgress(
                            message: progress.message, itemsProcessed: progress.recordsDone, itemsTotal: progress.recordsTotal,
                            bytesProcessed: progress.bytesDone, bytesTotal: progress.bytesTotal))
                    },
                    onReplayed: { records, bytes in fsm.recordWALProgress(records: records, bytes: bytes) },
                    onAnalysed: { rolledBack, skipped in
                        fsm.recordTxnRollbacks(rolledBack)
                        fsm.metrics.recordWALRecordsSkipped(skipped)
                    },
                    onPagesRecovered: { fsm.recordPagesRecovered($0) },
                    shouldContinue: { self.stillWanted }
                    ))
                } catch StoreError.interrupted {
                    // Stopped from outside: say why, as the other phases do.
                    try checkStillWanted()
                    throw StoreError.interrupted("recovery stopped")
                }
                recovery = report
                return PreloadHints(pageIDs: report.preloadPageIDs, workingSetBytes: report.preloadBytes)
            },
            warmup: { fsm, hints in
                guard let store else { return }
                let report = try store.warmUp(pageIDs: hints.pageIDs) { done, total in
                    fsm.updateProgress(PhaseProgress(message: "preloading pages", itemsProcessed: UInt64(done), itemsTotal: UInt64(total)))
                }
                fsm.metrics.recordWarmupHitRatio(report.hitRatio)
                warmup = report
                try checkStillWanted()
            }
        )
        return Outcome(store: store!, migrationSteps: steps, recovery: recovery!, warmup: warmup)
    }

    /// The store's recovery mode for the machine's.
    private static func storeMode(_ mode: RecoveryMode) -> RecoveryOptions.Mode {
        switch mode {
        case .normal: .normal
        case .readOnly: .readOnly
        case .force: .force
        }
    }

    /// Whether the boot should go on: no stop was requested and the machine (checked against its
    /// budgets now) has not failed.
    private var stillWanted: Bool {
        fsm.checkBudgets()
        return !stopRequested.load(ordering: .relaxed) && fsm.currentPhase != .failed
    }

    private func checkStillWanted() throws(StoreError) {
        guard stillWanted else {
            throw .interrupted(stopRequested.load(ordering: .relaxed) ? Self.stopReason : "the machine failed")
        }
    }
}
