// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM
import FoundationEssentials

/// One line of the `follow` protocol: a JSON object with an `event` and its fields.
///
/// | event | fields | effect |
/// |---|---|---|
/// | `start` | `mode` (`normal`, `readonly`, `force`; default `normal`) | `startBoot(mode:)` |
/// | `transition` | `phase` (a phase name: `migrate`, `recover`, `ready`, …) | `transition(to:)` |
/// | `progress` | `percent`, `message`, `items_processed`, `items_total`, `bytes_processed`, `bytes_total` | `updateProgress` |
/// | `wal` | `records`, `bytes` | `recordWALProgress` |
/// | `pages` | `count` | `recordPagesRecovered` |
/// | `rollbacks` | `count` | `recordTxnRollbacks` |
/// | `checkpoint` | `bytes` | checkpoint bytes scanned |
/// | `migration_step` | `count` (default 1) | migration steps completed |
/// | `warmup_hit_ratio` | `ratio` (0–1) | warmup hit ratio |
/// | `fail` | `reason` | `fail(reason:)` |
struct FollowEvent: Decodable {
    var event: String
    var mode: String?
    var phase: String?
    var percent: UInt8?
    var message: String?
    var itemsProcessed: UInt64?
    var itemsTotal: UInt64?
    var bytesProcessed: UInt64?
    var bytesTotal: UInt64?
    var records: UInt64?
    var bytes: UInt64?
    var count: UInt64?
    var ratio: Double?
    var reason: String?

    enum CodingKeys: String, CodingKey {
        case event, mode, phase, percent, message, records, bytes, count, ratio, reason
        case itemsProcessed = "items_processed"
        case itemsTotal = "items_total"
        case bytesProcessed = "bytes_processed"
        case bytesTotal = "bytes_total"
    }

    struct Rejection: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses a line; the error says what is wrong with it.
    static func parse(_ line: String) throws(Rejection) -> FollowEvent {
        do {
            return try JSONDecoder().decode(FollowEvent.self, from: Data(line.utf8))
        } catch let DecodingError.keyNotFound(key, _) {
            throw Rejection(description: "missing \"\(key.stringValue)\"")
        } catch let DecodingError.typeMismatch(_, context) {
            throw Rejection(description: "\"\(context.codingPath.map(\.stringValue).joined(separator: "."))\" has the wrong type")
        } catch {
            throw Rejection(description: "not a JSON object")
        }
    }

    /// Applies the event to `machine`; the error says why it could not be.
    func apply(to machine: BootStateMachine) throws(Rejection) {
        func required<T>(_ value: T?, _ name: String) throws(Rejection) -> T {
            guard let value else { throw Rejection(description: "\"\(event)\" needs \"\(name)\"") }
            return value
        }
        do {
            switch event {
            case "start":
                guard let recovery = RecoveryMode(name: mode ?? "normal") else {
                    throw Rejection(description: "unknown mode \"\(mode ?? "")\" (normal, readonly, force)")
                }
                try machine.startBoot(mode: recovery)
            case "transition":
                let name = try required(phase, "phase")
                guard let next = BootPhase(name: name) else { throw Rejection(description: "unknown phase \"\(name)\"") }
                try machine.transition(to: next)
            case "progress":
                machine.updateProgress(PhaseProgress(
                    percent: min(percent ?? 0, 100), message: message ?? "", itemsProcessed: itemsProcessed ?? 0,
                    itemsTotal: itemsTotal ?? 0, bytesProcessed: bytesProcessed ?? 0, bytesTotal: bytesTotal ?? 0))
            case "wal":
                machine.recordWALProgress(records: records ?? 0, bytes: bytes ?? 0)
            case "pages":
                machine.recordPagesRecovered(try required(count, "count"))
            case "rollbacks":
                machine.recordTxnRollbacks(try required(count, "count"))
            case "checkpoint":
                machine.metrics.recordCheckpointBytesScanned(try required(bytes, "bytes"))
            case "migration_step":
                machine.metrics.recordMigrationSteps(count ?? 1)
            case "warmup_hit_ratio":
                let value = try required(ratio, "ratio")
                guard (0...1).contains(value) else { throw Rejection(description: "ratio must be between 0 and 1") }
                machine.metrics.recordWarmupHitRatio(value)
            case "fail":
                machine.fail(reason: try required(reason, "reason"))
            default:
                throw Rejection(description: "unknown event \"\(event)\"")
            }
        } catch let error as BootError {
            throw Rejection(description: error.message)
        } catch let rejection as Rejection {
            throw rejection
        } catch {
            throw Rejection(description: "\(error)")
        }
    }
}
