// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The web configuration file shared by Prometheus exporters (the exporter toolkit's format, as
/// `--web.config.file` reads it). Unknown keys are errors, as the toolkit's strict parsing makes
/// them; file paths are relative to the configuration file.
///
/// ```yaml
/// tls_server_config:
///   cert_file: server.crt
///   key_file: server.key
///   client_auth_type: RequireAndVerifyClientCert   # default NoClientCert
///   client_ca_file: ca.crt
///   min_version: TLS12                              # default TLS12
/// basic_auth_users:
///   prometheus: $2y$10$…                            # bcrypt hashes only
/// http_server_config:
///   headers:
///     X-Frame-Options: deny
/// ```
public struct WebConfigFile: Sendable {
    /// TLS for the listener, when `tls_server_config` is given.
    public var tls: TLSConfiguration?
    /// User names and their bcrypt hashes.
    public var basicAuthUsers: [String: String]
    /// Headers added to every response.
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
        let root: [(key: String, value: YAMLNode)]
        do {
            root = try mapping(try YAMLReader.read(text), "the file")
        } catch let failure as YAMLReader.Failure {
            throw Failure(description: failure.description)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(description: "\(error)")
        }
        try checkKeys(root, allowed: ["tls_server_config", "basic_auth_users", "http_server_config"], in: "the file")
        if let tlsNode = root.value(of: "tls_server_config") {
            let tls = try mapping(tlsNode, "tls_server_config")
            try checkKeys(tls, allowed: ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version",
                                           "client_allowed_sans"],
                          in: "tls_server_config")
            let certificate = try readFile(try string(tls.value(of: "cert_file"), "tls_server_config.cert_file"), base, "cert_file")
            let key = try readFile(try string(tls.value(of: "key_file"), "tls_server_config.key_file"), base, "key_file")
            var clientAuth = TLSConfiguration.ClientAuth.noClientCert
            if let value = tls.value(of: "client_auth_type") {
                let name = try string(value, "tls_server_config.client_auth_type")
                guard let parsed = TLSConfiguration.ClientAuth(rawValue: name) else {
                    throw Failure(description: "tls_server_config.client_auth_type \"\(name)\" is not one of \(TLSConfiguration.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                clientAuth = parsed
            }
            var minVersion = TLSConfiguration.Version.tls12
            if let value = tls.value(of: "min_version") {
                let name = try string(value, "tls_server_config.min_version")
                guard let parsed = TLSConfiguration.Version(rawValue: name) else {
                    throw Failure(description: "tls_server_config.min_version \"\(name)\" is not one of TLS10, TLS11, TLS12, TLS13")
                }
                minVersion = parsed
            }
            var ca: String?
            if let value = tls.value(of: "client_ca_file") {
                ca = try readFile(try string(value, "tls_server_config.client_ca_file"), base, "client_ca_file")
            }
            var allowedSANs: [String] = []
            if let value = tls.value(of: "client_allowed_sans") {
                guard case .sequence(let names) = value else { throw Failure(description: "tls_server_config.client_allowed_sans must be a list") }
                for name in names { allowedSANs.append(try string(name, "tls_server_config.client_allowed_sans")) }
            }
            config.tls = TLSConfiguration(certificatePEM: certificate, keyPEM: key, clientAuth: clientAuth,
                                          clientCAPEM: ca, minVersion: minVersion, clientAllowedSANs: allowedSANs)
        }
        if let usersNode = root.value(of: "basic_auth_users") {
            for (user, hash) in try mapping(usersNode, "basic_auth_users") {
                // The value is never repeated in an error: it could be a plaintext password.
                guard case .scalar(let hash) = hash else {
                    throw Failure(description: "basic_auth_users: the entry of \"\(user)\" must be a bcrypt hash")
                }
                config.basicAuthUsers[user] = hash
            }
        }
        if let serverNode = root.value(of: "http_server_config") {
            let server = try mapping(serverNode, "http_server_config")
            try checkKeys(server, allowed: ["headers"], in: "http_server_config")
            if let headersNode = server.value(of: "headers") {
                for (name, value) in try mapping(headersNode, "http_server_config.headers") {
                    config.headers[name] = try string(value, "http_server_config.headers.\(name)")
                }
            }
        }
        return config
    }

    private static func mapping(_ node: YAMLNode, _ name: String) throws(Failure) -> [(key: String, value: YAMLNode)] {
        switch node {
        case .null: return []
        case .mapping(let entries): return entries
        default: throw Failure(description: "\(name) must be a mapping")
        }
    }

    private static func string(_ node: YAMLNode?, _ name: String) throws(Failure) -> String {
        guard let node, node != .null else { throw Failure(description: "\(name) is missing") }
        guard case .scalar(let text) = node else { throw Failure(description: "\(name) must be a string") }
        return text
    }

    private static func checkKeys(_ mapping: [(key: String, value: YAMLNode)], allowed: Set<String>,
                                  in name: String) throws(Failure) {
        if let unknown = mapping.map(\.key).sorted().first(where: { !allowed.contains($0) }) {
            throw Failure(description: "unknown key \"\(unknown)\" in \(name)")
        }
    }

    private static func readFile(_ path: String, _ base: String, _ name: String) throws(Failure) -> String {
        let resolved = path.hasPrefix("/") ? path : base + path
        do {
            return try readText(resolved)
        } catch {
            throw Failure(description: "\(name) \(resolved) cannot be read: \(error.description)")
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

extension [(key: String, value: YAMLNode)] {
    /// The value of `key`, when present.
    fileprivate func value(of key: String) -> YAMLNode? {
        first { $0.key == key }?.value
    }
}
