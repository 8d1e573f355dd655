// SPDX-License-Identifier: AGPL-3.0-or-later

import Glibc
import Logging
import ServiceLifecycle
import Synchronization

/// SIGTERM and SIGINT for the commands that serve until stopped (`run`, `follow`): caught from
/// before anything starts, and handed to the service group once there is one.
///
/// swift-service-lifecycle sets up its signal handling only when `ServiceGroup.run()` starts, after
/// the server is listening and the boot is under way. A SIGTERM in between — Kubernetes' first word
/// when a rollout replaces a pod that has just started — met the default action and ended the
/// process on the spot (killed by signal 15, no `shutting_down`, no checkpoint: about one start in
/// seven when signalled right after "listening"). Here the handler is installed first; it only
/// writes the signal's number to a pipe, and a thread reading the pipe hands each signal to the
/// receiver, keeping those that come before a receiver is set. The group learns of them through
/// ``ShutdownSignalService``, one of its services, so that shutting down never depends on what the
/// group does with a request made before it runs.
///
/// Other commands do not install it: a signal ends them by its default action, as a command-line
/// tool should.
enum ShutdownSignals {
    /// The signals caught.
    static let caught: [Int32] = [SIGTERM, SIGINT]

    /// Installs the handler for ``caught``. Call it once, before starting any server or boot.
    static func install() throws(RuntimeFailure) {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else {
            throw RuntimeFailure("cannot make a pipe for signals: \(String(cString: strerror(errno)))")
        }
        for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        // The handler must never block: a full pipe (signals faster than they are read) drops one.
        _ = fcntl(ends[1], F_SETFL, fcntl(ends[1], F_GETFL) | O_NONBLOCK)
        writeEnd.store(ends[1], ordering: .releasing)
        let readEnd = ends[0]
        guard startDetachedThread({ readSignals(from: readEnd) }) else {
            throw RuntimeFailure("cannot start the thread that reads signals")
        }
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            let saved = errno
            var byte = UInt8(truncatingIfNeeded: signal)
            _ = write(ShutdownSignals.writeEnd.load(ordering: .acquiring), &byte, 1)
            errno = saved
        }
        action.sa_flags = SA_RESTART
        sigemptyset(&action.sa_mask)
        for signal in caught {
            guard sigaction(signal, &action, nil) == 0 else {
                throw RuntimeFailure("cannot catch signal \(signal): \(String(cString: strerror(errno)))")
            }
        }
        // main() blocks nothing, but a caller might have: these must reach the handler.
        var set = sigset_t()
        sigemptyset(&set)
        for signal in caught { sigaddset(&set, signal) }
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// Hands every signal caught to `receiver`, in order and one at a time: first those caught before
    /// this call, then each as it comes (on the thread that reads the pipe). A later call replaces
    /// the receiver.
    static func onSignal(_ receiver: @escaping @Sendable (Int32) -> Void) {
        // Under the lock, so that a signal the reader delivers now waits for the early ones.
        state.withLock { state in
            state.receiver = receiver
            for signal in state.pending { receiver(signal) }
            state.pending.removeAll()
        }
    }

    /// The service that ends at the first signal, logging each (the first as `signal received,
    /// shutting down`, later ones as `…already shutting down`).
    static func service(logger: Logger) -> ShutdownSignalService {
        let (signals, continuation) = AsyncStream.makeStream(of: Int32.self)
        final class Shutdown: Sendable { let started = Atomic<Bool>(false) }
        let shutdown = Shutdown()
        onSignal { signal in
            let isFirst = !shutdown.started.exchange(true, ordering: .relaxed)
            logger.info(isFirst ? "signal received, shutting down" : "signal received, already shutting down",
                        metadata: ["signal": "\(name(of: signal))"])
            continuation.yield(signal)
        }
        return ShutdownSignalService(signals: signals)
    }

    /// The name of `signal` as logged (`SIGTERM`, `SIGINT`).
    static func name(of signal: Int32) -> String {
        switch signal {
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(signal)"
        }
    }

    /// The pipe's write end, for the handler (an atomic: read in a signal handler, it takes no lock).
    private static let writeEnd = Atomic<Int32>(-1)
    /// Signals caught before there was a receiver, and the receiver.
    private static let state = Mutex<(pending: [Int32], receiver: (@Sendable (Int32) -> Void)?)>(([], nil))

    private static func readSignals(from readEnd: Int32) {
        var byte: UInt8 = 0
        while true {
            let count = read(readEnd, &byte, 1)
            if count < 0 && errno == EINTR { continue }
            guard count == 1 else { return }
            let signal = Int32(byte)
            state.withLock { state in
                if let receiver = state.receiver { receiver(signal) } else { state.pending.append(signal) }
            }
        }
    }
}

/// A service of the group that returns at the first SIGTERM or SIGINT (one caught before the group
/// ran included). Added with `successTerminationBehavior: .gracefullyShutdownGroup`, its return shuts
/// the other services down gracefully; it also returns when the group shuts down for another reason.
struct ShutdownSignalService: Service {
    let signals: AsyncStream<Int32>

    func run() async {
        for await _ in signals.cancelOnGracefulShutdown() { return }
    }
}
