// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import Synchronization

/// What the router needs of a request. Headers and query are read only by the routes that use
/// them, through `fields`.
struct Request {
    enum Method { case get, head, other }

    var method: Method
    var path: String
    var fields: any RequestFields

    /// The path of a request target: `/metrics` as it is, or the path of the absolute form
    /// `http://host:port/metrics` that HTTP/1.1 servers must also accept (RFC 9112, 3.2.2).
    static func path(ofTarget target: String) -> String {
        // The origin form, what every scraper sends, as it is: no scheme to look for on each request.
        if target.utf8.first == UInt8(ascii: "/") { return target }
        for scheme in ["http://", "https://"] where target.utf8.count > scheme.utf8.count
            && target.prefix(scheme.count).lowercased() == scheme {
            let afterScheme = target.dropFirst(scheme.count)
            guard let slash = afterScheme.firstIndex(of: "/") else { return "/" }
            return String(afterScheme[slash...])
        }
        return target
    }
}

/// Where a request's headers and query arguments come from.
protocol RequestFields {
    func header(_ name: StaticString) -> String?
    /// Whether `?verbose` was given (any value but `0` or `false`).
    var verbose: Bool { get }
    /// The client's IP address as text (empty when unknown): the unit of the authentication budget.
    var clientAddress: String { get }
}

/// A response, its body in `malloc` memory ready to be handed to libmicrohttpd.
struct Response: ~Copyable {
    var status: UInt16
    var contentType: StaticString
    var body: OutputBuffer
    var gzipped = false
    /// Whether the body depends on `Accept` and `Accept-Encoding`.
    var varies = false
    /// Whether to add `Allow: GET, HEAD` (to a 405).
    var allow = false
    /// Whether the handler already counted the request (`/metrics` counts itself before rendering).
    var counted = false
    /// Whether to ask for basic authentication (`WWW-Authenticate`, with a 401).
    var challenge = false
    /// The `Content-Security-Policy` of a page (the boot page's).
    var contentSecurityPolicy: String?
}

/// Maps a request to its response: the endpoints of the exporter. No I/O of its own beyond
/// reading the machine and `/proc`; the server moves the bytes.
final class RequestRouter: Sendable {
    let machine: BootStateMachine
    let metricsPath: String
    private let writer: ExpositionWriter
    let requests: HTTPRequestCounters
    private let gzip = GzipEncoder()
    private let processMetrics: @Sendable () -> ProcessMetrics?
    private let version: String
    /// The boots the page at `/` lists: those of the first ``BootHistorySource`` among the sources.
    private let history: BootHistorySource?
    /// Set once shutdown begins: readiness fails from then on.
    let draining = Atomic<Bool>(false)
    /// The size of the last exposition, to allocate the next one's buffer at once.
    private let lastMetricsSize = Atomic<Int>(8192)
    private let authenticator: BasicAuthenticator?
    private let sources: [any ExpositionSource]
    /// Whether every additional source can write OpenMetrics (else scrapes get the text format).
    private let openMetricsAllowed: Bool

    init(machine: BootStateMachine, metricsPath: String, version: String,
         processMetrics: @escaping @Sendable () -> ProcessMetrics?,
         basicAuthUsers: [String: String] = [:],
         sources: [any ExpositionSource] = []) {
        self.sources = sources
        self.openMetricsAllowed = sources.allSatisfy(\.supportsOpenMetrics)
        self.authenticator = basicAuthUsers.isEmpty ? nil : BasicAuthenticator(users: basicAuthUsers)
        self.machine = machine
        self.metricsPath = metricsPath
        self.writer = ExpositionWriter(version: version)
        self.requests = HTTPRequestCounters()
        self.processMetrics = processMetrics
        self.version = version
        self.history = sources.lazy.compactMap { $0 as? BootHistorySource }.first
    }

    func handler(for path: String) -> Handler {
        switch path {
        case metricsPath: .metrics
        case "/": .root
        case "/health": .health
        case "/boot.json": .bootState
        case "/livez": .livez
        case "/readyz": .readyz
        case "/startupz": .startupz
        default: .other
        }
    }

    func respond(to request: Request) -> Response {
        let handler = handler(for: request.path)
        let response = route(request, handler: handler)
        if !response.counted { requests.record(handler, code: response.status) }
        return response
    }

    private func route(_ request: Request, handler: Handler) -> Response {
        if let authenticator {
            switch authenticator.check(request.fields.header("Authorization"), client: request.fields.clientAddress) {
            case .allowed:
                break
            case .denied:
                var body = OutputBuffer(capacity: 64)
                body.append("401 unauthorized\n" as StaticString)
                return Response(status: 401, contentType: "text/plain; charset=utf-8", body: body, challenge: true)
            case .busy:
                var body = OutputBuffer(capacity: 64)
                body.append("429 too many authentication checks at once; retry\n" as StaticString)
                return Response(status: 429, contentType: "text/plain; charset=utf-8", body: body)
            }
        }
        if handler == .other {
            var body = OutputBuffer(capacity: 64)
            body.append("404 page not found\n" as StaticString)
            return Response(status: 404, contentType: "text/plain; charset=utf-8", body: body)
        }
        guard request.method != .other else {
            var body = OutputBuffer(capacity: 64)
            body.append("405 method not allowed: use GET or HEAD\n" as StaticString)
            return Response(status: 405, contentType: "text/plain; charset=utf-8", body: body, allow: true)
        }
        switch handler {
        case .metrics: return metrics(request)
        case .health: return health()
        case .bootState: return bootState()
        case .livez: return probe(.livez, request)
        case .readyz: return probe(.readyz, request)
        case .startupz: return probe(.startupz, request)
        case .root, .other: return bootPage()
        }
    }

    private func bootPage() -> Response {
        let page = BootPage.html(BootPageState(machine.snapshot(), boots: history?.boots()), version: version, metricsPath: metricsPath)
        var body = OutputBuffer(capacity: page.count)
        body.append(page)
        return Response(status: 200, contentType: "text/html; charset=utf-8", body: body,
                        contentSecurityPolicy: BootPage.contentSecurityPolicy)
    }

    /// What the boot page's script reads: always 200, whatever the boot's state.
    private func bootState() -> Response {
        let json = BootPageState(machine.snapshot(), boots: history?.boots()).json()
        var body = OutputBuffer(capacity: json.utf8.count + 1)
        body.append(json)
        body.append(UInt8(ascii: "\n"))
        return Response(status: 200, contentType: "application/json", body: body)
    }

    private func metrics(_ request: Request) -> Response {
        let choice = openMetricsAllowed ? ContentNegotiation.negotiate(accept: request.fields.header("Accept")) : .prometheusText
        let format = choice.format
        // This scrape counts itself, as client libraries' own request counters do.
        requests.record(.metrics, code: 200)
        var body = OutputBuffer(capacity: lastMetricsSize.load(ordering: .relaxed) + 512)
        writer.write(machine.snapshot(), process: processMetrics(), requests: requests, format: format, into: &body)
        if !sources.isEmpty {
            var text: [UInt8] = []
            for source in sources { source.writeExposition(format: format, into: &text) }
            body.append(text)
        }
        writer.finish(format: format, into: &body)
        lastMetricsSize.store(body.count, ordering: .relaxed)
        if ContentNegotiation.acceptsGzip(request.fields.header("Accept-Encoding")), let compressed = gzip.compress(body.bytes) {
            return Response(status: 200, contentType: choice.contentType, body: compressed, gzipped: true,
                            varies: true, counted: true)
        }
        return Response(status: 200, contentType: choice.contentType, body: body, varies: true, counted: true)
    }

    private func health() -> Response {
        let status = machine.healthStatus()
        var body = OutputBuffer(capacity: 1536)
        body.append(status.toJSON())
        body.append(UInt8(ascii: "\n"))
        return Response(status: status.isAlive ? 200 : 503, contentType: "application/json", body: body)
    }

    private func probe(_ probe: Probe, _ request: Request) -> Response {
        var body = OutputBuffer(capacity: 256)
        let passed = probe.write(machine.snapshot(), draining: draining.load(ordering: .relaxed),
                                 verbose: request.fields.verbose, into: &body)
        return Response(status: passed ? 200 : 503, contentType: "text/plain; charset=utf-8", body: body)
    }
}
