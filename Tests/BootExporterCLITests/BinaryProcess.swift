// SPDX-License-Identifier: AGPL-3.0-or-later

import Foundation

/// The built `boot-exporter` binary, run as a child process with its output in files.
final class BinaryProcess {
    /// Where the binary is: `$BOOT_EXPORTER`, else beside the test bundle, else in `.build/debug`.
    static let binary: String = {
        if let path = ProcessInfo.processInfo.environment["BOOT_EXPORTER"] { return path }
        let candidates = [
            (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")).map { URL(fileURLWithPath: $0) },
            URL(fileURLWithPath: CommandLine.arguments[0]),
        ].compactMap { $0?.deletingLastPathComponent().appendingPathComponent("boot-exporter").path }
        for candidate in candidates where FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/boot-exporter").path
    }()

    let process = Process()
    let stdoutPath: String
    let stderrPath: String

    init(_ arguments: [String], executable: String = BinaryProcess.binary, standardInput: Any? = nil) throws {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("boot-exporter-\(UUID().uuidString)").path
        stdoutPath = base + ".out"
        stderrPath = base + ".err"
        _ = FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        process.standardInput = standardInput ?? FileHandle.nullDevice
        try process.run()
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
        try? FileManager.default.removeItem(atPath: stdoutPath)
        try? FileManager.default.removeItem(atPath: stderrPath)
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end (at most `timeout`), killing it past that; returns its status.
    @discardableResult
    func wait(timeout: Duration = .seconds(60)) -> Int32 {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(5_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        return process.terminationStatus
    }

    /// Runs to the end and returns the status with both outputs.
    static func run(_ arguments: [String], timeout: Duration = .seconds(120)) throws -> (status: Int32, stdout: String, stderr: String) {
        let child = try BinaryProcess(arguments)
        let status = child.wait(timeout: timeout)
        return (status, child.stdout, child.stderr)
    }

    /// Waits until the log says where the server listens, and returns the port.
    func listeningPort(timeout: Duration = .seconds(30)) throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let range = stderr.range(of: #"msg=listening address=127\.0\.0\.1:(\d+)"#, options: .regularExpression) {
                let text = stderr[range]
                return Int(text.split(separator: ":").last!)!
            }
            guard process.isRunning else { break }
            usleep(10_000)
        }
        throw Failure("no listening line in the log: \(stderr)")
    }
}

struct Failure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// A GET on 127.0.0.1 with URLSession-free plain sockets (and `headers`, such as `Accept`): status and body.
func httpGet(port: Int, _ path: String, headers: [String: String] = [:]) throws -> (status: Int, body: String) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { throw Failure("socket") }
    defer { close(fd) }
    var timeout = timeval(tv_sec: 5, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    guard connected == 0 else { throw Failure("connect: errno \(errno)") }
    let extra = headers.map { "\($0): \($1)\r\n" }.joined()
    let request = Array("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\(extra)Connection: close\r\n\r\n".utf8)
    _ = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var response: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65_536)
    while true {
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        response += chunk[..<n]
    }
    let text = String(decoding: response, as: UTF8.self)
    guard let split = text.range(of: "\r\n\r\n"), let status = Int(text.split(separator: " ")[1]) else {
        throw Failure("bad response: \(text.prefix(200))")
    }
    return (status, String(text[split.upperBound...]))
}

/// GETs `path` every 50 ms until `done` holds of the response or `timeout` passes; the last response.
func httpGet(port: Int, _ path: String, timeout: Duration = .seconds(30),
             until done: ((status: Int, body: String)) -> Bool) throws -> (status: Int, body: String) {
    let deadline = ContinuousClock.now + timeout
    var response = try httpGet(port: port, path)
    while !done(response) && ContinuousClock.now < deadline {
        usleep(50_000)
        response = try httpGet(port: port, path)
    }
    return response
}

/// The value of an unlabelled sample in an exposition.
func sample(_ name: String, in exposition: String) -> Double? {
    for line in exposition.split(separator: "\n") where line.hasPrefix(name + " ") {
        return Double(line.dropFirst(name.count + 1))
    }
    return nil
}

func temporaryPath() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("boot-cli-\(UUID().uuidString)").path
}
