// SPDX-License-Identifier: AGPL-3.0-or-later

/// TLS for the exporter's listener, as the exporter toolkit's `tls_server_config` describes it.
public struct TLSConfiguration: Sendable, Equatable {
    /// Whether and how clients must present certificates.
    public enum ClientAuth: String, Sendable, CaseIterable {
        case noClientCert = "NoClientCert"
        case requestClientCert = "RequestClientCert"
        case requireAnyClientCert = "RequireAnyClientCert"
        case verifyClientCertIfGiven = "VerifyClientCertIfGiven"
        case requireAndVerifyClientCert = "RequireAndVerifyClientCert"
    }

    /// The oldest TLS version accepted.
    public enum Version: String, Sendable, CaseIterable {
        case tls10 = "TLS10"
        case tls11 = "TLS11"
        case tls12 = "TLS12"
        case tls13 = "TLS13"

        /// The GnuTLS priority string enabling this version and every newer one.
        var priorities: String {
            let versions: [String] = switch self {
            case .tls10: ["TLS1.3", "TLS1.2", "TLS1.1", "TLS1.0"]
            case .tls11: ["TLS1.3", "TLS1.2", "TLS1.1"]
            case .tls12: ["TLS1.3", "TLS1.2"]
            case .tls13: ["TLS1.3"]
            }
            return "NORMAL:-VERS-ALL:" + versions.map { "+VERS-" + $0 }.joined(separator: ":")
        }
    }

    /// The server's certificate chain, PEM.
    public var certificatePEM: String
    /// The server's private key, PEM.
    public var keyPEM: String
    public var clientAuth: ClientAuth
    /// The CAs client certificates are checked against, PEM.
    public var clientCAPEM: String?
    public var minVersion: Version
    /// When not empty, a client certificate must carry one of these subject alternative names (DNS
    /// names, IP addresses, email addresses or URIs), else the handshake fails; so must one be sent.
    public var clientAllowedSANs: [String]

    public init(certificatePEM: String, keyPEM: String, clientAuth: ClientAuth = .noClientCert,
                clientCAPEM: String? = nil, minVersion: Version = .tls12, clientAllowedSANs: [String] = []) {
        self.certificatePEM = certificatePEM
        self.keyPEM = keyPEM
        self.clientAuth = clientAuth
        self.clientCAPEM = clientCAPEM
        self.minVersion = minVersion
        self.clientAllowedSANs = clientAllowedSANs
    }

    /// The handshake's demands on client certificates, as Go's crypto/tls makes them: the
    /// `Require…` modes refuse a handshake without one, the `…Verify…` modes one that does not
    /// chain to the CAs or whose extended key usage excludes client authentication.
    var requiresClientCertificate: Bool { clientAuth == .requireAnyClientCert || clientAuth == .requireAndVerifyClientCert }
    var verifiesClientCertificate: Bool { clientAuth == .verifyClientCertIfGiven || clientAuth == .requireAndVerifyClientCert }
}

/// Response headers the web configuration may set (`http_server_config.headers`), as the
/// exporter toolkit allows them.
public enum ResponseHeaders {
    public static let allowed = [
        "Strict-Transport-Security", "X-Content-Type-Options", "X-Frame-Options",
        "X-XSS-Protection", "Content-Security-Policy",
    ]
}
