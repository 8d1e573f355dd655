// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

/// Runs a command (found on PATH) to the end: its status and output.
@discardableResult
func shell(_ arguments: [String], in directory: String? = nil) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// A CA, a server certificate for 127.0.0.1 and client certificates it signed (one without an extended
/// key usage, one for server authentication only, one with subject alternative names of each kind),
/// plus a stranger's self-signed client certificate, all made with openssl in a temporary directory.
struct TestPKI: Sendable {
    /// One set for the whole suite: making RSA keys takes a while.
    static let shared = Result { try TestPKI() }

    let directory = temporaryPath()

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let steps: [[String]] = [
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test-ca", "-keyout", "ca.key", "-out", "ca.crt"],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key", "-out", "server.csr"],
            ["sh", "-c", "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > server.ext"],
            ["openssl", "x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server.ext", "-out", "server.crt"],
            ["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=prometheus", "-keyout", "client.key", "-out", "client.csr"],
            ["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-out", "client.crt"],
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=stranger", "-keyout", "stranger.key", "-out", "stranger.crt"],
            ["sh", "-c", "printf 'extendedKeyUsage=serverAuth\\n' > server-only.ext"],
            ["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "server-only.ext", "-out", "server-only.crt"],
            ["sh", "-c", "printf 'extendedKeyUsage=clientAuth\\nsubjectAltName=DNS:prometheus.example,IP:10.0.0.7,email:ops@example.com,URI:spiffe://example/prometheus\\n' > named.ext"],
            ["openssl", "x509", "-req", "-in", "client.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "named.ext", "-out", "named.crt"],
        ]
        for step in steps {
            let result = try shell(step, in: directory)
            guard result.status == 0 else { throw Failure("\(step.joined(separator: " ")): \(result.output)") }
        }
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Writes `text` to a new file of the set, named uniquely from `name`.
    func write(_ name: String, _ text: String) throws -> String {
        let unique = path(UUID().uuidString + "-" + name)
        try text.write(toFile: unique, atomically: true, encoding: .utf8)
        return unique
    }

    /// A fresh data directory path inside the set.
    func dataDirectory() -> String { path("data-" + UUID().uuidString) }
}

/// A bcrypt hash made with the system's crypt library, through Python's crypt module.
func bcryptHash(_ password: String) throws -> String {
    let result = try shell(["python3", "-W", "ignore", "-c",
                            "import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024)))", password])
    let hash = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
    guard result.status == 0, hash.hasPrefix("$2") else { throw Failure("cannot make a bcrypt hash: \(result.output)") }
    return hash
}

@Suite("TLS and basic auth (--web.config.file)", .serialized)
struct WebSecurityTests {
    func curl(_ arguments: [String]) throws -> (code: Int, output: String) {
        let result = try shell(["curl", "-s", "-o", "/dev/stderr", "-w", "%{http_code}", "--max-time", "5"] + arguments)
        let code = Int(result.output.suffix(3)) ?? 0
        return (code, String(result.output.dropLast(3)))
    }

    @Test func httpsWithBasicAuthAndHeaders() throws {
        let pki = try TestPKI.shared.get()
        let hash = try bcryptHash("s3cret")
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
        basic_auth_users:
          prometheus: \(hash)
        http_server_config:
          headers:
            X-Frame-Options: deny
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100", "--log.level", "debug",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/metrics"
        #expect(try curl(["--cacert", pki.path("ca.crt"), "-u", "prometheus:s3cret", url]).code == 200)
        let wrong = try shell(["curl", "-s", "-i", "--cacert", pki.path("ca.crt"), "-u", "prometheus:nope", url])
        #expect(wrong.output.hasPrefix("HTTP/1.1 401"))
        #expect(wrong.output.contains("WWW-Authenticate: Basic realm=\"boot-exporter\""))
        #expect(try curl(["--cacert", pki.path("ca.crt"), url]).code == 401)
        #expect(try curl(["--cacert", pki.path("ca.crt"), "-u", "stranger:s3cret", url]).code == 401)
        let headers = try shell(["curl", "-s", "-I", "--cacert", pki.path("ca.crt"), "-u", "prometheus:s3cret", "https://127.0.0.1:\(port)/readyz"])
        #expect(headers.output.contains("X-Frame-Options: deny"))
        #expect(try curl(["http://127.0.0.1:\(port)/metrics"]).code == 0, "plain HTTP gets no answer")
        let metrics = try shell(["curl", "-s", "--cacert", pki.path("ca.crt"), "-u", "prometheus:s3cret", url]).output
        #expect(metrics.contains(#"boot_exporter_http_requests_total{handler="/metrics",code="401"} 3"#))
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
        #expect(!server.stderr.contains("s3cret") && !server.stderr.contains(hash), "no password or hash is ever logged")
    }

    @Test("a flood of wrong passwords takes one core at most, and the right one still gets in")
    func aFloodTakesOneCoreAtMost() throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", "basic_auth_users:\n  prometheus: \(try bcryptHash("s3cret"))\n")
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let pid = server.process.processIdentifier
        // utime + stime of the process, in clock ticks (/proc/PID/stat fields 14 and 15, after the name).
        func cpuSeconds() -> Double {
            let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
            let fields = stat[(stat.lastIndex(of: ")") ?? stat.startIndex)...].split(separator: " ")
            let ticks = (Double(fields.count > 13 ? fields[12] : "0") ?? 0) + (Double(fields.count > 13 ? fields[13] : "0") ?? 0)
            return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
        }
        // Six clients from another address send wrong passwords as fast as they are answered, for 4 s.
        let flood = "end=$(($(date +%s) + 4)); while [ $(date +%s) -lt $end ]; do curl -s -o /dev/null --max-time 5 --interface 127.0.0.2 -u prometheus:wrong http://127.0.0.1:\(port)/livez; done"
        let flooders = try (0..<6).map { _ in try BinaryProcess(["-c", flood], executable: "/bin/sh") }
        let startedCPU = cpuSeconds(), started = ContinuousClock.now
        usleep(1_000_000)
        #expect(try curl(["-u", "prometheus:s3cret", "http://127.0.0.1:\(port)/livez"]).code == 200, "the right password gets in")
        for flooder in flooders { flooder.wait(timeout: .seconds(15)) }
        let cores = (cpuSeconds() - startedCPU) / ((ContinuousClock.now - started) / .seconds(1))
        // bcrypt runs one check at a time: one core, and a little for HTTP.
        #expect(cores < 1.15, "the flood took \(cores) cores")
        let refused = try curl(["-u", "prometheus:wrong", "http://127.0.0.1:\(port)/livez"]).code
        #expect(refused == 401, "the flood was answered with 401, not dropped")
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    @Test func clientCertificatesAreVerified() throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/livez"
        let ca = ["--cacert", pki.path("ca.crt")]
        #expect(try curl(ca + ["--cert", pki.path("client.crt"), "--key", pki.path("client.key"), url]).code == 200)
        #expect(try curl(ca + ["--cert", pki.path("named.crt"), "--key", pki.path("client.key"), url]).code == 200)
        // Refused at the handshake, as Go's crypto/tls refuses them: no HTTP answer at all.
        #expect(try curl(ca + [url]).code == 0)
        #expect(try curl(ca + ["--cert", pki.path("stranger.crt"), "--key", pki.path("stranger.key"), url]).code == 0)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    @Test("a client certificate for server authentication only is refused at the handshake",
          arguments: ["RequireAndVerifyClientCert", "VerifyClientCertIfGiven"])
    func serverOnlyExtendedKeyUsage(clientAuth: String) throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: \(clientAuth)
          client_ca_file: ca.crt
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/livez"
        let ca = ["--cacert", pki.path("ca.crt")]
        #expect(try curl(ca + ["--cert", pki.path("server-only.crt"), "--key", pki.path("client.key"), url]).code == 0)
        #expect(try curl(ca + ["--cert", pki.path("client.crt"), "--key", pki.path("client.key"), url]).code == 200,
                "a certificate without the extension is still accepted")
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    @Test("client_allowed_sans: a client certificate must carry one of the names", arguments: [
        ("prometheus.example", true), ("10.0.0.7", true), ("ops@example.com", true), ("spiffe://example/prometheus", true),
        ("other.example", false),
    ])
    func clientAllowedSANs(allowed: String, namedCertificateAccepted: Bool) throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
          client_allowed_sans: ["\(allowed)", "unused.example"]
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/livez"
        let ca = ["--cacert", pki.path("ca.crt")]
        #expect(try curl(ca + ["--cert", pki.path("named.crt"), "--key", pki.path("client.key"), url]).code
                == (namedCertificateAccepted ? 200 : 0))
        #expect(try curl(ca + ["--cert", pki.path("client.crt"), "--key", pki.path("client.key"), url]).code == 0,
                "a verified certificate without the names is refused")
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }

    @Test func minimumTLSVersion() throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          min_version: TLS13
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/livez"
        #expect(try curl(["--cacert", pki.path("ca.crt"), "--tlsv1.3", url]).code == 200)
        #expect(try curl(["--cacert", pki.path("ca.crt"), "--tls-max", "1.2", url]).code == 0)
        server.signal(SIGTERM)
        server.wait()
    }

    @Test("versions, cipher suites and curves reach GnuTLS")
    func cipherSuitesAndCurves() throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          max_version: TLS12
          cipher_suites: [TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
          curve_preferences: [CurveP384]
          prefer_server_cipher_suites: false
        http_server_config:
          http2: true
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let tls = ["--cacert", pki.path("ca.crt"), "--tls-max", "1.2", "https://127.0.0.1:\(port)/livez"]
        #expect(try curl(["--ciphers", "ECDHE-RSA-AES256-GCM-SHA384"] + tls).code == 200)
        #expect(try curl(["--ciphers", "ECDHE-RSA-AES128-GCM-SHA256"] + tls).code == 0, "a suite not listed")
        #expect(try curl(["--curves", "P-384"] + tls).code == 200)
        #expect(try curl(["--curves", "P-256"] + tls).code == 0, "a curve not listed")
        #expect(try curl(["--cacert", pki.path("ca.crt"), "--tlsv1.3", "https://127.0.0.1:\(port)/livez"]).code == 0, "above max_version")
        server.signal(SIGTERM)
        server.wait()
    }

    @Test("ordinary YAML serves: an inline key in a block scalar, anchors, a flow mapping over lines, tags")
    func ordinaryYAMLServes() throws {
        let pki = try TestPKI.shared.get()
        let key = try String(contentsOfFile: pki.path("server.key"), encoding: .utf8)
            .split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        let config = try pki.write("web.yml", """
        # the toolkit's format, written as YAML allows
        tls_server_config:
          cert_file: !!str server.crt
          key: |-
        \(key)
          min_version: &oldest TLS12
          max_version: TLS13
        http_server_config: {
          http2: false,
          headers: {
            X-Frame-Options: sameorigin,
            Strict-Transport-Security: "max-age=31536000; includeSubDomains"
          }
        }
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let headers = try shell(["curl", "-s", "-I", "--cacert", pki.path("ca.crt"), "https://127.0.0.1:\(port)/livez"]).output
        #expect(headers.hasPrefix("HTTP/1.1 200"))
        #expect(headers.contains("X-Frame-Options: sameorigin"))
        #expect(headers.contains("Strict-Transport-Security: max-age=31536000; includeSubDomains"))
        server.signal(SIGTERM)
        server.wait()
    }

    @Test("RequireClientCert is the toolkit's older name of RequireAnyClientCert")
    func requireClientCertAlias() throws {
        let pki = try TestPKI.shared.get()
        let config = try pki.write("web.yml", """
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: RequireClientCert
          client_ca_file: ca.crt
        """)
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let url = "https://127.0.0.1:\(port)/livez"
        let ca = ["--cacert", pki.path("ca.crt")]
        #expect(try curl(ca + [url]).code == 0, "a certificate is required: refused at the handshake")
        #expect(try curl(ca + ["--cert", pki.path("client.crt"), "--key", pki.path("client.key"), url]).code == 200)
        #expect(try curl(ca + ["--cert", pki.path("stranger.crt"), "--key", pki.path("stranger.key"), url]).code == 200,
                "any certificate: RequireAnyClientCert does not verify")
        server.signal(SIGTERM)
        server.wait()
    }

    @Test("broken web configurations stop the start with one clear line", arguments: [
        ("basic_auth_users:\n  alice: hunter2\n", "not a bcrypt hash"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "missing.crt cannot be read"),
        ("tls_server_config:\n  cert_file: server.crt\n", "key_file (or key) is missing"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: SSL3\n", "min_version"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [x]\n", "\"x\" is not one of the cipher suites"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  max_versions: TLS13\n", "unknown key \"max_versions\""),
        // Security hole 2: CAs without a policy served every client, certificate or none.
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n", "client_auth_type is NoClientCert (or missing)"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: client.key\n", "private key does not match the certificate (key_file"),
        ("tls_server_config: {}\n", "tls_server_config is empty"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allowall\n", "must be one of deny, sameorigin"),
        ("basic_auth_users: {}\n---\ntls_server_config: {cert_file: server.crt, key_file: server.key}\n", "second YAML document"),
        ("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "Set-Cookie cannot be set"),
        // Accepted before, then every connection closed unanswered: libmicrohttpd had no room for the headers.
        ("http_server_config:\n  headers:\n    Content-Security-Policy: \"" + String(repeating: "a", count: 16_000) + "\"\n",
         "more than the 4096 a response may use with a connection memory limit of 16384 bytes"),
        ("basic_auth_users: [\n", "web config file"),
        ("tls_server_config:\n  cert_file: server.key\n  key_file: server.key\n", "cannot be loaded"),
    ])
    func brokenConfigurations(config: String, mentions: String) throws {
        let pki = try TestPKI.shared.get()
        let path = try pki.write("web.yml", config)
        let result = try BinaryProcess.run(["--data-dir", pki.dataDirectory(), "--web.listen-address", "127.0.0.1:0", "--web.config.file", path])
        #expect(result.status == 1)
        let errors = result.stderr.split(separator: "\n").filter { $0.hasPrefix("boot-exporter: error:") }
        #expect(errors.count == 1, "\(result.stderr)")
        #expect(errors.first?.contains(mentions) == true, "\(result.stderr)")
        #expect(!result.stderr.contains("hunter2"), "a password is never echoed")
        #expect(try BinaryProcess.run(["--web.config.file", pki.path("nope.yml")]).status == 1)
    }

    @Test("Prometheus scrapes over TLS with basic auth")
    func prometheusScrapes() throws {
        let pki = try TestPKI.shared.get()
        let hash = try bcryptHash("s3cret")
        let config = try pki.write("web.yml", "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: \(hash)\n")
        let server = try BinaryProcess(["--data-dir", pki.dataDirectory(), "--generate.records", "100",
                                        "--web.listen-address", "127.0.0.1:0", "--web.config.file", config])
        let port = try server.listeningPort()
        let prometheusPort = try freePort()
        let prometheusConfig = try pki.write("prometheus.yml", """
        global:
          scrape_interval: 1s
        scrape_configs:
          - job_name: boot
            scheme: https
            tls_config:
              ca_file: \(pki.path("ca.crt"))
            basic_auth:
              username: prometheus
              password: s3cret
            static_configs:
              - targets: ["127.0.0.1:\(port)"]
        """)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        prometheus.arguments = ["prometheus", "--config.file", prometheusConfig, "--storage.tsdb.path", pki.path("tsdb-" + UUID().uuidString),
                                "--web.listen-address", "127.0.0.1:\(prometheusPort)"]
        prometheus.standardOutput = FileHandle.nullDevice
        prometheus.standardError = FileHandle.nullDevice
        try prometheus.run()
        defer { prometheus.terminate(); prometheus.waitUntilExit() }
        var ready = ""
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let answer = try? httpGet(port: prometheusPort, "/api/v1/query?query=boot_ready"), answer.body.contains("\"value\"") {
                ready = answer.body
                break
            }
            usleep(250_000)
        }
        #expect(ready.contains("\"job\":\"boot\""), "Prometheus got samples: \(ready)")
        let up = try httpGet(port: prometheusPort, "/api/v1/query?query=up").body
        #expect(up.contains("\"1\""))
        server.signal(SIGTERM)
        server.wait()
    }

    private func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length)
                return getsockname(fd, pointer, &length)
            }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

@Suite("Loading --web.config.file: bounded, capped, stoppable")
struct WebConfigLoadingTests {
    @Test("a file that never ends (a FIFO no one writes) does not make SIGTERM wait")
    func aSignalDuringTheLoadEndsTheProcess() throws {
        let directory = temporaryPath()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let fifo = directory + "/web.yml"
        #expect(mkfifo(fifo, 0o600) == 0)
        let server = try BinaryProcess(["run", "--data-dir", directory + "/data", "--web.listen-address", "127.0.0.1:0",
                                        "--web.config.file", fifo])
        usleep(500_000)  // the process is blocked opening the FIFO
        server.signal(SIGTERM)
        let start = ContinuousClock.now
        // Generous: the old code never ended (the test's own bound then SIGKILLs it, status 9).
        let status = server.wait(timeout: .seconds(10))
        #expect(status == 0, "\(server.stderr)")
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(server.stderr.contains("msg=\"stopped while reading the web configuration file\""), "\(server.stderr)")
        #expect(!FileManager.default.fileExists(atPath: directory + "/data"), "nothing was started")
    }

    @Test("a file past the caps is refused at once with one line naming the limit")
    func oversizedFilesAreRefused() throws {
        let directory = temporaryPath()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let hash = "$2y$10$" + String(repeating: "a", count: 53)
        // 200,000 users (73 s with a linear search per key) and a 4 MB one-line flow mapping.
        let users = "basic_auth_users:\n" + (0..<200_000).map { "  user\($0): \(hash)\n" }.joined()
        let flow = "{" + (0..<300_000).map { "k\($0): v\($0)" }.joined(separator: ", ") + "}\n"
        for (name, text) in [("users.yml", users), ("flow.yml", flow)] {
            let path = directory + "/" + name
            try Data(text.utf8).write(to: URL(fileURLWithPath: path))
            let result = try BinaryProcess.run(["run", "--data-dir", directory + "/data", "--web.listen-address", "127.0.0.1:0",
                                                "--web.config.file", path], timeout: .seconds(30))
            #expect(result.status == 1)
            #expect(result.stderr.hasSuffix("more than 10000 nodes with aliases expanded; not a web configuration\n"), "\(result.stderr)")
            #expect(result.stderr.filter { $0 == "\n" }.count == 1, "one line: \(result.stderr)")
        }
        // Past 16 MiB the file is not even parsed.
        let huge = directory + "/huge.yml"
        try Data(("# " + String(repeating: "x", count: 17 << 20) + "\n").utf8).write(to: URL(fileURLWithPath: huge))
        let result = try BinaryProcess.run(["run", "--data-dir", directory + "/data", "--web.listen-address", "127.0.0.1:0",
                                            "--web.config.file", huge], timeout: .seconds(30))
        #expect(result.status == 1)
        #expect(result.stderr == "boot-exporter: error: cannot read web config file \(huge): larger than 16 MiB\n", "\(result.stderr)")
    }
}
