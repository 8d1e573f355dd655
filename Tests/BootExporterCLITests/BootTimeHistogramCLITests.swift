// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

/// The boot-time histograms of the real binary.
@Suite("boot-exporter: boot-time histograms")
struct BootTimeHistogramCLITests {
    /// The value of a labelled sample (`name{labels}`) in an exposition.
    func sample(_ series: String, in exposition: String) -> Double? {
        exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.dropFirst(series.count + 1)) }
    }

    @Test("run: two boots of a data directory, in two processes, count 2; a third counts 3, in OpenMetrics too")
    func twoBootsCountTwo() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        var last = ""
        for boot in 1...2 {
            let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "2000"])
            let port = try server.listeningPort()
            _ = try httpGet(port: port, "/readyz") { $0.status == 200 }
            last = try httpGet(port: port, "/metrics").body
            #expect(sample("boot_duration_seconds_count", in: last) == Double(boot), "boot \(boot)")
            #expect(sample(#"boot_completed_phase_duration_seconds_count{phase="init"}"#, in: last) == Double(boot))
            // Default budgets: the total's is 1 h, a boot of a small WAL lands in the first bucket.
            #expect(sample(#"boot_duration_seconds_bucket{le="14.0625"}"#, in: last) == Double(boot))
            #expect(sample(#"boot_duration_seconds_bucket{le="3600"}"#, in: last) == Double(boot), "within budget is a bound")
            server.signal(SIGTERM)
            #expect(server.wait() == 0)
        }
        #expect(sample(#"boot_completed_phase_duration_seconds_count{phase="recover"}"#, in: last) == 2)
        #expect(!last.contains(#"boot_completed_phase_duration_seconds_count{phase="force_recovery"}"#), "a phase no boot completed is not shown")
        // And in OpenMetrics, from a third process once ready.
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
        let port = try server.listeningPort()
        _ = try httpGet(port: port, "/readyz") { $0.status == 200 }
        let openMetrics = try httpGet(port: port, "/metrics", headers: ["Accept": "application/openmetrics-text;version=1.0.0"]).body
        #expect(openMetrics.hasSuffix("# EOF\n"))
        #expect(openMetrics.contains("# TYPE boot_duration_seconds histogram\n"))
        #expect(openMetrics.contains("\nboot_duration_seconds_count 3\n"))
        server.signal(SIGTERM)
        server.wait()
    }

    @Test("follow: the boots this process sees")
    func followCountsItsBoot() throws {
        let events = Pipe()
        let exporter = try BinaryProcess(["follow", "--web.listen-address", "127.0.0.1:0", "--boot.budget.total", "10m"], standardInput: events)
        let port = try exporter.listeningPort()
        let before = try httpGet(port: port, "/metrics").body
        #expect(sample("boot_duration_seconds_count", in: before) == 0)
        #expect(sample(#"boot_duration_seconds_bucket{le="600"}"#, in: before) == 0, "bounds from the configured 10 min")
        for phase in ["migrate", "recover", "ready"] {
            let line = phase == "migrate" ? #"{"event":"start"}"# + "\n" : ""
            events.fileHandleForWriting.write(Data((line + #"{"event":"transition","phase":""# + phase + "\"}\n").utf8))
        }
        let after = try httpGet(port: port, "/metrics") { sample("boot_duration_seconds_count", in: $0.body) == 1 }.body
        #expect(sample("boot_duration_seconds_count", in: after) == 1)
        #expect(sample(#"boot_completed_phase_duration_seconds_count{phase="migrate"}"#, in: after) == 1)
        try events.fileHandleForWriting.close()
        exporter.signal(SIGTERM)
        #expect(exporter.wait() == 0)
    }
}
