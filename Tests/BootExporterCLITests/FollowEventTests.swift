// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import boot_exporter
import BootFSM
import Testing

@Suite("follow: event lines")
struct FollowEventTests {
    static func rejection(_ line: String) -> String? {
        do {
            _ = try FollowEvent.parse(line)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func readsEveryField() throws {
        let event = try FollowEvent.parse(#"""
            { "event": "progress", "percent": 250, "message": "segment \"7\"\n", "items_processed": 3,
              "items_total": 10, "bytes_processed": 300, "bytes_total": 1000, "records": 5, "bytes": 50,
              "count": 2.0e0, "ratio": 2.5e-1, "reason": null, "mode": "force", "phase": "recover",
              "unknown": {"nested": [1, "]"]}, "records": 6 }
            """#)
        #expect(event.event == "progress" && event.percent == 250 && event.message == "segment \"7\"\n")
        #expect(event.itemsProcessed == 3 && event.itemsTotal == 10 && event.bytesProcessed == 300 && event.bytesTotal == 1000)
        #expect(event.records == 5, "of a repeated key, the first counts (JSONDecoder's reading)")
        #expect(event.bytes == 50 && event.count == 2 && event.ratio == 0.25 && event.reason == nil)
        #expect(event.mode == "force" && event.phase == "recover")
    }

    @Test func saysWhatIsWrong() {
        #expect(Self.rejection(#"{"records": 1}"#) == #"missing "event""#)
        #expect(Self.rejection(#"{"event": "wal", "records": "many"}"#) == #""records" has the wrong type"#)
        #expect(Self.rejection(#"{"event": "warmup_hit_ratio", "ratio": "half"}"#) == #""ratio" has the wrong type"#)
        #expect(Self.rejection(#"{"event": 3}"#) == #""event" has the wrong type"#)
        #expect(Self.rejection("not json at all") == "not a JSON object")
        #expect(Self.rejection(#"{"event": "wal""#) == "not a JSON object")
        #expect(Self.rejection(#"[{"event": "wal"}]"#) == "not a JSON object")
        #expect(Self.rejection(#"{"event": "wal"} {}"#) == "not a JSON object")
        #expect(Self.rejection(#"{"event": "wal", "x": nope}"#) == "not a JSON object")
    }

    /// Whole numbers are read from their digits, not through a `Double`: what is not a whole number from 0
    /// to 2^64 - 1 is refused, however close.
    @Test func wholeNumbersAreExact() throws {
        #expect(try FollowEvent.parse(#"{"event": "wal", "records": 1.8446744073709551615e19}"#).records == .max)
        #expect(try FollowEvent.parse(#"{"event": "wal", "records": 9007199254740993}"#).records == 9_007_199_254_740_993)
        #expect(try FollowEvent.parse(#"{"event": "wal", "records": -0, "bytes": 5e0}"#).records == 0)
        for number in ["-1", "0.5", "0.99999999999999999999", "18446744073709551616", "1e400", "1e-400"] {
            #expect(Self.rejection(#"{"event": "wal", "records": \#(number)}"#) == #""records" has the wrong type"#, "\(number)")
        }
        #expect(Self.rejection(#"{"event": null}"#) == #""event" has the wrong type"#)
    }

    /// A counter that wrapped would read as a reset to Prometheus: an event that would take one past
    /// 2^64 - 1 is refused, and the counter stays where it was.
    @Test("counter events cannot wrap a counter")
    func countersDoNotWrap() throws {
        let machine = BootStateMachine()
        func apply(_ line: String) -> String? {
            do {
                try FollowEvent.parse(line).apply(to: machine)
                return nil
            } catch {
                return error.description
            }
        }
        #expect(apply(#"{"event": "wal", "records": 18446744073709551615, "bytes": 18446744073709551615}"#) == nil)
        #expect(apply(#"{"event": "wal", "records": 1, "bytes": 0}"#)?.contains("past 2^64 - 1") == true)
        #expect(apply(#"{"event": "wal", "records": 0, "bytes": 1}"#)?.contains("\"bytes\" 1 would take the counter past") == true)
        #expect(machine.metrics.walRecordsReplayed == .max && machine.metrics.walBytesProcessed == .max)
        for (event, field) in [("pages", "count"), ("rollbacks", "count"), ("checkpoint", "bytes"), ("migration_step", "count")] {
            #expect(apply(#"{"event": "\#(event)", "\#(field)": 18446744073709551615}"#) == nil, "\(event)")
            #expect(apply(#"{"event": "\#(event)", "\#(field)": 1}"#) != nil, "\(event)")
        }
        let counters = machine.metrics
        #expect(counters.pagesRecovered == .max && counters.txnsRolledBack == .max)
        #expect(counters.checkpointBytesScanned == .max && counters.migrationStepsCompleted == .max)
    }
}
