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
    /// The boot page's data (last, so that the others keep their places in the exposition).
    case bootState = "/boot.json"
}

/// Requests answered, by handler and status code: `boot_exporter_http_requests_total`. One relaxed
/// atomic per series, so server threads never wait on each other to count.
final class HTTPRequestCounters: Sendable {
    /// Every status code the exporter answers with; each gets a series once it has been used.
    static let codes: [UInt16] = [200, 400, 401, 403, 404, 405, 429, 500, 503]

    private static let seriesCount = Handler.allCases.count * codes.count

    /// One atomic per (handler, code), allocated once for the server's life.
    private nonisolated(unsafe) let counts: UnsafeMutablePointer<Atomic<UInt64>>

    init() {
        counts = .allocate(capacity: Self.seriesCount)
        for index in 0..<Self.seriesCount { (counts + index).initialize(to: Atomic(0)) }
    }

    deinit {
        counts.deinitialize(count: Self.seriesCount)
        counts.deallocate()
    }

    func record(_ handler: Handler, code: UInt16) {
        guard let codeIndex = Self.codes.firstIndex(of: code) else { return }
        counts[Self.index(handler) * Self.codes.count + codeIndex].wrappingAdd(1, ordering: .relaxed)
    }

    /// Calls `body` with each (handler index, code index, count) whose count is not zero.
    func forEachNonZero(_ body: (_ handler: Int, _ code: Int, _ count: UInt64) -> Void) {
        for index in 0..<Self.seriesCount {
            let count = counts[index].load(ordering: .relaxed)
            if count > 0 { body(index / Self.codes.count, index % Self.codes.count, count) }
        }
    }

    static func index(_ handler: Handler) -> Int {
        switch handler {
        case .root: 0
        case .metrics: 1
        case .health: 2
        case .livez: 3
        case .readyz: 4
        case .startupz: 5
        case .other: 6
        case .bootState: 7
        }
    }
}
