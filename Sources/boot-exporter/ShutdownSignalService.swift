// SPDX-License-Identifier: AGPL-3.0-or-later

import Logging
import ServiceLifecycle
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

    /// Catches SIGTERM and SIGINT from now on, logging each: the first as `signal received, shutting
    /// down`, later ones as `…already shutting down`.
    init(logger: Logger) async {
        let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
        let (firstSignal, continuation) = AsyncStream.makeStream(of: Void.self)
        // Read apart from the service, which ends at the first signal: later ones come while the
        // other services stop, and are logged too.
        Task {
            var isFirst = true
            for await signal in signals {
                logger.info(isFirst ? "signal received, shutting down" : "signal received, already shutting down",
                            metadata: ["signal": "\(signal)"])
                isFirst = false
                continuation.yield()
            }
        }
        self.firstSignal = firstSignal
    }

    /// Returns at the first signal (one caught before the group ran included). Added with
    /// `successTerminationBehavior: .gracefullyShutdownGroup`, its return shuts the other services
    /// down gracefully; it also returns when the group shuts down for another reason.
    func run() async {
        for await _ in firstSignal.cancelOnGracefulShutdown() { return }
    }
}
