// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import BootExporter
import BootFSM
import Dispatch
import Glibc
import Logging
import ServiceLifecycle
import Synchronization

/// `boot-exporter follow`: serves a boot driven by events from another program, in any language.
struct FollowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "follow",
        abstract: "Serve /metrics, /health and the probes for a boot driven by JSON events, one per line, on standard input or a Unix socket."
    )

    @OptionGroup var log: LogOptions
    @OptionGroup var web: WebOptions
    @OptionGroup var boot: BudgetOptions

    @Option(help: "Read events from clients of this Unix socket instead of standard input.")
    var socket: String?

    func validate() throws {
        if let socket, socket.utf8.count >= 108 { throw ValidationError("--socket path is too long for a Unix socket") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let fsm = boot.makeMachine(logger: logger)
        let server = try web.startServer(for: fsm, logger: logger)
        let follower = EventFollower(machine: fsm)
        if let socket {
            try follower.listen(on: socket)
            logger.info("following events", metadata: ["socket": "\(socket)"])
        } else {
            follower.readStandardInput()
            logger.info("following events", metadata: ["from": "standard input"])
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: server)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
        follower.stop()
    }
}

/// Reads event lines and applies them to a machine. A bad line is reported on standard error
/// (`follow: line N: reason`) and skipped; nothing stops the exporter.
final class EventFollower: Sendable {
    let machine: BootStateMachine
    /// Lines read so far (from every source), and the listening socket and its path, if any.
    private let state = Mutex<(lineNumber: Int, listener: Int32, socketPath: String?)>((0, -1, nil))

    /// The longest line accepted: an event is a few hundred bytes.
    static let maxLineLength = 65_536

    init(machine: BootStateMachine) {
        self.machine = machine
    }

    /// Applies one line (`nil`: a line too long to keep, rejected).
    func handle(_ line: String?) {
        let number = state.withLock { state in
            state.lineNumber += 1
            return state.lineNumber
        }
        do {
            guard let line else { throw FollowEvent.Rejection(description: "line longer than 64 KiB") }
            let text = String(line.trimmingSpaces)
            guard !text.isEmpty else { return }
            try FollowEvent.parse(text).apply(to: machine)
        } catch {
            StandardStream.error.write("follow: line \(number): \(error); ignored\n")
        }
    }

    /// Reads standard input on a thread of its own until it ends (the exporter goes on serving).
    func readStandardInput() {
        startDetachedThread { [self] in read(fd: 0) }
    }

    /// Accepts clients on a Unix socket at `path` (replacing a stale socket file), each read on its own thread.
    func listen(on path: String) throws {
        unlink(path)
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeFailure("socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeFailure("cannot listen on \(path): \(reason)")
        }
        state.withLock { $0.listener = fd; $0.socketPath = path }
        startDetachedThread { [self] in
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    if errno == EINTR { continue }
                    return
                }
                startDetachedThread { [self] in
                    read(fd: client)
                    close(client)
                }
            }
        }
    }

    /// Stops accepting and removes the socket file.
    func stop() {
        state.withLock { state in
            if state.listener >= 0 { shutdown(state.listener, Int32(SHUT_RDWR)); close(state.listener); state.listener = -1 }
            if let socketPath = state.socketPath { unlink(socketPath) }
        }
    }

    /// Splits what arrives on `fd` into lines; an over-long line is reported and dropped.
    private func read(fd: Int32) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        var discarding = false
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            for byte in chunk[..<n] {
                if byte == UInt8(ascii: "\n") {
                    handle(discarding ? nil : String(decoding: pending, as: UTF8.self))
                    pending.removeAll(keepingCapacity: true)
                    discarding = false
                } else if !discarding {
                    pending.append(byte)
                    if pending.count > Self.maxLineLength { discarding = true; pending.removeAll() }
                }
            }
        }
        if !pending.isEmpty || discarding { handle(discarding ? nil : String(decoding: pending, as: UTF8.self)) }
    }
}
