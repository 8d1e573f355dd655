// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Foundation
import Testing

@Suite("Health status and its JSON")
struct HealthStatusTests {
    static let hostile = [
        "plain",
        #"say "hi""#,
        #"back\slash \\ and \""#,
        "new\nline\r\ttab",
        "nul\u{0}bell\u{7}esc\u{1B}del\u{7F}",
        "\u{8}\u{C}",
        "unicode ✓ 数据库 🚀 \u{2028}",
        "</script><script>alert(1)</script>",
        "",
    ]

    @Test("correction 6: hostile strings survive a JSON round trip", arguments: hostile)
    func hostileStringsRoundTrip(text: String) throws {
        let fsm = BootStateMachine()
        try fsm.startBoot()
        fsm.fail(reason: text)
        // Progress may still be reported once failed; set it after, so the message is encoded too.
        fsm.updateProgress(PhaseProgress(message: text))
        let status = fsm.healthStatus()
        #expect(status.progressMessage == text)
        let json = status.toJSON()
        let decoded = try JSONDecoder().decode(HealthStatus.self, from: Data(json.utf8))
        #expect(decoded == status)
        #expect(decoded.failureReason == "Failed in init: \(text)")
        // Any JSON parser accepts it, not only ours.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(object["failure_reason"] as? String == "Failed in init: \(text)")
    }

    /// Messages are copied eight bytes at a time while no byte needs escaping: every character
    /// that must be escaped, at every position of the first words, in messages of every length
    /// around a word, is escaped (checked by Foundation's parser, which refuses raw control bytes).
    @Test func everyEscapeAtEveryPositionOfAWord() throws {
        let escaped: [Character] = ["\"", "\\", "\u{0}", "\u{1F}", "\n", "\u{7F}", "\t"]
        var status = BootStateMachine().healthStatus()
        for length in 0...25 {
            let plain = String((0..<length).map { Character(UnicodeScalar(UInt8(0x61 + $0 % 26))) })
            status.progressMessage = plain
            try expectRoundTrip(status)
            for position in 0..<length {
                for character in escaped {
                    var characters = Array(plain)
                    characters[position] = character
                    status.progressMessage = String(characters)
                    try expectRoundTrip(status)
                }
            }
        }
        // Bytes of 0x80 and over (UTF-8 past ASCII) are copied as they are, in whole words too.
        status.progressMessage = "ünïcödé ✓ 数据库 🚀 and a tail"
        try expectRoundTrip(status)
    }

    private func expectRoundTrip(_ status: HealthStatus) throws {
        let text = status.toJSON()
        // Byte for byte as the writer's rules say, DEL included (JSON allows it raw; we escape it).
        var expected = ""
        for scalar in status.progressMessage.unicodeScalars {
            switch scalar {
            case "\"": expected += "\\\""
            case "\\": expected += "\\\\"
            case "\n": expected += "\\n"
            case "\r": expected += "\\r"
            case "\t": expected += "\\t"
            case "\u{8}": expected += "\\b"
            case "\u{C}": expected += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                expected += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: expected.unicodeScalars.append(scalar)
            }
        }
        #expect(text.contains(#""progress_message":"\#(expected)","#))
        let json = Data(text.utf8)
        let object = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        #expect(object["progress_message"] as? String == status.progressMessage)
        #expect(try JSONDecoder().decode(HealthStatus.self, from: json) == status)
    }

    /// The machine's report is what `HealthStatus(snapshot())` makes at every step of a boot, and
    /// lists every completed phase.
    @Test func theMachinesReportIsTheSnapshotsReport() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        #expect(fsm.healthStatus() == HealthStatus(fsm.snapshot()))
        try fsm.startBoot()
        for phase in [BootPhase.migrating, .recovering, .warmingUp, .ready, .shuttingDown] {
            clock.advance(by: .milliseconds(1500))
            #expect(fsm.healthStatus() == HealthStatus(fsm.snapshot()))
            #expect(fsm.healthStatus() == HealthStatus(fsm.snapshot()))
            try fsm.transition(to: phase)
            #expect(fsm.healthStatus() == HealthStatus(fsm.snapshot()))
        }
        #expect(fsm.healthStatus().phaseHistory.map(\.phase) == [.initializing, .migrating, .recovering, .warmingUp, .ready])
        #expect(fsm.healthStatus().phaseHistory.map(\.durationMs) == [1500, 1500, 1500, 1500, 1500])
    }

    /// The report agrees with `HealthStatus(snapshot())` on every field that the simple boot above
    /// leaves at its default too: progress and its ETA, counters, budgets run out under `reportOnly`, a
    /// failure (its phase, reason and flags), read-only recovery, the boot's duration.
    @Test func theMachinesReportIsTheSnapshotsReportInEveryState() throws {
        let budgets = BootBudgets(initBudget: .seconds(10), migrateBudget: .seconds(10), recoverBudget: .seconds(20),
                                  warmupBudget: .seconds(10), totalBudget: .seconds(45))
        for policy in [BudgetPolicy.reportOnly, .failFast] {
            let clock = ManualBootClock()
            let fsm = BootStateMachine(budgets: budgets, budgetPolicy: policy, clock: clock)
            func expectAgreement(_ comment: Comment) {
                #expect(fsm.healthStatus() == HealthStatus(fsm.snapshot()), comment)
            }
            try fsm.startBoot(mode: .readOnly)
            fsm.metrics.recordMigrationSteps(2)
            fsm.metrics.recordCheckpointBytesScanned(4096)
            try fsm.transition(to: .migrating)
            try fsm.transition(to: .readOnlyRecovery)
            fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 10, itemsTotal: 100))
            clock.advance(by: .milliseconds(2500))
            fsm.updateProgress(PhaseProgress(message: "replaying \"segment\" 2\n", itemsProcessed: 40, itemsTotal: 100))
            fsm.recordWALProgress(records: 40, bytes: 2_600)
            fsm.recordPagesRecovered(7)
            fsm.recordTxnRollbacks(3)
            fsm.metrics.recordWarmupHitRatio(0.875)
            clock.advance(by: .milliseconds(1))
            #expect(fsm.healthStatus().phaseEtaMs != nil)
            expectAgreement("rate measured, ETA known")
            fsm.updateProgress(PhaseProgress(percent: 55, message: "half way", bytesProcessed: 1, bytesTotal: 3))
            expectAgreement("percent set by the caller")
            clock.advance(by: .seconds(30))
            // Past the phase's budget (20 s) and, at 45 s, nearly the total: reported, or failed.
            expectAgreement("phase budget run out (\(policy))")
            clock.advance(by: .seconds(15))
            expectAgreement("total budget run out (\(policy))")
            let report = fsm.healthStatus()
            #expect(report.budgetExceeded && report.phaseBudgetExceeded)
            #expect(report.recoveryMode == .readOnly)
            if policy == .failFast {
                // Failed at the first look past the phase's deadline, when the total still held.
                #expect(!report.totalBudgetExceeded)
                #expect(report.phase == .failed && report.failedPhase == .readOnlyRecovery)
                #expect(report.failureReason?.contains("budget exceeded") == true)
                #expect(report.bootDurationMs != nil)
            } else {
                #expect(report.totalBudgetExceeded)
                fsm.fail(reason: "disk \"gone\"")
                clock.advance(by: .seconds(1))
                expectAgreement("failed by the caller")
                #expect(fsm.healthStatus().failedPhase == .readOnlyRecovery)
            }
        }
    }

    @Test func seedKeysComeFirstInTheSeedsOrder() throws {
        let fsm = BootStateMachine()
        let json = fsm.healthStatus().toJSON()
        #expect(json.hasPrefix(#"{"phase":"uninitialized","is_ready":false,"is_alive":true,"is_booting":false,"progress_percent":0,"progress_message":"","phase_elapsed_ms":0,"total_elapsed_ms":0,"remaining_budget_ms":0,"failure_reason":null,"wal_records_replayed":0,"wal_bytes_processed":0,"#))
    }

    @Test func toJSONMatchesTheCodableForm() throws {
        let clock = ManualBootClock()
        let fsm = BootStateMachine(clock: clock)
        try fsm.startBoot(mode: .force)
        clock.advance(by: .milliseconds(1234))
        try fsm.transition(to: .migrating)
        fsm.metrics.recordMigrationSteps(2)
        try fsm.transition(to: .forceRecovery)
        fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 0, itemsTotal: 8))
        clock.advance(by: .seconds(2))
        fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 3, itemsTotal: 8, bytesProcessed: 30, bytesTotal: 80))
        fsm.recordWALProgress(records: 3, bytes: 30)
        fsm.recordPagesRecovered(4)
        fsm.recordTxnRollbacks(1)
        fsm.metrics.recordCheckpointBytesScanned(512)
        let status = fsm.healthStatus()
        #expect(status.phaseEtaMs == 3333)
        #expect(status.progressPercent == 37)
        let json = Data(status.toJSON().utf8)
        #expect(try JSONDecoder().decode(HealthStatus.self, from: json) == status)
        // Every key of the Codable encoding, absent values included (as null, where JSONEncoder omits them).
        let ours = try JSONSerialization.jsonObject(with: json) as! NSDictionary
        let foundations = try JSONSerialization.jsonObject(with: JSONEncoder().encode(status)) as! NSDictionary
        for case let (key as String, value) in foundations { #expect(ours[key] as? NSObject == value as? NSObject, "\(key)") }
        #expect(ours.count == 31)
        let history = try #require(ours["phase_history"] as? [NSDictionary])
        #expect(history.map { $0["phase"] as? String } == ["init", "migrate"])
        #expect(history.map { $0["start_ms"] as? Int } == [0, 1234])
        #expect(history.map { $0["duration_ms"] as? Int } == [1234, 0])
        #expect(ours["boot_start_unix_ms"] as? UInt64 == 1_767_225_600_000)
        #expect(ours["recovery_mode"] as? String == "force")
        #expect(ours["phase_eta_ms"] as? Int == 3333)
        #expect(ours["failed_phase"] is NSNull)
    }

    static let numbers: [UInt64] = [
        0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 10_001, 123_456, 1_000_000, 9_999_999_999,
        1_767_225_600_000, UInt64.max / 10, UInt64.max - 1, UInt64.max,
    ]

    @Test("numbers are written as the standard library writes them", arguments: numbers)
    func numbersAreExact(value: UInt64) throws {
        var status = BootStateMachine().healthStatus()
        status.walRecordsReplayed = value
        status.phaseEtaMs = value
        let json = status.toJSON()
        #expect(json.contains(#""wal_records_replayed":\#(value),"#))
        #expect(json.contains(#""phase_eta_ms":\#(value),"#))
        #expect(try JSONDecoder().decode(HealthStatus.self, from: Data(json.utf8)) == status)
    }

    @Test("fractions are written in their shortest round-trip form",
          arguments: [0.0, -0.0, 1.0, 0.5, 0.1, 0.42, 1.0 / 3.0, 0.999_999_999_999_999_9, Double.leastNonzeroMagnitude, 1e-300])
    func fractionsRoundTrip(value: Double) throws {
        var status = BootStateMachine().healthStatus()
        status.progressFraction = value
        status.warmupHitRatio = value
        let json = status.toJSON()
        #expect(json.contains(#""progress_fraction":\#(value.description),"#))
        let decoded = try JSONDecoder().decode(HealthStatus.self, from: Data(json.utf8))
        #expect(decoded.progressFraction == value && decoded.warmupHitRatio == value)
    }

    @Test func everyFieldAtItsLongestFitsTheWritersBound() throws {
        let fsm = BootStateMachine()
        try fsm.startBoot()
        for phase in [BootPhase.migrating, .recovering, .warmingUp, .ready, .shuttingDown] { try fsm.transition(to: phase) }
        var status = fsm.healthStatus()
        #expect(status.phaseHistory.count == 5)
        status.phaseHistory += status.phaseHistory
        for index in status.phaseHistory.indices {
            status.phaseHistory[index].phase = .readOnlyRecovery
            status.phaseHistory[index].startMs = .max
            status.phaseHistory[index].durationMs = .max
        }
        status.phase = .readOnlyRecovery
        status.failedPhase = .readOnlyRecovery
        status.progressMessage = String(repeating: "\u{1}", count: 5000)  // six bytes each once escaped
        status.failureReason = String(repeating: "\"", count: 3000)
        for path in [\HealthStatus.phaseElapsedMs, \.totalElapsedMs, \.remainingBudgetMs, \.walRecordsReplayed,
                     \.walBytesProcessed, \.totalBudgetMs, \.totalRemainingBudgetMs, \.pagesRecovered, \.txnsRolledBack,
                     \.checkpointBytesScanned, \.migrationStepsCompleted, \.walRecordsSkipped] {
            status[keyPath: path] = .max
        }
        status.phaseEtaMs = .max
        status.phaseBudgetMs = .max
        status.bootStartUnixMs = .max
        status.bootDurationMs = .max
        status.progressFraction = -2.2250738585072014e-308
        status.warmupHitRatio = -1.7976931348623157e308
        let json = status.toJSON()
        #expect(try JSONDecoder().decode(HealthStatus.self, from: Data(json.utf8)) == status)
    }

    @Test func nonFiniteFractionsAreNull() throws {
        var status = BootStateMachine().healthStatus()
        status.progressFraction = .nan
        status.warmupHitRatio = .infinity
        let json = status.toJSON()
        #expect(json.contains(#""progress_fraction":null,"#) && json.contains(#""warmup_hit_ratio":null,"#))
    }

    @Test func errorDescriptionIsTheSeeds() {
        let error = BootError(phase: .recovering, message: "Phase budget exceeded")
        #expect(error.description == "Boot error in phase recover: Phase budget exceeded (recoverable: false)")
    }

    @Test("correction 5: fail is one step and keeps the first reason")
    func failIsAtomicAndFirstReasonWins() throws {
        let fsm = try machine(in: .recovering)
        fsm.fail(reason: "first")
        fsm.fail(reason: "second")
        try fsm.transition(to: .failed)
        #expect(fsm.failureReason == "Failed in recover: first")
        #expect(fsm.snapshot().failedPhase == .recovering)
    }
}
