// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif
import CMicroHTTPD

/// TLS for the exporter's listener, as the exporter toolkit's `tls_server_config` describes it.
public struct TLSConfiguration: Sendable, Equatable {
    /// Whether and how clients must present certificates (Go's `tls.ClientAuthType`, by the toolkit's names).
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"

        /// The policy a `client_auth_type` names: the toolkit also takes `RequireClientCert` for
        /// `RequireAnyClientCert` (its older name), and an empty value for `NoClientCert`.
        public init?(toolkitName name: String) {
            switch name {
            case "": self = .noClientCert
            case "RequireClientCert": self = .requireAnyClientCert
            default: self.init(rawValue: name)
            }
        }

        /// Whether the policy checks a certificate against the CAs before the request goes on.
        public var verifies: Bool { self == .verifyClientCertIfGiven || self == .requireAndVerifyClientCert }
    }

    /// A TLS version, by the toolkit's names.
    public enum Version: String, Sendable, CaseIterable, Comparable {
        case tls10 = "TLS10"
        case tls11 = "TLS11"
        case tls12 = "TLS12"
        case tls13 = "TLS13"

        /// GnuTLS's name for the version.
        var gnuTLSName: String {
            switch self {
            case .tls10: "VERS-TLS1.0"
            case .tls11: "VERS-TLS1.1"
            case .tls12: "VERS-TLS1.2"
            case .tls13: "VERS-TLS1.3"
            }
        }

        public static func < (lhs: Version, rhs: Version) -> Bool {
            allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
        }
    }

    /// The server's certificate chain, PEM.
    public var certificatePEM: String
    /// The server's private key, PEM.
    public var keyPEM: String
    /// Whether clients must present certificates, and whether they are verified.
    public var clientAuth: ClientAuth
    /// The CAs client certificates are checked against, PEM; required for any `clientAuth` but
    /// `noClientCert` (libmicrohttpd asks for client certificates only when it has CAs to name), and
    /// refused with `noClientCert` (client certificates would then go unchecked).
    public var clientCAPEM: String?
    /// The oldest TLS version accepted.
    public var minVersion: Version
    /// The newest TLS version accepted.
    public var maxVersion: Version
    /// Cipher suites by Go's names (`TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256`), in preference order; empty for
    /// GnuTLS's defaults. See `GnuTLSPriorities` for how they map, and which lists are refused.
    public var cipherSuites: [String]
    /// Key exchange groups by Go's names (`X25519`, `CurveP256`, `CurveP384`, `CurveP521`), in preference
    /// order; empty for GnuTLS's defaults.
    public var curvePreferences: [String]
    /// Whether the server's order of cipher suites wins over the client's (GnuTLS's `%SERVER_PRECEDENCE`).
    public var preferServerCipherSuites: Bool
    /// A client certificate must carry one of these Subject Alternative Names (DNS name, IP address,
    /// e-mail address or URI, matched exactly), or the handshake fails; empty: any. Only with a
    /// `clientAuth` that verifies (a SAN in a certificate nobody verified proves nothing).
    public var clientAllowedSANs: [String]

    /// TLS with this certificate and key; the other settings default as the toolkit's do.
    public init(certificatePEM: String, keyPEM: String, clientAuth: ClientAuth = .noClientCert,
                clientCAPEM: String? = nil, minVersion: Version = .tls12, maxVersion: Version = .tls13,
                cipherSuites: [String] = [], curvePreferences: [String] = [], preferServerCipherSuites: Bool = true,
                clientAllowedSANs: [String] = []) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.clientAuth = clientAuth
        self.clientCAPEM = clientCAPEM
        self.minVersion = minVersion
        self.maxVersion = maxVersion
        self.cipherSuites = cipherSuites
        self.curvePreferences = curvePreferences
        self.preferServerCipherSuites = preferServerCipherSuites
        self.clientAllowedSANs = clientAllowedSANs
    }

    /// Checks that the settings mean what they say; the error names the first that does not.
    public func validate() throws(ExporterError) {
        guard certificatePEM.contains("-----BEGIN") else { throw .invalidConfiguration("tls_server_config: the certificate is not PEM") }
        guard keyPEM.contains("-----BEGIN") else { throw .invalidConfiguration("tls_server_config: the key is not PEM") }
        if let problem = Self.keyPairProblem(certificatePEM: certificatePEM, keyPEM: keyPEM) {
            throw .invalidConfiguration("tls_server_config: \(problem)")
        }
        if clientAuth != .noClientCert && clientCAPEM == nil {
            throw .invalidConfiguration("tls_server_config: client_auth_type \(clientAuth.rawValue) needs client_ca_file (or client_ca)")
        }
        if clientAuth == .noClientCert && clientCAPEM != nil {
            throw .invalidConfiguration("tls_server_config: client CAs are given but client_auth_type is NoClientCert (or missing), so client certificates would not be checked; set client_auth_type: RequireAndVerifyClientCert")
        }
        if !clientAllowedSANs.isEmpty && !clientAuth.verifies {
            throw .invalidConfiguration("tls_server_config: client_allowed_sans needs client_auth_type RequireAndVerifyClientCert or VerifyClientCertIfGiven (the SANs of a certificate nobody verified prove nothing)")
        }
        if let empty = clientAllowedSANs.first(where: { $0.isEmpty || $0.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } == true }) }) {
            throw .invalidConfiguration("tls_server_config.client_allowed_sans: \"\(empty)\" is empty or holds spaces or control characters; SANs are matched exactly")
        }
        _ = try GnuTLSPriorities(self)
    }

    /// Why GnuTLS cannot serve this certificate with this key, or `nil` when it can. The same call
    /// libmicrohttpd makes at start, made earlier to say what is wrong instead of its "Failed to
    /// initialize TLS support".
    public static func keyPairProblem(certificatePEM: String, keyPEM: String) -> String? {
        var credentials: gnutls_certificate_credentials_t?
        guard gnutls_certificate_allocate_credentials(&credentials) == GNUTLS_E_SUCCESS else {
            return "GnuTLS cannot allocate credentials"
        }
        defer { gnutls_certificate_free_credentials(credentials) }
        var certificate = Array(certificatePEM.utf8)
        var key = Array(keyPEM.utf8)
        defer { key.withUnsafeMutableBytes { _ = $0.initializeMemory(as: UInt8.self, repeating: 0) } }
        let result = certificate.withUnsafeMutableBufferPointer { certificateBytes in
            key.withUnsafeMutableBufferPointer { keyBytes in
                var certificateDatum = gnutls_datum_t(data: certificateBytes.baseAddress, size: UInt32(certificateBytes.count))
                var keyDatum = gnutls_datum_t(data: keyBytes.baseAddress, size: UInt32(keyBytes.count))
                return gnutls_certificate_set_x509_key_mem2(credentials, &certificateDatum, &keyDatum, GNUTLS_X509_FMT_PEM, nil, 0)
            }
        }
        switch result {
        case _ where result >= 0: return nil
        case GNUTLS_E_CERTIFICATE_KEY_MISMATCH: return "the private key does not match the certificate"
        default: return "the certificate and key cannot be loaded: \(String(cString: gnutls_strerror(result)))"
        }
    }

    /// Whether the handshake refuses a client without a certificate (the `Require…` modes), as Go's
    /// crypto/tls does; ``ClientAuth/verifies`` says whether it refuses one that does not chain to the
    /// CAs or whose extended key usage excludes client authentication.
    var requiresClientCertificate: Bool { clientAuth == .requireAnyClientCert || clientAuth == .requireAndVerifyClientCert }
}

/// Response headers the web configuration may set (`http_server_config.headers`), and their values,
/// as the exporter toolkit allows them.
public enum ResponseHeaders {
    public static let allowed = [
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
        "X-XSS-Protection", "Content-Security-Policy",
    ]

    /// The only values of the headers that have a fixed set (the toolkit's, compared as it does: exactly).
    static let enumerated: [String: [String]] = [
        "X-Content-Type-Options": ["nosniff"],
        "X-Frame-Options": ["deny", "sameorigin"],
    ]

    /// Why `value` cannot be sent as `name`, or `nil` when it can. An empty value means "not sent", as the
    /// toolkit documents, except for the headers with a fixed set of values, which the toolkit refuses empty.
    public static func problem(name: String, value: String) -> String? {
        guard allowed.contains(name) else {
            return "\(name) cannot be set (allowed: \(allowed.joined(separator: ", ")))"
        }
        // A line break would start a header of the file's choosing.
        if value.unicodeScalars.contains(where: { ($0.value < 0x20 && $0 != "\t") || $0.value == 0x7F }) {
            return "the value of \(name) holds a line break or control character"
        }
        if let values = enumerated[name] {
            return values.contains(value) ? nil : "the value of \(name) must be one of \(values.joined(separator: ", ")), not \"\(value)\""
        }
        if name == "Strict-Transport-Security" && !value.isEmpty && !isStrictTransportSecurity(value) {
            return "the value of Strict-Transport-Security must be \"max-age=<seconds>\" with optional \"; includeSubDomains\" and \"; preload\", not \"\(value)\""
        }
        return nil
    }

    /// RFC 6797's syntax, as browsers read it: one `max-age=<digits>`, each directive once, names in any
    /// case. Browsers ignore a header they cannot read, so a typo would leave HSTS off while the file
    /// says it is on.
    static func isStrictTransportSecurity(_ value: String) -> Bool {
        var seen: Set<String> = []
        for directive in value.split(separator: ";", omittingEmptySubsequences: false) {
            let parts = directive.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = parts[0].trimmingSpaces.lowercased()
            guard !name.isEmpty, seen.insert(name).inserted else { return false }
            switch name {
            case "max-age":
                var seconds = parts.count == 2 ? parts[1].trimmingSpaces : ""
                if seconds.count >= 2, seconds.first == "\"", seconds.last == "\"" { seconds = String(seconds.dropFirst().dropLast()) }
                guard !seconds.isEmpty, seconds.allSatisfy(\.isASCIIDigit) else { return false }
            case "includesubdomains", "preload":
                guard parts.count == 1 else { return false }
            default:
                return false
            }
        }
        return seen.contains("max-age")
    }
}

extension Substring {
    fileprivate var trimmingSpaces: String {
        String(drop(while: { $0 == " " || $0 == "\t" }).reversed().drop(while: { $0 == " " || $0 == "\t" }).reversed())
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { ("0"..."9").contains(self) }
}
