// SPDX-License-Identifier: AGPL-3.0-or-later

import Synchronization

/// The endpoints, as the `handler` label of `boot_exporter_http_requests_total` names them.
public enum Handler: String, Sendable, CaseIterable {
    case root = "/"
    case metrics = "/metrics"
    case health = "/health"
    case livez = "/livez"
    case readyz = "/readyz"
    case startupz = "/startupz"
    /// Any path the exporter does not serve.
    case other = "other"
}

/// Requests answered, by handler and status code: `boot_exporter_http_requests_total`.
final class HTTPRequestCounters: Sendable {
    /// Every status code the exporter answers with; each gets a series once it has been used.
    static let codes: [UInt16] = [200, 400, 401, 404, 405, 500, 503]

    private let counts = Mutex([UInt64](repeating: 0, count: Handler.allCases.count * codes.count))

    func record(_ handler: Handler, code: UInt16) {
        guard let codeIndex = Self.codes.firstIndex(of: code) else { return }
        let index = Self.index(handler) * Self.codes.count + codeIndex
        counts.withLock { $0[index] &+= 1 }
    }

    /// Calls `body` with each (handler index, code index, count) whose count is not zero.
    func forEachNonZero(_ body: (_ handler: Int, _ code: Int, _ count: UInt64) -> Void) {
        let values = counts.withLock { $0 }
        for (index, count) in values.enumerated() where count > 0 {
            body(index / Self.codes.count, index % Self.codes.count, count)
        }
    }

    static func index(_ handler: Handler) -> Int {
        Handler.allCases.firstIndex(of: handler)!
    }
}
