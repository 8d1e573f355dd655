// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import Foundation
import Yams

/// `--web.config.file`: the web configuration file shared by Prometheus exporters (the exporter
/// toolkit's format). Unknown keys are errors, as the toolkit's strict parsing makes them; file
/// paths are relative to the configuration file.
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
struct WebConfigFile {
    var tls: TLSConfiguration?
    var basicAuthUsers: [String: String] = [:]
    var headers: [String: String] = [:]

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func load(_ path: String) throws(Failure) -> WebConfigFile {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw Failure(description: "cannot read web config file \(path): \((error as NSError).localizedDescription)")
        }
        let base = URL(fileURLWithPath: path).deletingLastPathComponent()
        do {
            return try parse(text, relativeTo: base)
        } catch let failure as Failure {
            throw Failure(description: "web config file \(path): \(failure.description)")
        } catch {
            throw Failure(description: "web config file \(path): \(String(describing: error).split(separator: "\n").first ?? "")")
        }
    }

    static func parse(_ text: String, relativeTo base: URL) throws -> WebConfigFile {
        var config = WebConfigFile()
        guard let loaded = try Yams.load(yaml: text) else { return config }
        let root = try mapping(loaded, "the file")
        try checkKeys(root, allowed: ["tls_server_config", "basic_auth_users", "http_server_config"], in: "the file")
        if let tlsNode = root["tls_server_config"] {
            let tls = try mapping(tlsNode, "tls_server_config")
            try checkKeys(tls, allowed: ["cert_file", "key_file", "client_auth_type", "client_ca_file", "min_version"],
                          in: "tls_server_config")
            let certificate = try readFile(try string(tls["cert_file"], "tls_server_config.cert_file"), base, "cert_file")
            let key = try readFile(try string(tls["key_file"], "tls_server_config.key_file"), base, "key_file")
            var clientAuth = TLSConfiguration.ClientAuth.noClientCert
            if let value = tls["client_auth_type"] {
                let name = try string(value, "tls_server_config.client_auth_type")
                guard let parsed = TLSConfiguration.ClientAuth(rawValue: name) else {
                    throw Failure(description: "tls_server_config.client_auth_type \"\(name)\" is not one of \(TLSConfiguration.ClientAuth.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                clientAuth = parsed
            }
            var minVersion = TLSConfiguration.Version.tls12
            if let value = tls["min_version"] {
                let name = try string(value, "tls_server_config.min_version")
                guard let parsed = TLSConfiguration.Version(rawValue: name) else {
                    throw Failure(description: "tls_server_config.min_version \"\(name)\" is not one of TLS10, TLS11, TLS12, TLS13")
                }
                minVersion = parsed
            }
            let ca = try tls["client_ca_file"].map { try readFile(try string($0, "tls_server_config.client_ca_file"), base, "client_ca_file") }
            config.tls = TLSConfiguration(certificatePEM: certificate, keyPEM: key, clientAuth: clientAuth,
                                          clientCAPEM: ca, minVersion: minVersion)
        }
        if let usersNode = root["basic_auth_users"] {
            for (user, hash) in try mapping(usersNode, "basic_auth_users") {
                // The value is never repeated in an error: it could be a plaintext password.
                guard let hash = hash as? String else {
                    throw Failure(description: "basic_auth_users: the entry of \"\(user)\" must be a bcrypt hash")
                }
                config.basicAuthUsers[user] = hash
            }
        }
        if let serverNode = root["http_server_config"] {
            let server = try mapping(serverNode, "http_server_config")
            try checkKeys(server, allowed: ["headers"], in: "http_server_config")
            if let headersNode = server["headers"] {
                for (name, value) in try mapping(headersNode, "http_server_config.headers") {
                    config.headers[name] = try string(value, "http_server_config.headers.\(name)")
                }
            }
        }
        return config
    }

    private static func mapping(_ node: Any, _ name: String) throws -> [String: Any] {
        if node is NSNull { return [:] }
        guard let dictionary = node as? [String: Any] else { throw Failure(description: "\(name) must be a mapping") }
        return dictionary
    }

    private static func string(_ node: Any?, _ name: String) throws -> String {
        guard let node else { throw Failure(description: "\(name) is missing") }
        if let text = node as? String { return text }
        if let number = node as? Int { return String(number) }
        throw Failure(description: "\(name) must be a string")
    }

    private static func checkKeys(_ mapping: [String: Any], allowed: Set<String>, in name: String) throws {
        if let unknown = mapping.keys.sorted().first(where: { !allowed.contains($0) }) {
            throw Failure(description: "unknown key \"\(unknown)\" in \(name)")
        }
    }

    private static func readFile(_ path: String, _ base: URL, _ name: String) throws -> String {
        let url = path.hasPrefix("/") ? URL(fileURLWithPath: path) : base.appendingPathComponent(path)
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            throw Failure(description: "\(name) \(url.path) cannot be read")
        }
        return text
    }
}
