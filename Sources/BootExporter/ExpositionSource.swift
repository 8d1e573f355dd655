// SPDX-License-Identifier: AGPL-3.0-or-later

/// Metrics from outside the boot, served on the same `/metrics`: an application's own registry
/// (swift-prometheus's `PrometheusCollectorRegistry`, say) or any other producer of exposition text.
///
/// The boot metrics' hot paths do not depend on it: a source is asked for its text once per scrape,
/// after the boot metrics are written.
///
/// ```swift
/// struct RegistrySource: ExpositionSource {
///     let registry: PrometheusCollectorRegistry
///     var supportsOpenMetrics: Bool { false }     // swift-prometheus writes the text format
///     func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8]) {
///         registry.emit(into: &buffer)
///     }
/// }
/// ```
public protocol ExpositionSource: Sendable {
    /// Whether ``writeExposition(format:into:)`` can write OpenMetrics. When a source cannot,
    /// `/metrics` answers every scrape in the Prometheus text format.
    var supportsOpenMetrics: Bool { get }

    /// Appends whole metric families (`# HELP`, `# TYPE` and samples, each line ending in `\n`) in
    /// `format`, without `# EOF`. Names must not clash with the boot metrics or another source's.
    func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8])
}
