// SPDX-License-Identifier: AGPL-3.0-or-later

import CMicroHTTPD

/// The GnuTLS priority string (libmicrohttpd's `MHD_OPTION_HTTPS_PRIORITIES`) that says in GnuTLS's terms
/// what a ``TLSConfiguration``'s versions, cipher suites, curves and preference say in Go's.
///
/// Go lists whole cipher suites; GnuTLS enables key exchanges, ciphers and MACs separately and offers
/// every suite they combine into, for every version. So a list of suites is honoured when it is exactly
/// what its parts combine into, and refused, naming the suite it would add, when it is not. Because
/// GnuTLS has one cipher list for all versions, the list also narrows TLS 1.3 to the AEAD ciphers it
/// names, where Go leaves TLS 1.3 at its defaults.
struct GnuTLSPriorities {
    /// The priority string.
    let string: String

    /// A TLS 1.0-1.2 suite of Go's `tls.CipherSuites()` (the ones the toolkit accepts) in GnuTLS's parts.
    private struct Suite {
        let name: String
        /// The key exchange; `nil` for a TLS 1.3 suite, whose key exchange is not part of the suite.
        let keyExchange: String?
        let cipher: String
        let mac: String
    }

    private static let suites: [Suite] = [
        Suite(name: "TLS_AES_128_GCM_SHA256", keyExchange: nil, cipher: "AES-128-GCM", mac: "AEAD"),
        Suite(name: "TLS_AES_256_GCM_SHA384", keyExchange: nil, cipher: "AES-256-GCM", mac: "AEAD"),
        Suite(name: "TLS_CHACHA20_POLY1305_SHA256", keyExchange: nil, cipher: "CHACHA20-POLY1305", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", keyExchange: "ECDHE-ECDSA", cipher: "AES-128-GCM", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", keyExchange: "ECDHE-ECDSA", cipher: "AES-256-GCM", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", keyExchange: "ECDHE-RSA", cipher: "AES-128-GCM", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", keyExchange: "ECDHE-RSA", cipher: "AES-256-GCM", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", keyExchange: "ECDHE-ECDSA", cipher: "CHACHA20-POLY1305", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", keyExchange: "ECDHE-RSA", cipher: "CHACHA20-POLY1305", mac: "AEAD"),
        Suite(name: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", keyExchange: "ECDHE-ECDSA", cipher: "AES-128-CBC", mac: "SHA1"),
        Suite(name: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", keyExchange: "ECDHE-ECDSA", cipher: "AES-256-CBC", mac: "SHA1"),
        Suite(name: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", keyExchange: "ECDHE-RSA", cipher: "AES-128-CBC", mac: "SHA1"),
        Suite(name: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", keyExchange: "ECDHE-RSA", cipher: "AES-256-CBC", mac: "SHA1"),
        Suite(name: "TLS_RSA_WITH_AES_128_GCM_SHA256", keyExchange: "RSA", cipher: "AES-128-GCM", mac: "AEAD"),
        Suite(name: "TLS_RSA_WITH_AES_256_GCM_SHA384", keyExchange: "RSA", cipher: "AES-256-GCM", mac: "AEAD"),
        Suite(name: "TLS_RSA_WITH_AES_128_CBC_SHA", keyExchange: "RSA", cipher: "AES-128-CBC", mac: "SHA1"),
        Suite(name: "TLS_RSA_WITH_AES_256_CBC_SHA", keyExchange: "RSA", cipher: "AES-256-CBC", mac: "SHA1"),
    ]

    /// The toolkit's curve names and GnuTLS's groups.
    static let groups: [(name: String, group: String)] = [
        ("CurveP256", "GROUP-SECP256R1"), ("CurveP384", "GROUP-SECP384R1"), ("CurveP521", "GROUP-SECP521R1"),
        ("X25519", "GROUP-X25519"),
    ]

    init(_ tls: TLSConfiguration) throws(ExporterError) {
        guard tls.minVersion <= tls.maxVersion else {
            throw .invalidConfiguration("tls_server_config: min_version \(tls.minVersion.rawValue) is newer than max_version \(tls.maxVersion.rawValue); no handshake could succeed")
        }
        var parts = ["NORMAL", "-VERS-ALL"]
        parts += TLSConfiguration.Version.allCases.reversed()
            .filter { $0 >= tls.minVersion && $0 <= tls.maxVersion }
            .map { "+" + $0.gnuTLSName }
        if !tls.cipherSuites.isEmpty {
            parts += try Self.cipherParts(tls)
        }
        if !tls.curvePreferences.isEmpty {
            parts.append("-GROUP-ALL")
            for name in tls.curvePreferences {
                guard let group = Self.groups.first(where: { $0.name == name })?.group else {
                    throw .invalidConfiguration("tls_server_config.curve_preferences: \"\(name)\" is not one of \(Self.groups.map(\.name).joined(separator: ", "))")
                }
                parts.append("+" + group)
            }
        }
        if tls.preferServerCipherSuites { parts.append("%SERVER_PRECEDENCE") }
        string = parts.joined(separator: ":")
        // GnuTLS has the last word on what it can parse.
        var cache: gnutls_priority_t?
        var errorPosition: UnsafePointer<CChar>?
        let result = gnutls_priority_init(&cache, string, &errorPosition)
        guard result == GNUTLS_E_SUCCESS else {
            let at = errorPosition.map { String(cString: $0) } ?? string
            throw .invalidConfiguration("tls_server_config: GnuTLS refuses the priorities \(string) at \"\(at)\": \(String(cString: gnutls_strerror(result)))")
        }
        gnutls_priority_deinit(cache)
    }

    /// The key exchanges, ciphers and MACs of the listed suites, refused when they would enable more.
    private static func cipherParts(_ tls: TLSConfiguration) throws(ExporterError) -> [String] {
        var listed: [Suite] = []
        for name in tls.cipherSuites {
            guard let suite = suites.first(where: { $0.name == name }) else {
                throw .invalidConfiguration("tls_server_config.cipher_suites: \"\(name)\" is not one of the cipher suites the exporter toolkit accepts (Go's secure ones: \(suites.map(\.name).joined(separator: ", ")))")
            }
            if !listed.contains(where: { $0.name == name }) { listed.append(suite) }
        }
        let keyExchanges = ordered(listed.compactMap(\.keyExchange))
        let ciphers = ordered(listed.map(\.cipher))
        let macs = ordered(listed.map(\.mac))
        // Every suite the parts combine into must have been asked for.
        if let extra = suites.first(where: { suite in
            guard let keyExchange = suite.keyExchange else { return false }
            return keyExchanges.contains(keyExchange) && ciphers.contains(suite.cipher) && macs.contains(suite.mac)
                && !listed.contains(where: { $0.name == suite.name })
        }) {
            throw .invalidConfiguration("tls_server_config.cipher_suites: GnuTLS enables key exchanges, ciphers and MACs separately, so this list would also enable \(extra.name); add it, or drop the suites that combine into it")
        }
        let tls12Usable = tls.minVersion <= .tls12 && !keyExchanges.isEmpty
        let tls13Usable = tls.maxVersion == .tls13 && macs.contains("AEAD")
        guard tls12Usable || tls13Usable else {
            throw .invalidConfiguration("tls_server_config.cipher_suites: no listed suite can be used between \(tls.minVersion.rawValue) and \(tls.maxVersion.rawValue)")
        }
        return ["-KX-ALL"] + keyExchanges.map { "+" + $0 } + ["-CIPHER-ALL"] + ciphers.map { "+" + $0 }
            + ["-MAC-ALL"] + macs.map { "+" + $0 }
    }

    /// `items` without repeats, first appearance first (GnuTLS prefers what comes first).
    private static func ordered(_ items: [String]) -> [String] {
        var seen: Set<String> = []
        return items.filter { seen.insert($0).inserted }
    }
}
