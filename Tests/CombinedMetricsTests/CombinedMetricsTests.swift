// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Foundation
import Logging
import Prometheus
import Testing

@Suite("One /metrics for the whole application")
struct CombinedMetricsTests {
    @Test func anApplicationsRegistryIsServedBesideTheBootMetrics() throws {
        // The application's own metrics in a swift-prometheus registry. (Metrics made through
        // swift-metrics' PrometheusMetricsFactory carry no help text, which promtool's linter flags.)
        let registry = PrometheusCollectorRegistry()
        let requests = registry.makeCounter(
            descriptor: MetricNameDescriptor(namespace: "app", metricName: "requests", unitName: "total",
                                             helpText: "Requests the application answered."),
            labels: [("route", "/search")])
        requests.increment(by: Int64(7))
        let queue = registry.makeGauge(descriptor: MetricNameDescriptor(namespace: "app", metricName: "queue", unitName: "depth",
                                                                        helpText: "Jobs waiting."))
        queue.set(to: 3)

        let fsm = BootStateMachine()
        try fsm.startBoot()
        fsm.recordWALProgress(records: 5, bytes: 50)
        let server = BootExporterServer(
            machine: fsm,
            configuration: ExporterConfiguration(host: "127.0.0.1", port: 0, additionalSources: [RegistrySource(registry: registry)]),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
        )
        try server.start()
        defer { server.stop() }
        let port = try #require(server.port)

        // Prometheus asks for OpenMetrics; the registry only writes the text format, so both come as text.
        let scrape = try get(port: port, accept: "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5")
        #expect(scrape.contentType == "text/plain; version=0.0.4; charset=utf-8")
        #expect(scrape.body.contains("boot_wal_records_replayed_total 5\n"))
        #expect(scrape.body.contains(#"app_requests_total{route="/search"} 7"#))
        #expect(scrape.body.contains("app_queue_depth 3"))
        #expect(!scrape.body.contains("# EOF"))
        let problems = try promtool(scrape.body)
        #expect(problems == "", "\(problems)")
    }

    private func get(port: Int, accept: String) throws -> (contentType: String, body: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["curl", "-s", "-D", "-", "-H", "Accept: \(accept)", "http://127.0.0.1:\(port)/metrics"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let parts = text.components(separatedBy: "\r\n\r\n")
        let contentType = parts[0].split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-type:") }
            .map { String($0.dropFirst("content-type:".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        return (contentType, parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    private func promtool(_ exposition: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["promtool", "check", "metrics"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return text
    }
}
