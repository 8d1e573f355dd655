// swift-tools-version:6.0
// SPDX-License-Identifier: AGPL-3.0-or-later

import PackageDescription

// Linux only: the exporter is built on libmicrohttpd and GnuTLS from Debian, and CI builds and tests on
// Linux alone, so no Apple platform is claimed.
let package = Package(
    name: "BootFSM",
    products: [
        .library(name: "BootFSM", targets: ["BootFSM"]),
        .library(name: "BootExporter", targets: ["BootExporter"]),
        .library(name: "WALStore", targets: ["WALStore"]),
        .library(name: "BootSystemd", targets: ["BootSystemd"]),
        .executable(name: "boot-exporter", targets: ["boot-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Only for the test that serves an application's own registry beside the boot metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
        // Only for `swift package generate-documentation` (the DocC catalogs); nothing links it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin.git", from: "1.5.0"),
    ],
    targets: [
        // The boot state machine: no I/O, no dependency.
        .target(name: "BootFSM"),
        // The C libraries, from Debian.
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev", "libgnutls28-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // HTTP and the exposition: every metric is named here.
        .target(
            name: "BootExporter",
            dependencies: [
                "BootFSM", "CMicroHTTPD", "CZlib", "CCrypt", "CYAML",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The reference store: knows nothing of the state machine. CWALStore is CRC-32C with the SSE4.2
        // instruction (WALStore falls back on its own tables without it) and prefetch hints.
        .target(name: "CWALStore"),
        .target(name: "WALStore", dependencies: ["CWALStore"]),
        // systemd's sd_notify protocol for a machine's boot: a datagram socket, no libsystemd.
        .target(name: "BootSystemd", dependencies: ["BootFSM"]),
        // Flags and wiring.
        .executableTarget(
            name: "boot-exporter",
            dependencies: [
                "BootFSM", "BootExporter", "BootSystemd", "WALStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "BootFSMTests", dependencies: ["BootFSM"]),
        .testTarget(name: "BootExporterTests", dependencies: ["BootExporter", "BootFSM", "CZlib"], exclude: ["Fixtures"]),
        .testTarget(name: "BootExporterCLITests", dependencies: ["boot-exporter", "WALStore", "BootFSM"], exclude: ["Fixtures"]),
        .testTarget(
            name: "CombinedMetricsTests",
            dependencies: ["BootExporter", "BootFSM", .product(name: "Prometheus", package: "swift-prometheus")]
        ),
        .testTarget(name: "BootSystemdTests", dependencies: ["BootSystemd", "BootFSM", "boot-exporter"]),
        .testTarget(name: "WALStoreTests", dependencies: ["WALStore"], exclude: ["Fixtures"]),
    ],
    swiftLanguageModes: [.v6]
)

// The same settings for every Swift target.
for target in package.targets where target.type != .system && target.name != "CWALStore" {
    target.swiftSettings = [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("InternalImportsByDefault"),
    ]
}
