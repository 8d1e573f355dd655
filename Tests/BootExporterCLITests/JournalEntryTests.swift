// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import boot_exporter
import Foundation
import Testing

@Suite("Journal entries (JSON)")
struct JournalEntryTests {
    static let entries = [
        JournalEntry(type: "boot", attempt: 3, startUnixMs: 1_767_225_600_000, mode: "normal"),
        JournalEntry(type: "phase", phase: "init", durationMs: 0),
        JournalEntry(type: "end", phase: "recover", durationMs: UInt64.max, outcome: "failed",
                     reason: "Failed in recover: \"quoted\" \\ / tab\t nl\n nul\u{0} ✓ 数据 🚀 \u{2028}"),
    ]

    @Test("written entries read back", arguments: entries)
    func roundTrip(entry: JournalEntry) throws {
        #expect(JournalEntry(json: entry.json) == entry)
        // Any JSON parser reads them too.
        let object = try #require(try JSONSerialization.jsonObject(with: Data(entry.json)) as? [String: Any])
        #expect(object["type"] as? String == entry.type)
        #expect(object["reason"] as? String == entry.reason)
    }

    /// Journals written before this reader existed came from Foundation's JSONEncoder (snake-case
    /// keys, nils left out, `/` escaped): they must still read.
    @Test("entries written by Foundation's JSONEncoder read", arguments: entries)
    func readsFoundationsEncoding(entry: JournalEntry) throws {
        struct Old: Encodable {
            var type: String; var attempt: UInt64?; var startUnixMs: UInt64?; var mode: String?
            var phase: String?; var durationMs: UInt64?; var outcome: String?; var reason: String?
        }
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let json = try encoder.encode(Old(type: entry.type, attempt: entry.attempt, startUnixMs: entry.startUnixMs, mode: entry.mode,
                                          phase: entry.phase, durationMs: entry.durationMs, outcome: entry.outcome, reason: entry.reason))
        #expect(JournalEntry(json: json) == entry)
    }

    @Test func unknownKeysAreSkippedWhateverTheirValues() {
        let json = #" { "future": {"a": [1, "]}", {"b": null}]}, "type" : "phase", "n": -1.5e3, "ok": true, "phase": "init", "duration_ms": 7 } "#
        #expect(JournalEntry(json: Array(json.utf8)) == JournalEntry(type: "phase", phase: "init", durationMs: 7))
        #expect(JournalEntry(json: Array(#"{"type":"end","reason":null,"phase":"\ud83d\ude80"}"#.utf8))
            == JournalEntry(type: "end", phase: "🚀"))
    }

    @Test("malformed entries are refused", arguments: [
        "", "[]", "{}", #"{"type":1}"#, #"{"type":"boot","attempt":-1}"#, #"{"type":"boot","attempt":1.5}"#,
        #"{"type":"boot","attempt":18446744073709551616}"#, #"{"type":"boot","attempt":01}"#, #"{"type":"boot""#,
        #"{"type":"boot"} x"#, #"{"type":"boot","mode":"a\qb"}"#, #"{"type":"boot","mode":"\ud800"}"#,
        "{\"type\":\"boot\",\"mode\":\"raw\ncontrol\"}", #"{"type":"boot","x":[1,2}"#, #"{"type":"boot",}"#,
    ])
    func refusals(json: String) {
        #expect(JournalEntry(json: Array(json.utf8)) == nil)
    }

    /// The bytes written, pinned: the order and escaping journals have always been written with.
    @Test func writtenBytes() {
        let written = Self.entries.map { String(decoding: $0.json, as: UTF8.self) }
        #expect(written == [
            #"{"type":"boot","attempt":3,"start_unix_ms":1767225600000,"mode":"normal"}"#,
            #"{"type":"phase","phase":"init","duration_ms":0}"#,
            #"{"type":"end","phase":"recover","duration_ms":18446744073709551615,"outcome":"failed","reason":"Failed in recover: \"quoted\" \\ / tab\t nl\n nul\u0000 ✓ 数据 🚀 \#u{2028}"}"#,
        ])
        #expect(JournalEntry(type: "end", reason: "del\u{7F}").json == Array(#"{"type":"end","reason":"del\u007f"}"#.utf8))
    }

    @Test func invalidUTF8IsRefused() {
        #expect(JournalEntry(json: Array(#"{"type":"b"#.utf8) + [0xFF] + Array(#""}"#.utf8)) == nil)
    }
}
