// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Foundation
import Testing
import WALStore

@Suite("boot-exporter, the binary", .serialized)
struct BootExporterCLITests {
    @Test("a whole boot served live: phases in order, counters equal to the WAL, SIGTERM ends in shutting_down and 0")
    func endToEnd() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let generated = try BinaryProcess.run(["generate", "--data-dir", data, "--records", "20000"])
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(generated.stdout.hasPrefix("generated 20000 records"))

        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0",
                                        "--recover.max-records-per-second", "10000"])
        let port = try server.listeningPort()
        var phases: [Int] = []
        var lastRecords = -1.0
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            let metrics = try httpGet(port: port, "/metrics")
            #expect(metrics.status == 200)
            let phase = Int(sample("boot_phase_code", in: metrics.body) ?? -1)
            if phases.last != phase { phases.append(phase) }
            let records = sample("boot_wal_records_replayed_total", in: metrics.body) ?? -1
            #expect(records >= lastRecords, "counters never go back")
            lastRecords = records
            if phase == Int(BootPhase.ready.rawValue) { break }
            usleep(50_000)
        }
        #expect(phases.first.map { $0 <= 3 } == true, "the boot was watched before recovery ended: \(phases)")
        #expect(phases.contains(Int(BootPhase.recovering.rawValue)))
        #expect(phases.last == Int(BootPhase.ready.rawValue))
        #expect(phases == phases.sorted(by: { order($0) < order($1) }), "phases pass in order: \(phases)")

        let final = try httpGet(port: port, "/metrics").body
        #expect(sample("boot_wal_records_replayed_total", in: final) == 20000)
        let walBytes = try walSize(data)
        #expect(sample("boot_wal_bytes_processed_total", in: final) == Double(walBytes - 16))
        #expect(try httpGet(port: port, "/readyz").status == 200)
        #expect(try httpGet(port: port, "/startupz").status == 200)

        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        #expect(server.stderr.contains("from=ready") && server.stderr.contains("to=shutting_down"))
        #expect(server.stderr.contains("msg=\"checkpoint written\""))
        // The checkpoint holds everything: the next boot replays nothing.
        let store = try WALStore.open(path: data, access: .readOnly)
        #expect(try store.recover(RecoveryOptions(mode: .readOnly)).recordsReplayed == 0)
    }

    @Test("a budget run out under fail-fast ends in failed, with the reason on /health and boot_failure_info")
    func budgetExceeded() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "20000",
                                        "--recover.max-records-per-second", "2000", "--boot.budget.recover", "1s"])
        let port = try server.listeningPort()
        let health = try httpGet(port: port, "/health") { $0.status == 503 }
        #expect(health.status == 503)
        let status = try JSONDecoder().decode(HealthStatus.self, from: Data(health.body.utf8))
        #expect(status.phase == .failed)
        #expect(status.failureReason == "budget exceeded in phase recover (budget 1 s)")
        #expect(status.budgetExceeded)
        let metrics = try httpGet(port: port, "/metrics").body
        #expect(metrics.contains(#"boot_failure_info{phase="recover",reason="budget exceeded in phase recover (budget 1 s)"} 1"#))
        #expect(sample("boot_budget_exceeded", in: metrics) == 1)
        #expect(try httpGet(port: port, "/livez").status == 503)
        server.signal(SIGINT)
        #expect(server.wait() == 1, "a failed boot exits 1 at shutdown")
        #expect(server.stderr.contains("boot-exporter: error: boot failed: budget exceeded in phase recover"))
    }

    @Test("--boot.exit-after-failure: a failed boot is served, then the process exits 1 on its own")
    func exitAfterFailure() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "20000",
                                        "--recover.max-records-per-second", "2000", "--boot.budget.recover", "1s",
                                        "--boot.exit-after-failure", "3s"])
        let port = try server.listeningPort()
        let health = try httpGet(port: port, "/health") { $0.status == 503 }
        // Served while failed: Prometheus gets to scrape why.
        #expect(health.status == 503)
        #expect(health.body.contains(#""failure_reason":"budget exceeded in phase recover (budget 1 s)""#))
        #expect(try httpGet(port: port, "/metrics").body.contains("boot_failure_info{"))
        // No signal: the process ends by itself, with the status of a failed boot.
        #expect(server.wait(timeout: .seconds(30)) == 1)
        #expect(server.stderr.contains("exiting after the failed boot"))
        #expect(server.stderr.contains("boot-exporter: error: boot failed: budget exceeded in phase recover"))
    }

    @Test("a second process on the same data directory gets a clear error and exits non-zero")
    func lockContention() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let first = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "1000"])
        let port = try first.listeningPort()
        while try httpGet(port: port, "/readyz").status != 200 { usleep(20_000) }
        let second = try BinaryProcess.run(["write", "--data-dir", data, "--transactions", "1"])
        #expect(second.status == 1)
        #expect(second.stderr == "boot-exporter: error: data directory \(data) is locked by another process (pid \(first.process.processIdentifier))\n")
        // A second `run` fails its boot and writes nothing into the directory, its journal included.
        let journal = try Data(contentsOf: URL(fileURLWithPath: data + "/journal"))
        let third = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--boot.exit-after-failure", "0s"])
        #expect(third.wait(timeout: .seconds(30)) == 1)
        #expect(third.stderr.contains("is locked by another process"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: data + "/journal")) == journal)
        first.signal(SIGTERM)
        #expect(first.wait() == 0)
        let history = try BinaryProcess.run(["history", "--data-dir", data])
        let rows = history.stdout.split(separator: "\n")
        #expect(rows.count == 2 && rows[1].hasPrefix("1 ") && rows[1].contains("ready"), "\(history.stdout)")
    }

    @Test("killed at random points, write never loses a committed transaction")
    func crashLoop() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try BinaryProcess.run(["generate", "--data-dir", data, "--records", "2000"]).status == 0)
        var committed: [UInt64: [String]] = [:]
        var random = SystemRandomNumberGenerator()
        for round in 0..<25 {
            let writer = try BinaryProcess(["write", "--data-dir", data, "--transactions", "100000", "--seed", "\(round + 1)"])
            usleep(UInt32.random(in: 20_000...150_000, using: &random))
            writer.signal(SIGKILL)
            writer.wait()
            var aborted: [UInt64: [String]] = [:]
            for line in writer.stdout.split(separator: "\n") {
                let fields = line.split(separator: " ").map(String.init)
                // A line cut by the kill is not a confirmed commit.
                guard fields.count >= 3, let txid = UInt64(fields[1]), line.hasSuffix(fields.last!) else { continue }
                if fields[0] == "committed" { committed[txid] = Array(fields.dropFirst(2)) }
                if fields[0] == "aborted" { aborted[txid] = Array(fields.dropFirst(2)) }
            }
            let store = try WALStore.open(path: data, access: .readWrite)
            _ = try store.recover(RecoveryOptions())
            for (txid, writes) in committed {
                for write in writes {
                    let (key, value) = write.split(separator: "=", maxSplits: 1).map(String.init).pair
                    let (page, slot) = key.split(separator: ":").map(String.init).pair
                    let stored = try store.value(pageID: UInt64(page)!, slot: UInt8(slot)!)
                    #expect(stored.map { String(decoding: $0, as: UTF8.self) } == value, "round \(round): txid \(txid) lost \(key)")
                }
            }
            for (_, writes) in aborted {
                for write in writes {
                    let (page, slot) = String(write.split(separator: "=")[0]).split(separator: ":").map(String.init).pair
                    #expect(try store.value(pageID: UInt64(page)!, slot: UInt8(slot)!) == nil)
                }
            }
            store.close()
        }
        #expect(committed.count > 25, "the rounds committed something")
    }

    @Test("usage errors exit 2 with one line, runtime errors 1", arguments: [
        (["--web.listen-address", "nonsense"], Int32(2), "invalid listen address"),
        (["--web.listen-address", ":99999"], 2, "port must be a number"),
        (["--boot.budget.recover", "10parsecs"], 2, "boot.budget.recover <boot.budget.recover>': invalid duration \"10parsecs\": use a number and a unit (ms, s, m, h, d)"),
        (["--log.level", "verbose"], 2, "one of the following: trace, debug, info, notice, warning, error, critical"),
        // A budget of 0 would fail every boot at once (and is often meant as "off", which budgets cannot be).
        (["--boot.budget.recover", "0s"], 2, "--boot.budget.recover must be longer than 0s"),
        (["--boot.budget.total", "0ms"], 2, "--boot.budget.total must be longer than 0s"),
        (["--boot.startup-probe-seconds", "19"], 2, "--boot.startup-probe-seconds 19 leaves the init phase a budget of 0s"),
        (["probes", "--startup-probe-seconds", "19"], 2, "--startup-probe-seconds 19 leaves the init phase a budget of 0s"),
        (["follow", "--socket", ""], 2, "--socket needs a path"),
        (["--boot.exit-after-failure", "soon"], 2, "boot.exit-after-failure"),
        // libmicrohttpd takes these as unsigned int: unbounded, 2^32 wrapped to 0 and nothing was answered.
        (["--web.max-connections", "4294967296"], 2, "web.max-connections"),
        (["--web.max-connections-per-ip", "4294967296"], 2, "web.max-connections-per-ip"),
        (["--web.connection-memory-limit", "1000000000000"], 2, "web.connection-memory-limit"),
        (["--web.connection-timeout", "100000d"], 2, "web.connection-timeout"),
        (["--web.listen-address", "127.0.0.1:+9851"], 2, "listen address"),
        (["--recovery-mode", "yolo"], 2, "recovery-mode"),
        (["--no-such-flag"], 2, "no-such-flag"),
        (["generate", "--records", "-5"], 2, "records"),
        (["write", "--data-dir", "/proc/nope/data", "--transactions", "1"], 1, "/proc/nope/data"),
    ])
    func badInput(arguments: [String], status: Int32, mentions: String) throws {
        let result = try BinaryProcess.run(arguments)
        #expect(result.status == status)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.first?.hasPrefix("boot-exporter: error: ") == true, "\(result.stderr)")
        #expect(lines.first?.contains(mentions) == true, "\(result.stderr)")
        #expect(lines.count <= 2)
    }

    @Test("a short startup probe is accepted once the budget it leaves at 0 is given")
    func shortStartupProbeWithItsZeroBudgetSet() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "10",
                                        "--boot.startup-probe-seconds", "19", "--boot.budget.init", "1s"])
        let port = try server.listeningPort()
        #expect(try httpGet(port: port, "/readyz") { $0.status == 200 }.status == 200, "\(server.stderr)")
        server.signal(SIGTERM)
        #expect(server.wait() == 0, "\(server.stderr)")
    }

    @Test("a boot that fails generating its WAL is journaled (the directory's lock was held)")
    func generationFailureIsJournaled() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        // RLIMIT_FSIZE of 200 KiB: the generated WAL cannot grow past it.
        let limited = try BinaryProcess(["-c", "ulimit -f 200; exec \"$0\" \"$@\"", BinaryProcess.binary,
                                         "run", "--data-dir", data, "--web.listen-address", "127.0.0.1:0",
                                         "--boot.exit-after-failure", "0s"], executable: "/bin/sh")
        #expect(limited.wait(timeout: .seconds(60)) == 1)
        #expect(limited.stderr.contains("cannot generate a WAL"))
        let history = try BinaryProcess.run(["history", "--data-dir", data, "--json"])
        let boots = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]]
        #expect(boots?.map { $0["outcome"] as? String } == ["failed"], "\(history.stdout)")
    }

    @Test("a full disk during write: one clear line, exit 1, every confirmed commit recovered")
    func fullDiskDuringWrite() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try BinaryProcess.run(["generate", "--data-dir", data, "--records", "100"]).status == 0)
        // RLIMIT_FSIZE of 64 KiB stands in for a full disk: the WAL segment cannot grow past it.
        let limited = try BinaryProcess(["-c", "ulimit -f 64; exec \"$0\" \"$@\"", BinaryProcess.binary,
                                         "write", "--data-dir", data, "--transactions", "100000"], executable: "/bin/sh")
        #expect(limited.wait() == 1)
        let errors = limited.stderr.split(separator: "\n")
        #expect(errors.count == 1 && errors[0].hasPrefix("boot-exporter: error: write ") && errors[0].contains("File too large"),
                "\(limited.stderr)")
        let committed = limited.stdout.split(separator: "\n").filter { $0.hasPrefix("committed ") }
        #expect(committed.count > 50)
        let store = try WALStore.open(path: data, access: .readWrite)
        let report = try store.recover(RecoveryOptions())
        for line in committed {
            for write in line.split(separator: " ").dropFirst(2) {
                let (key, value) = write.split(separator: "=", maxSplits: 1).map(String.init).pair
                let (page, slot) = key.split(separator: ":").map(String.init).pair
                #expect(try store.value(pageID: UInt64(page)!, slot: UInt8(slot)!).map { String(decoding: $0, as: UTF8.self) } == value)
            }
        }
        _ = report
    }

    @Test("bad data directories: one clear line and exit 1, nothing lost")
    func badDataDirectories() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        // A read-only file system (sysfs is mounted read-only here), as generate and write see it.
        let readOnly = try BinaryProcess.run(["generate", "--data-dir", "/sys/boot-data", "--records", "10"])
        #expect(readOnly.status == 1)
        #expect(readOnly.stderr.hasPrefix("boot-exporter: error: mkdir /sys/boot-data: "), "\(readOnly.stderr)")
        // A WAL larger than the free space is refused before anything is written (it once filled the disk).
        let huge = try BinaryProcess.run(["generate", "--data-dir", data + "/huge", "--records", "99999999999999"])
        #expect(huge.status == 1)
        #expect(huge.stderr.hasPrefix("boot-exporter: error: 99999999999999 records need about 7999999.9 GB and "), "\(huge.stderr)")
        #expect(huge.stderr.hasSuffix(" are free for \(data)/huge: generate fewer\n"), "\(huge.stderr)")
        #expect(!FileManager.default.fileExists(atPath: data + "/huge") && !FileManager.default.fileExists(atPath: data))
        // A file where the directory should be (its error once read "open …: Success").
        let file = temporaryPath()
        defer { unlink(file) }
        #expect(FileManager.default.createFile(atPath: file, contents: Data("x".utf8)))
        let notDirectory = try BinaryProcess.run(["write", "--data-dir", file, "--transactions", "1"])
        #expect(notDirectory.status == 1)
        #expect(notDirectory.stderr == "boot-exporter: error: open \(file): Not a directory\n", "\(notDirectory.stderr)")
        #expect(try String(contentsOfFile: file, encoding: .utf8) == "x")
        // history too (it printed "no boots recorded" and exit 0 for a file or any other directory).
        let historyOfFile = try BinaryProcess.run(["history", "--data-dir", file])
        #expect(historyOfFile.status == 1 && historyOfFile.stdout.isEmpty)
        #expect(historyOfFile.stderr == "boot-exporter: error: \(file): Not a directory\n", "\(historyOfFile.stderr)")
        let historyOfOther = try BinaryProcess.run(["history", "--data-dir", "/usr"])
        #expect(historyOfOther.status == 1 && historyOfOther.stdout.isEmpty)
        #expect(historyOfOther.stderr == "boot-exporter: error: /usr is not a boot-exporter data directory (no FORMAT file, no boot journal)\n",
                "\(historyOfOther.stderr)")
        // A newline in a path is escaped: the error stays one line.
        let newline = try BinaryProcess.run(["history", "--data-dir", data + "/a\nb\u{1}"])
        #expect(newline.status == 1)
        #expect(newline.stderr == "boot-exporter: error: \(data)/a\\nb\\u{1} does not exist\n", "\(newline.stderr)")
        // A journal that cannot be read is an error, not an empty history.
        let unreadable = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: unreadable) }
        try FileManager.default.createDirectory(atPath: unreadable + "/journal", withIntermediateDirectories: true)
        let historyUnreadable = try BinaryProcess.run(["history", "--data-dir", unreadable])
        #expect(historyUnreadable.status == 1 && historyUnreadable.stdout.isEmpty)
        #expect(historyUnreadable.stderr == "boot-exporter: error: read \(unreadable)/journal: Is a directory: boot journal not read\n",
                "\(historyUnreadable.stderr)")
        // Missing parents are made, as mkdir -p (and Prometheus for its storage path) does.
        let nested = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: nested) }
        let deep = try BinaryProcess.run(["generate", "--data-dir", nested + "/a/b//", "--records", "10"])
        #expect(deep.status == 0, "\(deep.stderr)")
        #expect(FileManager.default.fileExists(atPath: nested + "/a/b/FORMAT"))
        // A truncated checkpoint: write refuses, the file is left as it was.
        #expect(try BinaryProcess.run(["generate", "--data-dir", data, "--records", "100"]).status == 0)
        let checkpoint = URL(fileURLWithPath: data + "/checkpoint")
        let bytes = try Data(contentsOf: checkpoint)
        try bytes.prefix(20).write(to: checkpoint)
        let truncated = try BinaryProcess.run(["write", "--data-dir", data, "--transactions", "1"])
        #expect(truncated.status == 1)
        #expect(truncated.stderr == "boot-exporter: error: \(data)/checkpoint is corrupt: not a valid checkpoint (20 bytes; truncated, checksum mismatch or unknown layout)\n")
        #expect(try Data(contentsOf: checkpoint) == bytes.prefix(20))
        // The same directory under run: the boot fails with the reason, the server keeps answering.
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
        let port = try server.listeningPort()
        let health = try httpGet(port: port, "/health", timeout: .seconds(10)) { $0.status == 503 }
        #expect(health.body.contains("checkpoint is corrupt"))
        server.signal(SIGTERM)
        #expect(server.wait() == 1)
        // A directory that is not a data directory is refused, not taken over.
        let other = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: other) }
        try FileManager.default.createDirectory(atPath: other, withIntermediateDirectories: true)
        try "keep me".write(toFile: other + "/notes.txt", atomically: true, encoding: .utf8)
        let refused = try BinaryProcess.run(["write", "--data-dir", other])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("is not a boot-exporter data directory"))
        #expect(try String(contentsOfFile: other + "/notes.txt", encoding: .utf8) == "keep me")
        // Under run too: refused, and nothing is added to it (no journal).
        let runRefused = try BinaryProcess(["--data-dir", other, "--web.listen-address", "127.0.0.1:0", "--boot.exit-after-failure", "0s"])
        #expect(runRefused.wait(timeout: .seconds(30)) == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: other) == ["notes.txt"])
        // A newer format is refused and left untouched.
        let newer = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: newer) }
        #expect(try BinaryProcess.run(["generate", "--data-dir", newer, "--records", "10"]).status == 0)
        try "format=4\n".write(toFile: newer + "/FORMAT", atomically: false, encoding: .utf8)
        let image = try FileManager.default.contentsOfDirectory(atPath: newer).sorted()
        let runNewer = try BinaryProcess(["--data-dir", newer, "--web.listen-address", "127.0.0.1:0", "--boot.exit-after-failure", "0s"])
        #expect(runNewer.wait(timeout: .seconds(30)) == 1)
        #expect(runNewer.stderr.contains("newer than"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: newer).sorted() == image)
    }

    @Test("crash-loop memory: the journal carries attempts and the last failure across restarts")
    func crashLoopMemory() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        func failingBoot() throws -> String {
            let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "2000",
                                            "--recover.max-records-per-second", "500", "--boot.budget.recover", "1s"])
            let port = try server.listeningPort()
            let deadline = ContinuousClock.now + .seconds(20)
            while try httpGet(port: port, "/livez").status == 200 && ContinuousClock.now < deadline { usleep(50_000) }
            let metrics = try httpGet(port: port, "/metrics").body
            server.signal(SIGTERM)
            #expect(server.wait() == 1)
            return metrics
        }
        let first = try failingBoot()
        #expect(sample("boot_attempts_total", in: first) == 1)
        #expect(sample("boot_consecutive_failures", in: first) == 1)
        let second = try failingBoot()
        #expect(sample("boot_attempts_total", in: second) == 2)
        #expect(sample("boot_consecutive_failures", in: second) == 2)
        #expect(second.contains(#"boot_last_failure_info{attempt="2",phase="recover",reason="budget exceeded in phase recover (budget 1 s)"} 1"#))
        #expect(sample("boot_last_duration_seconds", in: second).map { $0 >= 1 } == true, "the first boot's duration")
        #expect(second.contains(#"boot_previous_phase_duration_seconds{phase="recover"}"#))

        let history = try BinaryProcess.run(["history", "--data-dir", data])
        #expect(history.status == 0)
        let rows = history.stdout.split(separator: "\n")
        #expect(rows.count == 3 && rows[1].hasPrefix("1 ") && rows[2].hasPrefix("2 "), "\(history.stdout)")
        #expect(rows.dropFirst().allSatisfy { $0.contains("failed") && $0.contains("recover: budget exceeded") })
        let json = try BinaryProcess.run(["history", "--data-dir", data, "--json"])
        let boots = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [[String: Any]]
        #expect(boots?.map { $0["outcome"] as? String } == ["failed", "failed"])

        // A torn entry (a crash mid-append) costs a warning, never the boot.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/journal"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([200, 0, 0, 0, 9, 9]))
        try handle.close()
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
        let port = try server.listeningPort()
        while try httpGet(port: port, "/readyz").status != 200 { usleep(50_000) }
        let metrics = try httpGet(port: port, "/metrics").body
        #expect(sample("boot_attempts_total", in: metrics) == 3)
        #expect(sample("boot_consecutive_failures", in: metrics) == 0)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        #expect(server.stderr.contains("torn or corrupt entry"))
    }

    @Test("SIGTERM during WAL replay: a clean exit 0, journaled as stopped, not as a failure")
    func stopDuringReplay() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "20000",
                                        "--recover.max-records-per-second", "2000"])
        let port = try server.listeningPort()
        while sample("boot_phase_code", in: try httpGet(port: port, "/metrics").body) != 3 { usleep(20_000) }
        server.signal(SIGTERM)
        #expect(server.wait() == 0, "\(server.stderr)")
        // A stop is no error: nothing at level error, a notice instead.
        #expect(server.stderr.contains(#"level=notice msg="boot stopped before ready""#), "\(server.stderr)")
        #expect(!server.stderr.contains("level=error"), "\(server.stderr)")
        let history = try BinaryProcess.run(["history", "--data-dir", data, "--json"])
        let boots = try JSONSerialization.jsonObject(with: Data(history.stdout.utf8)) as? [[String: Any]]
        #expect(boots?.first?["outcome"] as? String == "stopped")
        // The next boot does not count it as a failure.
        let next = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
        let nextPort = try next.listeningPort()
        while try httpGet(port: nextPort, "/readyz").status != 200 { usleep(50_000) }
        #expect(sample("boot_consecutive_failures", in: try httpGet(port: nextPort, "/metrics").body) == 0)
        next.signal(SIGTERM)
        #expect(next.wait() == 0)
    }

    @Test("damage recovery went past is logged at warning level; a clean boot logs none")
    func recoveredDamageIsAWarning() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        #expect(try BinaryProcess.run(["generate", "--data-dir", data, "--records", "2000"]).status == 0)
        let segments = try FileManager.default.contentsOfDirectory(atPath: data + "/wal").filter { $0.hasSuffix(".wal") }.sorted()
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/wal/" + segments.last!))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x40, 0, 0, 0, 1, 2, 3]))  // a torn frame
        try handle.close()
        for (round, damaged) in [(1, true), (2, false)] {
            let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
            let port = try server.listeningPort()
            let deadline = ContinuousClock.now + .seconds(30)
            while try httpGet(port: port, "/readyz").status != 200 && ContinuousClock.now < deadline { usleep(20_000) }
            server.signal(SIGTERM)
            #expect(server.wait() == 0)
            let warning = server.stderr.split(separator: "\n").first { $0.contains(#"msg="WAL damaged""#) }
            if damaged {
                #expect(warning?.contains("level=warning") == true, "round \(round): \(server.stderr)")
                #expect(warning?.contains("tail_truncated=true") == true && warning?.contains("mode=normal") == true)
            } else {
                #expect(warning == nil, "round \(round): the tail was cut off the first time: \(server.stderr)")
            }
        }
    }

    /// A first start generating a large WAL used to finish the generation before it looked at a
    /// SIGTERM (10M records: tens of seconds, past Kubernetes' grace period).
    @Test("SIGTERM during the first start's WAL generation: stopped within 4,096 records, exit 0, the partial WAL boots")
    func stopDuringGeneration() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0",
                                        "--generate.records", "10000000"])
        _ = try server.listeningPort()
        let deadline = ContinuousClock.now + .seconds(30)
        while !server.stderr.contains("generating a WAL") && ContinuousClock.now < deadline { usleep(10_000) }
        usleep(200_000)
        let signalled = ContinuousClock.now
        server.signal(SIGTERM)
        #expect(server.wait(timeout: .seconds(20)) == 0, "\(server.stderr)")
        #expect(ContinuousClock.now - signalled < .seconds(10))
        #expect(server.stderr.contains(#"level=notice msg="boot stopped before ready""#), "\(server.stderr)")
        #expect(server.stderr.contains("generation stopped after "), "\(server.stderr)")
        #expect(!server.stderr.contains("level=error"), "\(server.stderr)")
        // What was written is a valid WAL: the next start boots it (no generation: the directory is not empty).
        let next = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0"])
        let port = try next.listeningPort()
        let ready = ContinuousClock.now + .seconds(60)
        while try httpGet(port: port, "/readyz").status != 200 && ContinuousClock.now < ready { usleep(50_000) }
        let metrics = try httpGet(port: port, "/metrics").body
        #expect(try #require(sample("boot_wal_records_replayed_total", in: metrics)) > 0)
        #expect(!next.stderr.contains("generating a WAL"))
        next.signal(SIGTERM)
        #expect(next.wait() == 0)
    }

    /// Kubernetes may stop a pod the moment it starts. Signal handling used to be set up only once
    /// the service group ran, after "listening": a SIGTERM in between killed the process outright
    /// (status 143, no checkpoint) in about one start of seven.
    @Test("SIGTERM the moment the server listens: still a graceful stop, every time; a second signal is logged")
    func signalRightAfterListening() throws {
        for round in 0..<8 {
            let data = temporaryPath()
            defer { try? FileManager.default.removeItem(atPath: data) }
            let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "2000"])
            _ = try server.listeningPort()
            server.signal(SIGTERM)
            if round % 2 == 1 { server.signal(SIGINT) }
            #expect(server.wait() == 0, "round \(round): \(server.stderr)")
            let log = server.stderr
            #expect(log.contains("msg=stopped"), "round \(round): \(log)")
            // Signals pending together arrive in the order of their numbers: SIGINT may come first.
            let received = log.split(separator: "\n").filter { $0.contains("msg=\"signal received") }
                .map { $0.split(separator: " msg=").last.map(String.init) ?? "" }
            if round % 2 == 0 {
                #expect(received == [#""signal received, shutting down" signal=SIGTERM"#], "round \(round): \(log)")
            } else {
                #expect(received.count == 2 && received[0].hasPrefix(#""signal received, shutting down""#)
                            && received[1].hasPrefix(#""signal received, already shutting down""#)
                            && Set(received.map { $0.split(separator: "=").last! }) == ["SIGTERM", "SIGINT"],
                        "round \(round): \(log)")
            }
        }
    }

    /// A signal caught before the service group exists is not lost: the process is made to wait between
    /// catching signals and starting its server by a `--web.config.file` that is a FIFO, signalled while
    /// it reads it, and only then given the file's (empty) contents. It ends there, starting nothing
    /// (`WebConfigLoadingTests` has the FIFO never written).
    @Test("a signal before the server has started is kept, and ends the process before anything starts", arguments: [false, true])
    func signalBeforeTheServerStarts(twice: Bool) throws {
        let data = temporaryPath()
        let fifo = temporaryPath() + ".yml"
        defer {
            try? FileManager.default.removeItem(atPath: data)
            unlink(fifo)
        }
        #expect(mkfifo(fifo, 0o600) == 0)
        let server = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "2000",
                                        "--web.config.file", fifo])
        // A FIFO opens for writing without blocking only once a reader has it open: then the process is
        // past installing its handler, and reading the configuration.
        var writer: Int32 = -1
        let deadline = ContinuousClock.now + .seconds(30)
        while writer < 0 && ContinuousClock.now < deadline {
            writer = open(fifo, O_WRONLY | O_NONBLOCK)
            if writer < 0 { usleep(1_000) }
        }
        #expect(writer >= 0, "the process opened its configuration")
        server.signal(SIGTERM)
        if twice { server.signal(SIGINT) }
        usleep(100_000)
        #expect(!server.stderr.contains("listening"), "the signals came before the server started")
        close(writer)
        #expect(server.wait() == 0, "\(server.stderr)")
        let log = server.stderr
        #expect(!log.contains("msg=listening") && log.contains(#"msg="stopped while reading the web configuration file""#), "\(log)")
        #expect(log.contains(#"msg="signal received, shutting down""#), "\(log)")
        #expect(!FileManager.default.fileExists(atPath: data), "nothing was started")
    }

    @Test func aPortInUseIsARuntimeError() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let first = try BinaryProcess(["--data-dir", data, "--web.listen-address", "127.0.0.1:0", "--generate.records", "10"])
        let port = try first.listeningPort()
        let second = try BinaryProcess.run(["--data-dir", data + "-2", "--web.listen-address", "127.0.0.1:\(port)"])
        #expect(second.status == 1)
        #expect(second.stderr.contains("cannot listen on 127.0.0.1:\(port)"))
        #expect(second.stderr.contains("in use"))
        first.signal(SIGTERM)
        first.wait()
    }

    @Test("probes: the startup probe's window covers BootBudgets.forKubernetes' total", arguments: [(600, 10), (601, 10), (45, 5), (3600, 15)] as [(UInt64, UInt64)])
    func probes(seconds: UInt64, period: UInt64) throws {
        let result = try BinaryProcess.run(["probes", "--startup-probe-seconds", "\(seconds)", "--period-seconds", "\(period)", "--port", "8080"])
        #expect(result.status == 0)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: seconds)
        let seconds64 = { (d: Duration) in d.components.seconds }
        #expect(lines[0].contains("init \(format(seconds64(budgets.initBudget)))"))
        #expect(lines[0].contains("recover \(format(seconds64(budgets.recoverBudget)))"))
        #expect(lines[1] == "# Run boot-exporter with --boot.startup-probe-seconds \(seconds) --boot.exit-after-failure \(min(60, seconds / 2))s.")
        let threshold = try #require(lines.first { $0.contains("failureThreshold") }.flatMap { UInt64($0.split(separator: " ").last!) })
        #expect(threshold * period >= UInt64(seconds64(budgets.totalBudget)))
        #expect(threshold * period < UInt64(seconds64(budgets.totalBudget)) + period)
        #expect(lines.contains("    path: /startupz") && lines.contains("    path: /readyz") && lines.contains("    path: /livez"))
        #expect(lines.filter { $0 == "    port: 8080" }.count == 3)
    }

    /// `90` seconds as the probes comment writes it: `1m30s`.
    private func format(_ seconds: Int64) -> String {
        var rest = seconds, text = ""
        for (unit, size) in [("d", Int64(86_400)), ("h", 3_600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text.isEmpty ? "0s" : text
    }

    /// Position of a phase code along the normal boot.
    private func order(_ code: Int) -> Int {
        [0, 1, 2, 3, 4, 5, 8].firstIndex(of: code) ?? 99
    }

    private func walSize(_ data: String) throws -> Int {
        let wal = data + "/wal"
        // The segments: wal/last-segment is not log.
        return try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.hasSuffix(".wal") }.map {
            (try FileManager.default.attributesOfItem(atPath: wal + "/" + $0)[.size] as? Int) ?? 0
        }.reduce(0, +)
    }
}

extension Array {
    /// The first two elements.
    var pair: (Element, Element) { (self[0], self[1]) }
}
