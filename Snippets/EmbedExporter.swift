// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Logging

let fsm = BootStateMachine(budgets: .forKubernetes(startupProbeTotalSeconds: 600))
let server = BootExporterServer(
    machine: fsm,
    configuration: ExporterConfiguration(host: "", port: 9851),
    logger: Logger(label: "boot-exporter")
)
try server.start()          // port 0 picks a free port: server.port tells which
// … boot, reporting into fsm …
server.stop()               // stops accepting, lets in-flight requests finish, closes connections
