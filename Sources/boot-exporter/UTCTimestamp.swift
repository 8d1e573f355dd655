// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// UTC times as ISO 8601 text (`2026-01-01T00:00:00Z`, or with `.123` milliseconds).
///
/// Written here rather than by `Date.ISO8601FormatStyle`: in a logging exporter it pages in 1 MiB more at
/// idle (15.5 against 14.5 MiB at `--log.level info`), past node_exporter's footprint.
enum UTCTimestamp {
    static func string(unixMilliseconds: UInt64, withMilliseconds: Bool) -> String {
        var seconds = time_t(unixMilliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var text = "\(Int(parts.tm_year) + 1900)-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))"
        text += "T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))"
        if withMilliseconds { text += "." + pad(Int32(unixMilliseconds % 1000), width: 3) }
        return text + "Z"
    }

    /// Now, with milliseconds.
    static func now() -> String {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return string(unixMilliseconds: UInt64(time.tv_sec) * 1000 + UInt64(time.tv_nsec / 1_000_000), withMilliseconds: true)
    }

    private static func pad(_ value: Int32, width: Int = 2) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
