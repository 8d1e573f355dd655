// SPDX-License-Identifier: AGPL-3.0-or-later

/// `--web.listen-address`: `host:port`, `:port` (every interface) or `[ipv6]:port`.
struct ListenAddress: Equatable {
    var host: String
    var port: Int

    struct Failure: Error, CustomStringConvertible {
        let text: String
        let reason: String
        var description: String { "invalid listen address \"\(text)\": \(reason)" }
    }

    init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    init(parsing text: String) throws(Failure) {
        guard let colon = text.lastIndex(of: ":") else { throw Failure(text: text, reason: "expected host:port or :port") }
        var host = String(text[..<colon])
        let portText = text[text.index(after: colon)...]
        // Digits only: Int() also takes a sign ("+9851", "-0").
        guard !portText.isEmpty, portText.utf8.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
              let port = Int(portText), (0...65_535).contains(port) else {
            throw Failure(text: text, reason: "port must be a number from 0 to 65535")
        }
        if host.hasPrefix("[") {
            guard host.hasSuffix("]"), host.count > 2 else { throw Failure(text: text, reason: "unclosed [ in IPv6 address") }
            host = String(host.dropFirst().dropLast())
        } else if host.contains(":") {
            throw Failure(text: text, reason: "write IPv6 addresses in brackets, as [::1]:9851")
        }
        self.init(host: host, port: port)
    }
}
