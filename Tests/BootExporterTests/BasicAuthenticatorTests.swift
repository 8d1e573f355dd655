// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import Testing

@Suite("Basic authentication")
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
}
