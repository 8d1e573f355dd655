// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

/// The built `boot-exporter` binary: `$BOOT_EXPORTER`, else beside the test bundle.
private let binary: String = {
    if let path = ProcessInfo.processInfo.environment["BOOT_EXPORTER"] { return path }
    let bundle = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: bundle).deletingLastPathComponent().appendingPathComponent("boot-exporter").path
}()

@Suite("boot-exporter run under systemd (NOTIFY_SOCKET)")
struct RunUnderSystemdTests {
    @Test("a real boot: extensions and statuses, READY=1, then STOPPING=1 after SIGTERM, and a clean exit")
    func readyThenStopping() throws {
        let listener = try NotifyListener()
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("boot-systemd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let log = data + ".log"
        defer { try? FileManager.default.removeItem(atPath: log) }
        _ = FileManager.default.createFile(atPath: log, contents: nil)

        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--web.listen-address", "127.0.0.1:0", "--data-dir", data,
                             "--generate.records", "20000", "--recover.max-records-per-second", "10000"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = listener.address
        environment["WATCHDOG_USEC"] = "1000000"
        environment["WATCHDOG_PID"] = nil
        process.environment = environment
        process.standardOutput = FileHandle.nullDevice
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

        // 20,000 records at 10,000 a second: about 2 s of recover, with statuses on the way.
        let boot = listener.receive(until: "READY=1")
        let lines = boot.flatMap(\.assignments)
        try #require(lines.contains("READY=1"), "no READY=1: \(boot)\n\(logText)")
        #expect(lines.filter { $0 == "READY=1" }.count == 1)
        // Each extension is at most a phase's default budget (recover's 30 min is the longest) and the 1 s grace.
        let extensions = lines.compactMap { $0.hasPrefix("EXTEND_TIMEOUT_USEC=") ? Int64($0.dropFirst(20)) : nil }
        #expect(!extensions.isEmpty && extensions.allSatisfy { $0 > 0 && $0 <= 1_801_000_000 }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("STATUS=recover ") }, "\(lines)")
        #expect(lines.contains("WATCHDOG=1"))
        #expect(logText.contains("msg=\"notifying systemd\""), "\(logText)")

        kill(process.processIdentifier, SIGTERM)
        let shutdown = listener.receive(until: "STOPPING=1", timeout: .seconds(30)).flatMap(\.assignments)
        #expect(shutdown.contains("STOPPING=1"), "\(shutdown)\n\(logText)")
        #expect(!shutdown.contains("READY=1"))
        let deadline = ContinuousClock.now + .seconds(30)
        while process.isRunning && ContinuousClock.now < deadline { usleep(10_000) }
        #expect(!process.isRunning)
        if !process.isRunning { #expect(process.terminationStatus == 0, "\(logText)") }
        let after = listener.drain().flatMap(\.assignments)
        #expect(!after.contains("STOPPING=1"), "STOPPING=1 once: \(after)")
    }

    @Test("a bad NOTIFY_SOCKET is one warning, and the boot goes on")
    func badSocket() throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("boot-systemd-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: data) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["run", "--web.listen-address", "127.0.0.1:0", "--data-dir", data, "--generate.records", "1000"]
        var environment = ProcessInfo.processInfo.environment
        environment["NOTIFY_SOCKET"] = "relative/notify"
        process.environment = environment
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        // Read until ready, then stop it.
        var text = ""
        let handle = errors.fileHandleForReading
        while !text.contains("msg=ready"), process.isRunning {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        kill(process.processIdentifier, SIGTERM)
        process.waitUntilExit()
        text += String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(text)")
        let warnings = text.split(separator: "\n").filter { $0.contains("not notifying systemd") }
        #expect(warnings.count == 1, "\(text)")
        #expect(warnings.first?.contains("neither an absolute path nor an abstract name") == true)
        #expect(text.contains("msg=ready"))
    }
}
