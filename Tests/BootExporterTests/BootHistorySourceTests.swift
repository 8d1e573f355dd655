// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Foundation
import Synchronization
import Testing

@Suite("Boot history on /metrics")
struct BootHistorySourceTests {
    typealias Phase = BootAttempt.PhaseDuration

    static let boots = [
        BootAttempt(attempt: 1, outcome: .failed, failedPhase: "recover", reason: "Failed in recover: \"q\" \\ x/y\nnl\r\n ✓",
                    duration: .milliseconds(1_246),
                    phaseDurations: [Phase(phase: "init", duration: .milliseconds(12)), Phase(phase: "recover", duration: .milliseconds(1_234))]),
        BootAttempt(attempt: 2, outcome: .crashed, phaseDurations: [Phase(phase: "init", duration: .milliseconds(5))]),
        BootAttempt(attempt: 3, outcome: .ready, duration: .milliseconds(3_510),
                    phaseDurations: [Phase(phase: "init", duration: .seconds(1)), Phase(phase: "migrate", duration: .zero),
                                     Phase(phase: "re\"cover", duration: .milliseconds(2_500)), Phase(phase: "init", duration: .milliseconds(9)),
                                     Phase(phase: "warmup", duration: .milliseconds(1))]),
        BootAttempt(attempt: 4, outcome: .stopped, reason: "x: shutdown requested during the boot", duration: .milliseconds(40),
                    phaseDurations: [Phase(phase: "init", duration: .milliseconds(3))]),
        BootAttempt(attempt: 5, outcome: .running),
    ]

    /// `Fixtures/boot-history.txt` was rendered by the journal's exposition when the executable
    /// named these metrics itself: each case, in both formats, under a `== case om=…` line.
    @Test("the exposition of past boots matches the golden file")
    func golden() throws {
        let boots = Self.boots
        let cases: [(name: String, boots: [BootAttempt], previous: UInt64?)] = [
            ("full", boots, 3), ("failed", [boots[0]], 1), ("crashedprev", Array(boots.prefix(2)), 2), ("empty", [], nil),
            ("nofail", [boots[2], boots[4]], nil), ("stoppedprev", Array(boots.prefix(4)), 4),
        ]
        var rendered = ""
        for (name, list, previous) in cases {
            let source = BootHistorySource(previousAttempt: previous) { list }
            for format in [ExpositionFormat.prometheusText, .openMetrics] {
                var bytes: [UInt8] = []
                source.writeExposition(format: format, into: &bytes)
                rendered += "== \(name) om=\(format == .openMetrics)\n" + String(decoding: bytes, as: UTF8.self)
            }
        }
        let expected = try String(contentsOf: fixturesDirectory.appendingPathComponent("boot-history.txt"), encoding: .utf8)
        #expect(rendered == expected)
    }

    @Test("served beside the boot metrics in both formats, and follows the boots as they change")
    func served() throws {
        let boots = Mutex(Array(Self.boots.prefix(2)))
        let source = BootHistorySource(previousAttempt: 2) { boots.withLock { $0 } }
        try withServer(try drivenMachine(to: .recovering), configure: { $0.additionalSources = [source] }) { _, port in
            let text = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(text.contains("boot_phase{phase=\"recover\"} 1\n"))
            #expect(text.contains("# TYPE boot_attempts_total counter\nboot_attempts_total 2\n"))
            #expect(text.contains("boot_consecutive_failures 2\n"))
            let openMetrics = try HTTPTestClient.get(port: port, "/metrics", headers: ["Accept": prometheusAccept]).text
            #expect(openMetrics.contains("# TYPE boot_attempts counter\nboot_attempts_total 2\n"))
            #expect(openMetrics.hasSuffix("# EOF\n"))
            #expect(try promtoolProblems(text) == "")

            boots.withLock { $0.append(BootAttempt(attempt: 3, outcome: .ready, duration: .seconds(2))) }
            let later = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(later.contains("boot_attempts_total 3\n"))
            #expect(later.contains("boot_consecutive_failures 0\n"))
            #expect(later.contains("boot_previous_phase_duration_seconds{phase=\"init\"} 0.005\n"))
            #expect(!later.contains("boot_last_duration_seconds"), "the previous boot crashed: it has no duration")
        }
    }
}
