// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import Foundation
import Testing

/// A CA, a server certificate and key it signed, and a second key, made with openssl in a temporary
/// directory where the test configuration files go too.
struct WebConfigFiles: Sendable {
    /// One set for the suite: making RSA keys takes a while.
    static let shared = Result { try WebConfigFiles() }

    let directory = NSTemporaryDirectory() + "web-config-" + UUID().uuidString

    init() throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        for step in [
            "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=test-ca -keyout ca.key -out ca.crt",
            "openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr",
            "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 -out server.crt",
            "openssl genrsa -out other.key 2048",
        ] {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "cd '\(directory)' && " + step + " 2>/dev/null"]
            try process.run()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw CocoaError(.fileWriteUnknown) }
        }
    }

    func path(_ name: String) -> String { directory + "/" + name }

    /// Loads `text` from a file of the set, as `--web.config.file` would.
    func load(_ text: String) throws -> WebConfigFile {
        let file = path(UUID().uuidString + ".yml")
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return try WebConfigFile.load(file)
    }
}

@Suite("Web configuration file (the exporter toolkit's format)")
struct WebConfigFileTests {
    let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG"

    @Test func everyDocumentedKey() throws {
        let files = try WebConfigFiles.shared.get()
        let config = try files.load("""
        tls_server_config:
          cert_file: server.crt
          key_file: server.key
          client_auth_type: RequireAndVerifyClientCert
          client_ca_file: ca.crt
          client_allowed_sans: [prometheus.example.com, 10.0.0.1]
          min_version: TLS12
          max_version: TLS13
          cipher_suites:
          - TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
          - TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
          - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
          - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
          - TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
          - TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
          - TLS_AES_128_GCM_SHA256
          - TLS_AES_256_GCM_SHA384
          - TLS_CHACHA20_POLY1305_SHA256
          - TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
          - TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
          - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
          - TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
          curve_preferences: [X25519, CurveP256, CurveP384, CurveP521]
          prefer_server_cipher_suites: false
        basic_auth_users:
          prometheus: \(hash)
        http_server_config:
          http2: false
          headers:
            Content-Security-Policy: default-src 'self'
            X-Frame-Options: sameorigin
            X-Content-Type-Options: nosniff
            X-XSS-Protection: 1; mode=block
            Strict-Transport-Security: max-age=31536000; includeSubDomains; preload
        rate_limit:
          interval: 0s
          burst: 10
        """)
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .requireAndVerifyClientCert)
        #expect(tls.clientCAPEM?.contains("BEGIN CERTIFICATE") == true)
        #expect(tls.clientAllowedSANs == ["prometheus.example.com", "10.0.0.1"])
        #expect(tls.cipherSuites.count == 13)
        #expect(tls.preferServerCipherSuites == false)
        #expect(try GnuTLSPriorities(tls).string == "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
            + ":-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
            + ":-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-CBC:+AES-256-CBC:-MAC-ALL:+AEAD:+SHA1"
            + ":-GROUP-ALL:+GROUP-X25519:+GROUP-SECP256R1:+GROUP-SECP384R1:+GROUP-SECP521R1")
        #expect(config.basicAuthUsers == ["prometheus": hash])
        #expect(config.headers.count == 5)
    }

    /// The toolkit's own example (`docs/web-config.yml`) with the cipher suites of its tests: Debian's
    /// prometheus-node-exporter 1.5.0 starts with this file.
    @Test func aFileNodeExporterAccepts() throws {
        let files = try WebConfigFiles.shared.get()
        let config = try files.load("""
        # Minimal TLS configuration example. Additionally, a certificate and a key file
        # are needed.
        tls_server_config:
          cert_file: "server.crt"
          key_file: "server.key"
          cipher_suites:
          - TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
          - TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
          min_version: TLS12
          max_version: TLS12
        """)
        let tls = try #require(config.tls)
        #expect(try GnuTLSPriorities(tls).string == "NORMAL:-VERS-ALL:+VERS-TLS1.2:-KX-ALL:+ECDHE-RSA:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE")
        #expect(tls.clientAuth == .noClientCert && tls.clientCAPEM == nil)
    }

    @Test func ordinaryYAMLThroughTheLoader() throws {
        let files = try WebConfigFiles.shared.get()
        let config = try files.load("""
        --- # anchors, aliases, tags, quoted keys, a flow mapping over several lines
        tls_server_config: {
          cert_file: server.crt,
          "key_file": 'server.key',
          client_auth_type: !!str RequireClientCert,
          client_ca_file: ca.crt,
          min_version: &version TLS12,
          max_version: *version
        }
        basic_auth_users:
          "prometheus": !!str \(hash)
        http_server_config:
          http2: yes
          headers:
            X-Frame-Options: deny   # a comment
            Content-Security-Policy: >-
              default-src 'self';
              img-src 'self'
        ...
        """)
        let tls = try #require(config.tls)
        #expect(tls.clientAuth == .requireAnyClientCert)
        #expect(tls.minVersion == .tls12 && tls.maxVersion == .tls12)
        #expect(config.headers == ["X-Frame-Options": "deny", "Content-Security-Policy": "default-src 'self'; img-src 'self'"])
        #expect(config.basicAuthUsers == ["prometheus": hash])
    }

    @Test func inlinePEMsInBlockScalars() throws {
        let files = try WebConfigFiles.shared.get()
        let indent = { (name: String) throws -> String in
            try String(contentsOfFile: files.path(name), encoding: .utf8).split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        }
        let config = try files.load("""
        tls_server_config:
          cert: |
        \(try indent("server.crt"))
          key: |-
        \(try indent("server.key"))
          client_ca: |
        \(try indent("ca.crt"))
          client_auth_type: VerifyClientCertIfGiven
        """)
        let tls = try #require(config.tls)
        #expect(tls.certificatePEM.hasPrefix("-----BEGIN CERTIFICATE-----\n"))
        #expect(tls.clientAuth == .verifyClientCertIfGiven)
        #expect(tls.clientCAPEM != nil)
    }

    @Test("refusals are one line naming the key", arguments: [
        // Security hole 2: client CAs without a policy would leave client certificates unchecked.
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_ca_file: ca.crt\n", "client_auth_type is NoClientCert (or missing)"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: NoClientCert\n  client_ca_file: ca.crt\n", "client_auth_type is NoClientCert"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n", "needs client_ca_file"),
        ("tls_server_config: {}\n", "tls_server_config is empty"),
        ("tls_server_config:\n", "tls_server_config is empty"),
        ("tls_server_config:\n  min_version: TLS13\n", "tls_server_config.cert_file (or cert) is missing"),
        ("tls_server_config:\n  cert_file: server.crt\n", "tls_server_config.key_file (or key) is missing"),
        ("tls_server_config:\n  cert: x\n  cert_file: server.crt\n  key_file: server.key\n", "give cert_file or cert, not both"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: other.key\n", "private key does not match the certificate (key_file"),
        ("tls_server_config:\n  cert_file: missing.crt\n  key_file: server.key\n", "tls_server_config.cert_file"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: Always\n", "client_auth_type \"Always\" is not one of"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: SSL3\n", "min_version \"SSL3\""),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  min_version: TLS13\n  max_version: TLS12\n", "newer than max_version"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_RSA_WITH_RC4_128_SHA]\n", "\"TLS_RSA_WITH_RC4_128_SHA\" is not one of"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n", "would also enable TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suites: TLS_AES_128_GCM_SHA256\n", "cipher_suites must be a list"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  max_version: TLS12\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n", "no listed suite can be used"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  curve_preferences: [CurveP224]\n", "\"CurveP224\" is not one of"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  prefer_server_cipher_suites: \"true\"\n", "must be true or false"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAnyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [a]\n", "client_allowed_sans needs"),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  client_allowed_sans: [\"a b\"]\n", "client_allowed_sans: \"a b\""),
        ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  cipher_suite: []\n", "unknown key \"cipher_suite\" in tls_server_config (line 4)"),
        ("basic_auth_users:\n  alice: hunter2\n", "not a bcrypt hash"),
        ("basic_auth_users:\n  alice: {password: hunter2}\n", "not a bcrypt hash"),
        ("basic_auth_users: [alice]\n", "basic_auth_users must be a mapping"),
        ("http_server_config:\n  headers:\n    Set-Cookie: a=b\n", "Set-Cookie cannot be set"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: allowall\n", "X-Frame-Options must be one of deny, sameorigin"),
        ("http_server_config:\n  headers:\n    X-Frame-Options: DENY\n", "X-Frame-Options must be one of deny, sameorigin"),
        ("http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n", "X-Content-Type-Options must be one of nosniff"),
        ("http_server_config:\n  headers:\n    X-Content-Type-Options:\n", "X-Content-Type-Options must be one of nosniff"),
        ("http_server_config:\n  headers:\n    Strict-Transport-Security: max-age=one year\n", "Strict-Transport-Security must be"),
        ("http_server_config:\n  headers:\n    Content-Security-Policy: \"a\\r\\nSet-Cookie: x\"\n", "line break"),
        ("http_server_config:\n  http2: maybe\n", "http_server_config.http2 must be true or false"),
        ("http_server_config:\n  http3: true\n", "unknown key \"http3\" in http_server_config"),
        ("rate_limit:\n  interval: 1s\n  burst: 10\n", "rate_limit.interval: not applied, so refused"),
        ("rate_limit:\n  interval: 1m30s\n", "the kubelet's probes"),
        ("rate_limit:\n  interval: soon\n", "rate_limit.interval must be a duration"),
        ("rate_limit:\n  burst: ten\n", "rate_limit.burst must be an integer"),
        ("tls_config: {}\n", "unknown key \"tls_config\" in the file"),
        ("- a\n", "the file must be a mapping"),
        ("basic_auth_users: {}\n---\ntls_server_config: {}\n", "line 2: a second YAML document"),
        ("a: [\n", "line 2:"),
    ])
    func refusals(text: String, mentions: String) throws {
        let files = try WebConfigFiles.shared.get()
        #expect {
            try files.load(text)
        } throws: { error in
            let line = "\(error)"
            return line.hasPrefix("web config file \(files.directory)/") && line.contains(mentions)
                && !line.contains("\n") && !line.contains("hunter2")
        }
    }

    @Test func blankHeadersAreNotSentAndEmptyFilesServePlainHTTP() throws {
        let files = try WebConfigFiles.shared.get()
        let config = try files.load("http_server_config:\n  headers:\n    Content-Security-Policy: ''\n    X-XSS-Protection:\n")
        #expect(config.headers.isEmpty)
        #expect(try files.load("").tls == nil)
        #expect(try files.load("# nothing\nbasic_auth_users:\nrate_limit:\n  interval: 0\n").basicAuthUsers.isEmpty)
    }

    @Test func unreadableFiles() {
        #expect(throws: WebConfigFile.Failure.self) { try WebConfigFile.load("/nonexistent/web.yml") }
    }
}
