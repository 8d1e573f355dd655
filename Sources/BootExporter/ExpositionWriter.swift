// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// Writes the exporter's metric set for one snapshot of the machine.
///
/// Every name, label and help text is rendered once per format when the writer is made (see
/// ``MetricFamily``); a scrape appends only numbers and the few label values that change (the
/// failure reason). This file is where every metric of the boot is named; those of the boots
/// before it are named in ``BootHistorySource``.
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
        let v = TemplateView(t.text)
        let phase = snapshot.phase

        // State.
        out.header(t.phase, v)
        // The prefixes are in raw-value order.
        for index in 0..<t.phase.prefixCount {
            out.sample(t.phase, index, v, index == Int(phase.rawValue) ? 1 : 0 as UInt64)
        }
        out.family(t.phaseCode, v, UInt64(phase.rawValue))
        out.header(t.recoveryMode, v)
        let modeIndex: Int = switch snapshot.recoveryMode {
        case .normal: 0
        case .readOnly: 1
        case .force: 2
        }
        for index in 0..<t.recoveryMode.prefixCount {
            out.sample(t.recoveryMode, index, v, index == modeIndex ? 1 : 0 as UInt64)
        }
        out.family(t.ready, v, phase.isReady ? 1 : 0 as UInt64)
        out.family(t.alive, v, phase.isAlive ? 1 : 0 as UInt64)
        out.family(t.booting, v, phase.isBooting ? 1 : 0 as UInt64)
        out.family(t.budgetExceeded, v, snapshot.budgetExceeded ? 1 : 0 as UInt64)
        if phase == .failed {
            out.header(t.failureInfo, v)
            out.append("boot_failure_info{phase=\"" as StaticString)
            out.append((snapshot.failedPhase ?? .failed).name)
            out.append("\",reason=\"" as StaticString)
            out.append(labelValue: snapshot.failureReason ?? "")
            out.append("\"} 1\n" as StaticString)
        }

        // Time.
        if let start = snapshot.bootStartWallClock {
            out.family(t.startTime, v, start)
        }
        out.family(t.elapsed, v, snapshot.totalElapsed)
        out.family(t.phaseElapsed, v, snapshot.phaseElapsed)
        out.header(t.phaseBudget, v)
        out.sample(t.phaseBudget, 0, v, snapshot.budgets.initBudget)
        out.sample(t.phaseBudget, 1, v, snapshot.budgets.migrateBudget)
        out.sample(t.phaseBudget, 2, v, snapshot.budgets.recoverBudget)
        out.sample(t.phaseBudget, 3, v, snapshot.budgets.warmupBudget)
        out.family(t.totalBudget, v, snapshot.budgets.totalBudget)
        out.family(t.phaseRemaining, v, snapshot.phaseBudgetRemaining)
        out.family(t.totalRemaining, v, snapshot.totalBudgetRemaining)
        if !snapshot.history.isEmpty {
            out.header(t.phaseDuration, v)
            for timing in snapshot.history {
                out.sample(t.phaseDuration, Int(timing.phase.rawValue), v, timing.duration)
            }
        }
        out.family(t.eta, v, snapshot.phaseETA)

        // Progress.
        let progress = snapshot.progress
        out.family(t.progressRatio, v, snapshot.progressFraction)
        out.family(t.processedItems, v, progress.itemsProcessed)
        out.family(t.expectedItems, v, progress.itemsTotal)
        out.family(t.processedBytes, v, progress.bytesProcessed)
        out.family(t.expectedBytes, v, progress.bytesTotal)

        // Recovery counters.
        let counters = snapshot.counters
        out.family(t.walRecords, v, counters.walRecordsReplayed)
        out.family(t.walBytes, v, counters.walBytesProcessed)
        out.family(t.pages, v, counters.pagesRecovered)
        out.family(t.rollbacks, v, counters.txnsRolledBack)
        out.family(t.checkpointBytes, v, counters.checkpointBytesScanned)
        out.family(t.migrationSteps, v, counters.migrationStepsCompleted)
        out.family(t.walSkipped, v, counters.walRecordsSkipped)
        out.family(t.warmupHitRatio, v, counters.warmupHitRatio)

        // The process.
        if let process {
            out.family(t.cpu, v, process.cpuSeconds)
            out.family(t.residentMemory, v, process.residentMemoryBytes)
            out.family(t.virtualMemory, v, process.virtualMemoryBytes)
            out.family(t.openFDs, v, process.openFileDescriptors)
            out.family(t.maxFDs, v, process.maxFileDescriptors)
            out.family(t.processStart, v, process.startTimeSeconds)
        }

        // The exporter.
        out.family(t.buildInfo, v, 1 as UInt64)
        out.header(t.httpRequests, v)
        requests.forEachNonZero { handler, code, count in
            out.sample(t.httpRequests, handler * HTTPRequestCounters.codes.count + code, v, count)
        }
    }

    /// Appends the end of the exposition: `# EOF` in OpenMetrics, nothing in the text format.
    func finish(format: ExpositionFormat, into out: inout OutputBuffer) {
        if format == .openMetrics { out.append("# EOF\n" as StaticString) }
    }

    /// Every family of the metric set, rendered for one format. A class, so that picking a format
    /// costs one retain rather than one per family.
    private final class Templates: Sendable {
        let text: TextTemplate
        let phase, phaseCode, recoveryMode, ready, alive, booting, budgetExceeded, failureInfo: MetricFamily
        let startTime, elapsed, phaseElapsed, phaseBudget, totalBudget, phaseRemaining, totalRemaining: MetricFamily
        let phaseDuration, eta: MetricFamily
        let progressRatio, processedItems, expectedItems, processedBytes, expectedBytes: MetricFamily
        let walRecords, walBytes, pages, rollbacks, checkpointBytes, migrationSteps, walSkipped, warmupHitRatio: MetricFamily
        let cpu, residentMemory, virtualMemory, openFDs, maxFDs, processStart: MetricFamily
        let buildInfo, httpRequests: MetricFamily

        init(format f: ExpositionFormat, version: String) {
            let b = TextTemplate(format: f)
            text = b
            let phases = BootPhase.allCases.map { [$0.name] }
            let budgeted: [[String]] = [["init"], ["migrate"], ["recover"], ["warmup"]]
            phase = b.family("boot_phase", .gauge, "1 for the current boot phase, 0 for every other.",
                                 labelNames: ["phase"], labelSets: phases)
            phaseCode = b.family("boot_phase_code", .gauge,
                                     "The current boot phase as a number: 0 uninitialized, 1 init, 2 migrate, 3 recover, 4 warmup, 5 ready, 6 readonly_recovery, 7 force_recovery, 8 shutting_down, 9 failed.")
            recoveryMode = b.family("boot_recovery_mode", .gauge, "1 for the recovery mode of the boot, 0 for the others.", labelNames: ["mode"], labelSets: RecoveryMode.allCases.map { [$0.name] })
            ready = b.family("boot_ready", .gauge, "1 when the database is ready for traffic.")
            alive = b.family("boot_alive", .gauge, "1 unless the boot failed.")
            booting = b.family("boot_booting", .gauge, "1 while a boot phase is in progress.")
            budgetExceeded = b.family("boot_budget_exceeded", .gauge,
                                          "1 when the current phase's or the total time budget has run out (after a failure: had run out when it failed).")
            failureInfo = b.family("boot_failure_info", .gauge, "1, with the phase the boot failed in and why; only once failed.")
            startTime = b.family("boot_start_time_seconds", .gauge, "When the boot started, in seconds since the Unix epoch.")
            elapsed = b.family("boot_elapsed_seconds", .gauge, "Seconds since the boot started.")
            phaseElapsed = b.family("boot_phase_elapsed_seconds", .gauge, "Seconds spent in the current phase.")
            phaseBudget = b.family("boot_phase_budget_seconds", .gauge, "The configured time budget of each boot phase.", labelNames: ["phase"], labelSets: budgeted)
            totalBudget = b.family("boot_total_budget_seconds", .gauge, "The configured time budget of the whole boot.")
            phaseRemaining = b.family("boot_phase_budget_remaining_seconds", .gauge,
                                          "Seconds left in the current phase's budget; 0 outside booting phases and once exceeded.")
            totalRemaining = b.family("boot_total_budget_remaining_seconds", .gauge,
                                          "Seconds left in the total budget; what was left at the end once the boot is over.")
            phaseDuration = b.family("boot_phase_duration_seconds", .gauge, "How long each completed phase of this boot took.", labelNames: ["phase"], labelSets: phases)
            eta = b.family("boot_phase_eta_seconds", .gauge,
                               "Estimated seconds left in the current phase at the observed rate of progress; NaN while unknown.")
            progressRatio = b.family("boot_progress_ratio", .gauge, "Progress of the current phase, 0 to 1.")
            processedItems = b.family("boot_progress_processed_items", .gauge, "Items processed in the current phase.")
            expectedItems = b.family("boot_progress_expected_items", .gauge, "Items to process in the current phase; 0 when unknown.")
            processedBytes = b.family("boot_progress_processed_bytes", .gauge, "Bytes processed in the current phase.")
            expectedBytes = b.family("boot_progress_expected_bytes", .gauge, "Bytes to process in the current phase; 0 when unknown.")
            walRecords = b.family("boot_wal_records_replayed_total", .counter, "WAL records replayed.")
            walBytes = b.family("boot_wal_bytes_processed_total", .counter, "WAL bytes processed.")
            pages = b.family("boot_pages_recovered_total", .counter, "Pages recovered.")
            rollbacks = b.family("boot_txns_rolled_back_total", .counter, "Transactions rolled back.")
            checkpointBytes = b.family("boot_checkpoint_bytes_scanned_total", .counter, "Checkpoint bytes scanned.")
            migrationSteps = b.family("boot_migration_steps_completed_total", .counter, "Format migration steps completed.")
            walSkipped = b.family("boot_wal_records_skipped_total", .counter, "Damaged WAL stretches (corrupt records, garbage, broken segment headers) skipped by a force recovery.")
            warmupHitRatio = b.family("boot_warmup_hit_ratio", .gauge, "Cache hit ratio of the warmup preload, 0 to 1.")
            cpu = b.family("process_cpu_seconds_total", .counter, "Total user and system CPU time spent in seconds.")
            residentMemory = b.family("process_resident_memory_bytes", .gauge, "Resident memory size in bytes.")
            virtualMemory = b.family("process_virtual_memory_bytes", .gauge, "Virtual memory size in bytes.")
            openFDs = b.family("process_open_fds", .gauge, "Number of open file descriptors.")
            maxFDs = b.family("process_max_fds", .gauge, "Maximum number of open file descriptors.")
            processStart = b.family("process_start_time_seconds", .gauge,
                                        "Start time of the process since unix epoch in seconds.")
            buildInfo = b.family("boot_exporter_build_info", .gauge, "1, with the version of boot-exporter.", labelNames: ["version"], labelSets: [[version]])
            httpRequests = b.family("boot_exporter_http_requests_total", .counter, "HTTP requests answered, by handler and status code.", labelNames: ["handler", "code"],
                                        labelSets: Handler.allCases.flatMap { handler in
                                            HTTPRequestCounters.codes.map { [handler.rawValue, String($0)] }
                                        })
            b.seal()
        }
    }
}

/// The sealed bytes of a ``TextTemplate``, as plain pointers: no reference counting per use.
struct TemplateView {
    let base: UnsafeRawPointer
    let prefixes: UnsafePointer<TextRange>

    init(_ template: TextTemplate) {
        base = template.base
        prefixes = template.prefixTable
    }

    @inline(__always)
    func bytes(_ range: TextRange) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: base + range.start, count: range.count)
    }

    @inline(__always)
    func prefix(_ family: MetricFamily, _ index: Int) -> UnsafeRawBufferPointer {
        precondition(index >= 0 && index < family.prefixCount)
        return bytes(prefixes[family.firstPrefix + index])
    }
}

extension OutputBuffer {
    @inline(__always)
    mutating func header(_ family: MetricFamily, _ view: TemplateView) {
        append(view.bytes(family.header))
    }

    @inline(__always)
    mutating func sample(_ family: MetricFamily, _ index: Int, _ view: TemplateView, _ value: UInt64) {
        append(view.prefix(family, index))
        append(decimal: value)
        append(UInt8(ascii: "\n"))
    }

    @inline(__always)
    mutating func sample(_ family: MetricFamily, _ index: Int, _ view: TemplateView, _ value: Double) {
        append(view.prefix(family, index))
        append(sample: value)
        append(UInt8(ascii: "\n"))
    }

    @inline(__always)
    mutating func sample(_ family: MetricFamily, _ index: Int, _ view: TemplateView, _ value: Duration) {
        append(view.prefix(family, index))
        append(seconds: value)
        append(UInt8(ascii: "\n"))
    }

    /// A duration in seconds, or NaN when there is none.
    @inline(__always)
    mutating func family(_ family: MetricFamily, _ view: TemplateView, _ value: Duration?) {
        header(family, view)
        guard let value else { return sample(family, 0, view, Double.nan) }
        sample(family, 0, view, value)
    }

    /// The header and only sample of an unlabelled family.
    @inline(__always)
    mutating func family(_ family: MetricFamily, _ view: TemplateView, _ value: UInt64) {
        header(family, view)
        sample(family, 0, view, value)
    }

    @inline(__always)
    mutating func family(_ family: MetricFamily, _ view: TemplateView, _ value: Double) {
        header(family, view)
        sample(family, 0, view, value)
    }
}
