// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Logging

let orchestrator = BootOrchestrator(budgets: .forKubernetes(startupProbeTotalSeconds: 600))
let server = BootExporterServer(machine: orchestrator.fsm, configuration: ExporterConfiguration(port: 9851),
                                logger: Logger(label: "boot-exporter"))
try server.start()  // /metrics, /health, /livez, /readyz and /startupz on :9851 from now on
try orchestrator.runBoot(
    initialize: { fsm in /* open files, take locks */ },
    migrate: { fsm in fsm.metrics.recordMigrationSteps() },
    recover: { fsm in fsm.recordWALProgress(records: 1_000, bytes: 65_536); return PreloadHints(pageIDs: [1, 2]) },
    warmup: { fsm, hints in fsm.metrics.recordWarmupHitRatio(0.9) }
)
server.stop()  // after the application's own work: stops accepting, lets in-flight requests finish
