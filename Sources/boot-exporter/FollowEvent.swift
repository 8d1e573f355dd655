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
struct FollowEvent {
    var event: String
    var mode: String?
    var phase: String?
    /// Any whole number; `progress` caps it at 100.
    var percent: UInt64?
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

    struct Rejection: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses a line (unknown keys are ignored; of a repeated key, JSONDecoder reads the first); the
    /// error says what is wrong with it.
    static func parse(_ line: String) throws(Rejection) -> FollowEvent {
        do {
            return try JSONDecoder().decode(FollowEvent.self, from: Data(line.utf8))
        } catch let rejection as Rejection {
            throw rejection
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
                    percent: UInt8(min(percent ?? 0, 100)), message: message ?? "", itemsProcessed: itemsProcessed ?? 0,
                    itemsTotal: itemsTotal ?? 0, bytesProcessed: bytesProcessed ?? 0, bytesTotal: bytesTotal ?? 0))
            case "wal":
                let metrics = machine.metrics
                try Self.fits(records ?? 0, on: metrics.walRecordsReplayed, "records")
                try Self.fits(bytes ?? 0, on: metrics.walBytesProcessed, "bytes")
                machine.recordWALProgress(records: records ?? 0, bytes: bytes ?? 0)
            case "pages":
                let count = try required(count, "count")
                try Self.fits(count, on: machine.metrics.pagesRecovered, "count")
                machine.recordPagesRecovered(count)
            case "rollbacks":
                let count = try required(count, "count")
                try Self.fits(count, on: machine.metrics.txnsRolledBack, "count")
                machine.recordTxnRollbacks(count)
            case "checkpoint":
                let bytes = try required(bytes, "bytes")
                try Self.fits(bytes, on: machine.metrics.checkpointBytesScanned, "bytes")
                machine.metrics.recordCheckpointBytesScanned(bytes)
            case "migration_step":
                try Self.fits(count ?? 1, on: machine.metrics.migrationStepsCompleted, "count")
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

    /// Refuses an addition that would take a counter past 2^64 − 1: wrapped, it would read as a
    /// reset to Prometheus (the machine's own counters wrap; a program behind `follow` is not trusted).
    private static func fits(_ added: UInt64, on counter: UInt64, _ name: String) throws(Rejection) {
        guard !counter.addingReportingOverflow(added).overflow else {
            throw Rejection(description: "\"\(name)\" \(added) would take the counter past 2^64 - 1 (it is at \(counter)): refused")
        }
    }
}

extension FollowEvent: Decodable {
    private enum CodingKeys: String, CodingKey {
        case event, mode, phase, percent, message, records, bytes, count, ratio, reason
        case itemsProcessed = "items_processed", itemsTotal = "items_total"
        case bytesProcessed = "bytes_processed", bytesTotal = "bytes_total"
    }

    init(from decoder: any Decoder) throws {
        let members = try decoder.container(keyedBy: CodingKeys.self)
        /// The member's value (`nil` when absent or null); a value of another type is refused.
        func value<T: Decodable>(_ key: CodingKeys, as type: T.Type) throws(Rejection) -> T? {
            do {
                return try members.decodeIfPresent(type, forKey: key)
            } catch {
                throw Rejection(description: "\"\(key.stringValue)\" has the wrong type")
            }
        }
        /// A whole number from 0 to 2^64 − 1 (`5`, `5.0`, `5e0`), read through `Decimal`, which keeps
        /// the digits: JSONDecoder reads a `UInt64` written with a fraction through a `Double`.
        func wholeNumber(_ key: CodingKeys) throws(Rejection) -> UInt64? {
            guard let number = try value(key, as: Decimal.self) else { return nil }
            guard let whole = UInt64(number.description) else { throw Rejection(description: "\"\(key.stringValue)\" has the wrong type") }
            return whole
        }
        guard let event = try value(.event, as: String.self) else {
            throw Rejection(description: members.contains(.event) ? "\"event\" has the wrong type" : "missing \"event\"")
        }
        self.init(
            event: event, mode: try value(.mode, as: String.self), phase: try value(.phase, as: String.self),
            percent: try wholeNumber(.percent), message: try value(.message, as: String.self),
            itemsProcessed: try wholeNumber(.itemsProcessed), itemsTotal: try wholeNumber(.itemsTotal),
            bytesProcessed: try wholeNumber(.bytesProcessed), bytesTotal: try wholeNumber(.bytesTotal),
            records: try wholeNumber(.records), bytes: try wholeNumber(.bytes), count: try wholeNumber(.count),
            ratio: try value(.ratio, as: Double.self), reason: try value(.reason, as: String.self)
        )
    }
}
