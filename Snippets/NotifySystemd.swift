// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import BootSystemd

let orchestrator = BootOrchestrator(budgets: .forKubernetes(startupProbeTotalSeconds: 600))
// nil unless systemd started the program as a Type=notify service (NOTIFY_SOCKET is set)
let notifier = try SystemdNotifier.fromEnvironment(machine: orchestrator.fsm)
let notifying = Task.detached { await notifier?.run() }  // off the main thread, which boots
try orchestrator.runBoot(
    initialize: { fsm in /* open files, take locks */ },
    migrate: { fsm in fsm.metrics.recordMigrationSteps() },
    recover: { fsm in fsm.recordWALProgress(records: 1_000, bytes: 65_536); return PreloadHints(pageIDs: [1, 2]) },
    warmup: { fsm, hints in fsm.metrics.recordWarmupHitRatio(0.9) }
)
// READY=1 goes out at the next poll; serve until asked to stop, then:
try orchestrator.shutdown()
notifying.cancel()
notifier?.stop()  // STOPPING=1, if the last poll did not send it
