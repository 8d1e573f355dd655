// SPDX-License-Identifier: AGPL-3.0-or-later
// Shown as it is in docs/library.md ("One /metrics for the whole application"); scripts/ops/check_docs.py
// keeps the two equal.

import BootExporter
import BootFSM
import Prometheus

/// The adapter an application writes to serve its swift-prometheus registry on the exporter's `/metrics`.
struct RegistrySource: ExpositionSource {
    let registry: PrometheusCollectorRegistry
    var supportsOpenMetrics: Bool { false }          // swift-prometheus writes the text format
    func writeExposition(format: ExpositionFormat, into buffer: inout [UInt8]) {
        registry.emit(into: &buffer)
    }
}

/// A server for `fsm` whose `/metrics` also serves `registry`, after the boot metrics.
func makeServer(machine fsm: BootStateMachine, registry: PrometheusCollectorRegistry) -> BootExporterServer {
    BootExporterServer(
        machine: fsm,
        configuration: ExporterConfiguration(additionalSources: [RegistrySource(registry: registry)])
    )
}
