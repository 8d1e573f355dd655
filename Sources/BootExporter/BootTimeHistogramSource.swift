// SPDX-License-Identifier: AGPL-3.0-or-later

/// The boot-time histograms on `/metrics`: `boot_duration_seconds` (whole boots that reached
/// `ready`) and `boot_completed_phase_duration_seconds` (each completed phase). This file names them.
///
/// Unlike the gauges of this boot, they aggregate: `histogram_quantile` over their buckets summed
/// across instances gives a fleet's p95 boot time. The bounds are fractions of the budgets (see
/// ``BootTimeHistograms``), so their `le` values change only with the budgets.
///
/// ```swift
/// let source = BootTimeHistogramSource { bootTimes.current }
/// ```
public final class BootTimeHistogramSource: ExpositionSource {
    private let histograms: @Sendable () -> BootTimeHistograms
    private let text = Families(format: .prometheusText)
    private let openMetrics = Families(format: .openMetrics)

    /// - Parameter histograms: The counts as they are now; called at every scrape.
    public init(histograms: @escaping @Sendable () -> BootTimeHistograms) {
        self.histograms = histograms
    }

    public var supportsOpenMetrics: Bool { true }

    public func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8]) {
        let histograms = self.histograms()
        let families = format == .openMetrics ? openMetrics : text
        let v = TemplateView(families.template)
        var out = OutputBuffer(capacity: 4096)
        out.header(families.boot, v)
        out.histogram("boot_duration_seconds", label: nil, histograms.boot)
        // A phase appears once it has completed: most boots never see readonly or force recovery.
        let phases = BootTimeHistograms.countedPhases.filter { (histograms.phases[$0]?.count ?? 0) > 0 }
        if !phases.isEmpty {
            out.header(families.phase, v)
            for phase in phases {
                out.histogram("boot_completed_phase_duration_seconds", label: phase.name, histograms.phases[phase]!)
            }
        }
        buffer.append(contentsOf: out.bytes)
    }

    /// The two families' `# HELP` and `# TYPE` lines for one format; their samples are written whole.
    private final class Families: Sendable {
        let template: TextTemplate
        let boot, phase: MetricFamily

        init(format: ExpositionFormat) {
            let b = TextTemplate(format: format)
            template = b
            boot = b.family("boot_duration_seconds", .histogram,
                            "How long whole boots took to reach ready, bucketed by fractions of the total budget.", labelSets: [])
            phase = b.family("boot_completed_phase_duration_seconds", .histogram,
                             "How long each completed boot phase took, bucketed by fractions of its budget.",
                             labelNames: ["phase"], labelSets: [])
            b.seal()
        }
    }
}

extension OutputBuffer {
    /// The `_bucket` (cumulative, ending with `+Inf`), `_sum` and `_count` samples of one histogram.
    mutating func histogram(_ name: StaticString, label phase: String?, _ histogram: BootTimeHistograms.Histogram) {
        var cumulative: UInt64 = 0
        let bounds = histogram.bounds
        for (index, count) in histogram.bucketCounts.enumerated() {
            cumulative &+= count
            append(name)
            append("_bucket{" as StaticString)
            if let phase {
                append("phase=\"" as StaticString)
                append(labelValue: phase)
                append("\"," as StaticString)
            }
            append("le=\"" as StaticString)
            if index < bounds.count { append(seconds: bounds[index]) } else { append("+Inf" as StaticString) }
            append("\"} " as StaticString)
            append(decimal: cumulative)
            append(UInt8(ascii: "\n"))
        }
        for (suffix, isSum) in [("_sum" as StaticString, true), ("_count", false)] {
            append(name)
            append(suffix)
            if let phase {
                append("{phase=\"" as StaticString)
                append(labelValue: phase)
                append("\"}" as StaticString)
            }
            append(UInt8(ascii: " "))
            if isSum { append(seconds: .milliseconds(Int64(clamping: histogram.sumMilliseconds))) } else { append(decimal: cumulative) }
            append(UInt8(ascii: "\n"))
        }
    }
}
