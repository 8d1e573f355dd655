// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// How a ``BootExporterServer`` listens and what it tolerates. Every default is documented in
/// docs/library.md ("Embedding the exporter"), and the matching flags in docs/configuration.md.
public struct ExporterConfiguration: Sendable {
    /// The default port, 9851: outside the ports of Prometheus's own components (9090, 9091,
    /// 9093, 9094) and of the common exporters (node_exporter's 9100, blackbox's 9115, …).
    public static let defaultPort = 9851

    /// The address to listen on: an IPv4 or IPv6 literal or a host name; empty for every
    /// interface (both stacks where the system has IPv6).
    public var host: String
    /// The port; 0 picks a free one (``BootExporterServer/port`` tells which).
    public var port: Int
    /// Where the metrics are served.
    public var metricsPath: String
    /// Threads answering requests (a libmicrohttpd thread pool); default: the CPUs, at most 4.
    public var threads: Int
    /// Connections served at once; more are refused at accept. 1024 by default: with the per-connection
    /// memory limit that bounds request memory to 16 MiB, and stays far below usual descriptor limits.
    public var connectionLimit: Int
    /// Connections from one IP address at once (0: no limit beyond ``connectionLimit``). 64 by default,
    /// so one misbehaving or slow source (a slowloris) cannot take every slot from the scrapers
    /// and the kubelet.
    public var perIPConnectionLimit: Int
    /// An idle or slow connection is closed after this long.
    public var connectionTimeout: Duration
    /// Memory for one connection's request headers and buffers, in bytes; a request that needs
    /// more is answered with an error (431 for headers beyond about 15 KB at the default 16 KiB).
    /// libmicrohttpd (0.9.75 here) zeroes this memory after every request on a kept-alive connection, so it is
    /// sized for scrapes and probes (well under 1 KiB of headers) with room for large tokens,
    /// rather than at the library's 32 KiB: that zeroing was a third of a scrape's user CPU time.
    public var connectionMemoryLimit: Int
    /// How long ``BootExporterServer/stop()`` lets in-flight requests finish.
    public var shutdownGracePeriod: Duration
    /// The `version` label of `boot_exporter_build_info`.
    public var version: String
    /// The source of the `process_*` metrics; `nil` leaves them out.
    public var processMetrics: (@Sendable () -> ProcessMetrics?)?
    /// Serve HTTPS with these settings; plain HTTP when `nil`.
    public var tls: TLSConfiguration?
    /// User name → bcrypt hash; when not empty every request needs basic authentication.
    public var basicAuthUsers: [String: String]
    /// Headers added to every response (only ``ResponseHeaders/allowed`` names, with values
    /// ``ResponseHeaders/problem(name:value:)`` accepts), taking together at most a quarter of
    /// ``connectionMemoryLimit``.
    public var responseHeaders: [String: String]
    /// Other metrics served on the same `/metrics`, after the boot's. The boots of a
    /// ``BootHistorySource`` among them are also listed on the page at `/`.
    public var additionalSources: [any ExpositionSource]

    public init(
        host: String = "",
        port: Int = ExporterConfiguration.defaultPort,
        metricsPath: String = "/metrics",
        threads: Int = ExporterConfiguration.defaultThreads,
        connectionLimit: Int = 1024,
        perIPConnectionLimit: Int = 64,
        connectionTimeout: Duration = .seconds(10),
        connectionMemoryLimit: Int = 16 * 1024,
        shutdownGracePeriod: Duration = .seconds(5),
        version: String = BootExporterVersion.current,
        processMetrics: (@Sendable () -> ProcessMetrics?)? = { ProcessMetrics.current() },
        tls: TLSConfiguration? = nil,
        basicAuthUsers: [String: String] = [:],
        responseHeaders: [String: String] = [:],
        additionalSources: [any ExpositionSource] = []
    ) {
        self.host = host
        self.port = port
        self.metricsPath = metricsPath
        self.threads = threads
        self.connectionLimit = connectionLimit
        self.perIPConnectionLimit = perIPConnectionLimit
        self.connectionTimeout = connectionTimeout
        self.connectionMemoryLimit = connectionMemoryLimit
        self.shutdownGracePeriod = shutdownGracePeriod
        self.version = version
        self.processMetrics = processMetrics
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.responseHeaders = responseHeaders
        self.additionalSources = additionalSources
    }

    /// The CPUs online, at most 4.
    public static var defaultThreads: Int {
        min(max(Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))), 1), 4)
    }

    /// Connections at once, in all and from one address (libmicrohttpd takes them as `unsigned int`:
    /// without a bound a large value wraps, to 0 for 2^32, and the server answers nothing).
    public static let connectionLimits = 1...1_000_000
    /// How long a connection may stay idle (libmicrohttpd's whole seconds, `unsigned int`).
    public static let connectionTimeouts = Duration.seconds(1)...Duration.seconds(86_400)
    /// Bytes for one connection's request: at least what a request needs, at most what a server
    /// handling many connections can give each one.
    public static let connectionMemoryLimits = 4096...(16 * 1024 * 1024)

    /// The bytes the configured response headers may take: a quarter of the connection memory limit.
    ///
    /// libmicrohttpd writes a response's headers into the same per-connection memory that holds the
    /// request, and closes the connection without a word when they do not fit. A quarter leaves
    /// three quarters for the request and the server's own few hundred bytes of headers, so a
    /// scrape carrying a large token is still answered.
    var maxResponseHeaderBytes: Int { connectionMemoryLimit / 4 }

    /// Whether `path` can serve the metrics: it starts with `/`, has no query, and is neither `/` nor the path
    /// of another endpoint (every ``Handler`` but ``Handler/metrics``).
    package static func isValidMetricsPath(_ path: String) -> Bool {
        path.hasPrefix("/") && path.count > 1 && !path.contains("?")
            && !Handler.allCases.contains { $0 != .metrics && $0.rawValue == path }
    }

    /// Checks every setting; the error names the first one that is wrong.
    public func validate() throws(ExporterError) {
        guard (0...65_535).contains(port) else {
            throw .invalidConfiguration("port \(port) is out of range 0-65535")
        }
        guard Self.isValidMetricsPath(metricsPath) else {
            throw .invalidConfiguration("telemetry path \"\(metricsPath)\" must start with / and not be / or another endpoint's path")
        }
        guard (1...256).contains(threads) else { throw .invalidConfiguration("threads must be 1-256, not \(threads)") }
        guard Self.connectionLimits.contains(connectionLimit) else {
            throw .invalidConfiguration("connection limit must be 1-\(Self.connectionLimits.upperBound), not \(connectionLimit)")
        }
        guard (0...Self.connectionLimits.upperBound).contains(perIPConnectionLimit) else {
            throw .invalidConfiguration("per-IP connection limit must be 0-\(Self.connectionLimits.upperBound), not \(perIPConnectionLimit)")
        }
        guard Self.connectionTimeouts.contains(connectionTimeout) else {
            throw .invalidConfiguration("connection timeout must be 1s-24h")
        }
        guard Self.connectionMemoryLimits.contains(connectionMemoryLimit) else {
            throw .invalidConfiguration("connection memory limit must be \(Self.connectionMemoryLimits.lowerBound)-\(Self.connectionMemoryLimits.upperBound) bytes, not \(connectionMemoryLimit)")
        }
        for (user, hash) in basicAuthUsers.sorted(by: { $0.key < $1.key }) {
            guard !user.isEmpty, !user.contains(":") else {
                throw .invalidConfiguration("basic_auth_users: \"\(user)\" is not a valid user name")
            }
            // Never echo the value: it may be a password written where its hash belongs.
            guard BasicAuthenticator.isBcryptHash(hash) else {
                throw .invalidConfiguration("basic_auth_users: the entry of \"\(user)\" is not a bcrypt hash ($2a$, $2b$ or $2y$); store hashes, never passwords")
            }
        }
        for (name, value) in responseHeaders.sorted(by: { $0.key < $1.key }) {
            if let problem = ResponseHeaders.problem(name: name, value: value) {
                throw .invalidConfiguration("http_server_config.headers: \(problem)")
            }
        }
        let headerBytes = responseHeaders.reduce(0) { $0 + $1.key.utf8.count + $1.value.utf8.count + 4 }  // "name: value\r\n"
        guard headerBytes <= maxResponseHeaderBytes else {
            throw .invalidConfiguration("http_server_config.headers: the headers take \(headerBytes) bytes, more than the \(maxResponseHeaderBytes) a response may use with a connection memory limit of \(connectionMemoryLimit) bytes (a quarter of it; raise --web.connection-memory-limit or shorten the headers)")
        }
        try tls?.validate()
    }
}

/// The version of boot-exporter.
public enum BootExporterVersion {
    public static let current = "0.1.0"
}

/// Why the exporter cannot start.
public enum ExporterError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A setting is wrong.
    case invalidConfiguration(String)
    /// The listen address does not resolve.
    case invalidAddress(String)
    /// libmicrohttpd would not start (the port is in use, for instance).
    case startFailed(String)
    /// ``BootExporterServer/start()`` was called twice.
    case alreadyStarted

    public var description: String {
        switch self {
        case .invalidConfiguration(let message): message
        case .invalidAddress(let message): message
        case .startFailed(let message): message
        case .alreadyStarted: "the exporter is already running"
        }
    }
}
