// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// What the boot page at `/` shows, read at one moment: the machine's report, the current phase's
/// item and byte counts, every budget, and the boots of the journal when there is one. The page is
/// rendered from it, and its script reads the same as JSON from `/boot.json`.
struct BootPageState {
    /// The most boots the page lists, newest first.
    static let shownBoots = 10

    var health: HealthStatus
    var progress: PhaseProgress
    var budgets: BootBudgets
    /// The latest boots, newest first; `nil` when nothing remembers boots (`follow`, or an embedding
    /// application without a ``BootHistorySource``).
    var boots: [BootAttempt]?

    init(_ snapshot: BootSnapshot, boots: [BootAttempt]?) {
        health = HealthStatus(snapshot)
        progress = snapshot.progress
        budgets = snapshot.budgets
        self.boots = boots.map { Array($0.suffix(Self.shownBoots).reversed()) }
    }

    /// One row of the budget table: a phase budget, or the total (`phase` nil).
    struct BudgetUse: Equatable {
        enum Status: String { case pending, running, done, risk, over, failed }
        var phase: BootPhase?
        var usedMs: UInt64
        var budgetMs: UInt64
        var status: Status
    }

    /// The phase budgets of this boot's path (its recovery phase the mode's), then the total.
    ///
    /// A budget is at risk when the current phase's ETA passes what is left of it, exceeded once the
    /// time used passes it; the failed phase's and the total of a failed boot are marked failed.
    /// `/boot.json` carries the rows (`budget_uses`), which the script draws as they are.
    var budgetUses: [BudgetUse] {
        let h = health
        let path: [BootPhase] = [.initializing, .migrating, h.recoveryMode.recoveryPhase, .warmingUp]
        var uses = path.map { phase -> BudgetUse in
            let past = h.phaseHistory.filter { $0.phase == phase }
            let current = h.phase == phase
            let used = past.reduce(0) { $0 + $1.durationMs } + (current ? h.phaseElapsedMs : 0)
            let budget = budgets.budget(for: phase)?.milliseconds ?? 0
            let risk = current && (h.phaseEtaMs ?? 0) > h.remainingBudgetMs
            return BudgetUse(phase: phase, usedMs: used, budgetMs: budget,
                             status: Self.status(used: used, budget: budget, risk: risk, current: current,
                                                 done: !past.isEmpty, failed: h.failedPhase == phase))
        }
        let used = h.bootDurationMs ?? h.totalElapsedMs
        let budget = budgets.totalBudget.milliseconds
        let risk = h.isBooting && (h.phaseEtaMs ?? 0) > h.totalRemainingBudgetMs
        uses.append(BudgetUse(phase: nil, usedMs: used, budgetMs: budget,
                              status: Self.status(used: used, budget: budget, risk: risk, current: h.isBooting,
                                                  done: h.bootDurationMs != nil, failed: h.phase == .failed)))
        return uses
    }

    private static func status(used: UInt64, budget: UInt64, risk: Bool, current: Bool, done: Bool,
                               failed: Bool) -> BudgetUse.Status {
        if used > budget { return .over }
        if failed { return .failed }
        if risk { return .risk }
        if current { return .running }
        return done ? .done : .pending
    }

    /// One bar of the timeline: a completed phase, or the current one while the boot runs.
    struct TimelineEntry: Equatable {
        var phase: BootPhase
        var startMs: UInt64
        var durationMs: UInt64
        var running: Bool
    }

    var timeline: [TimelineEntry] {
        var entries = health.phaseHistory.map { TimelineEntry(phase: $0.phase, startMs: $0.startMs, durationMs: $0.durationMs, running: false) }
        if health.isBooting {
            entries.append(TimelineEntry(phase: health.phase, startMs: health.totalElapsedMs - min(health.phaseElapsedMs, health.totalElapsedMs),
                                         durationMs: health.phaseElapsedMs, running: true))
        }
        return entries
    }

    /// The state as `/boot.json`: the health JSON as it is under `health`, then what the page adds.
    func json() -> String {
        var out = "{\"health\":"
        out += health.toJSON()
        out += ",\"progress\":{\"items_processed\":\(progress.itemsProcessed),\"items_total\":\(progress.itemsTotal)"
        out += ",\"bytes_processed\":\(progress.bytesProcessed),\"bytes_total\":\(progress.bytesTotal)}"
        out += ",\"budgets_ms\":{\"init\":\(budgets.initBudget.milliseconds),\"migrate\":\(budgets.migrateBudget.milliseconds)"
        out += ",\"recover\":\(budgets.recoverBudget.milliseconds),\"warmup\":\(budgets.warmupBudget.milliseconds)"
        out += ",\"total\":\(budgets.totalBudget.milliseconds)}"
        // The budget rows and the timeline as the page draws them: the script renders, it does not decide.
        out += ",\"budget_uses\":["
        out += budgetUses.map { use in
            "{\"phase\":\(Self.jsonString(use.phase?.name)),\"used_ms\":\(use.usedMs),\"budget_ms\":\(use.budgetMs),\"status\":\"\(use.status.rawValue)\"}"
        }.joined(separator: ",")
        out += "],\"timeline\":["
        out += timeline.map { entry in
            "{\"phase\":\"\(entry.phase.name)\",\"start_ms\":\(entry.startMs),\"duration_ms\":\(entry.durationMs),\"running\":\(entry.running)}"
        }.joined(separator: ",")
        out += "]"
        out += ",\"boots\":"
        if let boots {
            out += "["
            for (index, boot) in boots.enumerated() {
                if index > 0 { out += "," }
                out += "{\"attempt\":\(boot.attempt),\"outcome\":\"\(boot.outcome.name)\""
                out += ",\"duration_ms\":\(boot.duration.map { String($0.milliseconds) } ?? "null")"
                out += ",\"failed_phase\":\(Self.jsonString(boot.failedPhase)),\"reason\":\(Self.jsonString(boot.reason))}"
            }
            out += "]"
        } else {
            out += "null"
        }
        out += "}"
        return out
    }

    /// `text` as a JSON string (`null` for nil). `<`, `>` and `&` are escaped too, so the JSON stays
    /// inert wherever it is pasted.
    static func jsonString(_ text: String?) -> String {
        guard let text else { return "null" }
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "<", ">", "&", "\u{2028}", "\u{2029}":
                out += unicodeEscape(scalar.value)
            default:
                if scalar.value < 0x20 || scalar.value == 0x7F {
                    out += unicodeEscape(scalar.value)
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out + "\""
    }

    /// `\u00XX`: four hexadecimal digits (only characters below U+10000 are written so).
    private static func unicodeEscape(_ value: UInt32) -> String {
        let hex = String(value, radix: 16)
        return "\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
    }
}

extension BootAttempt.Outcome {
    /// The outcome as the page and `/boot.json` name it, as the journal does.
    var name: String {
        switch self {
        case .ready: "ready"
        case .failed: "failed"
        case .stopped: "stopped"
        case .crashed: "crashed"
        case .running: "running"
        }
    }
}
