// swift-tools-version:6.1
// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Benchmark peer, never shipped: what a user would build instead of boot-exporter with Hummingbird 2
// and swift-prometheus. It serves the same metric set (names, types, labels) with the values of a
// snapshot taken from a booted boot-exporter.

import PackageDescription

let package = Package(
    name: "HummingbirdExporter",
    platforms: [.macOS(.v15)],
    dependencies: [
        // Without the ConfigurationSupport trait (swift-configuration), which this server does not
        // use: it only lengthens the first build. The request path is the same.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
    ],
    targets: [
        .executableTarget(
            name: "HummingbirdExporter",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
