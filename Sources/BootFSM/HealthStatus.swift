// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// The health report served at `/health`: the seed's keys, then the port's additions.
///
/// It is `Codable` with the JSON keys below, and ``toJSON()`` writes the same keys in the same order
/// (every string escaped as RFC 8259 requires; absent values as `null`, as the seed writes
/// `failure_reason`), so any JSON decoder reads it back.
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
            startMs = timing.start.milliseconds
            durationMs = timing.duration.milliseconds
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

extension HealthStatus {
    /// The report for `snapshot`.
    public init(_ snapshot: BootSnapshot) {
        let counters = snapshot.counters
        phase = snapshot.phase
        isReady = snapshot.phase.isReady
        isAlive = snapshot.phase.isAlive
        isBooting = snapshot.phase.isBooting
        progressPercent = snapshot.progressPercent
        progressMessage = snapshot.progress.message
        phaseElapsedMs = snapshot.phaseElapsed.milliseconds
        totalElapsedMs = snapshot.totalElapsed.milliseconds
        remainingBudgetMs = snapshot.phaseBudgetRemaining.milliseconds
        failureReason = snapshot.failureReason
        walRecordsReplayed = counters.walRecordsReplayed
        walBytesProcessed = counters.walBytesProcessed
        recoveryMode = snapshot.recoveryMode
        progressFraction = snapshot.progressFraction
        phaseEtaMs = snapshot.phaseETA?.milliseconds
        phaseBudgetMs = snapshot.phaseBudget?.milliseconds
        totalBudgetMs = snapshot.budgets.totalBudget.milliseconds
        totalRemainingBudgetMs = snapshot.totalBudgetRemaining.milliseconds
        budgetExceeded = snapshot.budgetExceeded
        phaseBudgetExceeded = snapshot.phaseBudgetExceeded
        totalBudgetExceeded = snapshot.totalBudgetExceeded
        failedPhase = snapshot.failedPhase
        bootStartUnixMs = snapshot.bootStartWallClock?.milliseconds
        bootDurationMs = snapshot.bootDuration?.milliseconds
        pagesRecovered = counters.pagesRecovered
        txnsRolledBack = counters.txnsRolledBack
        checkpointBytesScanned = counters.checkpointBytesScanned
        migrationStepsCompleted = counters.migrationStepsCompleted
        warmupHitRatio = counters.warmupHitRatio
        walRecordsSkipped = counters.walRecordsSkipped
        phaseHistory = snapshot.history.map(PhaseEntry.init)
    }

    /// The report as one line of JSON, keys in the order of `CodingKeys`, `null` for absent values
    /// (`JSONEncoder`, which BootFSM does not depend on, would omit them).
    public func toJSON() -> String {
        // Under 2 KiB for the fixed part; at most six bytes an escaped byte, 128 a history entry.
        let bound = 2048 + 6 * (progressMessage.utf8.count + (failureReason?.utf8.count ?? 0)) + 128 * phaseHistory.count
        return JSONWriter.write(capacity: bound) { w in
            w.beginObject()
            w.field("phase", plain: phase.name)
            w.field("is_ready", isReady)
            w.field("is_alive", isAlive)
            w.field("is_booting", isBooting)
            w.field("progress_percent", UInt64(progressPercent))
            w.field("progress_message", progressMessage)
            w.field("phase_elapsed_ms", phaseElapsedMs)
            w.field("total_elapsed_ms", totalElapsedMs)
            w.field("remaining_budget_ms", remainingBudgetMs)
            w.field("failure_reason", failureReason)
            w.field("wal_records_replayed", walRecordsReplayed)
            w.field("wal_bytes_processed", walBytesProcessed)
            w.field("recovery_mode", plain: recoveryMode.name)
            w.field("progress_fraction", progressFraction)
            w.field("phase_eta_ms", phaseEtaMs)
            w.field("phase_budget_ms", phaseBudgetMs)
            w.field("total_budget_ms", totalBudgetMs)
            w.field("total_remaining_budget_ms", totalRemainingBudgetMs)
            w.field("budget_exceeded", budgetExceeded)
            w.field("phase_budget_exceeded", phaseBudgetExceeded)
            w.field("total_budget_exceeded", totalBudgetExceeded)
            w.field("failed_phase", failedPhase?.name)
            w.field("boot_start_unix_ms", bootStartUnixMs)
            w.field("boot_duration_ms", bootDurationMs)
            w.field("pages_recovered", pagesRecovered)
            w.field("txns_rolled_back", txnsRolledBack)
            w.field("checkpoint_bytes_scanned", checkpointBytesScanned)
            w.field("migration_steps_completed", migrationStepsCompleted)
            w.field("warmup_hit_ratio", warmupHitRatio)
            w.field("wal_records_skipped", walRecordsSkipped)
            w.beginArray("phase_history")
            for entry in phaseHistory {
                w.beginObject()
                w.field("phase", plain: entry.phase.name)
                w.field("start_ms", entry.startMs)
                w.field("duration_ms", entry.durationMs)
                w.endObject()
            }
            w.endArray()
            w.endObject()
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds, rounded down; negative durations count as 0. The package's one
    /// conversion: the health JSON, the boot page, the histograms and the journal count alike.
    package var milliseconds: UInt64 {
        UInt64(clamping: max(attoseconds, 0) / 1_000_000_000_000_000)
    }
}
