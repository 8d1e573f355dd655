// SPDX-License-Identifier: AGPL-3.0-or-later

/// One metric family of a Prometheus text-format scrape.
struct MetricFamily {
    var name: String
    var type: String
    var help: String
    var samples: [(labels: [(String, String)], value: Double)]
}

/// Reads the Prometheus text format (0.0.4) as boot-exporter writes it.
enum SnapshotParser {
    static func parse(_ text: String) -> [MetricFamily] {
        var families: [MetricFamily] = []
        var helps: [String: String] = [:]
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# HELP ") {
                let rest = line.dropFirst(7)
                let name = rest.prefix { $0 != " " }
                helps[String(name)] = String(rest.dropFirst(name.count + 1))
            } else if line.hasPrefix("# TYPE ") {
                let parts = line.dropFirst(7).split(separator: " ")
                let name = String(parts[0])
                families.append(MetricFamily(name: name, type: String(parts[1]), help: helps[name] ?? name, samples: []))
            } else if !line.hasPrefix("#"), !families.isEmpty {
                guard let space = line.lastIndex(of: " ") else { continue }
                let value = parseValue(line[line.index(after: space)...])
                let series = line[..<space]
                var labels: [(String, String)] = []
                if let open = series.firstIndex(of: "{") {
                    labels = parseLabels(series[series.index(after: open)..<series.index(before: series.endIndex)])
                }
                families[families.count - 1].samples.append((labels, value))
            }
        }
        return families
    }

    static func parseValue(_ text: Substring) -> Double {
        switch text {
        case "NaN": .nan
        case "+Inf": .infinity
        case "-Inf": -.infinity
        default: Double(text) ?? 0
        }
    }

    static func parseLabels(_ text: Substring) -> [(String, String)] {
        var labels: [(String, String)] = []
        var index = text.startIndex
        while index < text.endIndex {
            guard let equals = text[index...].firstIndex(of: "=") else { break }
            let name = String(text[index..<equals])
            var value = ""
            var cursor = text.index(equals, offsetBy: 2)
            while cursor < text.endIndex, text[cursor] != "\"" {
                if text[cursor] == "\\" {
                    cursor = text.index(after: cursor)
                    value.append(text[cursor] == "n" ? "\n" : text[cursor])
                } else {
                    value.append(text[cursor])
                }
                cursor = text.index(after: cursor)
            }
            labels.append((name, value))
            index = text.index(after: cursor)
            if index < text.endIndex, text[index] == "," { index = text.index(after: index) }
        }
        return labels
    }
}
