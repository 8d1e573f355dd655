// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import BootFSM

/// `boot-exporter probes`: the Kubernetes probe stanza that matches a startup budget.
struct ProbesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "probes",
        abstract: "Print the startupProbe, readinessProbe and livenessProbe for a container running boot-exporter with --boot.startup-probe-seconds."
    )

    @Option(name: .customLong("startup-probe-seconds"), help: "The startup probe's window: failureThreshold × periodSeconds.")
    var startupProbeSeconds: UInt64 = 600

    @Option(name: .customLong("period-seconds"), help: "periodSeconds of the startup probe.")
    var periodSeconds: UInt64 = 10

    @Option(help: "The container port boot-exporter listens on.")
    var port = ExporterConfiguration.defaultPort

    func validate() throws {
        // Kubernetes keeps these in 32-bit fields; a year is already far beyond any boot.
        guard (1...31_536_000).contains(startupProbeSeconds) else { throw ValidationError("--startup-probe-seconds must be 1 to 31536000") }
        // Under 20 s forKubernetes' integer shares leave init 0 s, which `run` refuses: no advice it would not take.
        guard startupProbeSeconds >= 20 else {
            throw ValidationError("--startup-probe-seconds \(startupProbeSeconds) leaves the init phase a budget of 0s, which `run` refuses: use 20 or more")
        }
        guard (1...86_400).contains(periodSeconds) else { throw ValidationError("--period-seconds must be 1 to 86400") }
        guard (1...65_535).contains(port) else { throw ValidationError("--port must be 1-65535") }
    }

    func run() {
        print(ProbeStanza(startupProbeSeconds: startupProbeSeconds, periodSeconds: periodSeconds, port: port).yaml, terminator: "")
    }
}

/// The probes of a pod whose boot runs under `BootBudgets.forKubernetes(startupProbeSeconds)`:
/// the startup probe's window (`failureThreshold × periodSeconds`, rounded up) covers the total
/// budget, so under `fail-fast` the boot reports its own failure (on `/livez`, `/health` and the
/// metrics) no later than the kubelet would have given up.
struct ProbeStanza {
    let startupProbeSeconds: UInt64
    let periodSeconds: UInt64
    let port: Int

    var failureThreshold: UInt64 { (startupProbeSeconds + periodSeconds - 1) / periodSeconds }

    /// How long a failed boot is served before the process exits: a minute (a scrape and a rule
    /// evaluation at 30 s intervals see it), or half the startup window when that is shorter.
    var exitAfterFailureSeconds: UInt64 { max(1, min(60, startupProbeSeconds / 2)) }

    var yaml: String {
        let budgets = BootBudgets.forKubernetes(startupProbeTotalSeconds: startupProbeSeconds)
        let names = [budgets.initBudget, budgets.migrateBudget, budgets.recoverBudget, budgets.warmupBudget, budgets.totalBudget]
            .map(DurationParser.format)
        func probe(_ name: String, _ path: String, period: UInt64, failures: UInt64) -> String {
            """
            \(name):
              httpGet:
                path: \(path)
                port: \(port)
              periodSeconds: \(period)
              failureThreshold: \(failures)
              timeoutSeconds: 2

            """
        }
        return """
        # Budgets from a \(startupProbeSeconds) s startup probe: init \(names[0]), migrate \(names[1]), recover \(names[2]), warmup \(names[3]), total \(names[4]).
        # Run boot-exporter with --boot.startup-probe-seconds \(startupProbeSeconds) --boot.exit-after-failure \(exitAfterFailureSeconds)s.
        # (Liveness is not probed before the startup probe passes: a failed boot is restarted by its exit.)

        """
            + probe("startupProbe", "/startupz", period: periodSeconds, failures: failureThreshold)
            + probe("readinessProbe", "/readyz", period: 5, failures: 1)
            + probe("livenessProbe", "/livez", period: 10, failures: 3)
    }
}
