// SPDX-License-Identifier: AGPL-3.0-or-later

import BootFSM

/// One entry of the boot journal: a flat JSON object, written and read here without a general JSON
/// library (the journal is written at every change of phase of every boot; Foundation's coders
/// would be the only users of their code in a running exporter).
///
/// `{"type":"boot","attempt":3,"start_unix_ms":1767225600000,"mode":"normal"}`,
/// `{"type":"phase","phase":"init","duration_ms":12}`,
/// `{"type":"end","phase":"recover","duration_ms":1234,"outcome":"failed","reason":"…"}`.
/// Absent values are left out. Reading ignores unknown keys (whatever their values), as a newer
/// writer may add some; a value of the wrong kind makes the entry unreadable.
struct JournalEntry: Equatable {
    var type: String
    var attempt: UInt64?
    var startUnixMs: UInt64?
    var mode: String?
    var phase: String?
    var durationMs: UInt64?
    var outcome: String?
    var reason: String?

    init(type: String, attempt: UInt64? = nil, startUnixMs: UInt64? = nil, mode: String? = nil, phase: String? = nil,
         durationMs: UInt64? = nil, outcome: String? = nil, reason: String? = nil) {
        self.type = type
        self.attempt = attempt
        self.startUnixMs = startUnixMs
        self.mode = mode
        self.phase = phase
        self.durationMs = durationMs
        self.outcome = outcome
        self.reason = reason
    }

    /// The entry as JSON text.
    var json: [UInt8] {
        let strings = [type, mode, phase, outcome, reason].reduce(0) { $0 + ($1?.utf8.count ?? 0) }
        // Keys and numbers take under 256 bytes; an escaped byte at most six.
        let text = JSONWriter.write(capacity: 256 + 6 * strings) { w in
            w.beginObject()
            w.key("type"); w.string(type)
            if let attempt { w.key("attempt"); w.number(attempt) }
            if let startUnixMs { w.key("start_unix_ms"); w.number(startUnixMs) }
            if let mode { w.key("mode"); w.string(mode) }
            if let phase { w.key("phase"); w.string(phase) }
            if let durationMs { w.key("duration_ms"); w.number(durationMs) }
            if let outcome { w.key("outcome"); w.string(outcome) }
            if let reason { w.key("reason"); w.string(reason) }
            w.endObject()
        }
        return Array(text.utf8)
    }

    /// The entry in `json`, or `nil` when it is not a JSON object with a string `type` and values
    /// of the right kinds.
    init?(json: some Collection<UInt8>) {
        var scanner = FlatJSONScanner(Array(json))
        var type: String?
        var entry = JournalEntry(type: "")
        let complete = scanner.object { key, scanner in
            switch key {
            case "type": return scanner.string().map { type = $0 } != nil
            case "attempt": return scanner.unsigned(into: &entry.attempt)
            case "start_unix_ms": return scanner.unsigned(into: &entry.startUnixMs)
            case "mode": return scanner.optionalString(into: &entry.mode)
            case "phase": return scanner.optionalString(into: &entry.phase)
            case "duration_ms": return scanner.unsigned(into: &entry.durationMs)
            case "outcome": return scanner.optionalString(into: &entry.outcome)
            case "reason": return scanner.optionalString(into: &entry.reason)
            default: return scanner.skipValue()
            }
        }
        guard complete, let type else { return nil }
        entry.type = type
        self = entry
    }
}
