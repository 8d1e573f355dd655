// SPDX-License-Identifier: AGPL-3.0-or-later
//
// A Hummingbird 2 server emitting a swift-prometheus registry that holds boot-exporter's metric set.
// Usage: HummingbirdExporter <port> <snapshot.prom>
// The snapshot is one scrape of boot-exporter in the Prometheus text format. Counters are set once;
// every gauge is set again on each scrape, as an exporter reading a state machine's snapshot would.

import Foundation
import Hummingbird
import Prometheus

let arguments = CommandLine.arguments
guard arguments.count == 3, let port = Int(arguments[1]) else {
    FileHandle.standardError.write("usage: HummingbirdExporter <port> <snapshot.prom>\n".data(using: .utf8)!)
    exit(2)
}
let snapshot = try String(contentsOfFile: arguments[2], encoding: .utf8)
let families = SnapshotParser.parse(snapshot)

let registry = PrometheusCollectorRegistry()
var gauges: [(Gauge, Double)] = []
var requests: Counter?
for family in families {
    for sample in family.samples {
        switch family.type {
        case "counter":
            let counter = registry.makeCounter(name: family.name, labels: sample.labels, help: family.help)
            if family.name == "boot_exporter_http_requests_total",
               sample.labels.contains(where: { $0 == ("handler", "/metrics") }) {
                requests = counter
            }
            if sample.value > 0 { counter.increment(by: sample.value) }
        default:
            gauges.append((registry.makeGauge(name: family.name, labels: sample.labels, help: family.help), sample.value))
        }
    }
}
let metricGauges = gauges
let requestCounter = requests ?? registry.makeCounter(
    name: "boot_exporter_http_requests_total", labels: [("handler", "/metrics"), ("code", "200")])

let router = Router()
router.get("metrics") { _, _ -> Response in
    requestCounter.increment()
    for (gauge, value) in metricGauges { gauge.set(value) }
    let bytes = registry.emitToBuffer()
    return Response(
        status: .ok,
        headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
        body: .init(byteBuffer: ByteBuffer(bytes: bytes))
    )
}
let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
try await app.runService()
