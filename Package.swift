// swift-tools-version:6.0
// SPDX-License-Identifier: AGPL-3.0-or-later

import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "BootFSM",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "BootFSM", targets: ["BootFSM"]),
        .library(name: "BootExporter", targets: ["BootExporter"]),
        .library(name: "WALStore", targets: ["WALStore"]),
        .executable(name: "boot-exporter", targets: ["boot-exporter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        // Only for the test that serves an application's own registry beside the boot metrics.
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.0.0"),
    ],
    targets: [
        .target(name: "BootFSM", swiftSettings: strict),
        .systemLibrary(
            name: "CMicroHTTPD",
            pkgConfig: "libmicrohttpd",
            providers: [.apt(["libmicrohttpd-dev", "libgnutls28-dev"])]
        ),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CCrypt", pkgConfig: "libcrypt", providers: [.apt(["libcrypt-dev"])]),
        .target(
            name: "BootExporter",
            dependencies: [
                "BootFSM", "CMicroHTTPD", "CZlib", "CCrypt",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // CRC-32C with the SSE4.2 instruction (WALStore falls back on its own tables without it), and
        // prefetch hints.
        .target(name: "CWALStore"),
        .target(name: "WALStore", dependencies: ["BootFSM", "CWALStore"], swiftSettings: strict),
        .executableTarget(
            name: "boot-exporter",
            dependencies: [
                "BootFSM", "BootExporter", "WALStore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .testTarget(name: "BootFSMTests", dependencies: ["BootFSM"], swiftSettings: strict),
        .testTarget(
            name: "BootExporterTests", dependencies: ["BootExporter", "BootFSM", "CZlib"],
            exclude: ["Fixtures"], swiftSettings: strict
        ),
        .testTarget(
            name: "BootExporterCLITests", dependencies: ["boot-exporter", "WALStore", "BootFSM"], swiftSettings: strict
        ),
        .testTarget(
            name: "CombinedMetricsTests",
            dependencies: [
                "BootExporter", "BootFSM",
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "WALStoreTests", dependencies: ["WALStore", "BootFSM"], exclude: ["Fixtures"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
