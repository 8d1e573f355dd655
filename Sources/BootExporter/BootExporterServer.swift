// SPDX-License-Identifier: AGPL-3.0-or-later

public import BootFSM
import CMicroHTTPD
public import Logging
public import ServiceLifecycle
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Serves one `BootStateMachine` (BootFSM) over HTTP with libmicrohttpd: `/metrics`, `/health`, `/livez`,
/// `/readyz`, `/startupz`, and at `/` a live page of the boot (its data at `/boot.json`).
///
/// Embed it in any Swift process: ``start()`` binds and returns (port 0 picks a free port, which
/// ``port`` reports), ``stop()`` stops accepting, lets in-flight requests finish and closes every
/// connection. As a swift-service-lifecycle `Service`, ``run()`` serves until graceful shutdown.
public final class BootExporterServer: Sendable {
    /// The served machine.
    public let machine: BootStateMachine
    /// The settings it was made with.
    public let configuration: ExporterConfiguration

    private let router: RequestRouter
    private let connection: ConnectionContext
    private let daemon = Mutex<Daemon?>(nil)

    /// A server for `machine`; nothing listens until ``start()``.
    public init(machine: BootStateMachine, configuration: ExporterConfiguration = ExporterConfiguration(),
                logger: Logger = Logger(label: "boot-exporter.http")) {
        self.machine = machine
        self.configuration = configuration
        self.router = RequestRouter(machine: machine, metricsPath: configuration.metricsPath,
                                    version: configuration.version,
                                    processMetrics: configuration.processMetrics ?? { nil },
                                    basicAuthUsers: configuration.basicAuthUsers,
                                    sources: configuration.additionalSources)
        self.connection = ConnectionContext(router: router, logger: logger,
                                            responseHeaders: configuration.responseHeaders.sorted { $0.key < $1.key })
    }

    /// The port the server listens on, once started.
    public var port: Int? { daemon.withLock { $0?.port } }

    /// Starts listening; returns once the socket is bound.
    public func start() throws(ExporterError) {
        try configuration.validate()
        try daemon.withLock { (daemon) throws(ExporterError) in
            guard daemon == nil else { throw .alreadyStarted }
            daemon = try Daemon.start(configuration: configuration, context: connection)
        }
        // A server started again after a stop is ready to serve again.
        router.draining.store(false, ordering: .relaxed)
        connection.logger.info("listening", metadata: [
            "address": "\(configuration.host.isEmpty ? "*" : configuration.host):\(port ?? 0)",
            "metrics_path": "\(configuration.metricsPath)",
            "tls": "\(configuration.tls != nil)",
            "basic_auth": "\(!configuration.basicAuthUsers.isEmpty)",
        ])
    }

    /// Makes `/readyz` fail from now on (until started again), ahead of ``stop()``: the first step of
    /// a graceful shutdown.
    public func beginShutdown() {
        router.draining.store(true, ordering: .relaxed)
    }

    /// Requests whose headers have arrived and that have not completed (what ``stop()`` waits for).
    var requestsInFlight: Int { connection.inFlight.load(ordering: .acquiring) }

    /// Stops accepting connections, lets in-flight requests finish (for at most the configured
    /// grace period) and closes every connection. Does nothing if the server is not running.
    public func stop() {
        beginShutdown()
        guard let running = daemon.withLock({ daemon -> Daemon? in defer { daemon = nil }; return daemon }) else { return }
        running.stop(gracePeriod: configuration.shutdownGracePeriod, context: connection)
        connection.logger.info("stopped")
    }

    deinit {
        // A server dropped without stop() must not leave libmicrohttpd calling into freed memory.
        if let running = daemon.withLock({ $0 }) {
            running.stop(gracePeriod: .zero, context: connection)
        }
    }
}

extension BootExporterServer: Service {
    /// Starts the server (unless already started) and serves until graceful shutdown or
    /// cancellation, then stops.
    public func run() async throws {
        if port == nil { try start() }
        try? await gracefulShutdown()
        stop()
    }
}

/// What libmicrohttpd's callbacks reach through their `cls` pointer; outlives the daemon.
final class ConnectionContext: Sendable {
    let router: RequestRouter
    let logger: Logger
    /// Requests begun and not yet completed.
    let inFlight = Atomic<Int>(0)
    /// Set when the server stops: new connections are closed as soon as they are accepted.
    let refusingConnections = Atomic<Bool>(false)
    /// The last message libmicrohttpd logged, to explain a failed start.
    let lastLibraryMessage = Mutex<String?>(nil)
    /// Added to every response.
    let responseHeaders: [(String, String)]

    init(router: RequestRouter, logger: Logger, responseHeaders: [(String, String)] = []) {
        self.router = router
        self.logger = logger
        self.responseHeaders = responseHeaders
    }
}

/// A running libmicrohttpd daemon.
private struct Daemon: @unchecked Sendable {
    // @unchecked: the pointers are only used under the server's lock or after being taken out of it.
    let handle: OpaquePointer
    let logger: UnsafeMutablePointer<bootfsm_mhd_logger>
    let port: Int
    /// C strings handed to libmicrohttpd (TLS key, certificates, priorities), freed at stop.
    let strings: [UnsafeMutablePointer<CChar>]
    /// What the handshake demands of client certificates, when the server asks for them.
    let clientPolicy: UnsafeMutablePointer<bootfsm_client_policy>?

    static func start(configuration: ExporterConfiguration, context: ConnectionContext) throws(ExporterError) -> Daemon {
        // Resolve first: a bad address must not leave anything allocated behind.
        let resolved = configuration.host.isEmpty ? nil : try SocketAddress.resolve(host: configuration.host, port: UInt16(configuration.port))
        let contextPointer = Unmanaged.passUnretained(context).toOpaque()
        let logger = UnsafeMutablePointer<bootfsm_mhd_logger>.allocate(capacity: 1)
        logger.initialize(to: bootfsm_mhd_logger(sink: logSink, context: contextPointer))

        var flags = UInt32(MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue | MHD_USE_ITC.rawValue
            | MHD_USE_TURBO.rawValue | MHD_USE_ERROR_LOG.rawValue)
        var options: [MHD_OptionItem] = [
            bootfsm_mhd_logger_option(logger),
            bootfsm_mhd_completed_option(requestCompleted, contextPointer),
            bootfsm_mhd_unescape_option(unescapeKeepingNUL),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_LIMIT, value: configuration.connectionLimit, ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_TIMEOUT,
                           value: Int(configuration.connectionTimeout.components.seconds), ptr_value: nil),
            MHD_OptionItem(option: MHD_OPTION.CONNECTION_MEMORY_LIMIT, value: configuration.connectionMemoryLimit, ptr_value: nil),
        ]
        if configuration.threads > 1 {
            options.append(MHD_OptionItem(option: MHD_OPTION.THREAD_POOL_SIZE, value: configuration.threads, ptr_value: nil))
        }
        if configuration.perIPConnectionLimit > 0 {
            options.append(MHD_OptionItem(option: MHD_OPTION.PER_IP_CONNECTION_LIMIT,
                                          value: configuration.perIPConnectionLimit, ptr_value: nil))
        }
        var strings: [UnsafeMutablePointer<CChar>] = []
        var clientPolicy: UnsafeMutablePointer<bootfsm_client_policy>?
        if let tls = configuration.tls {
            flags |= UInt32(MHD_USE_TLS.rawValue)
            func string(_ option: MHD_OPTION, _ text: String) {
                let copy = strdup(text)!
                strings.append(copy)
                options.append(MHD_OptionItem(option: option, value: 0, ptr_value: copy))
            }
            string(.HTTPS_MEM_KEY, tls.keyPEM)
            string(.HTTPS_MEM_CERT, tls.certificatePEM)
            string(.HTTPS_PRIORITIES, try GnuTLSPriorities(tls).string)
            if let ca = tls.clientCAPEM, tls.clientAuth != .noClientCert { string(.HTTPS_MEM_TRUST, ca) }
            if tls.clientAuth != .noClientCert {
                // Asks for client certificates and checks them in every handshake (with or without CAs).
                let allowedSANs = tls.clientAllowedSANs.isEmpty ? nil : strdup(tls.clientAllowedSANs.joined(separator: "\n"))!
                if let allowedSANs { strings.append(allowedSANs) }
                let policy = UnsafeMutablePointer<bootfsm_client_policy>.allocate(capacity: 1)
                policy.initialize(to: bootfsm_client_policy(require: tls.requiresClientCertificate ? 1 : 0,
                                                            verify: tls.clientAuth.verifies ? 1 : 0,
                                                            allowed_sans: allowedSANs))
                clientPolicy = policy
                options.append(bootfsm_mhd_client_policy_option(policy))
            }
        }

        let port = UInt16(configuration.port)
        var handle: OpaquePointer?
        if configuration.host.isEmpty {
            // Every interface: both stacks where the system has IPv6, IPv4 alone where it has not.
            handle = startDaemon(flags | UInt32(MHD_USE_DUAL_STACK.rawValue), port, options, context)
            if handle == nil { handle = startDaemon(flags, port, options, context) }
        } else {
            var address = resolved!
            if address.isIPv6 { flags |= UInt32(MHD_USE_IPv6.rawValue) }
            handle = withUnsafeMutableBytes(of: &address.storage) { storage in
                var withAddress = options
                withAddress.append(MHD_OptionItem(option: MHD_OPTION.SOCK_ADDR, value: 0, ptr_value: storage.baseAddress))
                return startDaemon(flags, port, withAddress, context)
            }
        }
        guard let handle else {
            logger.deallocate()
            clientPolicy?.deallocate()
            strings.forEach { string in
                memset(string, 0, strlen(string))  // the private key among them
                free(string)
            }
            let reason = context.lastLibraryMessage.withLock { $0 } ?? "libmicrohttpd could not start"
            let host = configuration.host.isEmpty ? "" : configuration.host
            throw .startFailed("cannot listen on \(host):\(configuration.port): \(reason)")
        }
        let bound = Int(bootfsm_mhd_bound_port(handle))
        return Daemon(handle: handle, logger: logger, port: bound, strings: strings, clientPolicy: clientPolicy)
    }

    private static func startDaemon(_ flags: UInt32, _ port: UInt16, _ options: [MHD_OptionItem],
                                    _ context: ConnectionContext) -> OpaquePointer? {
        var options = options
        options.append(MHD_OptionItem(option: MHD_OPTION.END, value: 0, ptr_value: nil))
        context.lastLibraryMessage.withLock { $0 = nil }
        context.refusingConnections.store(false, ordering: .releasing)  // a server started again after a stop
        return options.withUnsafeBufferPointer { items in
            let contextPointer = Unmanaged.passUnretained(context).toOpaque()
            return bootfsm_mhd_start_daemon(flags, port, acceptPolicy, contextPointer, accessHandler, contextPointer,
                                            items.baseAddress)
        }
    }

    /// Refuses new connections, waits for in-flight requests (at most `gracePeriod`), then stops
    /// and frees.
    ///
    /// New connections are refused by the accept policy rather than by `MHD_quiesce_daemon`: with
    /// epoll and libmicrohttpd's own threads, quiescing races the worker threads, which also take
    /// the listening socket out of their epoll set, and the loser of that race aborts the process
    /// ("Failed to remove listen FD from epoll set", an open libmicrohttpd defect). It happened here
    /// while a test stopped a server.
    func stop(gracePeriod: Duration, context: ConnectionContext) {
        context.refusingConnections.store(true, ordering: .releasing)
        let clock = ContinuousClock()
        let deadline = clock.now + gracePeriod
        while context.inFlight.load(ordering: .acquiring) > 0 && clock.now < deadline {
            usleep(2_000)
        }
        MHD_stop_daemon(handle)
        logger.deallocate()
        clientPolicy?.deallocate()
        strings.forEach { string in
            memset(string, 0, strlen(string))
            free(string)
        }
    }
}

/// libmicrohttpd's log messages, at debug level (its errors are also reported where they matter).
private let logSink: bootfsm_mhd_log_sink = { context, message in
    guard let context, let message else { return }
    let connection = Unmanaged<ConnectionContext>.fromOpaque(context).takeUnretainedValue()
    var text = String(cString: message)
    while text.last == "\n" { text.removeLast() }
    connection.lastLibraryMessage.withLock { $0 = text }
    connection.logger.debug("libmicrohttpd", metadata: ["message": "\(text)"])
}

/// A non-nil marker for the per-request pointer: the request's first call has been seen.
private var requestStarted: UnsafeMutableRawPointer { UnsafeMutableRawPointer(bitPattern: 1)! }

/// The access handler. libmicrohttpd calls it first when the headers have arrived, then again
/// with any body, then once more with none. The response is queued on the second call at the
/// earliest: queueing on the first makes libmicrohttpd answer `Connection: close`.
private let accessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, version, _, uploadDataSize, requestPointer in
    guard let cls, let connection, let requestPointer else { return MHD_Result.NO }
    let context = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue()
    if requestPointer.pointee == nil {
        requestPointer.pointee = requestStarted
        context.inFlight.wrappingAdd(1, ordering: .relaxed)
        // Refused before any handler (and before the body): answering now also closes the connection,
        // so whatever a second reading of the framing would see as the next request is never read.
        if let problem = framingProblem(connection, version: version) {
            var body = OutputBuffer(capacity: 96)
            body.append("400 bad request: " as StaticString)
            body.append(problem)
            body.append(UInt8(ascii: "\n"))
            let path = url.map { Request.path(ofTarget: String(cString: $0)) } ?? "/"
            context.router.requests.record(context.router.handler(for: path), code: 400)
            return queue(Response(status: 400, contentType: "text/plain; charset=utf-8", body: body, counted: true),
                         on: connection, headers: context.responseHeaders)
        }
        return MHD_Result.YES
    }
    // A body is not for us: drop it and answer (a 405, since only GET and HEAD are served).
    if let uploadDataSize, uploadDataSize.pointee != 0 {
        uploadDataSize.pointee = 0
        return MHD_Result.YES
    }
    let request = Request(
        method: method.map(Request.Method.init(cString:)) ?? .other,
        path: url.map { Request.path(ofTarget: String(cString: $0)) } ?? "/",
        fields: ConnectionFields(connection: connection)
    )
    return queue(context.router.respond(to: request), on: connection, headers: context.responseHeaders)
}

/// What RFC 9112 asks a server to answer with 400 and libmicrohttpd (0.9.75) lets through: an HTTP/1.1
/// request without exactly one `Host` (3.2), and `Content-Length` values that differ (6.3), of which
/// libmicrohttpd reads the first while a proxy in front may read another, smuggling a request in the
/// body. Repeated identical values are one length (RFC 9110, 8.6) and pass.
private func framingProblem(_ connection: OpaquePointer, version: UnsafePointer<CChar>?) -> StaticString? {
    var fields = FramingFields()
    withUnsafeMutablePointer(to: &fields) { pointer in
        _ = MHD_get_connection_values(connection, .HEADER_KIND, { cls, _, key, value in
            guard let cls, let key else { return MHD_Result.YES }
            let fields = cls.assumingMemoryBound(to: FramingFields.self)
            if strcasecmp(key, "Host") == 0 { fields.pointee.hosts += 1 }
            if strcasecmp(key, "Content-Length") == 0 {
                // `42, 42` is a list of values too.
                let text = value.map { String(cString: $0) } ?? ""
                for length in text.split(separator: ",", omittingEmptySubsequences: false) {
                    fields.pointee.contentLengths.insert(length.filter { $0 != " " && $0 != "\t" })
                }
            }
            return MHD_Result.YES
        }, pointer)
    }
    if fields.contentLengths.count > 1 { return "different Content-Length values" }
    if fields.hosts > 1 { return "more than one Host header" }
    if fields.hosts == 0, let version, strcmp(version, "HTTP/1.1") == 0 { return "an HTTP/1.1 request needs a Host header" }
    return nil
}

private struct FramingFields {
    var hosts = 0
    var contentLengths: Set<String> = []
}

/// Whether to keep a connection just accepted: every one until the server stops.
private let acceptPolicy: MHD_AcceptPolicyCallback = { cls, _, _ in
    guard let cls else { return MHD_Result.YES }
    let context = Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue()
    return context.refusingConnections.load(ordering: .acquiring) ? MHD_Result.NO : MHD_Result.YES
}

/// libmicrohttpd's unescaping of URIs and their arguments (`%HH` to the byte, in place), except that
/// `%00` stays as written: the path reaches the handler as a C string, so a decoded NUL would cut it
/// short (`/metrics%00x` would be served as `/metrics`). Left encoded, such a path matches no route.
private let unescapeKeepingNUL: bootfsm_mhd_unescaper = { _, _, text in
    guard let text else { return 0 }
    func hexValue(_ byte: CChar) -> Int32 {
        switch UInt8(bitPattern: byte) {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int32(byte) - 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int32(byte) - 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int32(byte) - 55
        default: -1
        }
    }
    var read = 0
    var write = 0
    while text[read] != 0 {
        // (A NUL ends the string before either digit could be read past it.)
        let high = text[read] == CChar(UInt8(ascii: "%")) ? hexValue(text[read + 1]) : -1
        let low = high >= 0 ? hexValue(text[read + 2]) : -1
        if low >= 0 && (high | low) != 0 {
            text[write] = CChar(bitPattern: UInt8(high << 4 | low))
            read += 3
        } else {
            text[write] = text[read]
            read += 1
        }
        write += 1
    }
    text[write] = 0
    return write
}

/// Called when a request ends, answered or not.
private let requestCompleted: MHD_RequestCompletedCallback = { cls, _, requestPointer, _ in
    guard let cls, let requestPointer, requestPointer.pointee != nil else { return }
    requestPointer.pointee = nil
    Unmanaged<ConnectionContext>.fromOpaque(cls).takeUnretainedValue().inFlight.wrappingSubtract(1, ordering: .releasing)
}

/// Hands `response` to libmicrohttpd, which frees the body once sent. This is where bytes leave.
private func queue(_ response: consuming Response, on connection: OpaquePointer, headers: [(String, String)]) -> MHD_Result {
    let status = UInt32(response.status)
    let contentType = response.contentType
    let gzipped = response.gzipped
    let varies = response.varies
    let allow = response.allow
    let challenge = response.challenge
    let contentSecurityPolicy = response.contentSecurityPolicy
    let (body, count) = response.body.take()
    guard let mhdResponse = MHD_create_response_from_buffer(count, body, .RESPMEM_MUST_FREE) else {
        free(body)
        return MHD_Result.NO
    }
    defer { MHD_destroy_response(mhdResponse) }
    addHeader(mhdResponse, "Content-Type", contentType)
    if gzipped { addHeader(mhdResponse, "Content-Encoding", "gzip") }
    if varies {
        addHeader(mhdResponse, "Vary", "Accept, Accept-Encoding")
    } else {
        // Probes, health and errors describe this instant: never reuse them.
        addHeader(mhdResponse, "Cache-Control", "no-store")
    }
    if allow { addHeader(mhdResponse, "Allow", "GET, HEAD") }
    if challenge { addHeader(mhdResponse, "WWW-Authenticate", "Basic realm=\"boot-exporter\", charset=\"UTF-8\"") }
    if let contentSecurityPolicy { _ = MHD_add_response_header(mhdResponse, "Content-Security-Policy", contentSecurityPolicy) }
    for (name, value) in headers { _ = MHD_add_response_header(mhdResponse, name, value) }
    return MHD_queue_response(connection, status, mhdResponse)
}

private func addHeader(_ response: OpaquePointer, _ name: StaticString, _ value: StaticString) {
    _ = MHD_add_response_header(response, cString(name), cString(value))
}

private func cString(_ text: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// A request's headers and query arguments, read from libmicrohttpd while the request is handled.
private struct ConnectionFields: RequestFields {
    let connection: OpaquePointer

    func header(_ name: StaticString) -> String? {
        MHD_lookup_connection_value(connection, .HEADER_KIND, cString(name)).map { String(cString: $0) }
    }

    var verbose: Bool {
        var value: UnsafePointer<CChar>?
        var length = 0
        guard MHD_lookup_connection_value_n(connection, .GET_ARGUMENT_KIND, "verbose", 7, &value, &length) == MHD_Result.YES else {
            return false
        }
        guard let value else { return true }
        let text = String(cString: value)
        return text != "0" && text != "false"
    }

    var clientAddress: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        return text.withUnsafeMutableBufferPointer { buffer in
            bootfsm_mhd_client_address(connection, buffer.baseAddress, buffer.count)
            return String(cString: buffer.baseAddress!)
        }
    }
}

extension Request.Method {
    init(cString method: UnsafePointer<CChar>) {
        if strcmp(method, "GET") == 0 { self = .get } else if strcmp(method, "HEAD") == 0 { self = .head } else { self = .other }
    }
}
