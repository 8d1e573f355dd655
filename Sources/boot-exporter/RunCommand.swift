// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import BootFSM
import Logging
import Glibc
import ServiceLifecycle
import WALStore

/// `boot-exporter run` (the default): boots the data directory and serves the boot.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Boot the data directory (generating a WAL first if it is empty) and serve /metrics, /health and the probes until SIGTERM or SIGINT."
    )

    @OptionGroup var log: LogOptions
    @OptionGroup var dataDirectory: DataDirectoryOption

    @OptionGroup var web: WebOptions
    @OptionGroup var boot: BudgetOptions

    @Option(name: .customLong("recovery-mode"), help: "normal, readonly (write nothing) or force (skip corrupt WAL records).")
    var recoveryMode: RecoveryMode = .normal

    @Option(name: .customLong("recover.max-records-per-second"), help: "Replay the WAL no faster than this, to watch a boot (0: no limit).")
    var maxRecordsPerSecond: UInt64 = 0

    @Option(name: .customLong("generate.records"), help: "Records of the WAL generated into an empty data directory.")
    var generateRecords = 200_000

    @Option(name: .customLong("boot.exit-after-failure"),
            help: "After a failed boot, serve the failure this long (so Prometheus scrapes it), then exit 1 so that the container is restarted (default: serve it until SIGTERM).",
            transform: DurationArgument.parse)
    var exitAfterFailure: DurationArgument?

    func validate() throws {
        guard generateRecords >= 0 else { throw ValidationError("--generate.records must not be negative") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        // Before anything starts: a SIGTERM from here on shuts down gracefully, however early.
        let signals = await ShutdownSignalService(logger: logger)
        // Before anything is opened: a SIGTERM while the file is read ends the process at once.
        guard let webConfig = try await web.loadConfigFile(stoppedBy: signals) else {
            logger.info("stopped while reading the web configuration file")
            return
        }
        // The journal outlives the process. It is read now, for the metrics of past boots, and written
        // once the directory's lock is held (by the WAL generation or the boot, whichever comes first):
        // a directory refused, or another process's, is left untouched. A read-only boot writes
        // nothing, not even there.
        let writable = recoveryMode != .readOnly
        let (journal, warnings) = BootJournal.open(directory: dataDirectory.path, writable: writable, writing: .afterLock,
                                                     budgets: boot.budgets)
        for warning in warnings { logger.warning("boot journal", metadata: ["problem": "\(warning)"]) }
        let mode = recoveryMode
        let fsm = boot.makeMachine(logger: logger) { change in
            journal.record(change, mode: mode, wallClock: SystemBootClock().wallClockNow())
        }
        // The server first: a bad --web.config.file or a port in use ends the run before the data
        // directory is created.
        let server = try web.startServer(for: fsm, web: webConfig, logger: logger,
                                         sources: [BootHistorySource(journal: journal), BootTimeHistogramSource(journal: journal)])
        // Quietly: what cannot be created is reported by the store, which needs it.
        if writable { try? FileIO.makeDirectories(dataDirectory.path) }
        let service = BootService(
            fsm: fsm, server: server, logger: logger,
            options: .init(path: dataDirectory.path, mode: recoveryMode,
                           maxRecordsPerSecond: maxRecordsPerSecond > 0 ? maxRecordsPerSecond : nil,
                           onLocked: {
                               for warning in journal.startWriting() where !warnings.contains(warning) {
                                   logger.warning("boot journal", metadata: ["problem": "\(warning)"])
                               }
                           }),
            generateRecords: generateRecords,
            exitAfterFailure: exitAfterFailure?.duration
        )
        logger.info("starting", metadata: [
            "version": "\(BootExporterVersion.current)", "data_dir": "\(dataDirectory.path)",
            "recovery_mode": "\(recoveryMode.name)", "budget_policy": "\(boot.budgetPolicy.name)",
        ])
        // Services stop in reverse order: the boot (shutting_down, checkpoint) before the server. The
        // signal service returns at SIGTERM or SIGINT, the boot service early only after a failed boot
        // (--boot.exit-after-failure); either return stops the others gracefully. The systemd notifier
        // (under NOTIFY_SOCKET) stops after the boot, so that it tells systemd the boot's shutdown.
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: signals, successTerminationBehavior: .gracefullyShutdownGroup),
                       .init(service: SystemdNotifierService(machine: fsm, exitAfterFailure: exitAfterFailure?.duration, logger: logger)),
                       .init(service: server), .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)],
            logger: logger
        ))
        try await group.run()
        if let failure = service.exitFailure {
            throw RuntimeFailure(failure)
        }
    }
}

/// The structured line logged at every change of phase.
enum PhaseChangeLog {
    static func log(_ change: PhaseChange, to logger: Logger) {
        var metadata: Logger.Metadata = [
            "from": "\(change.from.name)",
            "to": "\(change.to.name)",
            "duration_seconds": "\(change.duration.inSeconds)",
            "elapsed_seconds": "\(change.totalElapsed.inSeconds)",
            "wal_records_replayed": "\(change.counters.walRecordsReplayed)",
            "wal_bytes_processed": "\(change.counters.walBytesProcessed)",
            "pages_recovered": "\(change.counters.pagesRecovered)",
            "txns_rolled_back": "\(change.counters.txnsRolledBack)",
            "checkpoint_bytes_scanned": "\(change.counters.checkpointBytesScanned)",
            "migration_steps_completed": "\(change.counters.migrationStepsCompleted)",
        ]
        if let reason = change.failureReason {
            metadata["reason"] = "\(reason)"
            // A boot stopped by a signal ends in failed too (the seed's machine has no other way out
            // of a booting phase), but it is no error.
            if reason.hasSuffix(StoreBoot.stopReason) {
                logger.notice("phase changed", metadata: metadata)
            } else {
                logger.error("phase changed", metadata: metadata)
            }
        } else {
            logger.info("phase changed", metadata: metadata)
        }
    }
}

extension Duration {
    /// The duration in seconds, as the log lines give it.
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}
