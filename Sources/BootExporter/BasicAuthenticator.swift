// SPDX-License-Identifier: AGPL-3.0-or-later

import CCrypt
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// HTTP basic authentication against bcrypt hashes, verified with the system's crypt library.
///
/// bcrypt is slow on purpose (tens of milliseconds); as the exporter toolkit does, credentials that
/// verified once are remembered (at most 64 pairs), so a scraper pays the cost once and never waits.
/// Other checks run one at a time, in arrival order, each waiting at most ``maxWait`` for its turn:
/// a flood of wrong passwords takes at most one core and cannot keep a right one out, since the
/// right one is checked after the few requests ahead of it. Passwords and hashes are never logged.
final class BasicAuthenticator: Sendable {
    /// What a check concluded.
    enum Verdict {
        case allowed
        case denied
        /// Its turn for a bcrypt check did not come within ``maxWait``: try again (answered with 429).
        case busy
    }

    private let users: [String: String]
    private let verified = Mutex<Set<String>>([])
    /// Unknown users are checked against this hash too, so the time of an answer does not tell
    /// which user names exist.
    private let dummyHash: String
    /// The single bcrypt check at a time, taken in arrival order.
    private let turns = CheckTurns()
    /// How long a request waits for its turn before it is answered 429. Every waiter holds a server
    /// thread, so at most one per thread waits and a turn comes after a few checks: a second is
    /// ample for a right password, and bounds how long a flood holds the threads.
    static let maxWait = Duration.seconds(1)
    /// Requests of one client address waiting at once; more get 429 at once. With many server
    /// threads (`--web.threads`), one address could otherwise fill the line and make every other
    /// client's turn come after the wait.
    static let maxWaitingPerClient = 2

    /// `users` maps user names to bcrypt hashes (`$2a$`, `$2b$` or `$2y$`).
    init(users: [String: String]) {
        self.users = users
        let cost = users.values.first.map { String($0.dropFirst(4).prefix(2)) }.flatMap { UInt($0) } ?? 10
        dummyHash = Self.hash(password: "not a password of this server", cost: cost) ?? users.values.first ?? ""
    }

    /// Whether `hash` is a bcrypt hash: `$2b$10$` and 53 characters of salt and digest.
    static func isBcryptHash(_ hash: String) -> Bool {
        let bytes = Array(hash.utf8)
        guard bytes.count == 60, hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$"),
              bytes[6] == UInt8(ascii: "$"),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[4]),
              (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[5]) else { return false }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        return bytes[7...].allSatisfy(alphabet.contains)
    }

    /// Whether an `Authorization` header carries a known user and the right password; `client` (its
    /// IP address) is read only when a bcrypt check is needed.
    func check(_ authorization: String?, client: @autoclosure () -> String = "") -> Verdict {
        guard let authorization, let (user, password) = Self.credentials(authorization) else { return .denied }
        let key = user + "\u{0}" + password
        if verified.withLock({ $0.contains(key) }) { return .allowed }
        guard turns.wait(atMost: Self.maxWait, client: client()) else { return .busy }
        defer { turns.finish() }
        let hash = users[user]
        guard Self.verify(password: password, hash: hash ?? dummyHash), hash != nil else { return .denied }
        verified.withLock { remembered in
            if remembered.count >= 64 { remembered.removeAll() }
            remembered.insert(key)
        }
        return .allowed
    }

    /// bcrypt reads at most this many bytes of a password: a longer one is refused rather than
    /// matched on its first 72 bytes.
    static let maxPasswordBytes = 72

    /// User and password of `Basic <base64(user:password)>`; `nil` when malformed, when either holds
    /// a NUL (crypt(3) would stop reading the password there, so `secret\0anything` would pass) or
    /// when the password is longer than bcrypt reads.
    static func credentials(_ authorization: String) -> (String, String)? {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Base64.decode(parts[1].trimmed), !decoded.contains(0) else { return nil }
        guard let colon = decoded.firstIndex(of: UInt8(ascii: ":")),
              decoded.distance(from: colon, to: decoded.endIndex) - 1 <= maxPasswordBytes else { return nil }
        return (String(decoding: decoded[..<colon], as: UTF8.self), String(decoding: decoded[(colon + 1)...], as: UTF8.self))
    }

    /// crypt(3) of `password` with the hash's salt, compared in constant time with the hash.
    static func verify(password: String, hash: String) -> Bool {
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_rn(password, hash, data, Int32(MemoryLayout<crypt_data>.size)) else { return false }
        let computed = Array(String(cString: result).utf8)
        let expected = Array(hash.utf8)
        guard computed.count == expected.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices { difference |= computed[index] ^ expected[index] }
        return difference == 0
    }

    /// A bcrypt hash of `password` (cost 10), for tests and tooling.
    static func hash(password: String, cost: UInt = 10) -> String? {
        var salt = [CChar](repeating: 0, count: 64)
        guard crypt_gensalt_rn("$2b$", cost, nil, 0, &salt, Int32(salt.count)) != nil else { return nil }
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer { data.deallocate() }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        return crypt_rn(password, salt, data, Int32(MemoryLayout<crypt_data>.size)).map { String(cString: $0) }
    }
}

/// One turn at a time, given in the order asked (first in, first out), each asker waiting a bounded
/// time. A mutex and a condition variable from pthreads: the waiting threads are libmicrohttpd's, not
/// tasks, and must sleep rather than spin.
final class CheckTurns: @unchecked Sendable {
    // @unchecked: every stored property is read and written with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let changed = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var taken = false
    /// Tickets of the waiting askers, oldest first.
    private var waiting: [UInt64] = []
    private var nextTicket: UInt64 = 0
    /// How many of `waiting` each client address holds.
    private var waitingPerClient: [String: Int] = [:]

    init() {
        pthread_mutex_init(mutex, nil)
        // Deadlines on the monotonic clock: a wall clock set back must not stretch a wait.
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(changed, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(changed)
        pthread_mutex_destroy(mutex)
        changed.deallocate()
        mutex.deallocate()
    }

    /// Waits for the turn, at most `limit`; `true` when it is this caller's (who must call ``finish()``).
    /// `false` at once when `client` already has ``BasicAuthenticator/maxWaitingPerClient`` waiting.
    func wait(atMost limit: Duration, client: String) -> Bool {
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        let (seconds, attoseconds) = limit.components
        let nanoseconds = Int(deadline.tv_nsec) + Int(attoseconds / 1_000_000_000)
        deadline.tv_sec += Int(seconds) + nanoseconds / 1_000_000_000
        deadline.tv_nsec = nanoseconds % 1_000_000_000

        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard waitingPerClient[client, default: 0] < BasicAuthenticator.maxWaitingPerClient else { return false }
        waitingPerClient[client, default: 0] += 1
        defer {
            waitingPerClient[client, default: 1] -= 1
            if waitingPerClient[client] == 0 { waitingPerClient[client] = nil }
        }
        let ticket = nextTicket
        nextTicket += 1
        waiting.append(ticket)
        while taken || waiting.first != ticket {
            if pthread_cond_timedwait(changed, mutex, &deadline) == ETIMEDOUT, taken || waiting.first != ticket {
                waiting.removeAll { $0 == ticket }
                // The one behind may now be first.
                pthread_cond_broadcast(changed)
                return false
            }
        }
        waiting.removeFirst()
        taken = true
        return true
    }

    /// Ends the turn, for the next in line.
    func finish() {
        pthread_mutex_lock(mutex)
        taken = false
        pthread_cond_broadcast(changed)
        pthread_mutex_unlock(mutex)
    }
}

/// Standard base64 (RFC 4648), padding required when the length needs it: Basic credentials are decoded,
/// the boot page's CSP hashes encoded.
enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        for start in stride(from: 0, to: bytes.count, by: 3) {
            let chunk = bytes[start..<min(start + 3, bytes.count)]
            let value = chunk.enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (16 - 8 * $1.offset) }
            for index in 0..<4 {
                out.append(index <= chunk.count ? alphabet[Int(value >> (18 - 6 * index) & 63)] : UInt8(ascii: "="))
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decode(_ text: Substring) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        var padding = 0
        for byte in text.utf8 {
            let value: UInt8
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = byte - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = byte - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = byte - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): value = 62
            case UInt8(ascii: "/"): value = 63
            case UInt8(ascii: "="): padding += 1; continue
            default: return nil
            }
            guard padding == 0 else { return nil }
            values.append(value)
        }
        guard (values.count + padding) % 4 == 0, padding <= 2 else { return nil }
        var output: [UInt8] = []
        var index = 0
        while index + 1 < values.count {
            let chunk = values[index..<min(index + 4, values.count)]
            var word: UInt32 = 0
            for (offset, value) in chunk.enumerated() { word |= UInt32(value) << (18 - 6 * offset) }
            output.append(UInt8(word >> 16 & 0xFF))
            if chunk.count > 2 { output.append(UInt8(word >> 8 & 0xFF)) }
            if chunk.count > 3 { output.append(UInt8(word & 0xFF)) }
            index += 4
        }
        return output
    }
}
