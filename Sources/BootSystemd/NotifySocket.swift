// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The service manager's notification socket (`NOTIFY_SOCKET`): an `AF_UNIX` datagram socket, named by
/// a file system path or, after `@`, by an abstract name.
///
/// Each ``send(_:)`` is one datagram of newline-separated `KEY=value` assignments, as `sd_notify(3)`
/// writes them; no libsystemd is needed.
public struct NotifySocket: Sendable, Equatable, CustomStringConvertible {
    /// The address as given: an absolute path, or `@` and an abstract name.
    public let address: String

    /// A socket at `address`: an absolute path (`/run/systemd/notify`) or an abstract name (`@name`).
    ///
    /// Throws ``NotifySocketError`` for an empty or relative address, one that does not fit a Unix
    /// socket address (a path of 107 bytes, `@` and a name of 107), or one with a NUL byte. The
    /// `vsock:` addresses of recent systemd versions are refused too.
    public init(address: String) throws(NotifySocketError) {
        guard let first = address.utf8.first, first == UInt8(ascii: "/") || first == UInt8(ascii: "@") else {
            throw NotifySocketError("NOTIFY_SOCKET \"\(address)\" is neither an absolute path nor an abstract name (@name)")
        }
        guard !address.utf8.contains(0) else {
            throw NotifySocketError("NOTIFY_SOCKET contains a NUL byte")
        }
        // A path needs its terminating NUL; an abstract name's `@` becomes the leading NUL.
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        let longest = first == UInt8(ascii: "/") ? capacity - 1 : capacity
        guard address.utf8.count <= longest else {
            throw NotifySocketError("NOTIFY_SOCKET is \(address.utf8.count) bytes long; a Unix socket address takes at most \(longest)")
        }
        self.address = address
    }

    public var description: String { address }

    /// Sends `message` as one datagram. Throws ``NotifySocketError`` with `errno`'s text when the
    /// socket cannot be created or the datagram is refused (no one listens, or its queue is full: a
    /// send never blocks).
    public func send(_ message: String) throws(NotifySocketError) {
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw NotifySocketError("socket: \(Self.lastError())") }
        defer { close(fd) }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(address.utf8)
        let isAbstract = bytes.first == UInt8(ascii: "@")
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { path in
            path.copyBytes(from: bytes)
            if isAbstract { path[0] = 0 }
        }
        // The length counts a path's terminating NUL, and only the name's bytes of an abstract one.
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (isAbstract ? 0 : 1)
        let payload = Array(message.utf8)
        let sent = withUnsafePointer(to: &socketAddress) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketPointer in
                payload.withUnsafeBytes { body in
                    sendto(fd, body.baseAddress, body.count, Int32(MSG_NOSIGNAL | MSG_DONTWAIT), socketPointer, socklen_t(length))
                }
            }
        }
        guard sent >= 0 else { throw NotifySocketError("sending to NOTIFY_SOCKET \(address): \(Self.lastError())") }
        guard sent == payload.count else {
            throw NotifySocketError("sending to NOTIFY_SOCKET \(address): \(sent) of \(payload.count) bytes sent")
        }
    }

    private static func lastError() -> String { String(cString: strerror(errno)) }
}

/// Why a notification socket is refused, or a notification was not sent: one line.
public struct NotifySocketError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong, in one line.
    public let description: String

    init(_ description: String) { self.description = description }
}
