// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import BootFSM
import Foundation
import Synchronization
import Testing

@Suite("Endpoints")
struct EndpointTests {
    /// Expected status codes of /health, /livez, /readyz, /startupz per phase.
    static let expectations: [(BootPhase, health: Int, livez: Int, readyz: Int, startupz: Int)] = [
        (.uninitialized, 200, 200, 503, 503),
        (.initializing, 200, 200, 503, 503),
        (.migrating, 200, 200, 503, 503),
        (.recovering, 200, 200, 503, 503),
        (.readOnlyRecovery, 200, 200, 503, 503),
        (.forceRecovery, 200, 200, 503, 503),
        (.warmingUp, 200, 200, 503, 503),
        (.ready, 200, 200, 200, 200),
        (.shuttingDown, 200, 200, 503, 200),
        (.failed, 503, 503, 503, 503),
    ]

    @Test("status codes of every endpoint in every phase", arguments: expectations.map(\.0))
    func statusCodes(phase: BootPhase) throws {
        let expected = Self.expectations.first { $0.0 == phase }!
        let fsm = try drivenMachine(to: phase)
        try withServer(fsm) { _, port in
            #expect(try HTTPTestClient.get(port: port, "/health").status == expected.health)
            #expect(try HTTPTestClient.get(port: port, "/livez").status == expected.livez)
            #expect(try HTTPTestClient.get(port: port, "/readyz").status == expected.readyz)
            #expect(try HTTPTestClient.get(port: port, "/startupz").status == expected.startupz)
            #expect(try HTTPTestClient.get(port: port, "/metrics").status == 200)
            #expect(try HTTPTestClient.get(port: port, "/").status == 200)
            let health = try HTTPTestClient.get(port: port, "/health")
            #expect(health.header("Content-Type") == "application/json")
            let decoded = try JSONDecoder().decode(HealthStatus.self, from: Data(health.body))
            #expect(decoded.phase == phase)
        }
    }

    @Test func verboseProbesListTheirChecks() throws {
        let fsm = try drivenMachine(to: .recovering)
        try withServer(fsm) { _, port in
            let readyz = try HTTPTestClient.get(port: port, "/readyz?verbose")
            #expect(readyz.status == 503)
            #expect(readyz.text == "[+]ping ok\n[-]boot failed: booting: phase recover, 40% done\n[+]shutdown ok\nreadyz check failed\n")
            let livez = try HTTPTestClient.get(port: port, "/livez?verbose=1")
            #expect(livez.text == "[+]ping ok\n[+]boot ok\nlivez check passed\n")
            #expect(try HTTPTestClient.get(port: port, "/livez").text == "ok")
            #expect(try HTTPTestClient.get(port: port, "/livez?verbose=false").text == "ok")
            let startupz = try HTTPTestClient.get(port: port, "/startupz?verbose")
            #expect(startupz.text.contains("[-]boot failed: booting: phase recover"))
        }
    }

    @Test func failedProbesGiveTheReasonOnOneLine() throws {
        let fsm = try drivenMachine(to: .recovering)
        fsm.fail(reason: "disk\nerror \"7\"")
        try withServer(fsm) { _, port in
            let livez = try HTTPTestClient.get(port: port, "/livez?verbose")
            #expect(livez.status == 503)
            #expect(livez.text == "[+]ping ok\n[-]boot failed: boot failed in phase recover: Failed in recover: disk error \"7\"\nlivez check failed\n")
        }
    }

    @Test func readyzFailsAsSoonAsShutdownBegins() throws {
        let fsm = try drivenMachine(to: .ready)
        try withServer(fsm) { server, port in
            #expect(try HTTPTestClient.get(port: port, "/readyz").status == 200)
            server.beginShutdown()
            let readyz = try HTTPTestClient.get(port: port, "/readyz?verbose")
            #expect(readyz.status == 503)
            #expect(readyz.text.contains("[-]shutdown failed: shutting down"))
            #expect(try HTTPTestClient.get(port: port, "/livez").status == 200)
        }
    }

    @Test func landingPageLinksTheEndpoints() throws {
        try withServer(BootStateMachine(), configure: { $0.metricsPath = "/boot/metrics" }) { _, port in
            let page = try HTTPTestClient.get(port: port, "/")
            #expect(page.header("Content-Type") == "text/html; charset=utf-8")
            for link in ["/boot/metrics", "/health", "/livez", "/readyz", "/startupz"] {
                #expect(page.text.contains("href=\"\(link)"))
            }
            #expect(try HTTPTestClient.get(port: port, "/boot/metrics").status == 200)
            #expect(try HTTPTestClient.get(port: port, "/metrics").status == 404)
        }
    }

    @Test func unknownPathsAndMethods() throws {
        try withServer(BootStateMachine()) { _, port in
            let missing = try HTTPTestClient.get(port: port, "/nope")
            #expect(missing.status == 404)
            for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"] {
                let response = try HTTPTestClient(port: port).request(method, "/metrics", body: method == "POST" ? "x=1" : nil)
                #expect(response.status == 405, "\(method)")
                #expect(response.header("Allow") == "GET, HEAD")
            }
            let metrics = try HTTPTestClient.get(port: port, "/metrics").text
            #expect(metrics.contains(#"boot_exporter_http_requests_total{handler="/metrics",code="405"} 6"#))
            #expect(metrics.contains(#"boot_exporter_http_requests_total{handler="other",code="404"} 1"#))
            #expect(metrics.contains(#"boot_exporter_http_requests_total{handler="/metrics",code="200"} 1"#))
        }
    }

    /// The handler gets the path as a C string: a decoded NUL would cut `/metrics%00x` short and
    /// serve it as `/metrics`. Every other escape still decodes.
    @Test("percent escapes decode, except %00, which matches no route")
    func percentEscapes() throws {
        try withServer(BootStateMachine()) { _, port in
            #expect(try HTTPTestClient.get(port: port, "/metric%73").status == 200)
            #expect(try HTTPTestClient.get(port: port, "/%68ealth").status == 200)
            #expect(try HTTPTestClient.get(port: port, "/%6detrics").status == 200, "lower-case hex")
            for target in ["/metrics%", "/metrics%7", "/metrics%zz", "/%%6detrics"] {
                let status = try HTTPTestClient.get(port: port, target).status
                #expect(status == 404, "\(target): an incomplete escape stays as written")
            }
            for target in ["/metrics%00x", "/metrics%00", "/health%00.json", "/%00"] {
                let status = try HTTPTestClient.get(port: port, target).status
                #expect(status == 404, "\(target)")
            }
        }
    }

    @Test func headHasTheHeadersButNoBody() throws {
        let fsm = try drivenMachine(to: .recovering)
        try withServer(fsm) { _, port in
            let client = try HTTPTestClient(port: port)
            for path in ["/metrics", "/health", "/readyz", "/"] {
                let get = try client.request("GET", path)
                let head = try client.request("HEAD", path)
                #expect(head.status == get.status)
                #expect(head.header("Content-Type") == get.header("Content-Type"))
                #expect(head.body.isEmpty)
                #expect(Int(head.header("Content-Length") ?? "") ?? -1 > 0)
            }
        }
    }

    @Test func keepAliveServesManyRequestsOnOneConnection() throws {
        try withServer(try drivenMachine(to: .ready)) { _, port in
            let client = try HTTPTestClient(port: port)
            for index in 0..<20 {
                let response = try client.request("GET", index % 2 == 0 ? "/metrics" : "/readyz")
                #expect(response.status == 200)
                #expect(response.header("Connection")?.lowercased() != "close")
            }
            // Pipelined: three requests in one write, three answers in order.
            try client.send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")
            #expect(try client.readResponse().status == 200)
            #expect(try client.readResponse().status == 404)
            #expect(try client.readResponse().status == 200)
        }
    }

    @Test func malformedRequestsGetAnErrorAndTheServerLivesOn() throws {
        try withServer(BootStateMachine()) { _, port in
            let garbage = try HTTPTestClient(port: port)
            try garbage.send("\u{0}\u{1}GARBAGE\r\n\r\n")
            _ = garbage.isClosedByPeer()
            let huge = try HTTPTestClient(port: port)
            try? huge.send("GET /" + String(repeating: "a", count: 100_000) + " HTTP/1.1\r\nHost: x\r\n\r\n")
            // An error status, or the connection closed: never a success.
            let answered = try? huge.readResponse()
            #expect(answered.map { $0.status >= 400 } ?? true)
            #expect(try HTTPTestClient.get(port: port, "/livez").status == 200)
        }
    }

    /// The default per-connection memory (16 KiB, below libmicrohttpd's 32) still takes a scrape
    /// carrying a large bearer token, several requests in a row on one connection; headers past
    /// it get 431, and the server goes on serving other connections.
    @Test func defaultConnectionMemoryTakesLargeTokens() throws {
        #expect(ExporterConfiguration().connectionMemoryLimit == 16 * 1024)
        try withServer(try drivenMachine(to: .ready)) { _, port in
            let client = try HTTPTestClient(port: port)
            let token = "Bearer " + String(repeating: "t", count: 12_000)
            for _ in 0..<3 {
                let response = try client.request("GET", "/metrics", headers: [
                    "Authorization": token, "Accept": "application/openmetrics-text;version=1.0.0;q=0.5,text/plain;q=0.4",
                ])
                #expect(response.status == 200)
                #expect(response.header("Content-Type")?.hasPrefix("application/openmetrics-text") == true)
            }
            let tooLarge = try HTTPTestClient(port: port)
            let refused = try tooLarge.request("GET", "/metrics", headers: ["Authorization": "Bearer " + String(repeating: "t", count: 20_000)])
            #expect(refused.status == 431)
            #expect(try HTTPTestClient.get(port: port, "/metrics").status == 200)
        }
    }

    /// libmicrohttpd builds a response's headers in the connection's memory and, when they do not fit,
    /// closes every connection without an answer: headers that cannot fit are refused at start, with
    /// the limit, and headers just under it are served. The limit follows the configured memory.
    @Test func responseHeadersMustFitTheConnectionMemory() throws {
        let name = "Content-Security-Policy"
        func policy(_ bytes: Int) -> String { "default-src 'self'; " + String(repeating: "a", count: bytes - 20) }
        func start(_ headers: [String: String], memory: Int = 16 * 1024) throws -> ExporterError? {
            let server = BootExporterServer(machine: BootStateMachine(), configuration: ExporterConfiguration(
                host: "127.0.0.1", port: 0, connectionMemoryLimit: memory, responseHeaders: headers))
            defer { server.stop() }
            do { try server.start() } catch { return error }
            return nil
        }
        let error = try #require(try start([name: policy(16_000)]))
        #expect("\(error)".contains("4096"), "\(error)")
        #expect("\(error)".contains("16384"), "\(error)")
        #expect(!"\(error)".contains("\n"))
        // One byte over a quarter of the memory is refused; exactly a quarter ("name: value\r\n") is served.
        let limit = 16 * 1024 / 4 - name.utf8.count - 4
        #expect(try start([name: policy(limit + 1)]) != nil)
        for (memory, value) in [(16 * 1024, policy(limit)), (128 * 1024, policy(16_000))] {
            try withServer(try drivenMachine(to: .ready), configure: {
                $0.connectionMemoryLimit = memory
                $0.responseHeaders = [name: value]
            }) { _, port in
                let client = try HTTPTestClient(port: port)
                for path in ["/livez", "/metrics", "/nowhere"] {
                    let response = try client.request("GET", path, headers: ["User-Agent": "Prometheus/3.0"])
                    #expect(response.status == (path == "/nowhere" ? 404 : 200))
                    #expect(response.header(name) == value)
                }
            }
        }
    }

    /// Framing two parsers could read differently gets 400 and a closed connection before any handler
    /// runs (RFC 9112 3.2 and 6.3): libmicrohttpd alone reads the first of two Content-Length values,
    /// so the rest of the body would be served as a second request, and it serves HTTP/1.1 without Host.
    @Test func ambiguousFramingGets400() throws {
        try withServer(try drivenMachine(to: .ready)) { _, port in
            let smuggled = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
            let refused = [
                "GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: \(smuggled.utf8.count)\r\n\r\n" + smuggled,
                "GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: \(smuggled.utf8.count)\r\ncontent-length: 0\r\n\r\n" + smuggled,
                "GET /livez HTTP/1.1\r\n\r\n",
                "GET /livez HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            ]
            for request in refused {
                let client = try HTTPTestClient(port: port)
                try client.send(request)
                let response = try client.readResponse()
                #expect(response.status == 400, "\(request.debugDescription): \(response.status)")
                #expect(response.text.hasPrefix("400 bad request: "))
                // Nothing more: the smuggled request is never answered.
                #expect(client.isClosedByPeer(), "\(request.debugDescription)")
            }
            // What stays accepted: one length given twice, HTTP/1.0 without Host, and the ordinary request.
            let accepted = [
                "GET /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nContent-Length: 0\r\n\r\n",
                "GET /livez HTTP/1.0\r\n\r\n",
                "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n",
            ]
            for request in accepted {
                let client = try HTTPTestClient(port: port)
                try client.send(request)
                #expect(try client.readResponse().status == 200, "\(request.debugDescription)")
            }
        }
    }

    @Test func startErrors() throws {
        try withServer(BootStateMachine()) { server, port in
            #expect(throws: ExporterError.alreadyStarted) { try server.start() }
            let second = BootExporterServer(machine: BootStateMachine(),
                                            configuration: ExporterConfiguration(host: "127.0.0.1", port: port))
            let error = #expect(throws: ExporterError.self) { try second.start() }
            #expect("\(error!)".contains("127.0.0.1:\(port)"))
            #expect("\(error!)".lowercased().contains("in use"))
        }
        let badPath = BootExporterServer(machine: BootStateMachine(), configuration: ExporterConfiguration(metricsPath: "metrics"))
        #expect(throws: ExporterError.self) { try badPath.start() }
        let badHost = BootExporterServer(machine: BootStateMachine(),
                                         configuration: ExporterConfiguration(host: "no-such-host.invalid", port: 0))
        #expect(throws: ExporterError.self) { try badHost.start() }
    }

    @Test func stopClosesTheListenerAndCanBeRepeated() throws {
        let server = BootExporterServer(machine: BootStateMachine(),
                                        configuration: ExporterConfiguration(host: "127.0.0.1", port: 0))
        try server.start()
        let port = try #require(server.port)
        let idle = try HTTPTestClient(port: port)
        #expect(try idle.request("GET", "/livez").status == 200)
        server.stop()
        server.stop()
        #expect(server.port == nil)
        #expect(throws: (any Error).self) { try HTTPTestClient(port: port).request("GET", "/livez") }
        #expect(idle.isClosedByPeer(), "idle keep-alive connections are closed at stop")
    }

    @Test("a request target in absolute form is served as its path")
    func absoluteFormTargets() throws {
        #expect(Request.path(ofTarget: "/metrics") == "/metrics")
        #expect(Request.path(ofTarget: "http://127.0.0.1:9851/metrics") == "/metrics")
        #expect(Request.path(ofTarget: "HTTPS://db-0/readyz?verbose") == "/readyz?verbose")
        #expect(Request.path(ofTarget: "http://db-0") == "/")
        try withServer(try drivenMachine(to: .ready)) { _, port in
            let client = try HTTPTestClient(port: port)
            #expect(try client.request("GET", "http://127.0.0.1:\(port)/readyz").status == 200)
            #expect(try client.request("GET", "http://127.0.0.1:\(port)/nope").status == 404)
        }
    }

    @Test("a server started again after a stop is ready again")
    func restartAfterStop() throws {
        let server = BootExporterServer(machine: try drivenMachine(to: .ready),
                                        configuration: ExporterConfiguration(host: "127.0.0.1", port: 0))
        try server.start()
        #expect(try HTTPTestClient.get(port: try #require(server.port), "/readyz").status == 200)
        server.stop()
        try server.start()
        defer { server.stop() }
        #expect(try HTTPTestClient.get(port: try #require(server.port), "/readyz").status == 200)
    }

    /// While a stop waits for a request in flight, connections that arrive are closed unanswered,
    /// and the stop still ends after its grace period.
    @Test func aStoppingServerRefusesNewConnections() throws {
        let server = BootExporterServer(machine: BootStateMachine(),
                                        configuration: ExporterConfiguration(host: "127.0.0.1", port: 0,
                                                                             shutdownGracePeriod: .seconds(1)))
        try server.start()
        let port = try #require(server.port)
        // Headers without the body they announce: the request stays in flight.
        let holder = try HTTPTestClient(port: port)
        try holder.send("POST /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
        // Stopped before the server had read those headers, the stop had nothing to wait for (seen
        // under AddressSanitizer): wait until it counts the request, the only one so far.
        let seen = ContinuousClock.now + .seconds(10)
        while server.requestsInFlight != 1 && ContinuousClock.now < seen { usleep(1_000) }
        try #require(server.requestsInFlight == 1)
        #expect(try HTTPTestClient(port: port).request("GET", "/livez").status == 200)
        let stopped = DispatchSemaphore(value: 0)
        let started = ContinuousClock.now
        // A thread of its own: the global queue may be busy with the other tests' clients.
        Thread.detachNewThread {
            server.stop()
            stopped.signal()
        }
        // `port` turns nil as the stop begins; the connections are refused right after.
        let deadline = ContinuousClock.now + .seconds(10)
        while server.port != nil && ContinuousClock.now < deadline { usleep(1_000) }
        usleep(100_000)
        // The listening socket is still open, so the connection is made, and then closed unanswered.
        #expect(throws: (any Error).self) { try HTTPTestClient(port: port).request("GET", "/livez") }
        stopped.wait()
        #expect(ContinuousClock.now - started >= .milliseconds(900), "the stop waited for the request in flight")
        #expect(holder.isClosedByPeer())
    }

    /// Stopping while clients keep connecting and scraping, again and again: every response that
    /// arrives is whole, and the process goes on. (It did not reproduce the abort that quiescing
    /// caused, which needs rarer timing; `aStoppingServerRefusesNewConnections` checks the refusal.)
    @Test func stoppingUnderLoadCutsNoResponse() throws {
        for _ in 0..<12 {
            let server = BootExporterServer(machine: try drivenMachine(to: .recovering),
                                            configuration: ExporterConfiguration(host: "127.0.0.1", port: 0, threads: 2,
                                                                                 shutdownGracePeriod: .milliseconds(200)))
            try server.start()
            let port = try #require(server.port)
            let stopping = Atomic<Bool>(false)
            let answered = Atomic<Int>(0)
            let cut = Atomic<Int>(0)
            let clients = DispatchGroup()
            for _ in 0..<3 {
                DispatchQueue.global().async(group: clients) {
                    while !stopping.load(ordering: .relaxed) {
                        guard let client = try? HTTPTestClient(port: port) else { continue }
                        for _ in 0..<4 {
                            guard let response = try? client.request("GET", "/metrics") else { break }
                            if response.status == 200, response.text.hasSuffix("\n") {
                                answered.wrappingAdd(1, ordering: .relaxed)
                            } else {
                                cut.wrappingAdd(1, ordering: .relaxed)
                            }
                        }
                    }
                }
            }
            // Stopped once the clients are being answered (within 10 s: the suites run side by side).
            let deadline = ContinuousClock.now + .seconds(10)
            while answered.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline { usleep(1_000) }
            server.stop()
            stopping.store(true, ordering: .relaxed)
            clients.wait()
            #expect(answered.load(ordering: .relaxed) > 0)
            #expect(cut.load(ordering: .relaxed) == 0)
        }
    }
}
