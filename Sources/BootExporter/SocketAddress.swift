// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// A socket address to listen on, resolved from a host and a port.
struct SocketAddress {
    var storage = sockaddr_storage()
    var isIPv6 = false

    /// Resolves `host` (an IPv4 or IPv6 literal, brackets allowed, or a name) numerically first,
    /// then through the resolver; the first address wins.
    static func resolve(host: String, port: UInt16) throws(ExporterError) -> SocketAddress {
        var name = host
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, String(port), &hints, &result)
        guard status == 0, let first = result else {
            let reason = status == 0 ? "no address" : String(cString: gai_strerror(status))
            throw .invalidAddress("cannot resolve listen address \"\(host)\": \(reason)")
        }
        defer { freeaddrinfo(result) }
        var address = SocketAddress()
        withUnsafeMutableBytes(of: &address.storage) { storage in
            storage.copyMemory(from: UnsafeRawBufferPointer(start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        address.isIPv6 = first.pointee.ai_family == AF_INET6
        return address
    }
}
