// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import BootSystemd
import Foundation
import Synchronization
import Testing

/// A machine and a notifier on one manual clock, writing to a real datagram socket.
private struct Rig {
    let clock = ManualBootClock()
    let machine: BootStateMachine
    let notifier: SystemdNotifier
    let listener: NotifyListener

    init(budgets: BootBudgets = BootBudgets(), policy: BudgetPolicy = .failFast, watchdog: Duration? = nil,
         failureGrace: Duration? = nil, abstract: Bool = false) throws {
        listener = try NotifyListener(abstract: abstract)
        machine = BootStateMachine(budgets: budgets, budgetPolicy: policy, clock: clock)
        notifier = SystemdNotifier(machine: machine, socket: try NotifySocket(address: listener.address),
                                   watchdogInterval: watchdog, failureGrace: failureGrace, clock: clock)
    }

    /// Polls, and returns what the socket received: the one datagram sent, or nil.
    func poll() -> String? {
        let sent = notifier.poll()
        let received = listener.drain()
        #expect(received.count == (sent == nil ? 0 : 1), "one datagram per poll at most: \(received)")
        #expect(received.first == sent, "the socket received what the notifier says it sent")
        return received.first
    }

    /// Advances the clock by `step` and polls, `count` times; every datagram received.
    func run(for count: Int, step: Duration = .seconds(1)) -> [String] {
        (0..<count).compactMap { _ in
            clock.advance(by: step)
            return poll()
        }
    }
}

private func microseconds(_ duration: Duration) -> String {
    String(duration.components.seconds * 1_000_000 + duration.components.attoseconds / 1_000_000_000_000)
}

private let grace = Duration.seconds(1)

@Suite("SystemdNotifier: the sd_notify messages of a boot, on a real datagram socket")
struct SystemdNotifierTests {
    @Test("a normal boot: an extension per phase, a status per change, READY=1 once at ready")
    func normalBoot() throws {
        let budgets = BootBudgets()
        let rig = try Rig(budgets: budgets)
        #expect(rig.poll() == "STATUS=starting")
        rig.clock.advance(by: .seconds(1))
        try rig.machine.startBoot()
        let initial = try #require(rig.poll())
        // The clock has not moved: the whole init budget is left.
        #expect(initial.assignments == ["EXTEND_TIMEOUT_USEC=\(microseconds(budgets.initBudget + grace))",
                                        "STATUS=init 0%: Initializing core subsystems"])
        #expect(rig.poll() == nil, "nothing changed, nothing is sent")

        rig.clock.advance(by: .seconds(2))
        try rig.machine.transition(to: .migrating)
        let migrate = try #require(rig.poll())
        #expect(migrate.value(of: "EXTEND_TIMEOUT_USEC") == microseconds(budgets.migrateBudget + grace))
        #expect(migrate.value(of: "STATUS") == "migrate 0%")

        rig.clock.advance(by: .seconds(3))
        try rig.machine.transition(to: .recovering)
        rig.machine.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 0, itemsTotal: 1000))
        let recover = try #require(rig.poll())
        #expect(recover.value(of: "EXTEND_TIMEOUT_USEC") == microseconds(budgets.recoverBudget + grace))
        #expect(recover.value(of: "STATUS") == "recover 0% (0/1000 items): replaying")
        rig.clock.advance(by: .seconds(4))
        rig.machine.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 250, itemsTotal: 1000))
        // 250 of 1000 in 4 s: 12 s to go.
        #expect(try #require(rig.poll()).assignments == ["STATUS=recover 25% (250/1000 items), ETA 12 s: replaying"])

        rig.clock.advance(by: .seconds(1))
        try rig.machine.transition(to: .warmingUp)
        rig.clock.advance(by: .milliseconds(500))
        try rig.machine.transition(to: .ready)
        let ready = try #require(rig.poll())
        #expect(ready.assignments == ["READY=1", "STATUS=ready (booted in 10.5 s)"], "no extension for a phase already over")
        #expect(rig.run(for: 5).isEmpty, "READY=1 and the status are sent once")
    }

    @Test("a slow boot is extended within its budgets, and killed by systemd's timeout once past them")
    func slowBootGetsExtensions() throws {
        // init 10 s, migrate 20 s, recover 60 s, warmup 30 s, 100 s in all.
        let budgets = BootBudgets(initBudget: .seconds(10), migrateBudget: .seconds(20), recoverBudget: .seconds(60),
                                  warmupBudget: .seconds(30), totalBudget: .seconds(100))
        let rig = try Rig(budgets: budgets, policy: .reportOnly)
        // systemd's start timeout as the service manager keeps it: TimeoutStartSec (here the init budget)
        // from the start, then now + each extension, never shortened.
        var deadline = budgets.initBudget
        var extensions: [(at: Duration, by: Duration)] = []
        func pollNow() {
            guard let value = rig.poll()?.value(of: "EXTEND_TIMEOUT_USEC"), let usec = Int64(value) else { return }
            let now = rig.clock.monotonicNow()
            extensions.append((now, .microseconds(usec)))
            deadline = max(deadline, now + .microseconds(usec))
        }
        /// Polls every second for `seconds`, checking that systemd's timeout stays ahead of a boot within its budgets.
        func step(_ seconds: Int) {
            for _ in 0..<seconds {
                rig.clock.advance(by: .seconds(1))
                pollNow()
                if !rig.machine.snapshot().budgetExceeded {
                    #expect(rig.clock.monotonicNow() < deadline, "systemd's timeout stays ahead of a boot within its budgets")
                }
            }
        }
        try rig.machine.startBoot()
        pollNow()
        #expect(extensions.map(\.by) == [budgets.initBudget + grace])
        step(9)
        try rig.machine.transition(to: .migrating)
        pollNow()
        step(19)
        try rig.machine.transition(to: .recovering)
        let recoverStart = rig.clock.monotonicNow()
        let beforeRecover = extensions.count
        pollNow()
        // 28 s spent: 72 s left in all, more than recover's 60 s.
        #expect(extensions.last?.by == budgets.recoverBudget + grace)
        step(59)
        let recoverDeadline = recoverStart + budgets.recoverBudget + grace
        let recoverExtensions = extensions[beforeRecover...]
        // 61 s at first, again 31 s later (half of it passed), and so on, each time to the same end.
        #expect(recoverExtensions.count >= 2)
        #expect(recoverExtensions.dropFirst().first?.at == recoverStart + .seconds(31), "\(recoverExtensions)")
        #expect(recoverExtensions.allSatisfy { $0.at + $0.by == recoverDeadline }, "each time to the end of the budget: \(recoverExtensions)")
        try rig.machine.transition(to: .warmingUp)
        pollNow()
        // 87 s spent: 13 s left in all, less than warmup's 30 s.
        #expect(extensions.last?.by == budgets.totalBudget - rig.clock.monotonicNow() + grace,
                "warmup's extension is capped by the total budget left")
        step(13)
        #expect(rig.machine.snapshot().totalBudgetExceeded)
        // The boot now hangs in warmup past the total budget: no more extensions, and systemd's timeout passes.
        let before = extensions.count
        step(30)
        #expect(extensions.count == before, "no extension once a budget is exceeded")
        #expect(rig.clock.monotonicNow() > deadline, "the stuck boot is past systemd's timeout")
        #expect(rig.machine.currentPhase == .warmingUp, "report-only: the machine itself goes on")
    }

    @Test("a failed boot sends its reason, never READY=1, and stops extending and pinging")
    func failedBoot() throws {
        let rig = try Rig(watchdog: .seconds(10))
        try rig.machine.startBoot()
        try rig.machine.transition(to: .migrating)
        try rig.machine.transition(to: .recovering)
        _ = rig.poll()
        rig.clock.advance(by: .seconds(2))
        rig.machine.fail(reason: "checksum mismatch\nin segment 3")
        let failed = try #require(rig.poll())
        #expect(failed.assignments == ["STATUS=Failed in recover: checksum mismatch in segment 3"],
                "the reason, on one line; no READY=1, no extension, no WATCHDOG=1")
        let later = rig.run(for: 60)
        #expect(later.isEmpty, "nothing more: \(later)")
        rig.notifier.stop()
        #expect(rig.listener.drain() == ["STOPPING=1"], "the process still says it stops")
    }

    @Test("a budget that runs out fails the boot: its reason is the status, and READY=1 never comes")
    func budgetFailure() throws {
        let rig = try Rig(budgets: BootBudgets(initBudget: .seconds(5)))
        try rig.machine.startBoot()
        _ = rig.poll()
        let datagrams = rig.run(for: 10)
        #expect(datagrams.last == "STATUS=Failed in init: budget exceeded in phase init (budget 5 s)",
                "the failure is the last thing said: no extension, no READY=1 after it: \(datagrams)")
        #expect(!datagrams.joined(separator: "\n").contains("READY=1"))
    }

    @Test("a budget failure served a minute (--boot.exit-after-failure): one last extension covers it, and the status goes out at once")
    func budgetFailureServedAWhile() throws {
        let rig = try Rig(budgets: BootBudgets(initBudget: .seconds(5)), failureGrace: .seconds(60))
        // systemd's start timeout: TimeoutStartSec (the init budget), then now + each extension, never shortened.
        var deadline = Duration.seconds(5)
        func extend(_ datagram: String?) {
            guard let value = datagram?.value(of: "EXTEND_TIMEOUT_USEC"), let usec = Int64(value) else { return }
            deadline = max(deadline, rig.clock.monotonicNow() + .microseconds(usec))
        }
        try rig.machine.startBoot()
        extend(rig.poll())
        rig.clock.advance(by: .milliseconds(4_800))
        rig.machine.updateProgress(PhaseProgress(itemsProcessed: 1, itemsTotal: 10))
        #expect(rig.poll()?.value(of: "STATUS")?.hasPrefix("init 10%") == true)
        rig.clock.advance(by: .milliseconds(700))
        let failed = try #require(rig.poll(), "the status of 0.7 s ago does not hold the failure back")
        extend(failed)
        #expect(failed.assignments == ["EXTEND_TIMEOUT_USEC=\(microseconds(.seconds(61)))",
                                       "STATUS=Failed in init: budget exceeded in phase init (budget 5 s)"])
        let failedAt = rig.clock.monotonicNow()
        for datagram in rig.run(for: 59) { extend(datagram) }
        #expect(deadline > failedAt + .seconds(60), "systemd lets the failed boot be served its minute")
        #expect(deadline <= failedAt + .seconds(61) + grace, "and no longer: the extension is not repeated")
        #expect(!rig.run(for: 5).joined().contains("EXTEND_TIMEOUT_USEC"))
    }

    @Test("a stop: STOPPING=1 at shutting_down, once, and nothing after stop()")
    func stop() throws {
        let rig = try Rig(abstract: true)
        try rig.machine.startBoot()
        try rig.machine.transition(to: .migrating)
        try rig.machine.transition(to: .recovering)
        try rig.machine.transition(to: .ready)
        #expect(rig.poll()?.assignments.first == "READY=1")
        rig.clock.advance(by: .seconds(1))
        try rig.machine.transition(to: .shuttingDown)
        let stopping = try #require(rig.poll())
        #expect(stopping.assignments == ["STOPPING=1", "STATUS=shutting down"])
        rig.notifier.stop()
        #expect(rig.listener.drain().isEmpty, "STOPPING=1 is not repeated")
        #expect(rig.run(for: 3).isEmpty)
    }

    @Test("a stop during the boot: STOPPING=1 from stop(), and no READY=1")
    func stopDuringBoot() throws {
        let rig = try Rig()
        try rig.machine.startBoot()
        _ = rig.poll()
        rig.notifier.stop()
        #expect(rig.listener.drain() == ["STOPPING=1"])
        try rig.machine.transition(to: .migrating)
        try rig.machine.transition(to: .recovering)
        try rig.machine.transition(to: .ready)
        #expect(rig.run(for: 2).isEmpty, "nothing after stop()")
    }

    @Test("the watchdog: WATCHDOG=1 at every half interval while alive, ready or shutting down included")
    func watchdog() throws {
        let rig = try Rig(watchdog: .seconds(4))
        #expect(rig.notifier.defaultPollInterval == .milliseconds(250))
        #expect(rig.poll()?.value(of: "WATCHDOG") == "1", "the first poll pings")
        var pings: [Duration] = []
        for _ in 0..<40 {
            rig.clock.advance(by: .milliseconds(250))
            if rig.poll()?.value(of: "WATCHDOG") == "1" { pings.append(rig.clock.monotonicNow()) }
            if rig.clock.monotonicNow() == .seconds(3) { try rig.machine.startBoot() }
            if rig.clock.monotonicNow() == .seconds(6) {
                try rig.machine.transition(to: .migrating)
                try rig.machine.transition(to: .recovering)
                try rig.machine.transition(to: .ready)
            }
        }
        #expect(pings == stride(from: 2, through: 10, by: 2).map { Duration.seconds($0) }, "every 2 s: \(pings)")
        try rig.machine.transition(to: .shuttingDown)
        rig.clock.advance(by: .seconds(2))
        #expect(rig.poll()?.value(of: "WATCHDOG") == "1", "a shutdown is alive")
        #expect(SystemdNotifier(machine: rig.machine, socket: rig.notifier.socket, watchdogInterval: .milliseconds(400))
            .defaultPollInterval == .milliseconds(100), "a short watchdog is polled at a quarter of it")
    }

    @Test("the status goes out at most once a second, with the latest progress")
    func statusRate() throws {
        let rig = try Rig()
        try rig.machine.startBoot()
        try rig.machine.transition(to: .migrating)
        _ = rig.poll()
        for done in 1...4 {
            rig.clock.advance(by: .milliseconds(200))
            rig.machine.updateProgress(PhaseProgress(itemsProcessed: UInt64(done), itemsTotal: 10))
            #expect(rig.poll() == nil, "a change within the second waits")
        }
        rig.clock.advance(by: .milliseconds(200))
        let status = try #require(rig.poll()?.value(of: "STATUS"))
        #expect(status.hasPrefix("migrate 40% (4/10 items), ETA "), "\(status)")
    }

    @Test("a send that fails is reported once and made good at the next poll that succeeds")
    func failedSend() throws {
        let listener = try NotifyListener()
        let path = listener.address
        let machine = BootStateMachine(clock: ManualBootClock())
        let failures = FailureLog()
        let notifier = SystemdNotifier(machine: machine, socket: try NotifySocket(address: path + ".moved"),
                                       onSendFailure: { failures.append("\($0)") })
        try machine.startBoot()
        #expect(notifier.poll() == nil)
        #expect(notifier.poll() == nil)
        #expect(failures.lines.count == 1, "reported once: \(failures.lines)")
        #expect(failures.lines.first?.contains("sending to NOTIFY_SOCKET \(path).moved: ") == true, "\(failures.lines)")
        // The socket appears: the extension and status that could not be sent go now.
        #expect(rename(path, path + ".moved") == 0)
        let sent = try #require(notifier.poll())
        #expect(sent.value(of: "EXTEND_TIMEOUT_USEC") != nil)
        #expect(sent.value(of: "STATUS")?.hasPrefix("init 0%") == true)
        #expect(listener.drain() == [sent])
    }

    @Test("from the environment: unset, a path, an abstract name, the watchdog and its PID, bad values")
    func environment() throws {
        let machine = BootStateMachine()
        func notifier(_ variables: [String: String]) throws(NotifySocketError) -> SystemdNotifier? {
            try SystemdNotifier.fromEnvironment(machine: machine, environment: { variables[$0] })
        }
        #expect(try notifier([:]) == nil)
        #expect(try notifier(["NOTIFY_SOCKET": ""]) == nil)
        #expect(try notifier(["NOTIFY_SOCKET": "/run/systemd/notify"])?.socket.address == "/run/systemd/notify")
        #expect(try notifier(["NOTIFY_SOCKET": "/run/systemd/notify"])?.watchdogInterval == nil)
        #expect(try notifier(["NOTIFY_SOCKET": "@abstract"])?.socket.address == "@abstract")
        let pid = String(ProcessInfo.processInfo.processIdentifier)
        #expect(try notifier(["NOTIFY_SOCKET": "@n", "WATCHDOG_USEC": "3000000"])?.watchdogInterval == .seconds(3))
        #expect(try notifier(["NOTIFY_SOCKET": "@n", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": pid])?.watchdogInterval == .seconds(3))
        #expect(try notifier(["NOTIFY_SOCKET": "@n", "WATCHDOG_USEC": "3000000", "WATCHDOG_PID": "1"])?.watchdogInterval == nil,
                "the watchdog is another process's")
        #expect(throws: NotifySocketError.self) { try notifier(["NOTIFY_SOCKET": "@n", "WATCHDOG_USEC": "soon"]) }
        #expect(throws: NotifySocketError.self) { try notifier(["NOTIFY_SOCKET": "@n", "WATCHDOG_USEC": "0"]) }
        #expect(throws: NotifySocketError.self) { try notifier(["NOTIFY_SOCKET": "run/notify"]) }
    }

    @Test("socket addresses: what fits a sockaddr_un, with one-line refusals")
    func socketAddresses() throws {
        #expect(try NotifySocket(address: "/" + String(repeating: "a", count: 106)).address.utf8.count == 107)
        #expect(try NotifySocket(address: "@" + String(repeating: "a", count: 107)).address.utf8.count == 108)
        for bad in ["", "notify", "vsock:2:1234", "/" + String(repeating: "a", count: 107), "@" + String(repeating: "a", count: 108), "/run/a\0b"] {
            let error = #expect(throws: NotifySocketError.self) { try NotifySocket(address: bad) }
            #expect(error?.description.hasPrefix("NOTIFY_SOCKET") == true && error?.description.contains("\n") == false,
                    "\(String(describing: error))")
        }
    }

    @Test("status lines: control characters become spaces, long lines are cut")
    func statusLine() throws {
        let clock = ManualBootClock()
        let machine = BootStateMachine(clock: clock)
        try machine.startBoot()
        machine.updateProgress(PhaseProgress(message: "a\nb\u{7}c", bytesProcessed: 10, bytesTotal: 40))
        #expect(SystemdNotifier.status(of: machine.snapshot()) == "init 25% (10/40 bytes): a b c")
        machine.fail(reason: String(repeating: "é", count: 2000))
        let status = SystemdNotifier.status(of: machine.snapshot())
        #expect(status.utf8.count <= 1024 && status.utf8.count > 1000)
        #expect(status.hasPrefix("Failed in init: éé"))
    }
}

/// Failures reported by the notifier, from whichever thread.
private final class FailureLog: Sendable {
    private let storage = Mutex<[String]>([])
    func append(_ line: String) { storage.withLock { $0.append(line) } }
    var lines: [String] { storage.withLock { $0 } }
}
