// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

/// `boot-exporter run` on a data directory of its own, with `NOTIFY_SOCKET` (and more) set, its log in a file.
private final class Exporter {
    /// The built binary: `$BOOT_EXPORTER`, else beside the test bundle.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["BOOT_EXPORTER"] { return path }
        let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("boot-exporter").path
    }()

    let process = Process()
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("boot-systemd-\(UUID().uuidString)").path
    private var logPath: String { dataDirectory + ".log" }

    init(_ arguments: [String], environment overrides: [String: String]) throws {
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["run", "--web.listen-address", "127.0.0.1:0", "--data-dir", dataDirectory] + arguments
        var environment = ProcessInfo.processInfo.environment
        for name in ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"] { environment[name] = nil }
        environment.merge(overrides) { $1 }
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: dataDirectory)
        try? FileManager.default.removeItem(atPath: logPath)
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    /// Waits until the log holds `text` or `timeout` passes; whether it does.
    func waitForLog(_ text: String, timeout: Duration = .seconds(60)) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !log.contains(text), process.isRunning, ContinuousClock.now < deadline { usleep(20_000) }
        return log.contains(text)
    }

    /// Sends SIGTERM and waits for the exit (at most `timeout`); the status, or `nil` if it is still running.
    func terminate(timeout: Duration = .seconds(30)) -> Int32? {
        kill(process.processIdentifier, SIGTERM)
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(10_000) }
        guard !process.isRunning else { return nil }
        return process.terminationStatus
    }
}

@Suite("boot-exporter run under systemd (NOTIFY_SOCKET)")
struct RunUnderSystemdTests {
    @Test("a real boot: extensions, statuses and pings, READY=1, then STOPPING=1 after SIGTERM, and a clean exit")
    func readyThenStopping() throws {
        let listener = try NotifyListener()
        // 20,000 records at 10,000 a second: about 2 s of recover, with statuses on the way.
        let exporter = try Exporter(["--generate.records", "20000", "--recover.max-records-per-second", "10000"],
                                    environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "1000000"])
        let boot = listener.receive(until: "READY=1")
        let lines = boot.flatMap(\.assignments)
        try #require(lines.contains("READY=1"), "no READY=1: \(boot)\n\(exporter.log)")
        #expect(lines.filter { $0 == "READY=1" }.count == 1)
        // Each extension is at most a phase's default budget (recover's 30 min is the longest) and the 1 s grace.
        let extensions = lines.compactMap { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") ? Int64($0.dropFirst(20)) : nil }
        #expect(!extensions.isEmpty && extensions.allSatisfy { $0 > 0 && $0 <= 1_801_000_000 }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("STATUS=recover ") }, "\(lines)")
        #expect(lines.contains("WATCHDOG=1"))
        #expect(exporter.log.contains("msg=\"notifying systemd\""), "\(exporter.log)")

        kill(exporter.process.processIdentifier, SIGTERM)
        let shutdown = listener.receive(until: "STOPPING=1", timeout: .seconds(30)).flatMap(\.assignments)
        #expect(shutdown.contains("STOPPING=1"), "\(shutdown)\n\(exporter.log)")
        #expect(!shutdown.contains("READY=1"))
        #expect(exporter.terminate() == 0, "\(exporter.log)")
        let after = listener.drain().flatMap(\.assignments)
        #expect(!after.contains("STOPPING=1"), "STOPPING=1 once: \(after)")
    }

    @Test("a failed boot: its reason as the status, no READY=1, and STOPPING=1 as it exits (--boot.exit-after-failure)")
    func failedBoot() throws {
        let listener = try NotifyListener()
        // 20,000 records at 1,000 a second against a 1 s recover budget.
        let exporter = try Exporter(["--generate.records", "20000", "--recover.max-records-per-second", "1000",
                                     "--boot.budget.recover", "1s", "--boot.exit-after-failure", "1s"],
                                    environment: ["NOTIFY_SOCKET": listener.address])
        let datagrams = listener.receive(until: "STOPPING=1")
        let lines = datagrams.flatMap(\.assignments)
        #expect(lines.last == "STOPPING=1", "\(datagrams)\n\(exporter.log)")
        #expect(!lines.contains("READY=1"))
        #expect(lines.contains("STATUS=Failed in recover: budget exceeded in phase recover (budget 1 s)"), "\(lines)")
        let failedAt = lines.firstIndex { $0.hasPrefix("STATUS=Failed") } ?? lines.endIndex
        #expect(!lines[failedAt...].contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") }, "no extension after the failure")
        // The failure's datagram extends the start timeout once, by --boot.exit-after-failure and the 1 s grace,
        // so that systemd lets the failed boot be served; nothing extends it afterwards.
        let failure = try #require(datagrams.firstIndex { $0.assignments.contains { $0.hasPrefix("STATUS=Failed") } })
        #expect(datagrams[failure].assignments.contains("EXTEND_TIMEOUT_USEC=2000000"), "\(datagrams[failure])")
        #expect(!datagrams[(failure + 1)...].flatMap(\.assignments).contains { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") })
        #expect(exporter.terminate() == 1, "\(exporter.log)")
    }

    @Test("a bad NOTIFY_SOCKET is one warning, and the boot goes on")
    func badSocket() throws {
        let exporter = try Exporter(["--generate.records", "1000"], environment: ["NOTIFY_SOCKET": "relative/notify"])
        #expect(exporter.waitForLog("msg=ready"), "\(exporter.log)")
        #expect(exporter.terminate() == 0, "\(exporter.log)")
        let warnings = exporter.log.split(separator: "\n").filter { $0.contains("not notifying systemd") }
        #expect(warnings.count == 1, "\(exporter.log)")
        #expect(warnings.first?.contains("neither an absolute path nor an abstract name") == true)
    }
}
