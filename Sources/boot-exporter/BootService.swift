// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Dispatch
import Logging
import ServiceLifecycle
import Synchronization
import WALStore

/// The boot as a service: generates a WAL into an empty data directory, boots the store on its own
/// thread, then waits for graceful shutdown to move to `shutting_down` and write a checkpoint.
final class BootService: Service, Sendable {
    let fsm: BootStateMachine
    let server: BootExporterServer
    let logger: Logger
    let boot: StoreBoot
    let generateRecords: Int
    /// How long a failed boot is served before the service ends (`nil`: until graceful shutdown).
    let exitAfterFailure: Duration?
    private let failure = Mutex<String?>(nil)

    init(fsm: BootStateMachine, server: BootExporterServer, logger: Logger, options: StoreBoot.Options, generateRecords: Int,
         exitAfterFailure: Duration? = nil) {
        self.fsm = fsm
        self.server = server
        self.logger = logger
        self.boot = StoreBoot(fsm: fsm, options: options)
        self.generateRecords = generateRecords
        self.exitAfterFailure = exitAfterFailure
    }

    /// Why the process should exit with status 1, if it should.
    var exitFailure: String? { failure.withLock { $0 } }

    func run() async throws {
        let outcome = await withGracefulShutdownHandler {
            await Self.onThread { [self] in bootStore() }
        } onGracefulShutdown: { [boot] in
            boot.requestStop()
        }
        if outcome == nil, let delay = exitAfterFailure, exitFailure != nil {
            // A failed boot is served a while (Prometheus scrapes the reason, /health says it), then
            // the process exits 1. Under Kubernetes that restart is the only prompt one: liveness is
            // not probed until the startup probe passes, and /startupz fails while the boot is failed.
            logger.notice("exiting after the failed boot", metadata: ["after_seconds": "\(delay.inSeconds)"])
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: delay) }
        } else {
            try? await gracefulShutdown()
        }
        server.beginShutdown()
        guard let outcome else { return }
        do {
            try fsm.transition(to: .shuttingDown)
        } catch {
            logger.warning("cannot shut down cleanly", metadata: ["reason": "\(error)"])
        }
        guard boot.options.mode != .readOnly else {
            outcome.store.close()
            return
        }
        let result: String? = await Self.onThread {
            let store = outcome.store
            do {
                try store.checkpoint()
                store.close()
                return nil
            } catch {
                return "\(error)"
            }
        }
        if let result {
            logger.error("checkpoint failed", metadata: ["reason": "\(result)"])
            failure.withLock { $0 = "checkpoint failed: \(result)" }
        } else {
            logger.info("checkpoint written", metadata: ["data_dir": "\(boot.options.path)"])
        }
    }

    /// Generates a WAL when the directory is empty, then boots. Returns the outcome, or `nil` when
    /// the boot failed (the machine says why).
    private func bootStore() -> StoreBoot.Outcome? {
        let path = boot.options.path
        if generateRecords > 0, boot.options.mode != .readOnly, StoreGeneration.isEmpty(path) {
            logger.info("generating a WAL into the empty data directory", metadata: ["data_dir": "\(path)", "records": "\(generateRecords)"])
            do {
                let summary = try StoreGeneration.generate(path: path, records: generateRecords,
                                                           onLocked: { boot.options.onLocked?() },
                                                           shouldContinue: { !boot.stopWasRequested })
                logger.info("generated", metadata: [
                    "records": "\(summary.records)", "committed": "\(summary.committed)", "aborted": "\(summary.aborted)",
                    "unfinished": "\(summary.unfinished)", "segments": "\(summary.segments)",
                ])
            } catch StoreError.interrupted(let detail) where boot.stopWasRequested {
                // A shutdown during a long generation (it used to run to the end, past Kubernetes'
                // grace period): what was written stays, a valid WAL the next start boots.
                fsm.fail(reason: "\(detail): \(StoreBoot.stopReason)")
                logger.notice("boot stopped before ready", metadata: ["reason": "\(detail): \(StoreBoot.stopReason)"])
                return nil
            } catch {
                fsm.fail(reason: "cannot generate a WAL: \(error)")
                failure.withLock { $0 = "cannot generate a WAL in \(path): \(error)" }
                return nil
            }
        }
        do {
            let outcome = try boot.run()
            // Damage recovery went past is for the operator to see, not only a field of the ready line.
            let recovery = outcome.recovery
            if recovery.tornTail != nil || recovery.corruptRecordsSkipped > 0 {
                logger.warning("WAL damaged", metadata: [
                    "mode": "\(boot.options.mode.name)",
                    "torn_tail": "\(recovery.tornTail ?? "none")",
                    "tail_truncated": "\(recovery.tailTruncated)",
                    "corrupt_records_skipped": "\(recovery.corruptRecordsSkipped)",
                ])
            }
            logger.info("ready", metadata: [
                "records_replayed": "\(outcome.recovery.recordsReplayed)",
                "pages_recovered": "\(outcome.recovery.pagesRecovered)",
                "txns_rolled_back": "\(outcome.recovery.transactionsRolledBack)",
                "corrupt_records_skipped": "\(outcome.recovery.corruptRecordsSkipped)",
                "torn_tail": "\(outcome.recovery.tornTail ?? "none")",
                "migration_steps": "\(outcome.migrationSteps)",
                "warmup_hit_ratio": "\(outcome.warmup?.hitRatio ?? 0)",
            ])
            return outcome
        } catch {
            let reason = fsm.failureReason ?? error.message
            // The machine keeps the first reason: a boot that failed before a stop was asked for
            // is still a failure. One stopped (a rolling update during the boot) is no error.
            if reason.hasSuffix(StoreBoot.stopReason) {
                logger.notice("boot stopped before ready", metadata: ["reason": "\(reason)"])
            } else {
                logger.error("boot failed", metadata: ["reason": "\(reason)"])
                failure.withLock { $0 = "boot failed: \(reason)" }
            }
            return nil
        }
    }

    /// Runs blocking work on a thread of its own, off the cooperative pool.
    static func onThread<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: work()) }
        }
    }
}
