// SPDX-License-Identifier: AGPL-3.0-or-later

import FoundationEssentials
import Logging
import Synchronization

/// Where log lines go: standard error, one whole line per write so threads never interleave.
enum LogOutput {
    private static let lock = Mutex(())

    static func write(_ line: String) {
        lock.withLock { _ in StandardStream.error.write(line + "\n") }
    }
}

/// One structured line per event on standard error: `--log.format logfmt` (`ts=… level=info
/// msg="phase changed" from=init …`, as Prometheus components log) or `json` (one object per line).
struct LineLogHandler: LogHandler {
    enum Format { case logfmt, json }

    let format: Format
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    let label: String

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        let timestamp = UTCTimestamp.now()
        let fields = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        switch format {
        case .logfmt:
            var line = "ts=\(timestamp) level=\(event.level.rawValue) msg=\(Self.quote(event.message.description))"
            for (key, value) in fields.sorted(by: { $0.key < $1.key }) {
                line += " \(key)=\(Self.quote(value.description))"
            }
            LogOutput.write(line)
        case .json:
            var object: [String: String] = ["ts": timestamp, "level": event.level.rawValue, "msg": event.message.description]
            for (key, value) in fields where object[key] == nil { object[key] = value.description }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(object) else { return }
            LogOutput.write(String(decoding: data, as: UTF8.self))
        }
    }

    /// A value as logfmt writes it: bare when it has no space, quote or `=`, quoted otherwise.
    static func quote(_ value: String) -> String {
        let needsQuotes = value.isEmpty || value.contains { $0 == " " || $0 == "\"" || $0 == "=" || $0.isNewline || $0 == "\\" }
        guard needsQuotes else { return value }
        var escaped = ""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": escaped += "\\\""
            case "\\": escaped += "\\\\"
            case "\n": escaped += "\\n"
            case "\r": escaped += "\\r"
            case "\t": escaped += "\\t"
            default: escaped.unicodeScalars.append(scalar)
            }
        }
        return "\"\(escaped)\""
    }
}
