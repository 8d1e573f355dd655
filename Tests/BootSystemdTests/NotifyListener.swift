// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation

/// What systemd is in these tests: an `AF_UNIX` datagram socket bound in a temporary directory (or
/// to an abstract name), read one datagram at a time.
final class NotifyListener {
    let fd: Int32
    /// `NOTIFY_SOCKET`'s value for this socket.
    let address: String
    private let directory: String?

    /// Binds a socket file in a new temporary directory, or the abstract name `@<random>`.
    init(abstract: Bool = false) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenerError("socket: errno \(errno)") }
        if abstract {
            directory = nil
            address = "@boot-systemd-test-\(UUID().uuidString)"
        } else {
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("notify-\(UUID().uuidString.prefix(8))").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
            self.directory = directory
            address = directory + "/notify"
        }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(address.utf8)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { path in
            path.copyBytes(from: bytes)
            if abstract { path[0] = 0 }
        }
        let length = MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count + (abstract ? 0 : 1)
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard bound == 0 else { throw ListenerError("bind \(address): errno \(errno)") }
    }

    deinit {
        close(fd)
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
    }

    /// The next datagram, or `nil` when none comes within `timeout`.
    func receive(timeout: Duration = .seconds(5)) -> String? {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&poller, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }

    /// Every datagram waiting now.
    func drain() -> [String] {
        var datagrams: [String] = []
        while let datagram = receive(timeout: .zero) { datagrams.append(datagram) }
        return datagrams
    }

    /// Datagrams until one has `line` among its lines (that one included), or `timeout` passes.
    func receive(until line: String, timeout: Duration = .seconds(60)) -> [String] {
        let deadline = ContinuousClock.now + timeout
        var datagrams: [String] = []
        while ContinuousClock.now < deadline {
            guard let datagram = receive(timeout: .milliseconds(200)) else { continue }
            datagrams.append(datagram)
            if datagram.split(separator: "\n").contains(Substring(line)) { break }
        }
        return datagrams
    }
}

struct ListenerError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension String {
    /// The assignments of a datagram, `KEY=value` each.
    var assignments: [String] { split(separator: "\n").map(String.init) }

    /// The value of `key` in a datagram, if it is assigned.
    func value(of key: String) -> String? {
        assignments.first { $0.hasPrefix(key + "=") }.map { String($0.dropFirst(key.count + 1)) }
    }
}
