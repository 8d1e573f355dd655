// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Foundation
import Synchronization
import Testing

@Suite("Boot-time histograms")
struct BootTimeHistogramTests {
    /// forKubernetes(600): init 30 s, migrate 120 s, recover 360 s, warmup 60 s, total 600 s.
    static let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: 600)

    /// Histograms that count every change of a machine's phase.
    final class Counted: Sendable {
        private let counts = Mutex(BootTimeHistograms(budgets: BootTimeHistogramTests.budgets))
        var histograms: BootTimeHistograms { counts.withLock { $0 } }

        /// A machine with `clock`, under report-only, whose changes are counted here.
        func machine(clock: ManualBootClock) -> BootStateMachine {
            BootStateMachine(budgets: BootTimeHistogramTests.budgets, budgetPolicy: .reportOnly, clock: clock, onPhaseChange: { change in
                self.counts.withLock { for observation in BootTimeHistograms.observations(of: change) { $0.add(observation) } }
            })
        }
    }

    @Test("the budget is a bound, and a duration equal to a bound is counted in its bucket")
    func bucketBounds() throws {
        var histogram = try #require(BootTimeHistograms.Histogram(budgetMilliseconds: 600_000))
        let microseconds: [Int64] = [2_343_750, 4_687_500, 9_375_000, 18_750_000, 37_500_000, 75_000_000, 150_000_000,
                                     300_000_000, 450_000_000, 600_000_000, 900_000_000, 1_200_000_000]
        #expect(histogram.bounds == microseconds.map { Duration.microseconds($0) })
        // At the budget, just past it, far inside it, past twice it, and past what UInt64 can scale.
        for milliseconds: UInt64 in [600_000, 600_001, 0, 2_343, 2_344, 1_200_001, .max / 2] { histogram.observe(milliseconds: milliseconds) }
        #expect(histogram.bucketCounts == [2, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 2])
        #expect(histogram.count == 7)
        #expect(BootTimeHistograms.Histogram(budgetMilliseconds: 1, bucketCounts: [1, 2]) == nil, "one count per bucket, or none")
    }

    @Test("a boot counts each phase it completes and, at ready, itself; a failed phase counts nothing")
    func observationsOfABoot() throws {
        let counted = Counted()
        let clock = ManualBootClock()
        let fsm = counted.machine(clock: clock)
        try fsm.startBoot()
        clock.advance(by: .milliseconds(1_500))
        try fsm.transition(to: .migrating)
        clock.advance(by: .seconds(200))   // past its 120 s budget (report-only goes on)
        try fsm.transition(to: .recovering)
        clock.advance(by: .seconds(30))
        try fsm.transition(to: .ready)
        let after = counted.histograms
        #expect(after.boot.count == 1)
        #expect(after.boot.sumMilliseconds == 231_500)
        #expect(after.phases[.initializing]?.bucketCounts.prefix(5) == [0, 0, 0, 0, 1], "1.5 s in (0.9375, 1.875]")
        #expect(after.phases[.migrating]?.bucketCounts[11] == 1, "200 s in (180, 240]")
        #expect(after.phases[.recovering]?.count == 1)
        #expect(after.phases[.warmingUp]?.count == 0)

        let failing = Counted()
        let failed = failing.machine(clock: clock)
        try failed.startBoot()
        clock.advance(by: .seconds(1))
        try failed.transition(to: .migrating)
        clock.advance(by: .seconds(1))
        failed.fail(reason: "disk gone")
        let afterFailure = failing.histograms
        #expect(afterFailure.boot.count == 0)
        #expect(afterFailure.phases[.initializing]?.count == 1)
        #expect(afterFailure.phases[.migrating]?.count == 0, "the phase that failed did not complete")
    }

    @Test("counted histograms keep their bounds when the budgets change; empty ones follow")
    func changedBudgets() throws {
        var histograms = BootTimeHistograms(budgets: Self.budgets)
        histograms.add(.phase(.initializing, milliseconds: 100))
        var longer = Self.budgets
        longer.initBudget = .seconds(60)
        longer.totalBudget = .seconds(1_200)
        let moved = histograms.following(longer)
        #expect(moved.phases[.initializing] == histograms.phases[.initializing])
        #expect(moved.boot.budgetMilliseconds == 1_200_000)
        #expect(moved.keptBounds(differingFrom: longer) == ["init"])
        #expect(histograms.keptBounds(differingFrom: Self.budgets).isEmpty)
    }

    static func sample() -> BootTimeHistograms {
        var histograms = BootTimeHistograms(budgets: Self.budgets)
        for milliseconds: UInt64 in [4_000, 75_000, 599_999, 600_000, 650_000] { histograms.add(.boot(milliseconds: milliseconds)) }
        histograms.add(.phase(.initializing, milliseconds: 120))
        histograms.add(.phase(.initializing, milliseconds: 30_001))
        histograms.add(.phase(.forceRecovery, milliseconds: 7))
        return histograms
    }

    /// `Fixtures/boot-time-histograms.txt`: the exposition of ``sample()`` and of empty histograms,
    /// in both formats, each under a `== case om=…` line (`UPDATE_GOLDEN=1` rewrites it).
    @Test("the exposition matches the golden file, in both formats")
    func golden() throws {
        var rendered = ""
        for (name, histograms) in [("sample", Self.sample()), ("empty", BootTimeHistograms(budgets: BootBudgets()))] {
            let source = BootTimeHistogramSource { histograms }
            for format in [ExpositionFormat.prometheusText, .openMetrics] {
                var bytes: [UInt8] = []
                source.writeExposition(format: format, into: &bytes)
                rendered += "== \(name) om=\(format == .openMetrics)\n" + String(decoding: bytes, as: UTF8.self)
            }
        }
        let file = fixturesDirectory.appendingPathComponent("boot-time-histograms.txt")
        if ProcessInfo.processInfo.environment["UPDATE_GOLDEN"] == "1" { try rendered.write(to: file, atomically: true, encoding: .utf8) }
        #expect(rendered == (try String(contentsOf: file, encoding: .utf8)))
    }

    @Test("served by a real server beside the boot metrics: promtool finds nothing, in both formats")
    func served() throws {
        let counted = Mutex(Self.sample())
        let source = BootTimeHistogramSource { counted.withLock { $0 } }
        try withServer(try drivenMachine(to: .ready), configure: { $0.additionalSources = [source] }) { _, port in
            let text = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(text.contains("# TYPE boot_duration_seconds histogram\nboot_duration_seconds_bucket{le=\"2.34375\"} 0\n"))
            #expect(text.contains("boot_duration_seconds_bucket{le=\"600\"} 4\nboot_duration_seconds_bucket{le=\"900\"} 5\n"))
            #expect(text.contains("boot_duration_seconds_sum 1928.999\nboot_duration_seconds_count 5\n"))
            #expect(text.contains("boot_completed_phase_duration_seconds_count{phase=\"force_recovery\"} 1\n"))
            #expect(!text.contains("phase=\"migrate\",le="), "a phase appears once it has completed")
            #expect(try promtoolProblems(text) == "")

            let openMetrics = try HTTPTestClient.get(port: port, "/metrics", headers: ["Accept": prometheusAccept]).text
            #expect(openMetrics.hasSuffix("boot_completed_phase_duration_seconds_count{phase=\"force_recovery\"} 1\n# EOF\n"))
            // promtool reads the text format: it takes OpenMetrics counter families (named without
            // `_total`) for a lack of help, so it checks the histogram families alone.
            let families = openMetrics.split(separator: "\n").drop { !$0.hasPrefix("# HELP boot_duration_seconds ") }
                .prefix { !$0.hasPrefix("# EOF") }.joined(separator: "\n") + "\n"
            #expect(families.contains("# TYPE boot_completed_phase_duration_seconds histogram\n"))
            #expect(try promtoolProblems(families) == "")

            counted.withLock { $0.add(.boot(milliseconds: 1)) }
            let later = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(later.contains("boot_duration_seconds_count 6\n"), "each scrape shows the counts as they are then")
        }
    }
}
