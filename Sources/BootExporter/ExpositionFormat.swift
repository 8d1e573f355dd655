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
    case histogram
}

/// A run of bytes in a ``TextTemplate``: two integers, so handing one around costs no reference
/// counting on the scrape path.
struct TextRange: Sendable {
    var start: Int
    var count: Int
}

/// The text that never changes in one metric family: its `# HELP` and `# TYPE` lines and each of
/// its samples' name-and-labels prefix, rendered once per format so a scrape only appends numbers.
/// The bytes live in a ``TextTemplate``; a family only knows where.
struct MetricFamily: Sendable {
    /// `# HELP …\n# TYPE …\n`.
    let header: TextRange
    /// Index of the first `name{label="value"} ` prefix in the template's prefix table.
    let firstPrefix: Int
    let prefixCount: Int
}

/// Every fixed byte of an exposition format in one allocation, made once and never freed while
/// the writer lives: a scrape copies from it without touching a reference count.
final class TextTemplate: @unchecked Sendable {
    // @unchecked: written only while building, before the template is shared; read-only after.
    private var bytes: [UInt8] = []
    private var prefixes: [TextRange] = []
    private(set) var base = UnsafeRawPointer(bitPattern: 1)!
    private(set) var prefixTable = UnsafePointer<TextRange>(bitPattern: 8)!
    let format: ExpositionFormat

    init(format: ExpositionFormat) {
        self.format = format
    }

    /// Adds a family whose samples carry `labels`: one label name per position, one array of values
    /// per sample.
    func family(_ name: String, _ type: MetricType, _ help: String,
                labelNames: [String] = [], labelSets: [[String]] = [[]]) -> MetricFamily {
        // OpenMetrics names a counter family without its `_total` suffix; its samples keep it.
        let familyName = format == .openMetrics && type == .counter && name.hasSuffix("_total")
            ? String(name.dropLast("_total".count)) : name
        let header = add("# HELP \(familyName) \(Self.escapeHelp(help))\n# TYPE \(familyName) \(type.rawValue)\n")
        let first = prefixes.count
        for values in labelSets {
            precondition(values.count == labelNames.count, "label values do not match label names")
            prefixes.append(add(Self.sampleName(name, labelNames: labelNames, values: values) + " "))
        }
        return MetricFamily(header: header, firstPrefix: first, prefixCount: labelSets.count)
    }

    /// Freezes the template: from here on only ``base`` and ``prefixTable`` are used.
    func seal() {
        let memory = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 8)
        memory.copyMemory(from: bytes, byteCount: bytes.count)
        base = UnsafeRawPointer(memory)
        let table = UnsafeMutablePointer<TextRange>.allocate(capacity: max(prefixes.count, 1))
        table.initialize(from: prefixes, count: prefixes.count)
        prefixTable = UnsafePointer(table)
    }

    deinit {
        if !bytes.isEmpty { UnsafeMutableRawPointer(mutating: base).deallocate() }
        if !prefixes.isEmpty { UnsafeMutablePointer(mutating: prefixTable).deallocate() }
    }

    private func add(_ text: String) -> TextRange {
        let range = TextRange(start: bytes.count, count: text.utf8.count)
        bytes.append(contentsOf: text.utf8)
        return range
    }

    static func sampleName(_ name: String, labelNames: [String], values: [String]) -> String {
        guard !labelNames.isEmpty else { return name }
        let labels = zip(labelNames, values).map { "\($0)=\"\(escapeLabelValue($1))\"" }.joined(separator: ",")
        return "\(name){\(labels)}"
    }

    /// Escapes a `# HELP` text: backslash and newline.
    static func escapeHelp(_ text: String) -> String { escaped(text, quote: false) }

    /// Escapes a label value: backslash, double quote and newline.
    static func escapeLabelValue(_ text: String) -> String { escaped(text, quote: true) }

    private static func escaped(_ text: String, quote: Bool) -> String {
        var out = OutputBuffer(capacity: 2 * text.utf8.count)
        out.append(escaping: text, quote: quote)
        return String(decoding: out.bytes, as: UTF8.self)
    }
}

extension OutputBuffer {
    /// Appends a label value escaped for the exposition formats, without building a `String`.
    mutating func append(labelValue: String) {
        append(escaping: labelValue, quote: true)
    }

    /// Appends `text` with backslash and newline escaped, and the double quote when `quote` (label
    /// values): the exposition formats' one escaping rule.
    mutating func append(escaping text: String, quote: Bool) {
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\\"): append("\\\\" as StaticString)
            case UInt8(ascii: "\"") where quote: append("\\\"" as StaticString)
            case UInt8(ascii: "\n"): append("\\n" as StaticString)
            default: append(byte)
            }
        }
    }
}
