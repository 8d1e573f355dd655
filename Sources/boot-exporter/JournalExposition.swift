// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import Synchronization
import WALStore

/// The journal's metrics, beside the boot's: attempts across restarts, consecutive failures, and
/// the previous boot's outcome, duration and phases. Rendered again only when the journal changed.
final class JournalExposition: ExpositionSource {
    let journal: BootJournal
    /// The attempt number of the boot before this process's (0: none), found again by number even
    /// after the journal compacts itself.
    private let previousAttempt: UInt64
    private let rendered = Mutex<(count: Int, outcome: JournalBoot.Outcome?, text: [UInt8], openMetrics: [UInt8])?>(nil)

    init(journal: BootJournal) {
        self.journal = journal
        previousAttempt = journal.boots.last?.attempt ?? 0
    }

    var supportsOpenMetrics: Bool { true }

    func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8]) {
        let boots = journal.boots
        let key = (boots.count, boots.last?.outcome)
        let cached = rendered.withLock { cache -> (text: [UInt8], openMetrics: [UInt8]) in
            if let cache, cache.count == key.0, cache.outcome == key.1 { return (cache.text, cache.openMetrics) }
            let previous = previousAttempt == 0 ? nil : boots.last { $0.attempt == previousAttempt }
            let text = Self.render(boots, previous: previous, openMetrics: false)
            let openMetrics = Self.render(boots, previous: previous, openMetrics: true)
            cache = (key.0, key.1, text, openMetrics)
            return (text, openMetrics)
        }
        buffer.append(contentsOf: format == .openMetrics ? cached.openMetrics : cached.text)
    }

    /// The exposition of `boots` (oldest first; the running boot, if any, last), `previous` being
    /// the boot before this process's.
    static func render(_ boots: [JournalBoot], previous: JournalBoot?, openMetrics: Bool) -> [UInt8] {
        var out = ""
        let attempts = boots.last?.attempt ?? 0
        let finished = boots.filter { $0.outcome != .running }
        // Boots stopped on request (rolling restarts) neither count nor break the run.
        let consecutive = boots.reversed().drop { $0.outcome == .running }.filter { $0.outcome != .stopped }
            .prefix { $0.outcome == .failed || $0.outcome == .crashed }.count

        out += "# HELP \(openMetrics ? "boot_attempts" : "boot_attempts_total") Boots started in this data directory, across restarts (the boot journal).\n"
        out += "# TYPE \(openMetrics ? "boot_attempts" : "boot_attempts_total") counter\nboot_attempts_total \(attempts)\n"
        out += "# HELP boot_consecutive_failures Boots in a row, the latest included once it ended, that failed or crashed before ready (boots stopped on request aside).\n"
        out += "# TYPE boot_consecutive_failures gauge\nboot_consecutive_failures \(consecutive)\n"
        if let failure = finished.last(where: { $0.outcome == .failed || $0.outcome == .crashed }) {
            let phase = failure.failedPhase ?? "unknown"
            let reason = failure.reason ?? "the process ended during the boot (crash or kill)"
            out += "# HELP boot_last_failure_info 1, with the phase and reason of the latest boot that failed or crashed.\n"
            out += "# TYPE boot_last_failure_info gauge\n"
            out += "boot_last_failure_info{attempt=\"\(failure.attempt)\",phase=\"\(escape(phase))\",reason=\"\(escape(reason))\"} 1\n"
        }
        if let previous {
            if let duration = previous.durationMilliseconds {
                out += "# HELP boot_last_duration_seconds How long the previous boot took, to ready or failed.\n"
                out += "# TYPE boot_last_duration_seconds gauge\nboot_last_duration_seconds \(seconds(duration))\n"
            }
            if !previous.phases.isEmpty {
                out += "# HELP boot_previous_phase_duration_seconds How long each phase of the previous boot took.\n"
                out += "# TYPE boot_previous_phase_duration_seconds gauge\n"
                var seen = Set<String>()
                for phase in previous.phases where seen.insert(phase.phase).inserted {
                    out += "boot_previous_phase_duration_seconds{phase=\"\(escape(phase.phase))\"} \(seconds(phase.durationMilliseconds))\n"
                }
            }
        }
        return Array(out.utf8)
    }

    private static func seconds(_ milliseconds: UInt64) -> String {
        milliseconds % 1000 == 0 ? String(milliseconds / 1000) : String(Double(milliseconds) / 1000)
    }

    private static func escape(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": result += "\\\\"
            case "\"": result += "\\\""
            case "\n": result += "\\n"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
