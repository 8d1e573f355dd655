// SPDX-License-Identifier: AGPL-3.0-or-later

import Dispatch
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

/// SIGTERM and SIGINT for the commands that serve until stopped (`run`, `follow`): caught from
/// before anything starts, and handed to the service group once it runs.
///
/// A service group traps its `gracefulShutdownSignals` only when `run()` starts, after the server
/// listens and the boot is under way: a SIGTERM in between (Kubernetes replacing a pod that has just
/// started) would meet the default action and end the process on the spot, with no checkpoint. A
/// `UnixSignalsSequence` has its handlers registered when its initialiser returns and keeps the
/// signals until they are read, so this service is made first, and read once the group runs.
///
/// Other commands do not make it: a signal ends them by its default action, as a command-line tool
/// should.
struct ShutdownSignalService: Service {
    private let firstSignal: AsyncStream<Void>
    /// Whether a signal came, and who waits for the first one (``unlessSignalled(_:)``).
    private let watchers = Watchers()

    private final class Watchers: Sendable {
        let state = Mutex<(signalled: Bool, waiting: [@Sendable () -> Void])>((false, []))

        func signal() {
            let waiting = state.withLock { state in
                defer { state = (true, []) }
                return state.waiting
            }
            for watcher in waiting { watcher() }
        }

        /// Calls `watcher` at the first signal, or now when it has come.
        func watch(_ watcher: @escaping @Sendable () -> Void) {
            let signalled = state.withLock { state in
                if !state.signalled { state.waiting.append(watcher) }
                return state.signalled
            }
            if signalled { watcher() }
        }
    }

    /// Catches SIGTERM and SIGINT from now on, logging each: the first as `signal received, shutting
    /// down`, later ones as `…already shutting down`.
    init(logger: Logger) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let (firstSignal, continuation) = AsyncStream.makeStream(of: Void.self)
        let watchers = self.watchers
        // Read apart from the service, which ends at the first signal: later ones come while the
        // other services stop, and are logged too.
        Task {
            var isFirst = true
            for await signal in signals {
                logger.info(isFirst ? "signal received, shutting down" : "signal received, already shutting down",
                            metadata: ["signal": "\(signal)"])
                isFirst = false
                watchers.signal()
                continuation.yield()
            }
        }
        self.firstSignal = firstSignal
    }

    /// The result of `work`, run on a thread of its own, or `nil` when a signal comes first. For what
    /// runs before the services (reading the web configuration): a file that never ends (a FIFO no
    /// one writes, a hung mount) must not make SIGTERM wait. The thread is left to the process's exit.
    func unlessSignalled<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T? {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T?, any Error>) in
            // Whichever comes first resumes; the other finds it done.
            let pending = Mutex<CheckedContinuation<T?, any Error>?>(continuation)
            watchers.watch {
                pending.withLock { $0.take() }?.resume(returning: nil)
            }
            DispatchQueue.global().async {
                let result = Result { try work() }
                pending.withLock { $0.take() }?.resume(with: result.map(Optional.some))
            }
        }
    }

    /// Returns at the first signal (one caught before the group ran included). Added with
    /// `successTerminationBehavior: .gracefullyShutdownGroup`, its return shuts the other services
    /// down gracefully; it also returns when the group shuts down for another reason.
    func run() async {
        for await _ in firstSignal.cancelOnGracefulShutdown() { return }
    }
}
