// SPDX-License-Identifier: AGPL-3.0-or-later

/// The metrics of the boots before this one, beside the boot's own: attempts across restarts,
/// consecutive failures, the latest failure, and the previous boot's duration and phases. This file
/// names them.
///
/// An application that remembers its boots (boot-exporter keeps a journal of them) serves them on
/// `/metrics` by passing this source in ``ExporterConfiguration/additionalSources``:
///
/// ```swift
/// let history = BootHistorySource(previousAttempt: bootLog.attempts().last?.attempt) { bootLog.attempts() }
/// ```
///
/// The page at `/` lists the latest of these boots (that of the first such source).
public final class BootHistorySource: ExpositionSource {
    private let previousAttempt: UInt64?
    /// Every boot remembered, oldest first (the boot page lists the latest).
    let boots: @Sendable () -> [BootAttempt]
    private let text = Families(format: .prometheusText)
    private let openMetrics = Families(format: .openMetrics)

    /// - Parameters:
    ///   - previousAttempt: The attempt number of the boot before this process's, if there was one:
    ///     its duration and phases are published.
    ///   - boots: Every boot remembered, oldest first (the running one, if any, last). Called at every
    ///     scrape, so the metrics are those of the boots as they are then.
    public init(previousAttempt: UInt64?, boots: @escaping @Sendable () -> [BootAttempt]) {
        self.previousAttempt = previousAttempt
        self.boots = boots
    }

    public var supportsOpenMetrics: Bool { true }

    /// Rendered at each scrape: a handful of samples, from boots the source has to read anyway.
    public func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8]) {
        buffer.append(contentsOf: render(boots(), format == .openMetrics ? openMetrics : text))
    }

    private func render(_ boots: [BootAttempt], _ families: Families) -> [UInt8] {
        var out = OutputBuffer(capacity: 2048)
        let v = TemplateView(families.template)
        // Boots stopped on request (rolling restarts) neither count nor break the run.
        let consecutiveFailures = boots.reversed().drop { $0.outcome == .running }.filter { $0.outcome != .stopped }
            .prefix { $0.outcome == .failed || $0.outcome == .crashed }.count
        out.family(families.attempts, v, boots.last?.attempt ?? 0)
        out.family(families.consecutiveFailures, v, UInt64(consecutiveFailures))
        if let failure = boots.last(where: { $0.outcome == .failed || $0.outcome == .crashed }) {
            out.header(families.lastFailure, v)
            out.append("boot_last_failure_info{attempt=\"" as StaticString)
            out.append(decimal: failure.attempt)
            out.append("\",phase=\"" as StaticString)
            out.append(labelValue: failure.failedPhase ?? "unknown")
            out.append("\",reason=\"" as StaticString)
            out.append(labelValue: failure.reason ?? "the process ended during the boot (crash or kill)")
            out.append("\"} 1\n" as StaticString)
        }
        if let previousAttempt, let previous = boots.last(where: { $0.attempt == previousAttempt }) {
            if let duration = previous.duration {
                out.header(families.lastDuration, v)
                out.sample(families.lastDuration, 0, v, duration)
            }
            if !previous.phaseDurations.isEmpty {
                out.header(families.previousPhaseDuration, v)
                // A phase entered twice is published once, with its first duration.
                var seen = Set<String>()
                for phase in previous.phaseDurations where seen.insert(phase.phase).inserted {
                    out.append("boot_previous_phase_duration_seconds{phase=\"" as StaticString)
                    out.append(labelValue: phase.phase)
                    out.append("\"} " as StaticString)
                    out.append(seconds: phase.duration)
                    out.append(UInt8(ascii: "\n"))
                }
            }
        }
        return Array(out.bytes)
    }

    /// The families of past boots, rendered for one format. Those whose label values change have
    /// no fixed sample prefix: their samples are written whole.
    private final class Families: Sendable {
        let template: TextTemplate
        let attempts, consecutiveFailures, lastFailure, lastDuration, previousPhaseDuration: MetricFamily

        init(format: ExpositionFormat) {
            let b = TextTemplate(format: format)
            template = b
            attempts = b.family("boot_attempts_total", .counter,
                                "Boots started in this data directory, across restarts (the boot journal).")
            consecutiveFailures = b.family("boot_consecutive_failures", .gauge,
                                           "Boots in a row, the latest included once it ended, that failed or crashed before ready (boots stopped on request aside).")
            lastFailure = b.family("boot_last_failure_info", .gauge,
                                   "1, with the phase and reason of the latest boot that failed or crashed.",
                                   labelNames: ["attempt", "phase", "reason"], labelSets: [])
            lastDuration = b.family("boot_last_duration_seconds", .gauge, "How long the previous boot took, to ready or failed.")
            previousPhaseDuration = b.family("boot_previous_phase_duration_seconds", .gauge,
                                             "How long each phase of the previous boot took.", labelNames: ["phase"], labelSets: [])
            b.seal()
        }
    }
}
