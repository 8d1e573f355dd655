// SPDX-License-Identifier: AGPL-3.0-or-later

/// The formats `/metrics` speaks.
public enum ExpositionFormat: Sendable, Hashable, CaseIterable {
    /// Prometheus text format 0.0.4, the default.
    case prometheusText
    /// OpenMetrics 1.0.0, when the scraper prefers it (Prometheus does).
    case openMetrics

    /// The `Content-Type` of a response in this format.
    public var contentType: StaticString {
        switch self {
        case .prometheusText: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }
}

/// The kind of a metric family, as written on its `# TYPE` line.
enum MetricType: String, Sendable {
    case counter
    case gauge
}

/// The text that never changes in one metric family: its `# HELP` and `# TYPE` lines and each of
/// its samples' name-and-labels prefix, rendered once per format so a scrape only appends numbers.
struct MetricFamily: Sendable {
    /// `# HELP …\n# TYPE …\n`.
    let header: [UInt8]
    /// `name{label="value"} ` for each label set given, in order.
    let prefixes: [[UInt8]]

    /// A family whose samples carry `labels`: one label name per position, one array of values per sample.
    init(_ name: String, _ type: MetricType, _ help: String, format: ExpositionFormat,
         labelNames: [String] = [], labelSets: [[String]] = [[]]) {
        // OpenMetrics names a counter family without its `_total` suffix; its samples keep it.
        let familyName = format == .openMetrics && type == .counter && name.hasSuffix("_total")
            ? String(name.dropLast("_total".count)) : name
        header = Array("# HELP \(familyName) \(Self.escapeHelp(help))\n# TYPE \(familyName) \(type.rawValue)\n".utf8)
        prefixes = labelSets.map { values in
            precondition(values.count == labelNames.count, "label values do not match label names")
            return Array((Self.sampleName(name, labelNames: labelNames, values: values) + " ").utf8)
        }
    }

    /// The prefix of the only sample of an unlabelled family.
    var prefix: [UInt8] { prefixes[0] }

    static func sampleName(_ name: String, labelNames: [String], values: [String]) -> String {
        guard !labelNames.isEmpty else { return name }
        let labels = zip(labelNames, values).map { "\($0)=\"\(escapeLabelValue($1))\"" }.joined(separator: ",")
        return "\(name){\(labels)}"
    }

    /// Escapes a `# HELP` text: backslash and newline.
    static func escapeHelp(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\n", with: "\\n")
    }

    /// Escapes a label value: backslash, double quote and newline.
    static func escapeLabelValue(_ text: String) -> String {
        text.replacingAll("\\", with: "\\\\").replacingAll("\"", with: "\\\"").replacingAll("\n", with: "\\n")
    }
}

extension OutputBuffer {
    /// Appends a label value escaped for the exposition formats, without building a `String`.
    mutating func append(labelValue: String) {
        for byte in labelValue.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\" as StaticString)
            case UInt8(ascii: "\""): append("\\\"" as StaticString)
            case UInt8(ascii: "\n"): append("\\n" as StaticString)
            default: append(byte)
            }
        }
    }
}

extension String {
    /// `self` with every occurrence of the scalar `target` replaced. Works on scalars, not
    /// characters, so the `\n` of a `\r\n` pair is found too.
    func replacingAll(_ target: Unicode.Scalar, with replacement: String) -> String {
        var result = ""
        result.reserveCapacity(utf8.count)
        for scalar in unicodeScalars {
            if scalar == target { result += replacement } else { result.unicodeScalars.append(scalar) }
        }
        return result
    }
}
