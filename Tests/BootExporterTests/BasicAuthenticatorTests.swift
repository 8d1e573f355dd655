// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import BootFSM
import Foundation
import Synchronization
import Testing

@Suite("Basic authentication", .serialized)
struct BasicAuthenticatorTests {
    func header(_ credentials: [UInt8]) -> String {
        "Basic " + base64(credentials)
    }

    /// Standard base64 with padding, written here so the test does not use the code it checks.
    func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = Array(bytes[start..<min(start + 3, bytes.count)]) + [0, 0]
            let value = Int(chunk[0]) << 16 | Int(chunk[1]) << 8 | Int(chunk[2])
            for index in 0..<4 {
                out.append(index <= bytes.count - start ? alphabet[(value >> (18 - 6 * index)) & 63] : "=")
            }
        }
        return out
    }

    @Test func thePasswordIsCheckedWhole() throws {
        let hash = try #require(BasicAuthenticator.hash(password: "secret", cost: 4))
        let authenticator = BasicAuthenticator(users: ["prom": hash])
        #expect(authenticator.check(header(Array("prom:secret".utf8))) == .allowed)
        #expect(authenticator.check(header(Array("prom:secretX".utf8))) == .denied)
        // crypt(3) stops at a NUL: without the check, anything after it would pass.
        #expect(authenticator.check(header(Array("prom:secret".utf8) + [0] + Array("garbage".utf8))) == .denied)
        #expect(authenticator.check(header(Array("pr".utf8) + [0] + Array("om:secret".utf8))) == .denied)
        // bcrypt reads 72 bytes: a longer password is refused, not matched on its first 72.
        let long = String(repeating: "a", count: 72)
        let longHash = try #require(BasicAuthenticator.hash(password: long, cost: 4))
        let longUser = BasicAuthenticator(users: ["prom": longHash])
        #expect(longUser.check(header(Array("prom:\(long)".utf8))) == .allowed)
        #expect(longUser.check(header(Array("prom:\(long)b".utf8))) == .denied)
    }

    /// Four threads sending wrong passwords as fast as they are answered, over real sockets, while a
    /// client with right passwords (a new user each try, so the cache of verified credentials cannot
    /// help) must get 200 within 2 s every time. Each check costs real bcrypt (cost 11, about 100 ms); the flood lasts
    /// a few seconds and stays on 127.0.0.1.
    @Test func aFloodOfWrongPasswordsDoesNotLockOutTheRightOne() throws {
        try rightPasswordsGetInDuringAFlood(threads: 4, flooders: 4)
    }

    /// With many server threads, one address flooding from as many connections could fill the line
    /// and push every other client's turn past the wait: it may have only two requests waiting, a
    /// third is refused at once, and another address still gets in line.
    @Test func oneAddressMayHaveOnlyTwoWaiting() throws {
        let turns = CheckTurns()
        #expect(turns.wait(atMost: .seconds(1), client: "10.0.0.1"))
        let served = DispatchSemaphore(value: 0)
        for client in ["10.0.0.2", "10.0.0.2", "10.0.0.3"] {
            Thread.detachNewThread {
                if turns.wait(atMost: .seconds(5), client: client) {
                    turns.finish()
                    served.signal()
                }
            }
        }
        usleep(200_000)  // the three are in line
        let started = ContinuousClock.now
        #expect(!turns.wait(atMost: .seconds(1), client: "10.0.0.2"))
        #expect(ContinuousClock.now - started < .milliseconds(500), "refused at once, not after the wait")
        turns.finish()
        for _ in 0..<3 { #expect(served.wait(timeout: .now() + 5) == .success) }
    }

    /// Starts a server with `threads` threads, floods it from 127.0.0.2 with `flooders` threads sending
    /// wrong passwords, and expects four right passwords from 127.0.0.1 to get 200 within 2 s each.
    private func rightPasswordsGetInDuringAFlood(threads: Int, flooders: Int) throws {
        let tries = 4
        var users: [String: String] = ["prom": try #require(BasicAuthenticator.hash(password: "secret", cost: 11))]
        for index in 0..<tries {
            let hash = try #require(BasicAuthenticator.hash(password: "right\(index)", cost: 11))
            users["probe\(index)"] = hash
        }
        let wrong = header(Array("prom:wrong".utf8))
        try withServer(try drivenMachine(to: .ready), configure: {
            $0.basicAuthUsers = users
            $0.threads = threads
        }) { _, port in
            let flood = Flood()
            let done = DispatchSemaphore(value: 0)
            let floodEnds = ContinuousClock.now + .seconds(8)  // a bound, whatever happens to the client
            for _ in 0..<flooders {
                Thread.detachNewThread {
                    var client: HTTPTestClient?
                    while !flood.stop.load(ordering: .relaxed) && ContinuousClock.now < floodEnds {
                        do {
                            if client == nil { client = try HTTPTestClient(port: port, source: "127.0.0.2") }
                            let status = try client!.request("GET", "/livez", headers: ["Authorization": wrong]).status
                            flood.answered.wrappingAdd(1, ordering: .relaxed)
                            // Retrying a 429 at once would only spin this machine's two cores.
                            if status == 429 { usleep(10_000) }
                        } catch {
                            client = nil
                        }
                    }
                    done.signal()
                }
            }
            defer {
                flood.stop.store(true, ordering: .relaxed)
                for _ in 0..<flooders { done.wait() }
            }
            usleep(300_000)  // the flood has the bcrypt check to itself
            for index in 0..<tries {
                let started = ContinuousClock.now
                let response = try HTTPTestClient.get(port: port, "/livez", headers: ["Authorization": header(Array("probe\(index):right\(index)".utf8))])
                let waited = ContinuousClock.now - started
                #expect(response.status == 200, "try \(index): \(response.status) after \(waited)")
                #expect(waited < .seconds(2), "try \(index)")
                usleep(200_000)
            }
            #expect(flood.answered.load(ordering: .relaxed) >= 10, "the flood was answered throughout")
        }
    }
}

/// What the flooding threads share with the test.
private final class Flood: Sendable {
    let stop = Atomic<Bool>(false)
    let answered = Atomic<Int>(0)
}
