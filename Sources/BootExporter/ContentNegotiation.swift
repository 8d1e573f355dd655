// SPDX-License-Identifier: AGPL-3.0-or-later

/// Picks the exposition format and encoding from a request's `Accept` and `Accept-Encoding`.
enum ContentNegotiation {
    /// A format and the `Content-Type` that names it.
    struct Choice: Equatable {
        var format: ExpositionFormat
        var contentType: StaticString

        static let prometheusText = Choice(format: .prometheusText, contentType: ExpositionFormat.prometheusText.contentType)
        static let openMetrics = Choice(format: .openMetrics, contentType: ExpositionFormat.openMetrics.contentType)
        /// The same body, named as the client asked when it accepts only OpenMetrics 0.0.1 (the
        /// two versions' text is the same; client_golang answers such a client the same way).
        static let openMetrics001 = Choice(format: .openMetrics,
                                           contentType: "application/openmetrics-text; version=0.0.1; charset=utf-8")

        static func == (lhs: Choice, rhs: Choice) -> Bool {
            lhs.format == rhs.format && lhs.contentType.description == rhs.contentType.description
        }
    }

    /// OpenMetrics when the `Accept` header ranks `application/openmetrics-text` (version 1.0.0,
    /// 0.0.1 or none) at least as high as the text format (`text/plain`, `text/*`, `*/*`), its
    /// `Content-Type` naming version 0.0.1 when that is the version ranked highest; the Prometheus text
    /// format otherwise — for a missing header, a browser's, or anything unparseable. Types we do not
    /// serve (protobuf, which Prometheus ranks first when native histograms are on) do not count.
    static func negotiate(accept: String?) -> Choice {
        guard let accept, !accept.isEmpty else { return .prometheusText }
        var bestOpenMetrics = -1.0
        var bestIsVersion001 = false
        var bestOther = -1.0
        for range in accept.utf8.split(separator: UInt8(ascii: ",")) {
            guard let media = MediaRange(Substring(range)) else { continue }
            if media.type == "application/openmetrics-text" {
                let is001 = media.version == "0.0.1"
                guard media.version == nil || media.version == "1.0.0" || is001 else { continue }
                // At equal rank, 1.0.0.
                if media.quality > bestOpenMetrics || (media.quality == bestOpenMetrics && !is001) {
                    bestOpenMetrics = media.quality
                    bestIsVersion001 = is001
                }
            } else if ["text/plain", "text/*", "*/*"].contains(media.type) {
                bestOther = max(bestOther, media.quality)
            }
        }
        guard bestOpenMetrics > 0 && bestOpenMetrics >= bestOther else { return .prometheusText }
        return bestIsVersion001 ? .openMetrics001 : .openMetrics
    }

    /// Whether `Accept-Encoding` allows gzip (listed, or `*`, with a non-zero quality).
    static func acceptsGzip(_ acceptEncoding: String?) -> Bool {
        guard let acceptEncoding else { return false }
        var gzip: Double?
        var wildcard: Double?
        for range in acceptEncoding.utf8.split(separator: UInt8(ascii: ",")) {
            let parts = Substring(range).split(separator: ";", omittingEmptySubsequences: false)
            let coding = parts[0].trimmed.lowercased()
            let quality = parts.dropFirst().lazy.compactMap(Self.quality).first ?? 1
            if coding == "gzip" || coding == "x-gzip" { gzip = max(gzip ?? 0, quality) }
            if coding == "*" { wildcard = quality }
        }
        return (gzip ?? wildcard ?? 0) > 0
    }

    /// The value of a `q=…` parameter, or `nil` when the parameter is something else. A malformed
    /// quality counts as 0: not acceptable.
    static func quality(_ parameter: Substring) -> Double? {
        let trimmed = parameter.trimmed
        guard trimmed.lowercased().hasPrefix("q=") else { return nil }
        guard let value = Double(trimmed.dropFirst(2)), value >= 0, value <= 1 else { return 0 }
        return value
    }

    /// One element of an `Accept` header.
    struct MediaRange {
        var type: String
        var version: String?
        var quality = 1.0

        init?(_ text: Substring) {
            let parts = text.split(separator: ";", omittingEmptySubsequences: false)
            let type = parts[0].trimmed.lowercased()
            guard !type.isEmpty else { return nil }
            self.type = type
            for parameter in parts.dropFirst() {
                if let quality = ContentNegotiation.quality(parameter) {
                    self.quality = quality
                    continue
                }
                let pair = parameter.split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0].trimmed.lowercased() == "version" {
                    // A parameter's value may be a quoted string (RFC 9110): version="1.0.0".
                    var value = pair[1].trimmed
                    if value.count >= 2, value.first == "\"", value.last == "\"" { value = value.dropFirst().dropLast() }
                    version = String(value)
                }
            }
        }
    }
}

extension Substring {
    /// Without leading and trailing spaces and tabs.
    package var trimmed: Substring {
        var result = self
        while let first = result.first, first == " " || first == "\t" { result = result.dropFirst() }
        while let last = result.last, last == " " || last == "\t" { result = result.dropLast() }
        return result
    }
}
