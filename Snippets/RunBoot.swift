// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

let orchestrator = BootOrchestrator(budgets: .forKubernetes(startupProbeTotalSeconds: 600))
try orchestrator.runBoot(
    mode: .normal,
    initialize: { fsm in /* open files, take locks */ },
    migrate: { fsm in fsm.metrics.recordMigrationSteps() },
    recover: { fsm in
        fsm.updateProgress(PhaseProgress(message: "replaying", itemsProcessed: 0, itemsTotal: 1_000))
        fsm.recordWALProgress(records: 1_000, bytes: 65_536)
        return PreloadHints(pageIDs: [1, 2, 3])
    },
    warmup: { fsm, hints in fsm.metrics.recordWarmupHitRatio(0.9) }
)
print(orchestrator.fsm.healthStatus().toJSON())
