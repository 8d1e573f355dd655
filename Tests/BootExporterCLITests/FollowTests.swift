// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

@Suite("boot-exporter follow", .serialized)
struct FollowTests {
    static let example = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/follow/boot-app.sh").path

    @Test("docs/follow.md's complete example boots a real program (SQLite migrations, a replayed log, an HTTP server) under follow")
    func bootsARealProgram() throws {
        let directory = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let appPort = 20_000 + Int(getpid() % 20_000)
        let events = Pipe()
        let app = Process()
        app.executableURL = URL(fileURLWithPath: Self.example)
        app.arguments = [directory, "\(appPort)"]
        app.standardOutput = events
        app.standardError = FileHandle.nullDevice
        let exporter = try BinaryProcess(["follow", "--web.listen-address", "127.0.0.1:0"], standardInput: events)
        try app.run()
        defer { if app.isRunning { app.terminate(); app.waitUntilExit() } }
        let port = try exporter.listeningPort()
        var phases: [Int] = []
        let deadline = ContinuousClock.now + .seconds(60)
        var metrics = ""
        while ContinuousClock.now < deadline {
            metrics = try httpGet(port: port, "/metrics").body
            let phase = Int(sample("boot_phase_code", in: metrics) ?? -1)
            if phases.last != phase { phases.append(phase) }
            if phase == 5 || phase == 9 { break }
            usleep(20_000)
        }
        #expect(phases.last == 5, "phases \(phases); log \(exporter.stderr)")
        #expect(sample("boot_migration_steps_completed_total", in: metrics) == 3)
        #expect(sample("boot_wal_records_replayed_total", in: metrics) == 2000)
        #expect((sample("boot_checkpoint_bytes_scanned_total", in: metrics) ?? 0) > 0)
        #expect(metrics.contains(#"boot_phase_duration_seconds{phase="recover"}"#))
        #expect(try httpGet(port: appPort, "/app.db").status == 200, "the program it booted serves")
        #expect(try httpGet(port: port, "/readyz").status == 200)
        app.terminate()
        app.waitUntilExit()
        exporter.signal(SIGTERM)
        #expect(exporter.wait() == 0)
        #expect(!exporter.stderr.contains("follow: line"), "the example sends only valid events")
    }

    @Test("bad lines and bad transitions are reported and skipped; a Unix socket works like standard input")
    func badLinesAreSkipped() throws {
        let socketPath = temporaryPath() + ".sock"
        let exporter = try BinaryProcess(["follow", "--web.listen-address", "127.0.0.1:0", "--socket", socketPath])
        let port = try exporter.listeningPort()
        let lines = [
            #"{"event":"start","mode":"force"}"#,
            "not json at all",
            #"{"event":"transition","phase":"ready"}"#,
            #"{"event":"transition","phase":"nowhere"}"#,
            #"{"event":"teleport"}"#,
            #"{"event":"wal","records":"many"}"#,
            // A forged log line in an event name comes out escaped; bytes that are not UTF-8 are refused.
            "{\"event\":\"x\\nfollow: line 99: forged; ignored\"}",
            "{\"event\":\"start\",\"note\":\"\u{FF}\u{FE}\"}",
            #"{"event":"warmup_hit_ratio","ratio":7}"#,
            String(repeating: "x", count: 70_000),
            #"{"event":"transition","phase":"migrate"}"#,
            #"{"event":"transition","phase":"force_recovery"}"#,
            #"{"event":"wal","records":10,"bytes":100}"#,
            #"{"event":"rollbacks","count":2}"#,
            #"{"event":"fail","reason":"disk \"sdb\" vanished"}"#,
        ]
        let client = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(client) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: socketPath.utf8) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        #expect(connected == 0)
        var payload = Array((lines.joined(separator: "\n") + "\n").utf8)
        // Make line 8's two characters invalid UTF-8 (bytes 0xFF and 0xFE inside a JSON string).
        let invalid = Array("\u{FF}\u{FE}".utf8)
        if let at = payload.indices.first(where: { payload[$0...].starts(with: invalid) }) {
            payload.replaceSubrange(at..<(at + invalid.count), with: [0xFF, 0xFE])
        }
        _ = payload.withUnsafeBytes { send(client, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        var health = ""
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            health = try httpGet(port: port, "/health").body
            if health.contains("\"phase\":\"failed\"") { break }
            usleep(20_000)
        }
        #expect(health.contains(#""failure_reason":"Failed in force_recovery: disk \"sdb\" vanished""#))
        #expect(health.contains(#""wal_records_replayed":10"#))
        #expect(health.contains(#""recovery_mode":"force""#))
        let complaints = exporter.stderr.split(separator: "\n").filter { $0.hasPrefix("follow: line") }
        #expect(complaints.count == 9, "\(complaints)")
        #expect(complaints.contains("follow: line 3: Invalid transition: init -> ready; ignored"))
        #expect(complaints.contains("follow: line 10: line longer than 64 KiB; ignored"))
        #expect(complaints.contains("follow: line 8: not valid UTF-8; ignored"))
        #expect(!complaints.contains("follow: line 99: forged; ignored"), "no forged line")
        #expect(complaints.contains { $0.hasPrefix("follow: line 7: ") && $0.contains("x\\u{a}follow: line 99: forged") }, "\(complaints)")
        exporter.signal(SIGTERM)
        #expect(exporter.wait() == 0)
        #expect(!FileManager.default.fileExists(atPath: socketPath), "the socket file is removed at exit")
    }

    @Test("--socket replaces only a stale socket: never a file, never a socket another process serves")
    func socketPathsAreNotTakenOver() throws {
        let path = temporaryPath() + ".sock"
        defer { unlink(path) }
        try "keep me".write(toFile: path, atomically: false, encoding: .utf8)
        let onFile = try BinaryProcess.run(["follow", "--web.listen-address", "127.0.0.1:0", "--socket", path])
        #expect(onFile.status == 1)
        #expect(onFile.stderr.contains("exists and is not a socket"), "\(onFile.stderr)")
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "keep me")
        unlink(path)

        let first = try BinaryProcess(["follow", "--web.listen-address", "127.0.0.1:0", "--socket", path])
        _ = try first.listeningPort()
        let second = try BinaryProcess.run(["follow", "--web.listen-address", "127.0.0.1:0", "--socket", path])
        #expect(second.status == 1)
        #expect(second.stderr.contains("is in use by another process"), "\(second.stderr)")
        #expect(FileManager.default.fileExists(atPath: path), "the first follower's socket is left alone")
        first.signal(SIGTERM)
        #expect(first.wait() == 0)
        // What a killed follower leaves behind is stale, and replaced.
        let stale = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: path.utf8) }
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(stale, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        close(stale)
        let third = try BinaryProcess(["follow", "--web.listen-address", "127.0.0.1:0", "--socket", path])
        _ = try third.listeningPort()
        third.signal(SIGTERM)
        #expect(third.wait() == 0)
    }
}
