// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation
import Testing

/// A raw TCP connection from a chosen loopback source address, for misbehaving on purpose.
final class RawConnection {
    private(set) var fd: Int32

    /// Connects to 127.0.0.1:`port` from `source` (any 127.x.y.z); `nil` if the connection fails.
    init?(port: Int, source: String = "127.0.0.1") {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_addr.s_addr = inet_addr(source)
        var remote = sockaddr_in()
        remote.sin_family = sa_family_t(AF_INET)
        remote.sin_port = in_port_t(UInt16(port).bigEndian)
        remote.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        let connected = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, connected == 0 else { close(fd); fd = -1; return nil }
    }

    deinit { if fd >= 0 { close(fd) } }  // -1 after a failed connect: never close a number twice

    @discardableResult
    func send(_ bytes: [UInt8]) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            sent += n
        }
        return true
    }

    func send(_ text: String) -> Bool { send(Array(text.utf8)) }

    /// Whatever arrives until the peer closes or 2 s pass.
    func readAll() -> String {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            data += chunk[..<n]
        }
        return String(decoding: data, as: UTF8.self)
    }
}

@Suite("Hostile clients against the real binary", .serialized)
struct HostileClientTests {
    /// Descriptors and resident memory of a process, from /proc.
    func footprint(_ pid: Int32) -> (fds: Int, rss: Int) {
        let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1
        let statm = (try? String(contentsOfFile: "/proc/\(pid)/statm", encoding: .utf8)) ?? ""
        let pages = Int(statm.split(separator: " ").dropFirst().first ?? "0") ?? 0
        return (fds, pages * Int(sysconf(Int32(_SC_PAGESIZE))))
    }

    /// A well-behaved client: a new connection, one GET; the latency, or nil when it failed.
    func wellBehaved(port: Int, _ path: String) -> Duration? {
        let start = ContinuousClock.now
        guard let answer = try? httpGet(port: port, path), answer.status == 200 else { return nil }
        return ContinuousClock.now - start
    }

    @Test func everyKindOfAbuseWhileAGoodClientIsServed() throws {
        let data = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: data) }
        let server = try BinaryProcess(["--data-dir", data, "--generate.records", "1000", "--web.listen-address", "127.0.0.1:0"])
        let port = try server.listeningPort()
        let pid = server.process.processIdentifier
        while wellBehaved(port: port, "/readyz") == nil { usleep(20_000) }
        for _ in 0..<200 { _ = wellBehaved(port: port, "/metrics") }
        let idle = footprint(pid)

        // The good client probes throughout, from its own address.
        let latencies = Latencies()
        let stop = StopFlag()
        let finished = DispatchSemaphore(value: 0)
        let prober = Thread {
            while !stop.isSet {
                for path in ["/metrics", "/readyz"] { latencies.add(self.wellBehaved(port: port, path)) }
                usleep(20_000)
            }
            finished.signal()
        }
        prober.start()

        // Malformed requests, each on its own connection: the server answers with an error or closes.
        let garbage: [[UInt8]] = [
            Array("GARBAGE\r\n\r\n".utf8),
            Array("GET\r\n\r\n".utf8),
            Array("GET / HTTP/9.9\r\n\r\n".utf8),
            Array("BREW /pot HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            [0, 0, 0, 0] + Array("GET /\0metrics HTTP/1.1\r\nHost: x\0\r\n\r\n".utf8),
            Array("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 100_000))\r\n\r\n".utf8),
            Array("GET /\(String(repeating: "%41", count: 40_000)) HTTP/1.1\r\nHost: x\r\n\r\n".utf8),
            Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET /readyz HTTP/1.1\r\n\r\n\u{1}\u{2}\u{3}NOT HTTP\r\n\r\n".utf8),
            Array("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\npartial".utf8),
            Array("GET /metrics HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n".utf8),
        ]
        for request in garbage {
            guard let connection = RawConnection(port: port, source: "127.0.0.2") else { continue }
            connection.send(request)
            let answer = connection.readAll()
            #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 "), "\(answer.prefix(80))")
        }
        // Clients that hang up mid-request.
        for index in 0..<100 {
            let connection = RawConnection(port: port, source: "127.0.0.2")
            connection?.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\nAccept: text/pl".utf8.prefix(10 + index % 30)))
        }

        // 500 slow clients, 50 from each of ten addresses, sending one byte a second.
        let slowRequest = Array("GET /metrics HTTP/1.1\r\nHost: slow\r\nUser-Agent: loris\r\n\r\n".utf8)
        var slow: [RawConnection] = []
        for index in 0..<500 {
            if let connection = RawConnection(port: port, source: "127.0.1.\(10 + index / 50)") { slow.append(connection) }
        }
        #expect(slow.count == 500)
        // A flood past the connection limit from one address.
        var flood: [RawConnection] = []
        for _ in 0..<1_000 {
            if let connection = RawConnection(port: port, source: "127.0.0.3") { flood.append(connection) }
        }
        for second in 0..<4 {
            for connection in slow { connection.send([slowRequest[second]]) }
            sleep(1)
        }
        stop.set()
        finished.wait()

        let results = latencies.all
        let failures = results.filter { $0 == nil }.count
        let times = results.compactMap { $0 }.sorted()
        #expect(results.count > 40)
        #expect(failures == 0, "the good client was always served")
        let p95 = times[Int(Double(times.count - 1) * 0.95)]
        #expect(p95 < .milliseconds(50), "p95 \(p95), max \(times.last!)")
        #expect(server.process.isRunning)

        // Everything goes away: descriptors back to idle, memory settled.
        slow.removeAll()
        flood.removeAll()
        var after = footprint(pid)
        let deadline = ContinuousClock.now + .seconds(15)
        while after.fds > idle.fds && ContinuousClock.now < deadline {
            usleep(100_000)
            after = footprint(pid)
        }
        #expect(after.fds <= idle.fds, "descriptors: idle \(idle.fds), after \(after.fds)")
        #expect(after.rss - idle.rss < 16 << 20, "resident memory: idle \(idle.rss), after \(after.rss)")
        #expect(wellBehaved(port: port, "/metrics") != nil)
        server.signal(SIGTERM)
        #expect(server.wait() == 0)
    }
}

final class Latencies: @unchecked Sendable {
    private let lock = NSLock()
    private var values: [Duration?] = []
    func add(_ value: Duration?) { lock.withLock { values.append(value) } }
    var all: [Duration?] { lock.withLock { values } }
}

final class StopFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
