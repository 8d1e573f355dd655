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
    ],
    targets: [
        .target(name: "BootFSM", swiftSettings: strict),
        .testTarget(name: "BootFSMTests", dependencies: ["BootFSM"], swiftSettings: strict),
    ],
    swiftLanguageModes: [.v6]
)
