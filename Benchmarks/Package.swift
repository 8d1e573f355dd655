// swift-tools-version:6.1
// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Benchmarks of BootFSM, in their own package so that package-benchmark (and the peers under
// Peers/) never become dependencies of the products. `scripts/bench.sh` (`make bench`) runs them all.

import PackageDescription

let package = Package(
    name: "BootFSMBenchmarks",
    dependencies: [
        .package(name: "BootFSM", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark.git", exact: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // package-benchmark suite: the state machine's hot paths.
        .executableTarget(
            name: "BootFSMBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "BootFSM", package: "BootFSM"),
            ],
            path: "Benchmarks/BootFSMBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // WAL replay through WALStore alone (no state machine, no exporter), and a plain read of the
        // same bytes: the baselines of the replay figures.
        .executableTarget(
            name: "wal-replay-bench",
            dependencies: [.product(name: "WALStore", package: "BootFSM")],
            path: "Sources/wal-replay-bench"
        ),
        // The hot paths as plain loops, for perf and callgrind (instructions per call).
        .executableTarget(
            name: "fsm-profile",
            dependencies: [.product(name: "BootFSM", package: "BootFSM")],
            path: "Sources/fsm-profile"
        ),
    ],
    swiftLanguageModes: [.v6]
)
