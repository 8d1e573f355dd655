// SPDX-License-Identifier: AGPL-3.0-or-later

public import BootFSM
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Tells systemd how a `BootStateMachine`'s boot goes, with the `sd_notify` protocol of a
/// `Type=notify` service.
///
/// Each ``poll()`` reads the machine's `snapshot()` and sends, in one datagram, whatever is due:
///
/// - `EXTEND_TIMEOUT_USEC=` while the boot is within its budgets: what is left of the current phase's
///   budget, capped by what is left of the total budget, plus ``extensionGrace``. It is sent when a
///   booting phase begins and again once half of it has passed, so systemd's start timeout follows the
///   budgets: a long boot within them is not killed, one past them is. (systemd never shortens a
///   timeout, and applies an extension only past `TimeoutStartSec=`.)
/// - `READY=1` once the boot is `ready`; never for a failed boot. A failed boot gets one last extension,
///   ``failureGrace`` (plus ``extensionGrace``), when the program keeps serving it that long before it exits:
///   otherwise the start timeout, which a budget failure leaves about ``extensionGrace`` away, would end it
///   before Prometheus scraped the failure.
/// - `STOPPING=1` once the machine is `shutting_down`, or at ``stop()``.
/// - `STATUS=` with the phase, its progress and ETA (or the failure reason) when it changed, at most
///   once a second while booting (`ready`, `failed` and `shutting_down` go out at once).
/// - `WATCHDOG=1` every half ``watchdogInterval`` while the machine is alive: a failed boot stops the
///   pings, so systemd's watchdog ends the process as a failed liveness probe would.
///
/// ``run(every:)`` polls until its task is cancelled. A datagram that cannot be sent is sent again at the
/// next poll (with what is due then); the first of a series of failures is handed to `onSendFailure`.
public final class SystemdNotifier: Sendable {
    /// The machine observed.
    public let machine: BootStateMachine
    /// Where the notifications go.
    public let socket: NotifySocket
    /// systemd's watchdog interval (`WATCHDOG_USEC`), or `nil` when the watchdog is off.
    public let watchdogInterval: Duration?
    /// Added to every extension of the start timeout, so that a phase that ends just before its
    /// budget is not killed before the next extension is sent.
    public let extensionGrace: Duration
    /// How long the program keeps serving a failed boot before it exits (`--boot.exit-after-failure`), or
    /// `nil` when it does not exit on its own (systemd's start timeout then ends it).
    public let failureGrace: Duration?

    private let clock: any BootClock
    private let onSendFailure: (@Sendable (NotifySocketError) -> Void)?
    private let state = Mutex(Sent())

    /// What has been told, so that each thing is told once, or again when it is due.
    private struct Sent {
        var status: String?
        var statusAt: Duration?
        /// The phase of the last extension, when it was sent and how long it was.
        var extendedPhase: BootPhase?
        var extendedAt = Duration.zero
        var extendedBy = Duration.zero
        var ready = false
        var stopping = false
        var watchdogAt: Duration?
        var stopped = false
        var failing = false
        var failureExtended = false
    }

    /// A notifier for `machine` that writes to `socket`.
    ///
    /// - Parameters:
    ///   - machine: the machine to observe.
    ///   - socket: systemd's notification socket.
    ///   - watchdogInterval: `WATCHDOG_USEC` as a duration, or `nil` (no `WATCHDOG=1`).
    ///   - extensionGrace: added to each extension of the start timeout; 1 s by default.
    ///   - failureGrace: how long a failed boot is served before the program exits, or `nil`.
    ///   - clock: the time that paces the status and the watchdog; the machine's own clock in tests.
    ///   - onSendFailure: called with the first failure of a series of failed sends (then not until a
    ///     send succeeded again).
    public init(
        machine: BootStateMachine,
        socket: NotifySocket,
        watchdogInterval: Duration? = nil,
        extensionGrace: Duration = .seconds(1),
        failureGrace: Duration? = nil,
        clock: any BootClock = SystemBootClock(),
        onSendFailure: (@Sendable (NotifySocketError) -> Void)? = nil
    ) {
        self.machine = machine
        self.socket = socket
        self.watchdogInterval = watchdogInterval
        self.extensionGrace = extensionGrace
        self.failureGrace = failureGrace
        self.clock = clock
        self.onSendFailure = onSendFailure
    }

    /// A notifier as systemd asks for one through the environment, or `nil` when `NOTIFY_SOCKET` is
    /// unset or empty.
    ///
    /// The watchdog is on when `WATCHDOG_USEC` is set and `WATCHDOG_PID`, if set, is this process.
    /// Throws ``NotifySocketError`` for a `NOTIFY_SOCKET` that is no socket address or a
    /// `WATCHDOG_USEC` that is not a positive number of microseconds.
    ///
    /// - Parameters:
    ///   - machine: the machine to observe.
    ///   - environment: looks a variable up; the process's environment when `nil`.
    ///   - failureGrace: how long a failed boot is served before the program exits, or `nil`.
    ///   - onSendFailure: as in ``init(machine:socket:watchdogInterval:extensionGrace:failureGrace:clock:onSendFailure:)``.
    public static func fromEnvironment(
        machine: BootStateMachine,
        environment: ((String) -> String?)? = nil,
        failureGrace: Duration? = nil,
        onSendFailure: (@Sendable (NotifySocketError) -> Void)? = nil
    ) throws(NotifySocketError) -> SystemdNotifier? {
        let environment = environment ?? { getenv($0).map { String(cString: $0) } }
        guard let address = environment("NOTIFY_SOCKET"), !address.isEmpty else { return nil }
        let socket = try NotifySocket(address: address)
        var watchdog: Duration?
        if let text = environment("WATCHDOG_USEC"), !text.isEmpty {
            guard let microseconds = Int64(text), microseconds > 0 else {
                throw NotifySocketError("WATCHDOG_USEC \"\(text)\" is not a positive number of microseconds")
            }
            let pid = environment("WATCHDOG_PID").flatMap { Int32($0) }
            if pid == nil || pid == getpid() { watchdog = .microseconds(microseconds) }
        }
        return SystemdNotifier(machine: machine, socket: socket, watchdogInterval: watchdog, failureGrace: failureGrace,
                               onSendFailure: onSendFailure)
    }

    /// How often ``run(every:)`` polls by default: 250 ms, or a quarter of the watchdog interval when
    /// that is shorter, so that a ping is never late by more than a quarter of the interval.
    public var defaultPollInterval: Duration {
        guard let watchdogInterval else { return .milliseconds(250) }
        return min(.milliseconds(250), watchdogInterval / 4)
    }

    /// Polls every `interval` (``defaultPollInterval`` when `nil`) until the task is cancelled.
    public func run(every interval: Duration? = nil) async {
        let interval = interval ?? defaultPollInterval
        while !Task.isCancelled {
            poll()
            try? await Task.sleep(for: interval)
        }
    }

    /// Reads the machine and sends what is due now, as one datagram. Returns the datagram sent, or
    /// `nil` when nothing was due or the send failed.
    @discardableResult
    public func poll() -> String? {
        let snapshot = machine.snapshot()
        let now = clock.monotonicNow()
        let (message, failure) = state.withLock { sent -> (String?, NotifySocketError?) in
            guard !sent.stopped else { return (nil, nil) }
            var next = sent
            var lines: [String] = []
            if snapshot.phase.hasBooted, !sent.ready {
                lines.append("READY=1")
                next.ready = true
            }
            if snapshot.phase == .shuttingDown, !sent.stopping {
                lines.append("STOPPING=1")
                next.stopping = true
            }
            if let extendBy = extensionDue(snapshot, sent: sent, now: now) {
                lines.append("EXTEND_TIMEOUT_USEC=\(extendBy.microseconds)")
                (next.extendedPhase, next.extendedAt, next.extendedBy) = (snapshot.phase, now, extendBy)
            }
            if snapshot.phase == .failed, let failureGrace, !sent.failureExtended {
                lines.append("EXTEND_TIMEOUT_USEC=\((failureGrace + extensionGrace).microseconds)")
                next.failureExtended = true
            }
            let status = Self.status(of: snapshot)
            let settled = snapshot.phase == .ready || snapshot.phase == .failed || snapshot.phase == .shuttingDown
            if status != sent.status, settled || sent.statusAt.map({ now - $0 >= .seconds(1) }) ?? true {
                lines.append("STATUS=" + status)
                (next.status, next.statusAt) = (status, now)
            }
            if let watchdogInterval, snapshot.phase.isAlive, sent.watchdogAt.map({ now - $0 >= watchdogInterval / 2 }) ?? true {
                lines.append("WATCHDOG=1")
                next.watchdogAt = now
            }
            return deliver(lines, updating: &sent, to: next)
        }
        if let failure { onSendFailure?(failure) }
        return message
    }

    /// Sends `STOPPING=1` unless it was sent, and nothing after: the program is exiting.
    public func stop() {
        let failure = state.withLock { sent -> NotifySocketError? in
            guard !sent.stopped else { return nil }
            var next = sent
            next.stopping = true
            let (_, failure) = deliver(sent.stopping ? [] : ["STOPPING=1"], updating: &sent, to: next)
            // Even when the send failed: no later poll would send it again.
            sent.stopped = true
            return failure
        }
        if let failure { onSendFailure?(failure) }
    }

    /// The status line for `snapshot`: `recover 42% (4200/10000 items), ETA 13 s: replaying the WAL`,
    /// `ready (booted in 12.5 s)`, `shutting down`, or `Failed in <phase>: <reason>`. Control characters in
    /// the caller's message and the reason become spaces (a newline would end the assignment), and
    /// the line is cut to 1,024 bytes.
    public static func status(of snapshot: BootSnapshot) -> String {
        var status: String
        switch snapshot.phase {
        case .uninitialized:
            status = "starting"
        case .ready:
            status = "ready"
            if let duration = snapshot.bootDuration { status += " (booted in \(tenths(duration)) s)" }
        case .shuttingDown:
            status = "shutting down"
        case .failed:
            // The machine's own failures (a budget) give no phase in their reason; a caller's do.
            let prefix = "Failed in \((snapshot.failedPhase ?? .failed).name): "
            let reason = snapshot.failureReason ?? "failed"
            status = reason.hasPrefix(prefix) ? reason : prefix + reason
        case .initializing, .migrating, .recovering, .warmingUp, .readOnlyRecovery, .forceRecovery:
            let progress = snapshot.progress
            status = "\(snapshot.phase.name) \(snapshot.progressPercent)%"
            if progress.itemsTotal > 0 {
                status += " (\(progress.itemsProcessed)/\(progress.itemsTotal) items)"
            } else if progress.bytesTotal > 0 {
                status += " (\(progress.bytesProcessed)/\(progress.bytesTotal) bytes)"
            }
            if let eta = snapshot.phaseETA { status += ", ETA \(wholeSecondsUp(eta)) s" }
            if !progress.message.isEmpty { status += ": " + progress.message }
        }
        var line = String(String.UnicodeScalarView(status.unicodeScalars.map { $0.properties.generalCategory == .control ? " " : $0 }))
        while line.utf8.count > 1024 { line.removeLast() }
        return line
    }

    // MARK: Internals

    /// The extension of the start timeout due now, if one is: at the start of each booting phase within
    /// its budgets, and again once half the last one has passed.
    private func extensionDue(_ snapshot: BootSnapshot, sent: Sent, now: Duration) -> Duration? {
        guard snapshot.phase.isBooting, !snapshot.budgetExceeded else { return nil }
        guard sent.extendedPhase != snapshot.phase || now - sent.extendedAt >= sent.extendedBy / 2 else { return nil }
        return min(snapshot.phaseBudgetRemaining, snapshot.totalBudgetRemaining) + extensionGrace
    }

    /// Sends `lines` as one datagram and, once sent, makes `next` what was told. Called under the
    /// lock, so that two threads' datagrams go in the order of what they say. Returns the datagram,
    /// and the failure when it is the first of a series.
    private func deliver(_ lines: [String], updating sent: inout Sent, to next: Sent) -> (String?, NotifySocketError?) {
        guard !lines.isEmpty else { return (nil, nil) }
        let message = lines.joined(separator: "\n")
        do {
            try socket.send(message)
        } catch {
            defer { sent.failing = true }
            return (nil, sent.failing ? nil : error)
        }
        sent = next
        sent.failing = false
        return (message, nil)
    }

    private static func wholeSecondsUp(_ duration: Duration) -> Int128 {
        let (seconds, rest) = duration.attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000_000_000_000)
        return rest > 0 ? seconds + 1 : seconds
    }

    private static func tenths(_ duration: Duration) -> String {
        let tenths = duration.attoseconds / 100_000_000_000_000_000
        return "\(tenths / 10).\(tenths % 10)"
    }
}

extension Duration {
    /// The duration in whole microseconds, rounded down, within `0...Int64.max`.
    fileprivate var microseconds: Int64 {
        Int64(clamping: max(attoseconds / 1_000_000_000_000, 0))
    }
}
