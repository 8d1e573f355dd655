// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter

/// One entry of the boot journal: a flat JSON object.
///
/// `{"type":"boot","attempt":3,"start_unix_ms":1767225600000,"mode":"normal"}`,
/// `{"type":"phase","phase":"init","duration_ms":12}` (with `"outcome":"failed"` or `"stopped"` for the phase the boot
/// ended in),
/// `{"type":"end","phase":"recover","duration_ms":1234,"outcome":"failed","reason":"…"}`,
/// `{"type":"histograms","boot_budget_ms":3600000,"boot_sum_ms":2500,"boot_buckets":[0,1,…],"init_budget_ms":…}`:
/// the boot-time histograms as they stand, one `NAME_budget_ms`, `NAME_sum_ms` and `NAME_buckets`
/// (per-bucket counts, not cumulative) for `boot` and for each phase that has counted something.
/// Absent values are left out. Reading takes the keys in any order and skips unknown ones, whatever
/// their values (a newer writer may add some); a value of the wrong kind makes the entry unreadable.
///
/// Written and read here rather than by FoundationEssentials' coders: in `run` they would be their
/// only users, and paging their code in made the idle exporter 0.7 MiB larger (15.4 against 14.7 MiB).
struct JournalEntry: Equatable {
    var type: String
    var attempt: UInt64?
    var startUnixMs: UInt64?
    var mode: String?
    var phase: String?
    var durationMs: UInt64?
    var outcome: String?
    var reason: String?
    /// The histograms of a `histograms` entry, by name (`boot`, or a phase's).
    var histograms: [String: BootTimeHistograms.Histogram]?

    /// The names a `histograms` entry may hold, in the order they are written.
    static let histogramNames = ["boot"] + BootTimeHistograms.countedPhases.map(\.name)

    init(type: String, attempt: UInt64? = nil, startUnixMs: UInt64? = nil, mode: String? = nil, phase: String? = nil,
         durationMs: UInt64? = nil, outcome: String? = nil, reason: String? = nil,
         histograms: [String: BootTimeHistograms.Histogram]? = nil) {
        self.type = type
        self.attempt = attempt
        self.startUnixMs = startUnixMs
        self.mode = mode
        self.phase = phase
        self.durationMs = durationMs
        self.outcome = outcome
        self.reason = reason
        self.histograms = histograms
    }

    /// The entry as JSON text.
    var json: [UInt8] {
        var members = ["\"type\":" + Self.quoted(type)]
        if let attempt { members.append("\"attempt\":\(attempt)") }
        if let startUnixMs { members.append("\"start_unix_ms\":\(startUnixMs)") }
        if let mode { members.append("\"mode\":" + Self.quoted(mode)) }
        if let phase { members.append("\"phase\":" + Self.quoted(phase)) }
        if let durationMs { members.append("\"duration_ms\":\(durationMs)") }
        if let outcome { members.append("\"outcome\":" + Self.quoted(outcome)) }
        if let reason { members.append("\"reason\":" + Self.quoted(reason)) }
        for name in Self.histogramNames {
            guard let histogram = histograms?[name] else { continue }
            members.append("\"\(name)_budget_ms\":\(histogram.budgetMilliseconds)")
            members.append("\"\(name)_sum_ms\":\(histogram.sumMilliseconds)")
            members.append("\"\(name)_buckets\":[" + histogram.bucketCounts.map(String.init).joined(separator: ",") + "]")
        }
        return Array("{\(members.joined(separator: ","))}".utf8)
    }

    /// `text` as a JSON string: quotes, backslashes and control characters (DEL included) escaped.
    private static func quoted(_ text: String) -> String {
        var result = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\n": result += "\\n"
            case "\r": result += "\\r"
            case "\t": result += "\\t"
            case "\u{8}": result += "\\b"
            case "\u{C}": result += "\\f"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }

    /// The entry in `json`, or `nil` when it is not a JSON object with a string `type` and values
    /// of the right kinds.
    init?(json: some Collection<UInt8>) {
        var reader = FlatJSONReader(Array(json))
        var type: String?
        var entry = JournalEntry(type: "")
        var parts: [String: (budget: UInt64?, sum: UInt64?, buckets: [UInt64]?)] = [:]
        let complete = reader.object { key, reader in
            if let (name, field) = Self.histogramKey(key) {
                var value: UInt64?
                switch field {
                case "_buckets": parts[name, default: (nil, nil, nil)].buckets = reader.unsignedArray()
                    return parts[name]?.buckets != nil
                case "_budget_ms": guard reader.unsigned(into: &value), let value else { return false }
                    parts[name, default: (nil, nil, nil)].budget = value
                default: guard reader.unsigned(into: &value), let value else { return false }
                    parts[name, default: (nil, nil, nil)].sum = value
                }
                return true
            }
            switch key {
            case "type": return reader.string().map { type = $0 } != nil
            case "attempt": return reader.unsigned(into: &entry.attempt)
            case "start_unix_ms": return reader.unsigned(into: &entry.startUnixMs)
            case "mode": return reader.optionalString(into: &entry.mode)
            case "phase": return reader.optionalString(into: &entry.phase)
            case "duration_ms": return reader.unsigned(into: &entry.durationMs)
            case "outcome": return reader.optionalString(into: &entry.outcome)
            case "reason": return reader.optionalString(into: &entry.reason)
            default: return reader.skipValue()
            }
        }
        guard complete, let type else { return nil }
        if !parts.isEmpty {
            var histograms: [String: BootTimeHistograms.Histogram] = [:]
            for (name, part) in parts {
                guard let budget = part.budget, let sum = part.sum, let buckets = part.buckets,
                      let histogram = BootTimeHistograms.Histogram(budgetMilliseconds: budget, bucketCounts: buckets, sumMilliseconds: sum)
                else { return nil }
                histograms[name] = histogram
            }
            entry.histograms = histograms
        }
        entry.type = type
        self = entry
    }

    /// The histogram name and field (`_budget_ms`, `_sum_ms`, `_buckets`) of a `histograms` entry's key.
    private static func histogramKey(_ key: String) -> (name: String, field: String)? {
        for field in ["_budget_ms", "_sum_ms", "_buckets"] where key.hasSuffix(field) {
            let name = String(key.dropLast(field.count))
            if histogramNames.contains(name) { return (name, field) }
        }
        return nil
    }
}
