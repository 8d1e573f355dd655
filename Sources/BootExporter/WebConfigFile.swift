// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The web configuration file shared by Prometheus exporters (the exporter toolkit's format, as
/// `--web.config.file` reads it): every key of the toolkit's `docs/web-configuration.md` is read, and a
/// key or value that boot-exporter cannot honour is refused with its reason, never ignored. Unknown keys
/// are errors, as the toolkit's strict parsing makes them; file paths are relative to the configuration
/// file.
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt                          # or cert: the PEM inline
///   key_file: server.key                           # or key
///   client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
///   client_ca_file: ca.crt                         # or client_ca
///   client_allowed_sans: [prometheus.example.com]
///   min_version: TLS12                             # default TLS12
///   max_version: TLS13                             # default TLS13
///   cipher_suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384]
///   curve_preferences: [X25519, CurveP256]
///   prefer_server_cipher_suites: true              # default true
/// basic_auth_users:
///   prometheus: $2y$10$…                            # bcrypt hashes only
/// http_server_config:
///   http2: true                                    # served as HTTP/1.1 either way
///   headers:
///     X-Frame-Options: deny
/// rate_limit:
///   interval: 0                                    # no rate limit
/// ```
public struct WebConfigFile: Sendable {
    /// TLS for the listener, when `tls_server_config` is given.
    public var tls: TLSConfiguration?
    /// User names and their bcrypt hashes.
    public var basicAuthUsers: [String: String]
    /// Headers added to every response (those given blank, which the toolkit does not send, left out).
    public var headers: [String: String]

    /// A configuration with nothing in it: plain HTTP, no authentication, no extra headers.
    public init(tls: TLSConfiguration? = nil, basicAuthUsers: [String: String] = [:], headers: [String: String] = [:]) {
        self.tls = tls
        self.basicAuthUsers = basicAuthUsers
        self.headers = headers
    }

    /// Why a file cannot be used, in one line naming the file and the key or line.
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads and checks the file at `path` (the certificate, key and CA files it names too).
    public static func load(_ path: String) throws(Failure) -> WebConfigFile {
        let text: String
        do {
            text = try readText(path)
        } catch {
            throw Failure(description: "cannot read web config file \(path): \(error.description)")
        }
        let base = path.lastIndex(of: "/").map { String(path[...$0]) } ?? ""
        do {
            return try parse(text, baseDirectory: base)
        } catch {
            throw Failure(description: "web config file \(path): \(error.description)")
        }
    }

    /// The configuration in `text`; relative file names are taken from `baseDirectory` (empty, or
    /// ending in `/`).
    static func parse(_ text: String, baseDirectory base: String) throws(Failure) -> WebConfigFile {
        var config = WebConfigFile()
        let document: YAMLNode?
        do {
            document = try YAMLReader.read(text)
        } catch {
            throw Failure(description: error.description)
        }
        guard let document, !document.isNull else { return config }
        let root = try mapping(document, "the file")
        try checkKeys(root, allowed: ["tls_server_config", "basic_auth_users", "http_server_config", "rate_limit"], in: "the file")
        if let tlsNode = root.value(of: "tls_server_config") {
            config.tls = try tlsConfiguration(tlsNode, base: base)
        }
        if let usersNode = root.value(of: "basic_auth_users"), !usersNode.isNull {
            for entry in try mapping(usersNode, "basic_auth_users") {
                // The value is never repeated in an error: it could be a plaintext password.
                guard case .scalar(let hash) = entry.value, BasicAuthenticator.isBcryptHash(hash.text) else {
                    throw Failure(description: "basic_auth_users: the entry of \"\(entry.key)\" is not a bcrypt hash ($2a$, $2b$ or $2y$); store hashes, never passwords")
                }
                guard !entry.key.isEmpty, !entry.key.contains(":") else {
                    throw Failure(description: "basic_auth_users: \"\(entry.key)\" is not a valid user name (empty, or holds \":\")")
                }
                config.basicAuthUsers[entry.key] = hash.text
            }
        }
        if let serverNode = root.value(of: "http_server_config"), !serverNode.isNull {
            let server = try mapping(serverNode, "http_server_config")
            try checkKeys(server, allowed: ["headers", "http2"], in: "http_server_config")
            // HTTP/2 is negotiated (ALPN): libmicrohttpd offers HTTP/1.1 only, which every client that
            // asks for h2 also speaks, so `true` and `false` serve the same.
            _ = try bool(server.value(of: "http2"), "http_server_config.http2")
            if let headersNode = server.value(of: "headers"), !headersNode.isNull {
                for entry in try mapping(headersNode, "http_server_config.headers") {
                    let value = try string(entry.value, "http_server_config.headers.\(entry.key)") ?? ""
                    if let problem = ResponseHeaders.problem(name: entry.key, value: value) {
                        throw Failure(description: "http_server_config.headers: \(problem)")
                    }
                    if !value.isEmpty { config.headers[entry.key] = value }
                }
            }
        }
        if let rateNode = root.value(of: "rate_limit"), !rateNode.isNull {
            let rate = try mapping(rateNode, "rate_limit")
            try checkKeys(rate, allowed: ["interval", "burst"], in: "rate_limit")
            _ = try integer(rate.value(of: "burst"), "rate_limit.burst")
            let interval = try duration(rate.value(of: "interval"), "rate_limit.interval") ?? .zero
            guard interval == .zero else {
                throw Failure(description: "rate_limit.interval: not applied, so refused: one limit shared by every request would answer the kubelet's probes with 429 and restart the pod (--web.max-connections-per-ip bounds one client instead); remove rate_limit or set interval: 0")
            }
        }
        return config
    }

    /// `tls_server_config`, its files read and every setting checked.
    private static func tlsConfiguration(_ node: YAMLNode, base: String) throws(Failure) -> TLSConfiguration {
        let tls = try mapping(node, "tls_server_config")
        // The toolkit serves plain HTTP for an empty section: whoever wrote it meant TLS.
        guard !tls.isEmpty else {
            throw Failure(description: "tls_server_config is empty: give cert_file and key_file (the exporter toolkit would serve plain HTTP)")
        }
        try checkKeys(tls, allowed: [
            "cert", "key", "client_ca", "cert_file", "key_file", "client_auth_type", "client_ca_file", "client_allowed_sans",
            "min_version", "max_version", "cipher_suites", "prefer_server_cipher_suites", "curve_preferences",
        ], in: "tls_server_config")
        let certificate = try pem(tls, inline: "cert", file: "cert_file", base: base, required: true)!
        let key = try pem(tls, inline: "key", file: "key_file", base: base, required: true)!
        let clientCA = try pem(tls, inline: "client_ca", file: "client_ca_file", base: base, required: false)
        if let problem = TLSConfiguration.keyPairProblem(certificatePEM: certificate.text, keyPEM: key.text) {
            throw Failure(description: "tls_server_config: \(problem) (\(key.origin), \(certificate.origin))")
        }
        var configuration = TLSConfiguration(certificatePEM: certificate.text, keyPEM: key.text, clientCAPEM: clientCA?.text)
        if let name = try string(tls.value(of: "client_auth_type"), "tls_server_config.client_auth_type") {
            guard let clientAuth = TLSConfiguration.ClientAuth(toolkitName: name) else {
                throw Failure(description: "tls_server_config.client_auth_type \"\(name)\" is not one of \(TLSConfiguration.ClientAuth.allCases.map(\.rawValue).joined(separator: ", ")) (or RequireClientCert, the older name of RequireAnyClientCert)")
            }
            configuration.clientAuth = clientAuth
        }
        configuration.minVersion = try version(tls.value(of: "min_version"), "min_version") ?? .tls12
        configuration.maxVersion = try version(tls.value(of: "max_version"), "max_version") ?? .tls13
        configuration.cipherSuites = try strings(tls.value(of: "cipher_suites"), "tls_server_config.cipher_suites")
        configuration.curvePreferences = try strings(tls.value(of: "curve_preferences"), "tls_server_config.curve_preferences")
        configuration.preferServerCipherSuites = try bool(tls.value(of: "prefer_server_cipher_suites"),
                                                          "tls_server_config.prefer_server_cipher_suites") ?? true
        configuration.clientAllowedSANs = try strings(tls.value(of: "client_allowed_sans"), "tls_server_config.client_allowed_sans")
        do {
            try configuration.validate()
        } catch {
            throw Failure(description: error.description)
        }
        return configuration
    }

    /// A PEM given inline (`inline`) or as a file (`file`), and where it came from, for errors.
    private static func pem(_ tls: [YAMLMappingEntry], inline: String, file: String, base: String,
                            required: Bool) throws(Failure) -> (text: String, origin: String)? {
        let text = try string(tls.value(of: inline), "tls_server_config.\(inline)")
        let path = try string(tls.value(of: file), "tls_server_config.\(file)")
        switch (text, path) {
        case (.some, .some):
            // The toolkit would silently use the file: say which one counts.
            throw Failure(description: "tls_server_config: give \(file) or \(inline), not both")
        case (.some(let text), nil):
            return (text, "\(inline) inline")
        case (nil, .some(let path)):
            let resolved = path.hasPrefix("/") ? path : base + path
            do {
                return (try readText(resolved), "\(file) \(resolved)")
            } catch {
                throw Failure(description: "tls_server_config.\(file) \(resolved) cannot be read: \(error.description)")
            }
        case (nil, nil):
            guard required else { return nil }
            throw Failure(description: "tls_server_config.\(file) (or \(inline)) is missing")
        }
    }

    private static func version(_ node: YAMLNode?, _ key: String) throws(Failure) -> TLSConfiguration.Version? {
        guard let name = try string(node, "tls_server_config.\(key)") else { return nil }
        guard let version = TLSConfiguration.Version(rawValue: name) else {
            throw Failure(description: "tls_server_config.\(key) \"\(name)\" is not one of \(TLSConfiguration.Version.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return version
    }

    // MARK: Types, as the toolkit's Go structs take them

    private static func mapping(_ node: YAMLNode, _ name: String) throws(Failure) -> [YAMLMappingEntry] {
        switch node {
        case .mapping(let entries): return entries
        case _ where node.isNull: return []
        default: throw Failure(description: "\(name) must be a mapping")
        }
    }

    /// A string setting; `nil` when absent, null or empty (the toolkit's "not set").
    private static func string(_ node: YAMLNode?, _ name: String) throws(Failure) -> String? {
        guard let node, !node.isNull else { return nil }
        guard case .scalar(let scalar) = node else { throw Failure(description: "\(name) must be a string") }
        return scalar.text.isEmpty ? nil : scalar.text
    }

    /// A list of strings; empty when absent or null.
    private static func strings(_ node: YAMLNode?, _ name: String) throws(Failure) -> [String] {
        guard let node, !node.isNull else { return [] }
        guard case .sequence(let items) = node else { throw Failure(description: "\(name) must be a list") }
        var texts: [String] = []
        for item in items {
            guard case .scalar(let scalar) = item, !item.isNull else { throw Failure(description: "\(name) must be a list of strings") }
            texts.append(scalar.text)
        }
        return texts
    }

    /// A boolean: YAML 1.1's words, as the toolkit's YAML library reads them, unquoted or tagged `!!bool`.
    private static func bool(_ node: YAMLNode?, _ name: String) throws(Failure) -> Bool? {
        guard let node, !node.isNull else { return nil }
        if case .scalar(let scalar) = node, scalar.tag == YAMLScalar.boolTag || (scalar.tag == nil && scalar.isPlain) {
            switch scalar.text {
            case "true", "True", "TRUE", "yes", "Yes", "YES", "y", "Y", "on", "On", "ON": return true
            case "false", "False", "FALSE", "no", "No", "NO", "n", "N", "off", "Off", "OFF": return false
            default: break
            }
        }
        throw Failure(description: "\(name) must be true or false")
    }

    /// A decimal integer, unquoted or tagged `!!int`.
    private static func integer(_ node: YAMLNode?, _ name: String) throws(Failure) -> Int? {
        guard let node, !node.isNull else { return nil }
        guard case .scalar(let scalar) = node, scalar.tag == YAMLScalar.intTag || (scalar.tag == nil && scalar.isPlain),
              let value = Int(scalar.text) else {
            throw Failure(description: "\(name) must be an integer")
        }
        return value
    }

    /// A duration as Go writes it (`1m30s`, `500ms`, `0`), or a bare integer of nanoseconds, as the
    /// toolkit's YAML library reads a Go `time.Duration`.
    private static func duration(_ node: YAMLNode?, _ name: String) throws(Failure) -> Duration? {
        guard let node, !node.isNull else { return nil }
        let failure = Failure(description: "\(name) must be a duration such as 1s, 500ms or 1m30s")
        guard case .scalar(let scalar) = node else { throw failure }
        if let nanoseconds = Int64(scalar.text) { return .nanoseconds(nanoseconds) }
        let units: [(suffix: String, nanoseconds: Double)] = [
            ("ns", 1), ("us", 1e3), ("µs", 1e3), ("ms", 1e6), ("s", 1e9), ("m", 60e9), ("h", 3600e9),
        ]
        var rest = Substring(scalar.text)
        var total = 0.0
        while !rest.isEmpty {
            let number = rest.prefix(while: { $0.isNumber || $0 == "." })
            rest = rest.dropFirst(number.count)
            let unit = rest.prefix(while: { !$0.isNumber && $0 != "." })
            rest = rest.dropFirst(unit.count)
            guard let value = Double(number), let scale = units.first(where: { $0.suffix == unit })?.nanoseconds else { throw failure }
            total += value * scale
        }
        guard !scalar.text.isEmpty, total < 9.2e18 else { throw failure }
        return .nanoseconds(Int64(total))
    }

    private static func checkKeys(_ mapping: [YAMLMappingEntry], allowed: Set<String>,
                                  in name: String) throws(Failure) {
        if let unknown = mapping.first(where: { !allowed.contains($0.key) }) {
            throw Failure(description: "unknown key \"\(unknown.key)\" in \(name) (line \(unknown.line))")
        }
    }

    /// A file's bytes as UTF-8 text; configuration and PEM files are small, so at most 16 MiB.
    static func readText(_ path: String) throws(Failure) -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(description: String(cString: strerror(errno))) }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw Failure(description: String(cString: strerror(errno)))
            }
            if count == 0 { break }
            bytes.append(contentsOf: chunk[..<count])
            guard bytes.count <= 16 << 20 else { throw Failure(description: "larger than 16 MiB") }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw Failure(description: "not UTF-8 text") }
        return text
    }
}

extension [YAMLMappingEntry] {
    /// The value of `key`, when present.
    fileprivate func value(of key: String) -> YAMLNode? {
        first { $0.key == key }?.value
    }
}
