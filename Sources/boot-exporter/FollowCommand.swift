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
        if let socket, socket.isEmpty { throw ValidationError("--socket needs a path") }
        if let socket, socket.utf8.count >= 108 { throw ValidationError("--socket path is too long for a Unix socket") }
    }

    func run() async throws {
        let logger = log.bootstrap()
        let signals = await ShutdownSignalService(logger: logger)
        guard let webConfig = try await web.loadConfigFile(stoppedBy: signals) else {
            logger.info("stopped while reading the web configuration file")
            return
        }
        // No journal here: the histograms count the boots this process follows.
        let bootTimes = FollowedBootTimes(budgets: boot.budgets)
        let fsm = boot.makeMachine(logger: logger, also: bootTimes.record)
        let follower = EventFollower(machine: fsm)
        // The socket first: once the server says it is listening, so is the socket.
        if let socket { try follower.listen(on: socket) }
        let server: BootExporterServer
        do {
            server = try web.startServer(for: fsm, web: webConfig, logger: logger,
                                         sources: [BootTimeHistogramSource { bootTimes.histograms }])
        } catch {
            follower.stop()
            throw error
        }
        if let socket {
            logger.info("following events", metadata: ["socket": "\(socket)"])
        } else {
            follower.readStandardInput()
            logger.info("following events", metadata: ["from": "standard input"])
        }
        let group = ServiceGroup(configuration: .init(
            services: [.init(service: signals, successTerminationBehavior: .gracefullyShutdownGroup),
                       .init(service: server)],
            logger: logger))
        defer { follower.stop() }
        try await group.run()
    }
}

/// The boot-time histograms of the boots a `follow` process sees, in memory: they start empty at
/// each start, which Prometheus takes as a counter reset.
final class FollowedBootTimes: Sendable {
    private let counts: Mutex<BootTimeHistograms>

    init(budgets: BootBudgets) {
        counts = Mutex(BootTimeHistograms(budgets: budgets))
    }

    var histograms: BootTimeHistograms { counts.withLock { $0 } }

    @Sendable func record(_ change: PhaseChange) {
        let observations = BootTimeHistograms.observations(of: change)
        counts.withLock { for observation in observations { $0.add(observation) } }
    }
}

/// Reads event lines and applies them to a machine. A bad line is reported on standard error
/// (`follow: line N: reason`) and skipped; nothing stops the exporter.
final class EventFollower: Sendable {
    let machine: BootStateMachine
    /// Lines read so far (from every source), and the listening socket and its path, if any.
    private let state = Mutex<(lineNumber: Int, listener: Int32, socket: (path: String, device: UInt64, inode: UInt64)?)>((0, -1, nil))
    /// Socket clients being read now; more than ``maxClients`` are closed at once.
    private let clients = Atomic<Int>(0)
    static let maxClients = 64

    /// The longest line accepted: an event is a few hundred bytes.
    static let maxLineLength = 65_536

    init(machine: BootStateMachine) {
        self.machine = machine
    }

    /// Applies one line (`nil`: a line too long to keep, rejected).
    func handle(_ line: [UInt8]?) {
        let number = state.withLock { state in
            state.lineNumber += 1
            return state.lineNumber
        }
        do {
            guard let line else { throw FollowEvent.Rejection(description: "line longer than 64 KiB") }
            guard let decoded = String(validating: line, as: UTF8.self) else {
                throw FollowEvent.Rejection(description: "not valid UTF-8")
            }
            // A blank line (spaces and tabs only) is no event.
            guard decoded.contains(where: { $0 != " " && $0 != "\t" }) else { return }
            try FollowEvent.parse(decoded).apply(to: machine)
        } catch {
            // The error may quote the line: its control characters are escaped, so a line cannot
            // forge lines of the log.
            StandardStream.error.write("follow: line \(number): \(Self.escapingControlCharacters("\(error)")); ignored\n")
        }
    }

    /// `text` with its control characters written as `\u{…}`.
    static func escapingControlCharacters(_ text: String) -> String {
        var result = ""
        for scalar in text.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value) {
                result += "\\u{\(String(scalar.value, radix: 16))}"
            } else {
                result.unicodeScalars.append(scalar)
            }
        }
        return result
    }

    /// Reads standard input on a thread of its own until it ends (the exporter goes on serving).
    func readStandardInput() {
        Self.onThreadOfItsOwn { [self] in read(fd: 0) }
    }

    /// Runs `work`, which blocks, on a queue of its own: each reader needs a thread that may block for
    /// as long as its client stays (the global queues stop at a thread per core; 70 readers on queues of
    /// their own all ran at once).
    private static func onThreadOfItsOwn(_ work: @escaping @Sendable () -> Void) {
        DispatchQueue(label: "boot-exporter.follow.reader").async(execute: work)
    }

    /// Accepts clients on a Unix socket at `path`, each read on its own thread. A stale socket file
    /// (nobody listening) is replaced; anything else at `path` — a file, or a socket another process
    /// serves — is an error, never removed.
    func listen(on path: String) throws {
        try Self.removeStaleSocket(at: path)
        let fd = try Self.unixSocket()
        guard Self.withAddress(path, { bind(fd, $0, $1) }) == 0, Glibc.listen(fd, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RuntimeFailure("cannot listen on \(path): \(reason)")
        }
        var info = stat()
        let identity = lstat(path, &info) == 0 ? (path, UInt64(info.st_dev), UInt64(info.st_ino)) : nil
        state.withLock { $0.listener = fd; $0.socket = identity }
        Self.onThreadOfItsOwn { [self] in
            var lastError: Int32 = 0
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 {
                    let code = errno
                    if code == EINTR || code == ECONNABORTED { continue }
                    // Closed by stop(): done. Anything else (out of descriptors or memory) passes.
                    if state.withLock({ $0.listener }) != fd { return }
                    if code != lastError {
                        StandardStream.error.write("follow: accepting a client on \(path): \(String(cString: strerror(code))); retrying\n")
                        lastError = code
                    }
                    usleep(100_000)
                    continue
                }
                lastError = 0
                guard clients.wrappingAdd(1, ordering: .relaxed).newValue <= Self.maxClients else {
                    clients.wrappingSubtract(1, ordering: .relaxed)
                    StandardStream.error.write("follow: more than \(Self.maxClients) clients on \(path); one refused\n")
                    close(client)
                    continue
                }
                Self.onThreadOfItsOwn { [self] in
                    read(fd: client)
                    close(client)
                    clients.wrappingSubtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Removes the socket file at `path` if it is a socket nobody listens on.
    static func removeStaleSocket(at path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFSOCK else {
            throw RuntimeFailure("\(path) exists and is not a socket; not replacing it")
        }
        let probe = try unixSocket()
        defer { close(probe) }
        // Non-blocking: a listener whose backlog is full would hold a blocking connect forever.
        _ = fcntl(probe, F_SETFL, fcntl(probe, F_GETFL) | O_NONBLOCK)
        if withAddress(path, { connect(probe, $0, $1) }) == 0 || errno == EAGAIN || errno == EINPROGRESS {
            throw RuntimeFailure("\(path) is in use by another process")
        }
        guard errno == ECONNREFUSED else {
            throw RuntimeFailure("cannot check \(path): \(String(cString: strerror(errno)))")
        }
        unlink(path)
    }

    /// A new Unix stream socket.
    static func unixSocket() throws -> Int32 {
        let fd = Glibc.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RuntimeFailure("socket: \(String(cString: strerror(errno)))") }
        return fd
    }

    /// Calls `body` (bind, connect) with the address of the Unix socket at `path`.
    static func withAddress(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> Int32) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: path.utf8.prefix(raw.count - 1))
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    /// Stops accepting and removes the socket file (if it is still the one this process bound).
    func stop() {
        state.withLock { state in
            if state.listener >= 0 { shutdown(state.listener, Int32(SHUT_RDWR)); close(state.listener); state.listener = -1 }
            var info = stat()
            if let socket = state.socket, lstat(socket.path, &info) == 0,
               UInt64(info.st_dev) == socket.device, UInt64(info.st_ino) == socket.inode {
                unlink(socket.path)
            }
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
                    handle(discarding ? nil : pending)
                    pending.removeAll(keepingCapacity: true)
                    discarding = false
                } else if !discarding {
                    pending.append(byte)
                    if pending.count > Self.maxLineLength { discarding = true; pending.removeAll() }
                }
            }
        }
        if !pending.isEmpty || discarding { handle(discarding ? nil : pending) }
    }
}
