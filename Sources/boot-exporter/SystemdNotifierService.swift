// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import BootSystemd
import Logging
import ServiceLifecycle

/// Tells systemd about the boot when `NOTIFY_SOCKET` is set (`Type=notify`): a ``SystemdNotifier``
/// polling the machine until the group shuts down, then `STOPPING=1`. Without `NOTIFY_SOCKET` it
/// only waits for the shutdown.
///
/// Placed before the boot service in the group, it stops after it: what that one does at shutdown
/// (`shutting_down`, the checkpoint) is told before the notifier ends.
struct SystemdNotifierService: Service {
    let notifier: SystemdNotifier?

    /// A bad `NOTIFY_SOCKET` or `WATCHDOG_USEC` is logged, and the boot goes on without notifications.
    /// `exitAfterFailure` (`--boot.exit-after-failure`) is how long a failed boot is served: systemd's start
    /// timeout is extended by that much at the failure.
    init(machine: BootStateMachine, exitAfterFailure: Duration?, logger: Logger) {
        do {
            notifier = try SystemdNotifier.fromEnvironment(machine: machine, failureGrace: exitAfterFailure, onSendFailure: { error in
                logger.warning("cannot notify systemd", metadata: ["reason": "\(error)"])
            })
        } catch {
            logger.warning("not notifying systemd", metadata: ["reason": "\(error)"])
            notifier = nil
        }
        if let notifier {
            logger.info("notifying systemd", metadata: [
                "socket": "\(notifier.socket)",
                "watchdog_seconds": "\(notifier.watchdogInterval.map { "\($0.inSeconds)" } ?? "off")",
            ])
        }
    }

    func run() async {
        guard let notifier else {
            try? await gracefulShutdown()
            return
        }
        await cancelWhenGracefulShutdown { await notifier.run() }
        // What the boot service's shutdown left (shutting_down, a failure) goes out before STOPPING=1.
        notifier.poll()
        notifier.stop()
    }
}
