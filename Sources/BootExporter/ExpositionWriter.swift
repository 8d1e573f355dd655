// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// Writes the exporter's metric set for one snapshot of the machine.
///
/// Every name, label and help text is rendered once per format when the writer is made (see
/// ``MetricFamily``); a scrape appends only numbers and the few label values that change (the
/// failure reason). This file is where every metric is named.
final class ExpositionWriter: Sendable {
    private let text: Templates
    private let openMetrics: Templates

    init(version: String) {
        text = Templates(format: .prometheusText, version: version)
        openMetrics = Templates(format: .openMetrics, version: version)
    }

    /// Appends the whole exposition of `snapshot` (and `process`, when readable) in `format`.
    func write(_ snapshot: BootSnapshot, process: ProcessMetrics?, requests: HTTPRequestCounters,
               format: ExpositionFormat, into out: inout OutputBuffer) {
        let t = format == .openMetrics ? openMetrics : text
        let phase = snapshot.phase

        // State.
        out.append(t.phase.header)
        for (index, candidate) in BootPhase.allCases.enumerated() {
            out.sample(t.phase.prefixes[index], candidate == phase ? 1 : 0 as UInt64)
        }
        out.family(t.phaseCode, UInt64(phase.rawValue))
        out.append(t.recoveryMode.header)
        for (index, mode) in RecoveryMode.allCases.enumerated() {
            out.sample(t.recoveryMode.prefixes[index], mode == snapshot.recoveryMode ? 1 : 0 as UInt64)
        }
        out.family(t.ready, phase.isReady ? 1 : 0 as UInt64)
        out.family(t.alive, phase.isAlive ? 1 : 0 as UInt64)
        out.family(t.booting, phase.isBooting ? 1 : 0 as UInt64)
        out.family(t.budgetExceeded, snapshot.budgetExceeded ? 1 : 0 as UInt64)
        if phase == .failed {
            out.append(t.failureInfo.header)
            out.append("boot_failure_info{phase=\"" as StaticString)
            out.append((snapshot.failedPhase ?? .failed).name)
            out.append("\",reason=\"" as StaticString)
            out.append(labelValue: snapshot.failureReason ?? "")
            out.append("\"} 1\n" as StaticString)
        }

        // Time.
        if let start = snapshot.bootStartWallClock {
            out.family(t.startTime, start.secondsValue)
        }
        out.family(t.elapsed, snapshot.totalElapsed.secondsValue)
        out.family(t.phaseElapsed, snapshot.phaseElapsed.secondsValue)
        out.append(t.phaseBudget.header)
        out.sample(t.phaseBudget.prefixes[0], snapshot.budgets.initBudget.secondsValue)
        out.sample(t.phaseBudget.prefixes[1], snapshot.budgets.migrateBudget.secondsValue)
        out.sample(t.phaseBudget.prefixes[2], snapshot.budgets.recoverBudget.secondsValue)
        out.sample(t.phaseBudget.prefixes[3], snapshot.budgets.warmupBudget.secondsValue)
        out.family(t.totalBudget, snapshot.budgets.totalBudget.secondsValue)
        out.family(t.phaseRemaining, snapshot.phaseBudgetRemaining.secondsValue)
        out.family(t.totalRemaining, snapshot.totalBudgetRemaining.secondsValue)
        if !snapshot.history.isEmpty {
            out.append(t.phaseDuration.header)
            for timing in snapshot.history {
                out.sample(t.phaseDuration.prefixes[Int(timing.phase.rawValue)], timing.duration.secondsValue)
            }
        }
        out.family(t.eta, snapshot.phaseETA?.secondsValue ?? .nan)

        // Progress.
        let progress = snapshot.progress
        out.family(t.progressRatio, snapshot.progressFraction)
        out.family(t.processedItems, progress.itemsProcessed)
        out.family(t.expectedItems, progress.itemsTotal)
        out.family(t.processedBytes, progress.bytesProcessed)
        out.family(t.expectedBytes, progress.bytesTotal)

        // Recovery counters.
        let counters = snapshot.counters
        out.family(t.walRecords, counters.walRecordsReplayed)
        out.family(t.walBytes, counters.walBytesProcessed)
        out.family(t.pages, counters.pagesRecovered)
        out.family(t.rollbacks, counters.txnsRolledBack)
        out.family(t.checkpointBytes, counters.checkpointBytesScanned)
        out.family(t.migrationSteps, counters.migrationStepsCompleted)
        out.family(t.walSkipped, counters.walRecordsSkipped)
        out.family(t.warmupHitRatio, counters.warmupHitRatio)

        // The process.
        if let process {
            out.family(t.cpu, process.cpuSeconds)
            out.family(t.residentMemory, process.residentMemoryBytes)
            out.family(t.virtualMemory, process.virtualMemoryBytes)
            out.family(t.openFDs, process.openFileDescriptors)
            out.family(t.maxFDs, process.maxFileDescriptors)
            out.family(t.processStart, process.startTimeSeconds)
        }

        // The exporter.
        out.family(t.buildInfo, 1 as UInt64)
        out.append(t.httpRequests.header)
        requests.forEachNonZero { handler, code, count in
            out.sample(t.httpRequests.prefixes[handler * HTTPRequestCounters.codes.count + code], count)
        }
    }

    /// Appends the end of the exposition: `# EOF` in OpenMetrics, nothing in the text format.
    func finish(format: ExpositionFormat, into out: inout OutputBuffer) {
        if format == .openMetrics { out.append("# EOF\n" as StaticString) }
    }

    /// Every family of the metric set, rendered for one format.
    private struct Templates: Sendable {
        let phase, phaseCode, recoveryMode, ready, alive, booting, budgetExceeded, failureInfo: MetricFamily
        let startTime, elapsed, phaseElapsed, phaseBudget, totalBudget, phaseRemaining, totalRemaining: MetricFamily
        let phaseDuration, eta: MetricFamily
        let progressRatio, processedItems, expectedItems, processedBytes, expectedBytes: MetricFamily
        let walRecords, walBytes, pages, rollbacks, checkpointBytes, migrationSteps, walSkipped, warmupHitRatio: MetricFamily
        let cpu, residentMemory, virtualMemory, openFDs, maxFDs, processStart: MetricFamily
        let buildInfo, httpRequests: MetricFamily

        init(format f: ExpositionFormat, version: String) {
            let phases = BootPhase.allCases.map { [$0.name] }
            let budgeted: [[String]] = [["init"], ["migrate"], ["recover"], ["warmup"]]
            phase = MetricFamily("boot_phase", .gauge, "1 for the current boot phase, 0 for every other.",
                                 format: f, labelNames: ["phase"], labelSets: phases)
            phaseCode = MetricFamily("boot_phase_code", .gauge,
                                     "The current boot phase as a number: 0 uninitialized, 1 init, 2 migrate, 3 recover, 4 warmup, 5 ready, 6 readonly_recovery, 7 force_recovery, 8 shutting_down, 9 failed.",
                                     format: f)
            recoveryMode = MetricFamily("boot_recovery_mode", .gauge, "1 for the recovery mode of the boot, 0 for the others.",
                                        format: f, labelNames: ["mode"], labelSets: RecoveryMode.allCases.map { [$0.name] })
            ready = MetricFamily("boot_ready", .gauge, "1 when the database is ready for traffic.", format: f)
            alive = MetricFamily("boot_alive", .gauge, "1 unless the boot failed.", format: f)
            booting = MetricFamily("boot_booting", .gauge, "1 while a boot phase is in progress.", format: f)
            budgetExceeded = MetricFamily("boot_budget_exceeded", .gauge,
                                          "1 when the current phase's or the total time budget has run out (after a failure: had run out when it failed).",
                                          format: f)
            failureInfo = MetricFamily("boot_failure_info", .gauge, "1, with the phase the boot failed in and why; only once failed.",
                                       format: f)
            startTime = MetricFamily("boot_start_time_seconds", .gauge, "When the boot started, in seconds since the Unix epoch.", format: f)
            elapsed = MetricFamily("boot_elapsed_seconds", .gauge, "Seconds since the boot started.", format: f)
            phaseElapsed = MetricFamily("boot_phase_elapsed_seconds", .gauge, "Seconds spent in the current phase.", format: f)
            phaseBudget = MetricFamily("boot_phase_budget_seconds", .gauge, "The configured time budget of each boot phase.",
                                       format: f, labelNames: ["phase"], labelSets: budgeted)
            totalBudget = MetricFamily("boot_total_budget_seconds", .gauge, "The configured time budget of the whole boot.", format: f)
            phaseRemaining = MetricFamily("boot_phase_budget_remaining_seconds", .gauge,
                                          "Seconds left in the current phase's budget; 0 outside booting phases and once exceeded.", format: f)
            totalRemaining = MetricFamily("boot_total_budget_remaining_seconds", .gauge,
                                          "Seconds left in the total budget; what was left at the end once the boot is over.", format: f)
            phaseDuration = MetricFamily("boot_phase_duration_seconds", .gauge, "How long each completed phase of this boot took.",
                                         format: f, labelNames: ["phase"], labelSets: phases)
            eta = MetricFamily("boot_phase_eta_seconds", .gauge,
                               "Estimated seconds left in the current phase at the observed rate of progress; NaN while unknown.", format: f)
            progressRatio = MetricFamily("boot_progress_ratio", .gauge, "Progress of the current phase, 0 to 1.", format: f)
            processedItems = MetricFamily("boot_progress_processed_items", .gauge, "Items processed in the current phase.", format: f)
            expectedItems = MetricFamily("boot_progress_expected_items", .gauge, "Items to process in the current phase; 0 when unknown.", format: f)
            processedBytes = MetricFamily("boot_progress_processed_bytes", .gauge, "Bytes processed in the current phase.", format: f)
            expectedBytes = MetricFamily("boot_progress_expected_bytes", .gauge, "Bytes to process in the current phase; 0 when unknown.", format: f)
            walRecords = MetricFamily("boot_wal_records_replayed_total", .counter, "WAL records replayed.", format: f)
            walBytes = MetricFamily("boot_wal_bytes_processed_total", .counter, "WAL bytes processed.", format: f)
            pages = MetricFamily("boot_pages_recovered_total", .counter, "Pages recovered.", format: f)
            rollbacks = MetricFamily("boot_txns_rolled_back_total", .counter, "Transactions rolled back.", format: f)
            checkpointBytes = MetricFamily("boot_checkpoint_bytes_scanned_total", .counter, "Checkpoint bytes scanned.", format: f)
            migrationSteps = MetricFamily("boot_migration_steps_completed_total", .counter, "Format migration steps completed.", format: f)
            walSkipped = MetricFamily("boot_wal_records_skipped_total", .counter, "Corrupt WAL records skipped by a force recovery.", format: f)
            warmupHitRatio = MetricFamily("boot_warmup_hit_ratio", .gauge, "Cache hit ratio of the warmup preload, 0 to 1.", format: f)
            cpu = MetricFamily("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.", format: f)
            residentMemory = MetricFamily("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.", format: f)
            virtualMemory = MetricFamily("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.", format: f)
            openFDs = MetricFamily("process_open_fds", .gauge, "Number of open file descriptors.", format: f)
            maxFDs = MetricFamily("process_max_fds", .gauge, "Maximum number of open file descriptors.", format: f)
            processStart = MetricFamily("process_start_time_seconds", .gauge,
                                        "Start time of the process since unix epoch in seconds.", format: f)
            buildInfo = MetricFamily("boot_exporter_build_info", .gauge, "1, with the version of boot-exporter.",
                                     format: f, labelNames: ["version"], labelSets: [[version]])
            httpRequests = MetricFamily("boot_exporter_http_requests_total", .counter, "HTTP requests answered, by handler and status code.",
                                        format: f, labelNames: ["handler", "code"],
                                        labelSets: Handler.allCases.flatMap { handler in
                                            HTTPRequestCounters.codes.map { [handler.rawValue, String($0)] }
                                        })
        }
    }
}

extension OutputBuffer {
    @inline(__always)
    mutating func sample(_ prefix: [UInt8], _ value: UInt64) {
        append(prefix)
        append(decimal: value)
        append(UInt8(ascii: "\n"))
    }

    @inline(__always)
    mutating func sample(_ prefix: [UInt8], _ value: Double) {
        append(prefix)
        append(sample: value)
        append(UInt8(ascii: "\n"))
    }

    /// The header and only sample of an unlabelled family.
    @inline(__always)
    mutating func family(_ family: MetricFamily, _ value: UInt64) {
        append(family.header)
        sample(family.prefix, value)
    }

    @inline(__always)
    mutating func family(_ family: MetricFamily, _ value: Double) {
        append(family.header)
        sample(family.prefix, value)
    }
}
