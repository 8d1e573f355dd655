// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import BootFSM
import Foundation
import Testing

@Suite("The boot page at / and its data at /boot.json")
struct BootPageTests {
    static let xss = "<script>alert(1)</script>"

    /// The text of the element with `id`, as served (markup and all).
    func element(_ id: String, in page: String) -> String? {
        guard let start = page.range(of: "id=\"\(id)\"") else { return nil }
        let afterTag = page[start.upperBound...].drop { $0 != ">" }.dropFirst()
        guard let end = afterTag.range(of: "</") else { return nil }
        return String(afterTag[..<end.lowerBound])
    }

    @Test func duringABootThePageShowsTheStateEscaped() throws {
        let fsm = try drivenMachine(to: .recovering)
        fsm.updateProgress(PhaseProgress(message: Self.xss, itemsProcessed: 40, itemsTotal: 100, bytesProcessed: 4096, bytesTotal: 10240))
        fsm.recordPagesRecovered(7)
        fsm.recordTxnRollbacks(3)
        try withServer(fsm) { _, port in
            let response = try HTTPTestClient.get(port: port, "/")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "text/html; charset=utf-8")
            #expect(response.header("Content-Security-Policy") == BootPage.contentSecurityPolicy)
            #expect(response.body.count < 30 * 1024)
            let page = response.text
            #expect(element("phase", in: page) == "recover")
            #expect(page.contains("<section id=\"now\" class=\"p-recover\">"))
            #expect(element("message", in: page) == "&lt;script&gt;alert(1)&lt;/script&gt;")
            #expect(!page.contains(Self.xss))
            #expect(element("percent", in: page) == "40%")
            #expect(element("items", in: page) == "40 of 100")
            #expect(element("bytes", in: page) == "4.0 KiB of 10.0 KiB")
            #expect(element("pages", in: page) == "7")
            #expect(element("rollbacks", in: page) == "3")
            #expect(element("wal-records", in: page) == "40")
            #expect(element("mode", in: page) == "normal")
            #expect(page.contains("<p id=\"failure\" class=\"failure\" hidden>"))
            // follow has no journal: the page says so.
            #expect(page.contains("<p id=\"no-journal\" class=\"muted\">"))
            #expect(page.contains("<table id=\"boots-table\" hidden>"))
            // Three phases on the timeline, the last still running.
            #expect(page.components(separatedBy: "<rect ").count - 1 == 3)
            #expect(page.contains("so far</td></tr></tbody>"))
        }
    }

    @Test func afterAFailureTheReasonIsText() throws {
        let fsm = try drivenMachine(to: .recovering)
        fsm.fail(reason: Self.xss)
        try withServer(fsm) { _, port in
            let page = try HTTPTestClient.get(port: port, "/").text
            #expect(element("phase", in: page) == "failed")
            #expect(page.contains("<p id=\"failure\" class=\"failure\">"))
            #expect(element("reason", in: page)?.hasSuffix("&lt;script&gt;alert(1)&lt;/script&gt;") == true)
            #expect(element("failed-phase", in: page) == "recover")
            #expect(page.components(separatedBy: "<script").count - 1 == 1)
            #expect(page.contains("<tr class=\"failed\"><th class=\"p-recover\">"))
        }
    }

    @Test func bootJSONCarriesTheHealthAndWhatThePageAdds() throws {
        let fsm = try drivenMachine(to: .recovering)
        let boots = [
            BootAttempt(attempt: 1, outcome: .failed, failedPhase: "recover", reason: Self.xss, duration: .milliseconds(1500)),
            BootAttempt(attempt: 2, outcome: .running),
        ]
        let history = BootHistorySource(previousAttempt: 1) { boots }
        try withServer(fsm, configure: { $0.additionalSources = [history] }) { _, port in
            let response = try HTTPTestClient.get(port: port, "/boot.json")
            #expect(response.status == 200)
            #expect(response.header("Content-Type") == "application/json")
            #expect(!response.text.contains("<"))
            let json = try #require(try JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any])
            let health = try #require(json["health"] as? [String: Any])
            #expect(health["phase"] as? String == "recover")
            // The health JSON as /health serves it.
            let served = try JSONSerialization.jsonObject(with: Data(HTTPTestClient.get(port: port, "/health").body)) as? [String: Any]
            #expect(Set(health.keys) == Set((served ?? [:]).keys))
            let progress = try #require(json["progress"] as? [String: UInt64])
            #expect(progress == ["items_processed": 40, "items_total": 100, "bytes_processed": 4096, "bytes_total": 10240])
            let budgets = try #require(json["budgets_ms"] as? [String: UInt64])
            #expect(budgets == ["init": 30_000, "migrate": 120_000, "recover": 360_000, "warmup": 60_000, "total": 600_000])
            // The rows and the timeline as the page draws them: the script decides nothing.
            let uses = try #require(json["budget_uses"] as? [[String: Any]])
            #expect(uses.map { $0["phase"] as? String } == ["init", "migrate", "recover", "warmup", nil])
            #expect(uses.map { $0["status"] as? String } == ["done", "done", "running", "pending", "running"])
            #expect(uses.map { $0["budget_ms"] as? Int } == [30_000, 120_000, 360_000, 60_000, 600_000])
            let timeline = try #require(json["timeline"] as? [[String: Any]])
            #expect(timeline.map { $0["phase"] as? String } == ["init", "migrate", "recover"])
            #expect(timeline.map { $0["running"] as? Bool } == [false, false, true])
            let listed = try #require(json["boots"] as? [[String: Any]])
            #expect(listed.map { $0["attempt"] as? Int } == [2, 1])
            #expect(listed[1]["outcome"] as? String == "failed")
            #expect(listed[1]["reason"] as? String == Self.xss)
            #expect(listed[1]["duration_ms"] as? Int == 1500)
            #expect(listed[0]["reason"] is NSNull)

            let page = try HTTPTestClient.get(port: port, "/").text
            #expect(page.contains("<table id=\"boots-table\">"))
            #expect(page.contains("<tr><td>#1</td><td class=\"o-failed\">failed</td><td>1.5 s</td><td>recover</td><td class=\"reason\">&lt;script&gt;alert(1)&lt;/script&gt;</td></tr>"))

            let metrics = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(metrics.contains(#"boot_exporter_http_requests_total{handler="/boot.json",code="200"} 1"#))
        }
    }

    @Test func withoutAJournalBootsIsNull() throws {
        try withServer(BootStateMachine()) { _, port in
            let json = try JSONSerialization.jsonObject(with: Data(HTTPTestClient.get(port: port, "/boot.json").body)) as? [String: Any]
            #expect(json?["boots"] is NSNull)
        }
    }

    @Test("a budget is at risk when the ETA passes what is left of it, exceeded past it")
    func budgetsAtRiskAndExceeded() throws {
        let clock = ManualBootClock()
        let fsm = try drivenMachine(to: .recovering, clock: clock, policy: .reportOnly)
        // 1 of 100 after 10 s: 990 s more, past the 350 s left of recover's 360 s and the total's.
        fsm.updateProgress(PhaseProgress(itemsProcessed: 0, itemsTotal: 100))
        clock.advance(by: .seconds(10))
        fsm.updateProgress(PhaseProgress(itemsProcessed: 1, itemsTotal: 100))
        var state = BootPageState(fsm.snapshot(), boots: nil)
        #expect(state.budgetUses.map(\.status) == [.done, .done, .risk, .pending, .risk])
        #expect(state.budgetUses[2].usedMs == 11_000)
        clock.advance(by: .seconds(400))
        state = BootPageState(fsm.snapshot(), boots: nil)
        #expect(state.budgetUses.map(\.status) == [.done, .done, .over, .pending, .risk])
        let page = String(decoding: BootPage.html(state, version: "1", metricsPath: "/metrics"), as: UTF8.self)
        #expect(page.contains("<tr class=\"over\"><th class=\"p-recover\">"))
        #expect(page.contains("<td class=\"status\">exceeded</td>"))
    }

    @Test func readyBudgetsAreDoneAndTheTimelineHasEveryPhase() throws {
        let state = BootPageState(try drivenMachine(to: .ready).snapshot(), boots: [])
        #expect(state.budgetUses.map(\.status) == [.done, .done, .done, .done, .done])
        #expect(state.timeline.map(\.phase) == [.initializing, .migrating, .recovering, .warmingUp])
        #expect(state.timeline.map(\.startMs) == [0, 2000, 4000, 6000])
        #expect(state.timeline.allSatisfy { !$0.running })
    }

    /// The script must write durations and sizes as the server does (BootPageAssets.script).
    @Test func formats() {
        #expect(BootPageFormat.duration(nil) == "\u{2014}")
        #expect(BootPageFormat.duration(0) == "0.0 s")
        #expect(BootPageFormat.duration(1249) == "1.2 s")
        #expect(BootPageFormat.duration(1250) == "1.3 s")
        #expect(BootPageFormat.duration(65_000) == "1 min 05 s")
        #expect(BootPageFormat.duration(1_800_000) == "30 min")
        #expect(BootPageFormat.duration(3_720_000) == "1 h 02 min")
        #expect(BootPageFormat.duration(7_200_000) == "2 h")
        #expect(BootPageFormat.bytes(1023) == "1023 B")
        #expect(BootPageFormat.bytes(4096) == "4.0 KiB")
        #expect(BootPageFormat.bytes(3 << 29) == "1.5 GiB")
        #expect(BootPageFormat.ofTotal(0, 0, String.init) == "\u{2014}")
        #expect(BootPageFormat.ofTotal(5, 0, String.init) == "5")
    }

    @Test func everyInterpolatedStringIsEscaped() {
        let value = "<a href='x'>&\"</a>"
        let html: HTML = "<p title=\"\(value)\">\(value)\(HTML(trusted: "<br>"))</p>"
        #expect(html.markup == "<p title=\"&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;\">&lt;a href=&#39;x&#39;&gt;&amp;&quot;&lt;/a&gt;<br></p>")
    }

    @Test func thePolicyHashesThePageBlocks() throws {
        // RFC 6234's test vector, through the same function as the page's blocks.
        #expect(BootPage.sha256Source("abc") == "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=")
        let policy = BootPage.contentSecurityPolicy
        #expect(policy.contains("script-src '\(BootPage.sha256Source(BootPageAssets.script))'"))
        #expect(policy.contains("style-src '\(BootPage.sha256Source(BootPageAssets.style))'"))
        #expect(policy.hasPrefix("default-src 'none';"))
        // An operator may set the same policy through the web configuration file.
        #expect(ResponseHeaders.problem(name: "Content-Security-Policy", value: policy) == nil)
        // docs/endpoints.md prints it.
        let docs = try String(contentsOf: fixturesDirectory.appendingPathComponent("../../../docs/endpoints.md").standardized, encoding: .utf8)
        #expect(docs.contains("Content-Security-Policy: \(policy)\n"))
    }

    @Test func theTelemetryPathCannotBeThePageData() {
        var configuration = ExporterConfiguration(metricsPath: "/boot.json")
        #expect(throws: ExporterError.self) { try configuration.validate() }
        configuration.metricsPath = "/metrics"
        #expect(throws: Never.self) { try configuration.validate() }
    }
}
