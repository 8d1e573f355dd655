// SPDX-License-Identifier: AGPL-3.0-or-later

import FoundationEssentials

/// One entry of the boot journal: a flat JSON object.
///
/// `{"attempt":3,"mode":"normal","start_unix_ms":1767225600000,"type":"boot"}`,
/// `{"duration_ms":12,"phase":"init","type":"phase"}`,
/// `{"duration_ms":1234,"outcome":"failed","phase":"recover","reason":"…","type":"end"}`.
/// Absent values are left out. Readers take the keys in any order and ignore unknown ones (a newer
/// writer may add some); a value of the wrong kind makes the entry unreadable.
struct JournalEntry: Equatable, Codable {
    var type: String
    var attempt: UInt64?
    var startUnixMs: UInt64?
    var mode: String?
    var phase: String?
    var durationMs: UInt64?
    var outcome: String?
    var reason: String?

    private enum CodingKeys: String, CodingKey {
        case type, attempt, startUnixMs = "start_unix_ms", mode, phase, durationMs = "duration_ms", outcome, reason
    }

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

    /// The entry as JSON text. Keys are sorted so that an entry is always written the same bytes.
    var json: [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Strings and integers always encode.
        return Array(try! encoder.encode(self))
    }

    /// The entry in `json`, or `nil` when it is not a JSON object with a string `type` and values
    /// of the right kinds.
    init?(json: some Collection<UInt8>) {
        guard let entry = try? JSONDecoder().decode(Self.self, from: Data(json)) else { return nil }
        self = entry
    }
}
