// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import BootFSM
import Foundation
import Logging

/// Fixed process figures, so expositions are reproducible.
let fixedProcessMetrics = ProcessMetrics(
    cpuSeconds: 1.25, residentMemoryBytes: 12_345_678, virtualMemoryBytes: 987_654_321,
    openFileDescriptors: 9, maxFileDescriptors: 1024, startTimeSeconds: 1_767_225_590
)

/// Starts a real server for `machine` on 127.0.0.1 and an ephemeral port, runs `body`, stops it.
func withServer<T>(
    _ machine: BootStateMachine,
    configure: (inout ExporterConfiguration) -> Void = { _ in },
    _ body: (BootExporterServer, Int) throws -> T
) throws -> T {
    var configuration = ExporterConfiguration(host: "127.0.0.1", port: 0, threads: 2, version: "0.0.0-test",
                                              processMetrics: { fixedProcessMetrics })
    configure(&configuration)
    let server = BootExporterServer(machine: machine, configuration: configuration,
                                    logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }))
    try server.start()
    defer { server.stop() }
    return try body(server, server.port!)
}

/// A machine with a manual clock driven to `phase` along the normal path, with some progress.
func drivenMachine(to phase: BootPhase, clock: ManualBootClock = ManualBootClock(),
                   policy: BudgetPolicy = .failFast) throws -> BootStateMachine {
    let fsm = BootStateMachine(budgets: .forKubernetes(startupProbeTotalSeconds: 600), budgetPolicy: policy, clock: clock)
    let paths: [BootPhase: [BootPhase]] = [
        .uninitialized: [],
        .initializing: [.initializing],
        .migrating: [.initializing, .migrating],
        .recovering: [.initializing, .migrating, .recovering],
        .readOnlyRecovery: [.initializing, .migrating, .readOnlyRecovery],
        .forceRecovery: [.initializing, .migrating, .forceRecovery],
        .warmingUp: [.initializing, .migrating, .recovering, .warmingUp],
        .ready: [.initializing, .migrating, .recovering, .warmingUp, .ready],
        .shuttingDown: [.initializing, .migrating, .recovering, .warmingUp, .ready, .shuttingDown],
        .failed: [.initializing, .migrating, .recovering],
    ]
    for step in paths[phase]! {
        clock.advance(by: .seconds(2))
        try fsm.transition(to: step)
        fsm.updateProgress(PhaseProgress(message: "working on \(step.name)", itemsProcessed: 0, itemsTotal: 100))
    }
    clock.advance(by: .seconds(1))
    fsm.updateProgress(PhaseProgress(message: "working", itemsProcessed: 40, itemsTotal: 100, bytesProcessed: 4096, bytesTotal: 10240))
    fsm.recordWALProgress(records: 40, bytes: 4096)
    if phase == .failed { fsm.fail(reason: "checksum mismatch in segment 7") }
    return fsm
}

/// Where checked-in fixtures live.
let fixturesDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

/// `promtool check metrics` on `exposition`: its complaints, empty when it has none.
func promtoolProblems(_ exposition: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["promtool", "check", "metrics"]
    let input = Pipe(), output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = output
    try process.run()
    input.fileHandleForWriting.write(Data(exposition.utf8))
    try input.fileHandleForWriting.close()
    let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    if process.terminationStatus != 0 && text.isEmpty { return "promtool exited \(process.terminationStatus)" }
    return text
}
