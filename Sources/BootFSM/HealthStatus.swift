// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// The health report served at `/health`: the seed's keys, then the port's additions.
///
/// It is `Codable` with the JSON keys below; ``toJSON()`` writes exactly what that encoding holds
/// (with every string escaped as RFC 8259 requires), so any JSON decoder reads it back.
public struct HealthStatus: Sendable, Equatable, Codable {
    // The seed's keys.
    public var phase: BootPhase
    public var isReady: Bool
    public var isAlive: Bool
    public var isBooting: Bool
    /// The caller's percent when set, else the derived fraction in whole percent.
    public var progressPercent: UInt8
    public var progressMessage: String
    public var phaseElapsedMs: UInt64
    public var totalElapsedMs: UInt64
    /// Time left in the current phase's budget.
    public var remainingBudgetMs: UInt64
    public var failureReason: String?
    public var walRecordsReplayed: UInt64
    public var walBytesProcessed: UInt64

    // Additions.
    public var recoveryMode: RecoveryMode
    public var progressFraction: Double
    public var phaseEtaMs: UInt64?
    public var phaseBudgetMs: UInt64?
    public var totalBudgetMs: UInt64
    public var totalRemainingBudgetMs: UInt64
    public var budgetExceeded: Bool
    public var phaseBudgetExceeded: Bool
    public var totalBudgetExceeded: Bool
    public var failedPhase: BootPhase?
    public var bootStartUnixMs: UInt64?
    public var bootDurationMs: UInt64?
    public var pagesRecovered: UInt64
    public var txnsRolledBack: UInt64
    public var checkpointBytesScanned: UInt64
    public var migrationStepsCompleted: UInt64
    public var warmupHitRatio: Double
    public var walRecordsSkipped: UInt64
    public var phaseHistory: [PhaseEntry]

    /// One completed phase in ``phaseHistory``.
    public struct PhaseEntry: Sendable, Equatable, Codable {
        public var phase: BootPhase
        public var startMs: UInt64
        public var durationMs: UInt64

        /// The entry for `timing`, in whole milliseconds.
        init(_ timing: PhaseTiming) {
            phase = timing.phase
            startMs = timing.start.wholeMilliseconds
            durationMs = timing.duration.wholeMilliseconds
        }

        enum CodingKeys: String, CodingKey {
            case phase
            case startMs = "start_ms"
            case durationMs = "duration_ms"
        }
    }

    enum CodingKeys: String, CodingKey {
        case phase
        case isReady = "is_ready"
        case isAlive = "is_alive"
        case isBooting = "is_booting"
        case progressPercent = "progress_percent"
        case progressMessage = "progress_message"
        case phaseElapsedMs = "phase_elapsed_ms"
        case totalElapsedMs = "total_elapsed_ms"
        case remainingBudgetMs = "remaining_budget_ms"
        case failureReason = "failure_reason"
        case walRecordsReplayed = "wal_records_replayed"
        case walBytesProcessed = "wal_bytes_processed"
        case recoveryMode = "recovery_mode"
        case progressFraction = "progress_fraction"
        case phaseEtaMs = "phase_eta_ms"
        case phaseBudgetMs = "phase_budget_ms"
        case totalBudgetMs = "total_budget_ms"
        case totalRemainingBudgetMs = "total_remaining_budget_ms"
        case budgetExceeded = "budget_exceeded"
        case phaseBudgetExceeded = "phase_budget_exceeded"
        case totalBudgetExceeded = "total_budget_exceeded"
        case failedPhase = "failed_phase"
        case bootStartUnixMs = "boot_start_unix_ms"
        case bootDurationMs = "boot_duration_ms"
        case pagesRecovered = "pages_recovered"
        case txnsRolledBack = "txns_rolled_back"
        case checkpointBytesScanned = "checkpoint_bytes_scanned"
        case migrationStepsCompleted = "migration_steps_completed"
        case warmupHitRatio = "warmup_hit_ratio"
        case walRecordsSkipped = "wal_records_skipped"
        case phaseHistory = "phase_history"
    }
}

// The initializers are in an extension, so that the struct keeps its memberwise initializer (used by
// `report(state:…)`).
extension HealthStatus {
    /// The report for `snapshot`.
    public init(_ snapshot: BootSnapshot) {
        self.init(snapshot, history: snapshot.history.map(PhaseEntry.init))
    }

    /// The report for `snapshot`, listing `history` as its phase history.
    @inline(__always)
    init(_ snapshot: BootSnapshot, history: [PhaseEntry]) {
        let progress = snapshot.progress
        phase = snapshot.phase
        isReady = snapshot.phase.isReady
        isAlive = snapshot.phase.isAlive
        isBooting = snapshot.phase.isBooting
        progressPercent = BootSnapshot.wholePercent(given: progress.percent, fraction: snapshot.progressFraction,
                                                      phase: snapshot.phase)
        progressMessage = progress.message
        phaseElapsedMs = snapshot.phaseElapsed.wholeMilliseconds
        totalElapsedMs = snapshot.totalElapsed.wholeMilliseconds
        remainingBudgetMs = snapshot.phaseBudgetRemaining.wholeMilliseconds
        failureReason = snapshot.failureReason
        walRecordsReplayed = snapshot.counters.walRecordsReplayed
        walBytesProcessed = snapshot.counters.walBytesProcessed
        recoveryMode = snapshot.recoveryMode
        progressFraction = snapshot.progressFraction
        phaseEtaMs = snapshot.phaseETA?.wholeMilliseconds
        phaseBudgetMs = snapshot.phaseBudget?.wholeMilliseconds
        totalBudgetMs = snapshot.budgets.totalBudget.wholeMilliseconds
        totalRemainingBudgetMs = snapshot.totalBudgetRemaining.wholeMilliseconds
        budgetExceeded = snapshot.budgetExceeded
        phaseBudgetExceeded = snapshot.phaseBudgetExceeded
        totalBudgetExceeded = snapshot.totalBudgetExceeded
        failedPhase = snapshot.failedPhase
        bootStartUnixMs = snapshot.bootStartWallClock?.wholeMilliseconds
        bootDurationMs = snapshot.bootDuration?.wholeMilliseconds
        pagesRecovered = snapshot.counters.pagesRecovered
        txnsRolledBack = snapshot.counters.txnsRolledBack
        checkpointBytesScanned = snapshot.counters.checkpointBytesScanned
        migrationStepsCompleted = snapshot.counters.migrationStepsCompleted
        warmupHitRatio = snapshot.counters.warmupHitRatio
        walRecordsSkipped = snapshot.counters.walRecordsSkipped
        phaseHistory = history
    }

    /// The report on `state` at `now`: what `HealthStatus(state.snapshot(…))` holds, computed straight
    /// from the state under the machine's lock. Probes and scrapes ask for it constantly; going
    /// through a ``BootSnapshot`` built a second large value (with its own copy of the progress) only
    /// to copy it field by field into this one. `HealthStatusTests` checks that both ways agree.
    @inline(__always)
    static func report(state: borrowing MachineState, budgets: BootBudgets, counters: BootCounters, now: Duration,
                       history: [PhaseEntry]) -> HealthStatus {
        let phase = state.phase
        let status = state.budgetStatus(budgets: budgets, now: now)
        let fraction = phase.hasBooted ? 1 : state.progress.fraction
        let failed = phase == .failed
        let phaseExceeded = failed ? state.exceededAtFailure.phase : status.phaseExceeded
        let totalExceeded = failed ? state.exceededAtFailure.total : status.totalExceeded
        // The synthesized memberwise initializer: a hand-written one with every field (or fields
        // assigned one by one) built the report in a temporary and copied it whole on the way out
        // (callgrind: healthStatus() 1,436 instructions then, 1,127 now).
        return HealthStatus(
            phase: phase,
            isReady: phase.isReady,
            isAlive: phase.isAlive,
            isBooting: phase.isBooting,
            progressPercent: BootSnapshot.wholePercent(given: state.progress.percent, fraction: fraction, phase: phase),
            progressMessage: state.progress.message,
            phaseElapsedMs: now.since(state.phaseStart).wholeMilliseconds,
            totalElapsedMs: state.totalElapsed(now: now).wholeMilliseconds,
            remainingBudgetMs: status.phaseRemaining.wholeMilliseconds,
            failureReason: state.failureReason,
            walRecordsReplayed: counters.walRecordsReplayed,
            walBytesProcessed: counters.walBytesProcessed,
            recoveryMode: state.mode,
            progressFraction: fraction,
            phaseEtaMs: phase.isBooting ? state.eta(fraction: fraction, now: now)?.wholeMilliseconds : nil,
            phaseBudgetMs: status.phaseBudget?.wholeMilliseconds,
            totalBudgetMs: budgets.totalBudget.wholeMilliseconds,
            totalRemainingBudgetMs: status.totalRemaining.wholeMilliseconds,
            budgetExceeded: phaseExceeded || totalExceeded,
            phaseBudgetExceeded: phaseExceeded,
            totalBudgetExceeded: totalExceeded,
            failedPhase: state.failedPhase,
            bootStartUnixMs: state.bootStartWallClock?.wholeMilliseconds,
            bootDurationMs: state.bootEnd.flatMap { end in state.bootStart.map { end.since($0).wholeMilliseconds } },
            pagesRecovered: counters.pagesRecovered,
            txnsRolledBack: counters.txnsRolledBack,
            checkpointBytesScanned: counters.checkpointBytesScanned,
            migrationStepsCompleted: counters.migrationStepsCompleted,
            warmupHitRatio: counters.warmupHitRatio,
            walRecordsSkipped: counters.walRecordsSkipped,
            phaseHistory: history)
    }

    /// Encodes every key, writing `null` for absent optionals as the seed does for `failure_reason`.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(phase, forKey: .phase)
        try c.encode(isReady, forKey: .isReady)
        try c.encode(isAlive, forKey: .isAlive)
        try c.encode(isBooting, forKey: .isBooting)
        try c.encode(progressPercent, forKey: .progressPercent)
        try c.encode(progressMessage, forKey: .progressMessage)
        try c.encode(phaseElapsedMs, forKey: .phaseElapsedMs)
        try c.encode(totalElapsedMs, forKey: .totalElapsedMs)
        try c.encode(remainingBudgetMs, forKey: .remainingBudgetMs)
        try c.encode(failureReason, forKey: .failureReason)
        try c.encode(walRecordsReplayed, forKey: .walRecordsReplayed)
        try c.encode(walBytesProcessed, forKey: .walBytesProcessed)
        try c.encode(recoveryMode, forKey: .recoveryMode)
        try c.encode(progressFraction, forKey: .progressFraction)
        try c.encode(phaseEtaMs, forKey: .phaseEtaMs)
        try c.encode(phaseBudgetMs, forKey: .phaseBudgetMs)
        try c.encode(totalBudgetMs, forKey: .totalBudgetMs)
        try c.encode(totalRemainingBudgetMs, forKey: .totalRemainingBudgetMs)
        try c.encode(budgetExceeded, forKey: .budgetExceeded)
        try c.encode(phaseBudgetExceeded, forKey: .phaseBudgetExceeded)
        try c.encode(totalBudgetExceeded, forKey: .totalBudgetExceeded)
        try c.encode(failedPhase, forKey: .failedPhase)
        try c.encode(bootStartUnixMs, forKey: .bootStartUnixMs)
        try c.encode(bootDurationMs, forKey: .bootDurationMs)
        try c.encode(pagesRecovered, forKey: .pagesRecovered)
        try c.encode(txnsRolledBack, forKey: .txnsRolledBack)
        try c.encode(checkpointBytesScanned, forKey: .checkpointBytesScanned)
        try c.encode(migrationStepsCompleted, forKey: .migrationStepsCompleted)
        try c.encode(warmupHitRatio, forKey: .warmupHitRatio)
        try c.encode(walRecordsSkipped, forKey: .walRecordsSkipped)
        try c.encode(phaseHistory, forKey: .phaseHistory)
    }

    /// The report as one line of JSON, keys in the order above.
    ///
    /// Written directly rather than through a general-purpose encoder because probes and scrapes ask
    /// for it constantly; `HealthStatusTests` decodes it with `JSONDecoder` to prove it is the
    /// same value.
    public func toJSON() -> String {
        // The fixed part (31 keys, numbers of at most 20 digits, two doubles) stays well under
        // 2 KiB; an escaped byte takes at most six; a history entry at most 128.
        let bound = 2048 + 6 * (progressMessage.utf8.count + (failureReason?.utf8.count ?? 0)) + 128 * phaseHistory.count
        return String(unsafeUninitializedCapacity: bound) { buffer in
            var w = JSONWriter(buffer)
            w.beginObject()
            w.key("phase"); w.string(plain: phase.staticName)
            w.key("is_ready"); w.bool(isReady)
            w.key("is_alive"); w.bool(isAlive)
            w.key("is_booting"); w.bool(isBooting)
            w.key("progress_percent"); w.number(UInt64(progressPercent))
            w.key("progress_message"); w.string(progressMessage)
            w.key("phase_elapsed_ms"); w.number(phaseElapsedMs)
            w.key("total_elapsed_ms"); w.number(totalElapsedMs)
            w.key("remaining_budget_ms"); w.number(remainingBudgetMs)
            w.key("failure_reason"); w.string(failureReason)
            w.key("wal_records_replayed"); w.number(walRecordsReplayed)
            w.key("wal_bytes_processed"); w.number(walBytesProcessed)
            w.key("recovery_mode"); w.string(plain: recoveryMode.staticName)
            w.key("progress_fraction"); w.number(progressFraction)
            w.key("phase_eta_ms"); w.number(phaseEtaMs)
            w.key("phase_budget_ms"); w.number(phaseBudgetMs)
            w.key("total_budget_ms"); w.number(totalBudgetMs)
            w.key("total_remaining_budget_ms"); w.number(totalRemainingBudgetMs)
            w.key("budget_exceeded"); w.bool(budgetExceeded)
            w.key("phase_budget_exceeded"); w.bool(phaseBudgetExceeded)
            w.key("total_budget_exceeded"); w.bool(totalBudgetExceeded)
            w.key("failed_phase")
            if let failedPhase { w.string(plain: failedPhase.staticName) } else { w.null() }
            w.key("boot_start_unix_ms"); w.number(bootStartUnixMs)
            w.key("boot_duration_ms"); w.number(bootDurationMs)
            w.key("pages_recovered"); w.number(pagesRecovered)
            w.key("txns_rolled_back"); w.number(txnsRolledBack)
            w.key("checkpoint_bytes_scanned"); w.number(checkpointBytesScanned)
            w.key("migration_steps_completed"); w.number(migrationStepsCompleted)
            w.key("warmup_hit_ratio"); w.number(warmupHitRatio)
            w.key("wal_records_skipped"); w.number(walRecordsSkipped)
            w.key("phase_history"); w.beginArray()
            for entry in phaseHistory {
                w.beginObject()
                w.key("phase"); w.string(plain: entry.phase.staticName)
                w.key("start_ms"); w.number(entry.startMs)
                w.key("duration_ms"); w.number(entry.durationMs)
                w.endObject()
            }
            w.endArray()
            w.endObject()
            return w.written
        }
    }
}
