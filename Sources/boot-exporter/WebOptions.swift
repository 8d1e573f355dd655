// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import BootFSM
import Logging

/// The `--web.*` flags of the commands that serve a machine (`run`, `follow`).
struct WebOptions: ParsableArguments {
    @Option(name: .customLong("web.listen-address"), help: "Address to listen on: host:port, :port for every interface, [ipv6]:port.")
    var listenAddress = ":\(ExporterConfiguration.defaultPort)"

    @Option(name: .customLong("web.telemetry-path"), help: "Path under which the metrics are served.")
    var telemetryPath = "/metrics"

    @Option(name: .customLong("web.config.file"), help: "Web configuration file (TLS, basic auth, headers) in the exporter toolkit's format.")
    var webConfigFile: String?

    @Option(name: .customLong("web.threads"), help: "Threads answering HTTP requests (default: the CPUs, at most 4).")
    var threads = ExporterConfiguration.defaultThreads

    @Option(name: .customLong("web.max-connections"), help: "Connections served at once.")
    var maxConnections = 1024

    @Option(name: .customLong("web.max-connections-per-ip"), help: "Connections from one IP address at once (0: no limit).")
    var maxConnectionsPerIP = 64

    @Option(name: .customLong("web.connection-timeout"), help: "Close a connection idle or slow for this long (default: 10s).",
            transform: DurationArgument.parse)
    var connectionTimeout = DurationArgument(argument: "10s")!

    @Option(name: .customLong("web.connection-memory-limit"), help: "Bytes of memory for one connection's request (headers beyond about 15 KB get 431 at the default).")
    var connectionMemoryLimit = 16 * 1024

    func validate() throws {
        _ = try parsedAddress()
        guard ExporterConfiguration.isValidMetricsPath(telemetryPath) else {
            throw ValidationError("--web.telemetry-path must start with / and not be / or another endpoint's path, not \"\(telemetryPath)\"")
        }
        guard (1...256).contains(threads) else { throw ValidationError("--web.threads must be 1-256") }
        let limits = ExporterConfiguration.connectionLimits
        guard limits.contains(maxConnections) else { throw ValidationError("--web.max-connections must be 1-\(limits.upperBound)") }
        guard (0...limits.upperBound).contains(maxConnectionsPerIP) else {
            throw ValidationError("--web.max-connections-per-ip must be 0-\(limits.upperBound)")
        }
        guard ExporterConfiguration.connectionTimeouts.contains(connectionTimeout.duration) else {
            throw ValidationError("--web.connection-timeout must be 1s-24h")
        }
        let memory = ExporterConfiguration.connectionMemoryLimits
        guard memory.contains(connectionMemoryLimit) else {
            throw ValidationError("--web.connection-memory-limit must be \(memory.lowerBound)-\(memory.upperBound)")
        }
    }

    func parsedAddress() throws -> ListenAddress {
        do {
            return try ListenAddress(parsing: listenAddress)
        } catch {
            throw ValidationError("--web.listen-address: \(error)")
        }
    }

    /// The `--web.config.file` (none: the defaults), read while `signals` waits: `nil` when a signal
    /// came first. A bad file is a runtime failure.
    func loadConfigFile(stoppedBy signals: ShutdownSignalService) async throws -> WebConfigFile? {
        guard let webConfigFile else { return WebConfigFile() }
        do {
            return try await signals.unlessSignalled { try WebConfigFile.load(webConfigFile) }
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    /// A started server for `machine` with the configuration `web`; a busy port is a runtime failure.
    func startServer(for machine: BootStateMachine, web: WebConfigFile, logger: Logger,
                     sources: [any ExpositionSource] = []) throws -> BootExporterServer {
        let address = try parsedAddress()
        let server = BootExporterServer(
            machine: machine,
            configuration: ExporterConfiguration(
                host: address.host, port: address.port, metricsPath: telemetryPath, threads: threads,
                connectionLimit: maxConnections, perIPConnectionLimit: maxConnectionsPerIP,
                connectionTimeout: connectionTimeout.duration, connectionMemoryLimit: connectionMemoryLimit,
                tls: web.tls, basicAuthUsers: web.basicAuthUsers, responseHeaders: web.headers,
                additionalSources: sources
            ),
            logger: logger
        )
        do {
            try server.start()
        } catch {
            throw RuntimeFailure("\(error)")
        }
        return server
    }
}

/// The `--boot.*` flags: budgets and their policy.
struct BudgetOptions: ParsableArguments {
    @Option(name: .customLong("boot.budget.init"), help: "Time budget of the init phase (default 30s).", transform: DurationArgument.parse)
    var initBudget: DurationArgument?
    @Option(name: .customLong("boot.budget.migrate"), help: "Time budget of the migrate phase (default 5m).", transform: DurationArgument.parse)
    var migrateBudget: DurationArgument?
    @Option(name: .customLong("boot.budget.recover"), help: "Time budget of the recovery phase (default 30m).", transform: DurationArgument.parse)
    var recoverBudget: DurationArgument?
    @Option(name: .customLong("boot.budget.warmup"), help: "Time budget of the warmup phase (default 5m).", transform: DurationArgument.parse)
    var warmupBudget: DurationArgument?
    @Option(name: .customLong("boot.budget.total"), help: "Time budget of the whole boot (default 1h).", transform: DurationArgument.parse)
    var totalBudget: DurationArgument?

    @Option(name: .customLong("boot.startup-probe-seconds"),
            help: "Derive every budget from a startup probe of this many seconds (failureThreshold × periodSeconds), as BootBudgets.forKubernetes does; --boot.budget.* flags override single budgets.")
    var startupProbeSeconds: UInt64?

    @Option(name: .customLong("boot.budget-policy"), help: "fail-fast (an exceeded budget fails the boot) or report-only.")
    var budgetPolicy: BudgetPolicy = .failFast

    func validate() throws {
        if let startupProbeSeconds, !(1...31_536_000).contains(startupProbeSeconds) {
            throw ValidationError("--boot.startup-probe-seconds must be 1 to 31536000")
        }
        // A budget of zero fails every boot the moment its phase begins (or reports it exceeded at
        // once): always a mistake, often "0 to turn it off", which budgets cannot be, only long.
        let budgets = budgets
        let phases: [(name: String, given: DurationArgument?, budget: Duration)] = [
            ("init", initBudget, budgets.initBudget), ("migrate", migrateBudget, budgets.migrateBudget),
            ("recover", recoverBudget, budgets.recoverBudget), ("warmup", warmupBudget, budgets.warmupBudget),
            ("total", totalBudget, budgets.totalBudget),
        ]
        for phase in phases where phase.budget == .zero {
            if phase.given != nil {
                throw ValidationError("--boot.budget.\(phase.name) must be longer than 0s: a budget of 0 fails every boot at once (budgets cannot be turned off, only made long, up to 10 years)")
            }
            throw ValidationError("--boot.startup-probe-seconds \(startupProbeSeconds ?? 0) leaves the \(phase.name) phase a budget of 0s, which fails every boot at once: use 20 or more, or set --boot.budget.\(phase.name)")
        }
    }

    /// The budgets the flags describe.
    var budgets: BootBudgets {
        var budgets = startupProbeSeconds.map { BootBudgets.forKubernetes(startupProbeTotalSeconds: $0) } ?? BootBudgets()
        if let initBudget { budgets.initBudget = initBudget.duration }
        if let migrateBudget { budgets.migrateBudget = migrateBudget.duration }
        if let recoverBudget { budgets.recoverBudget = recoverBudget.duration }
        if let warmupBudget { budgets.warmupBudget = warmupBudget.duration }
        if let totalBudget { budgets.totalBudget = totalBudget.duration }
        return budgets
    }

    /// A machine with these budgets that logs every change of phase (and hands it to `also`).
    func makeMachine(logger: Logger, also: (@Sendable (PhaseChange) -> Void)? = nil) -> BootStateMachine {
        BootStateMachine(budgets: budgets, budgetPolicy: budgetPolicy, onPhaseChange: { change in
            PhaseChangeLog.log(change, to: logger)
            also?(change)
        })
    }
}
