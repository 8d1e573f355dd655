// SPDX-License-Identifier: AGPL-3.0-or-later

/// Parses durations as Prometheus writes them: one or more `<number><unit>` with units `ms`, `s`,
/// `m`, `h`, `d` — `30s`, `5m`, `1h30m`, `250ms`.
enum DurationParser {
    struct Failure: Error, CustomStringConvertible {
        let text: String
        var description: String { "invalid duration \"\(text)\": use a number and a unit (ms, s, m, h, d), such as 30s, 5m or 1h30m" }
    }

    static func parse(_ text: String) throws(Failure) -> Duration {
        var total = Duration.zero
        var rest = Substring(text)
        guard !rest.isEmpty else { throw Failure(text: text) }
        while !rest.isEmpty {
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            guard !digits.isEmpty, digits.count <= 12, let value = Int64(digits) else { throw Failure(text: text) }
            rest = rest.dropFirst(digits.count)
            let unit = rest.prefix { $0.isASCII && $0.isLetter }
            rest = rest.dropFirst(unit.count)
            switch unit {
            case "ms": total += .milliseconds(value)
            case "s": total += .seconds(value)
            case "m": total += .seconds(value * 60)
            case "h": total += .seconds(value * 3600)
            case "d": total += .seconds(value * 86_400)
            default: throw Failure(text: text)
            }
            // Past ten years a duration is a typo, and the arithmetic of budgets stays far from overflow.
            guard total <= .seconds(315_360_000) else { throw Failure(text: text) }
        }
        return total
    }

    /// `1h30m`, `45s`, `250ms`: the shortest form `parse` reads back.
    static func format(_ duration: Duration) -> String {
        let (seconds, attoseconds) = duration.components
        var milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        guard milliseconds > 0 else { return "0s" }
        var text = ""
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000), ("s", 1000), ("ms", 1)] where milliseconds >= size {
            text += "\(milliseconds / size)\(unit)"
            milliseconds %= size
        }
        return text
    }
}
