// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The state machine's hot paths, against the seed's Rust figures measured on this kind of machine:
// record_wal_progress ≈ 4.4 ns, update_progress ≈ 12 ns, health_status().to_json() ≈ 380 ns, a whole
// boot cycle ≈ 400 ns, record_wal_progress from two threads at once ≈ 16 ns a call.
//
// Every benchmark runs its body `scalingFactor` times per measured iteration, so the figures printed
// (marked `*`) are per call. Thresholds/ holds the p90 figures a run is checked against:
//   swift package benchmark baseline check --check-absolute-path Thresholds
// runs the benchmarks and exits non-zero ("is WORSE than the defined absolute baseline thresholds")
// when a figure is worse than its threshold beyond the tolerances below.

import Benchmark
import BootFSM
import Dispatch

/// Time and throughput may drift by the noise of a shared 2-core machine (a concurrent build slows a
/// run by up to half; two threads contending for both cores by much more), so only a doubling fails.
/// Allocations may not drift at all, but for a few in the measuring thread pool of the two-thread case
/// (a per-call allocation there would add a million).
private func tolerances(timeDrift: Double, mallocSlack: Int) -> [BenchmarkMetric: BenchmarkThresholds] {
    [
        .wallClock: .init(relative: [.p90: timeDrift]),
        // The same slowdown seen as throughput: doubling the time halves it.
        .throughput: .init(relative: [.p90: 100 * timeDrift / (100 + timeDrift)]),
        .mallocCountTotal: .init(relative: [.p90: 0], absolute: [.p90: mallocSlack]),
    ]
}

private func configuration(
    scalingFactor: BenchmarkScalingFactor = .kilo, timeDrift: Double = 100, mallocSlack: Int = 0
) -> Benchmark.Configuration {
    .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        warmupIterations: 10,
        scalingFactor: scalingFactor,
        maxDuration: .seconds(1),
        maxIterations: 100_000,
        thresholds: tolerances(timeDrift: timeDrift, mallocSlack: mallocSlack)
    )
}

/// A machine in the middle of a typical boot: in `recover`, with progress, counters and the
/// history of two completed phases.
private func recoveringMachine() -> BootStateMachine {
    let fsm = BootStateMachine(budgets: .forKubernetes(startupProbeTotalSeconds: 3600))
    try! fsm.startBoot(mode: .normal)
    try! fsm.transition(to: .migrating)
    fsm.metrics.recordMigrationSteps(2)
    fsm.metrics.recordCheckpointBytesScanned(1_048_576)
    try! fsm.transition(to: .recovering)
    fsm.updateProgress(PhaseProgress(message: "replaying WAL segment 7 of 12", itemsProcessed: 420_000,
                                     itemsTotal: 1_000_000, bytesProcessed: 27_000_000, bytesTotal: 64_000_000))
    fsm.recordWALProgress(records: 420_000, bytes: 27_000_000)
    fsm.recordPagesRecovered(1_234)
    fsm.recordTxnRollbacks(17)
    return fsm
}

let benchmarks: @Sendable () -> Void = {
    let recorder = recoveringMachine()
    Benchmark("recordWALProgress", configuration: configuration()) { benchmark in
        for _ in benchmark.scaledIterations {
            recorder.recordWALProgress(records: 1, bytes: 64)
        }
    }

    let updater = recoveringMachine()
    Benchmark("updateProgress", configuration: configuration()) { benchmark in
        var progress = PhaseProgress(message: "replaying", itemsTotal: 1_000_000, bytesTotal: 64_000_000)
        for index in benchmark.scaledIterations {
            progress.itemsProcessed = UInt64(index)
            progress.bytesProcessed = UInt64(index) &* 64
            updater.updateProgress(progress)
        }
    }

    let reporter = recoveringMachine()
    Benchmark("healthStatus.toJSON", configuration: configuration()) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(reporter.healthStatus().toJSON())
        }
    }

    Benchmark("bootCycle", configuration: configuration()) { benchmark in
        for _ in benchmark.scaledIterations {
            let fsm = BootStateMachine()
            try fsm.startBoot(mode: .normal)
            try fsm.transition(to: .migrating)
            try fsm.transition(to: .recovering)
            try fsm.transition(to: .warmingUp)
            try fsm.transition(to: .ready)
            blackHole(fsm)
        }
    }

    // Both threads record into one machine at once; the figure is wall time over the calls of one
    // thread, as the seed measured it (each thread makes `scalingFactor` calls).
    let shared = recoveringMachine()
    Benchmark("recordWALProgress.2threads", configuration: configuration(scalingFactor: .mega, timeDrift: 300, mallocSlack: 16)) { benchmark in
        let calls = benchmark.scaledIterations.count
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            for _ in 0..<calls {
                shared.recordWALProgress(records: 1, bytes: 64)
            }
        }
    }
}
