// SPDX-License-Identifier: AGPL-3.0-or-later

/// Markup built by string interpolation in which every interpolated string is escaped: only
/// another `HTML` value goes in as it is. A template cannot forget to escape a value.
struct HTML: ExpressibleByStringInterpolation {
    private(set) var markup: String

    init(stringLiteral literal: String) {
        markup = literal
    }

    init(stringInterpolation: Interpolation) {
        markup = stringInterpolation.markup
    }

    /// Markup taken as it is: for the page's own constant blocks, never for data.
    init(trusted markup: String) {
        self.markup = markup
    }

    /// The fragments one after the other.
    init(joining fragments: [HTML]) {
        markup = fragments.map(\.markup).joined()
    }

    struct Interpolation: StringInterpolationProtocol {
        fileprivate var markup = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + 16 * interpolationCount)
        }

        mutating func appendLiteral(_ literal: String) { markup += literal }
        /// Text, escaped: safe in element content and in quoted attribute values.
        mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }
        mutating func appendInterpolation(_ number: UInt64) { markup += String(number) }
        mutating func appendInterpolation(_ number: Double) { markup += number.isFinite ? String(number) : "0" }
        mutating func appendInterpolation(_ fragment: HTML) { markup += fragment.markup }
    }

    /// `text` with `&`, `<`, `>`, `"` and `'` written as character references.
    static func escape(_ text: String) -> String {
        var result = ""
        result.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": result += "&amp;"
            case "<": result += "&lt;"
            case ">": result += "&gt;"
            case "\"": result += "&quot;"
            case "'": result += "&#39;"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result
    }
}
