// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import BootFSM
import Dispatch
import Foundation
import Testing

/// What Prometheus 2.x/3.x sends when scraping.
let prometheusAccept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
/// What Prometheus sends with native histograms enabled.
let nativeHistogramsAccept = "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
let browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"

@Suite("/metrics")
struct MetricsTests {
    @Test func contentNegotiation() {
        #expect(ContentNegotiation.negotiate(accept: nil) == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: prometheusAccept) == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: browserAccept) == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "text/plain;version=0.0.4") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text") == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text; version=2.0.0") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text; version=\"1.0.0\"") == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: "text/plain;q=0.9, application/openmetrics-text;q=0.5") == .prometheusText)
        // A client that asks for OpenMetrics 0.0.1 above 1.0.0 (or only for it) is told 0.0.1.
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text;version=0.0.1") == .openMetrics001)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1") == .openMetrics001)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text;version=0.0.1,application/openmetrics-text;version=1.0.0") == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text;version=0.0.1;q=0.4,text/plain;q=0.5") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "application/openmetrics-text;q=0") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: ";;,,;q=abc") == .prometheusText)
        // Types we do not serve do not outrank those we do: Prometheus with native histograms on asks
        // for protobuf first and gets OpenMetrics, its best choice among ours.
        #expect(ContentNegotiation.negotiate(accept: nativeHistogramsAccept) == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: "application/json, application/openmetrics-text;q=0.5") == .openMetrics)
        #expect(ContentNegotiation.negotiate(accept: "application/vnd.google.protobuf, text/plain;q=0.5, application/openmetrics-text;q=0.4") == .prometheusText)
        #expect(ContentNegotiation.negotiate(accept: "application/vnd.google.protobuf") == .prometheusText)
        #expect(ContentNegotiation.acceptsGzip("gzip"))
        #expect(ContentNegotiation.acceptsGzip("deflate, gzip;q=1.0, *;q=0.5"))
        #expect(ContentNegotiation.acceptsGzip("*"))
        #expect(!ContentNegotiation.acceptsGzip("gzip;q=0"))
        #expect(!ContentNegotiation.acceptsGzip("identity"))
        #expect(!ContentNegotiation.acceptsGzip(nil))
    }

    @Test func formatsOverTheWire() throws {
        try withServer(try drivenMachine(to: .recovering)) { _, port in
            let text = try HTTPTestClient.get(port: port, "/metrics")
            #expect(text.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(text.header("Vary") == "Accept, Accept-Encoding")
            #expect(text.text.contains("# TYPE boot_wal_records_replayed_total counter\n"))
            #expect(!text.text.contains("# EOF"))

            let openMetrics = try HTTPTestClient.get(port: port, "/metrics", headers: ["Accept": prometheusAccept])
            #expect(openMetrics.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
            #expect(openMetrics.text.hasSuffix("# EOF\n"))
            #expect(openMetrics.text.contains("# TYPE boot_wal_records_replayed counter\nboot_wal_records_replayed_total 40\n"))

            let version001 = try HTTPTestClient.get(port: port, "/metrics",
                                                    headers: ["Accept": "application/openmetrics-text; version=0.0.1"])
            #expect(version001.header("Content-Type") == "application/openmetrics-text; version=0.0.1; charset=utf-8")
            // The same text under either version (numbers aside: the process's own move on).
            let metadata = { (text: String) in text.split(separator: "\n").filter { $0.hasPrefix("#") } }
            #expect(metadata(version001.text) == metadata(openMetrics.text))

            let browser = try HTTPTestClient.get(port: port, "/metrics", headers: ["Accept": browserAccept])
            #expect(browser.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")

            let nativeHistograms = try HTTPTestClient.get(port: port, "/metrics", headers: ["Accept": nativeHistogramsAccept])
            #expect(nativeHistograms.header("Content-Type") == "application/openmetrics-text; version=1.0.0; charset=utf-8")
        }
    }

    @Test func gzipRoundTrip() throws {
        try withServer(try drivenMachine(to: .recovering)) { _, port in
            for accept in [nil, prometheusAccept] {
                var headers = ["Accept-Encoding": "gzip"]
                headers["Accept"] = accept
                let client = try HTTPTestClient(port: port)
                let compressed = try client.request("GET", "/metrics", headers: headers)
                #expect(compressed.header("Content-Encoding") == "gzip")
                let plain = try client.request("GET", "/metrics", headers: accept.map { ["Accept": $0] } ?? [:])
                #expect(plain.header("Content-Encoding") == nil)
                let inflated = String(decoding: try gunzip(compressed.body), as: UTF8.self)
                #expect(compressed.body.count < plain.body.count / 2)
                // The two scrapes differ only in the request counter, which counts each of them.
                let strip = { (text: String) in text.split(separator: "\n").filter { !$0.hasPrefix("boot_exporter_http_requests_total") } }
                #expect(strip(inflated) == strip(plain.text))
            }
        }
    }

    /// A complete scrape with a fixed clock, compared with the checked-in file: any change to the
    /// exposition is a visible diff. `UPDATE_GOLDEN=1 swift test` rewrites the files.
    @Test("golden files", arguments: [ExpositionFormat.prometheusText, .openMetrics])
    func golden(format: ExpositionFormat) throws {
        let clock = ManualBootClock()
        let fsm = try drivenMachine(to: .recovering, clock: clock)
        fsm.recordPagesRecovered(12)
        fsm.recordTxnRollbacks(3)
        fsm.metrics.recordCheckpointBytesScanned(65_536)
        fsm.metrics.recordMigrationSteps(2)
        clock.advance(by: .milliseconds(500))
        let name = format == .openMetrics ? "e2e-output.om.txt" : "e2e-output.txt"
        try withServer(fsm) { _, port in
            let response = try HTTPTestClient.get(port: port, "/metrics",
                                                  headers: format == .openMetrics ? ["Accept": prometheusAccept] : [:])
            let file = fixturesDirectory.appendingPathComponent(name)
            if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" {
                try Data(response.body).write(to: file)
            }
            let expected = try String(contentsOf: file, encoding: .utf8)
            #expect(response.text == expected)
        }
    }

    @Test("promtool check metrics reports nothing, in every phase and both formats", arguments: BootPhase.allCases)
    func promtoolIsHappy(phase: BootPhase) throws {
        let fsm = try drivenMachine(to: phase)
        try withServer(fsm, configure: { $0.processMetrics = { ProcessMetrics.current() } }) { _, port in
            let text = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(try promtoolProblems(text) == "", "\(phase.name)")
        }
    }

    @Test func hostileStringsStayInsideTheirLabel() throws {
        let fsm = try drivenMachine(to: .recovering)
        let reason = "bad \"quote\" \\ back\nslash\r\n\u{0}nul ✓"
        fsm.updateProgress(PhaseProgress(message: reason))
        fsm.fail(reason: reason)
        try withServer(fsm) { _, port in
            let text = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(text.contains(#"boot_failure_info{phase="recover",reason="Failed in recover: bad \"quote\" \\ back\nslash"#))
            #expect(try promtoolProblems(text) == "")
            let health = try HTTPTestClient.get(port: port, "/health")
            #expect(health.status == 503)
            let decoded = try JSONDecoder().decode(HealthStatus.self, from: Data(health.body))
            #expect(decoded.failureReason == "Failed in recover: " + reason)
            #expect(decoded.progressMessage == "")
        }
    }

    @Test func processMetricsAreReal() throws {
        let process = try #require(ProcessMetrics.current())
        #expect(process.residentMemoryBytes > 1_000_000)
        #expect(process.virtualMemoryBytes >= process.residentMemoryBytes)
        #expect(process.openFileDescriptors >= 3)
        #expect(process.maxFileDescriptors >= process.openFileDescriptors)
        let now = Date().timeIntervalSince1970
        #expect(process.startTimeSeconds > now - 3600 && process.startTimeSeconds <= now + 1, "start \(process.startTimeSeconds) now \(now)")
        #expect(process.cpuSeconds > 0)
        // A reading is reused for at most 100 ms: then new descriptors show. Tests running in parallel
        // in this process open and close descriptors too, so open many and allow for their noise.
        let opened = (0..<64).map { _ in open("/dev/null", O_RDONLY) }
        defer { opened.forEach { close($0) } }
        usleep(150_000)
        let later = try #require(ProcessMetrics.current())
        #expect(later.openFileDescriptors >= process.openFileDescriptors + 64 - 24)
    }

    @Test("scrapes while other threads drive the machine through a whole boot")
    func concurrentScrapes() throws {
        let fsm = BootStateMachine()
        try withServer(fsm) { _, port in
            let failures = Failures()
            DispatchQueue.concurrentPerform(iterations: 5) { worker in
                if worker == 0 {
                    for phase: BootPhase in [.initializing, .migrating, .recovering, .warmingUp, .ready] {
                        try! fsm.transition(to: phase)
                        for step in 0..<200 {
                            fsm.updateProgress(PhaseProgress(message: "step \(step)", itemsProcessed: UInt64(step), itemsTotal: 200))
                            fsm.recordWALProgress(records: 1, bytes: 10)
                        }
                    }
                    return
                }
                do {
                    let client = try HTTPTestClient(port: port)
                    var lastRecords = 0.0
                    for _ in 0..<100 {
                        let response = try client.request("GET", worker % 2 == 0 ? "/metrics" : "/health")
                        guard response.status == 200 else { failures.add("status \(response.status)"); continue }
                        guard worker % 2 == 0 else { continue }
                        let lines = response.text.split(separator: "\n")
                        // Exactly one phase is current in every scrape.
                        let current = lines.filter { $0.hasPrefix("boot_phase{") && $0.hasSuffix(" 1") }
                        if current.count != 1 { failures.add("\(current.count) current phases") }
                        let records = lines.first { $0.hasPrefix("boot_wal_records_replayed_total ") }
                            .flatMap { Double($0.split(separator: " ")[1]) } ?? -1
                        if records < lastRecords { failures.add("counter went back") }
                        lastRecords = records
                    }
                } catch {
                    failures.add("\(error)")
                }
            }
            #expect(failures.all.isEmpty, "\(failures.all.prefix(3))")
            let final = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(final.contains("boot_wal_records_replayed_total 1000\n"))
            #expect(final.contains("boot_phase{phase=\"ready\"} 1\n"))
        }
    }
}

final class Failures: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ item: String) { lock.withLock { items.append(item) } }
    var all: [String] { lock.withLock { items } }
}
