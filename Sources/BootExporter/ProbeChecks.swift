// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// The Kubernetes probe endpoints, each a list of named checks as the API server's `/livez` and
/// `/readyz` are: `?verbose` prints `[+]name ok` or `[-]name failed: reason` per check.
enum Probe: Sendable {
    /// 200 unless the boot failed.
    case livez
    /// 200 only when ready; 503 as soon as shutdown begins.
    case readyz
    /// 200 once the boot finished (ready or shutting down); 503 while booting or failed.
    case startupz

    var name: StaticString {
        switch self {
        case .livez: "livez"
        case .readyz: "readyz"
        case .startupz: "startupz"
        }
    }

    struct Check {
        var name: StaticString
        /// Why the check failed, or `nil` when it passed.
        var failure: String?
    }

    func checks(_ snapshot: BootSnapshot, draining: Bool) -> [Check] {
        let phase = snapshot.phase
        var checks = [Check(name: "ping")]
        switch self {
        case .livez:
            checks.append(Check(name: "boot", failure: phase == .failed ? Self.failure(snapshot) : nil))
        case .readyz:
            checks.append(Check(name: "boot", failure: phase.isReady ? nil : Self.notReady(snapshot)))
            checks.append(Check(name: "shutdown", failure: draining || phase == .shuttingDown ? "shutting down" : nil))
        case .startupz:
            checks.append(Check(name: "boot", failure: phase.hasBooted ? nil : Self.notReady(snapshot)))
        }
        return checks
    }

    /// Writes the probe's body; returns whether every check passed.
    func write(_ snapshot: BootSnapshot, draining: Bool, verbose: Bool, into out: inout OutputBuffer) -> Bool {
        let checks = checks(snapshot, draining: draining)
        let passed = checks.allSatisfy { $0.failure == nil }
        if passed && !verbose {
            out.append("ok" as StaticString)
            return true
        }
        for check in checks {
            if let failure = check.failure {
                out.append("[-]" as StaticString)
                out.append(check.name)
                out.append(" failed: " as StaticString)
                out.append(singleLine: failure)
                out.append(UInt8(ascii: "\n"))
            } else {
                out.append("[+]" as StaticString)
                out.append(check.name)
                out.append(" ok\n" as StaticString)
            }
        }
        out.append(name)
        out.append(passed ? " check passed\n" as StaticString : " check failed\n")
        return passed
    }

    private static func failure(_ snapshot: BootSnapshot) -> String {
        "boot failed in phase \((snapshot.failedPhase ?? .failed).name): \(snapshot.failureReason ?? "unknown reason")"
    }

    private static func notReady(_ snapshot: BootSnapshot) -> String {
        switch snapshot.phase {
        case .failed: failure(snapshot)
        case .uninitialized: "boot not started"
        case .shuttingDown: "shutting down"
        case .ready: "ready"
        default: "booting: phase \(snapshot.phase.name), \(snapshot.progressPercent)% done"
        }
    }
}

extension OutputBuffer {
    /// Appends `text` with every control character (newlines included) replaced by a space, so a
    /// reason cannot break the one-check-per-line format.
    mutating func append(singleLine text: String) {
        for byte in text.utf8 {
            append(byte < 0x20 || byte == 0x7F ? UInt8(ascii: " ") : byte)
        }
    }
}
