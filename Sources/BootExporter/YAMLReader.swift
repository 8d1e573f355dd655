// SPDX-License-Identifier: AGPL-3.0-or-later

/// A value of a YAML document, as ``YAMLReader`` reads it: every scalar is kept as its text.
enum YAMLNode: Equatable {
    case null
    case scalar(String)
    case sequence([YAMLNode])
    /// Entries in the document's order; keys are unique.
    case mapping([(key: String, value: YAMLNode)])

    static func == (lhs: YAMLNode, rhs: YAMLNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case (.scalar(let a), .scalar(let b)): a == b
        case (.sequence(let a), .sequence(let b)): a == b
        case (.mapping(let a), .mapping(let b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }
}

/// Reads the part of YAML that configuration files like the exporter toolkit's web configuration
/// use, and refuses the rest with the line it stopped at.
///
/// Read: block mappings and sequences (including `- key: value` items and a sequence at its key's
/// indentation), one-line flow sequences and mappings (`[a, b]`, `{a: b}`), plain, single-quoted
/// and double-quoted scalars (with their escapes), `~`/`null`/empty values, `#` comments, a
/// leading `---` on a line of its own and a closing `...`. Refused: tabs in indentation, duplicate
/// keys, anchors, aliases, tags, block scalars (`|`, `>`), scalars over several lines, flow
/// collections over several lines, content after `---` or `...` on their line or after `...`,
/// several documents, and nesting deeper than ``maxDepth``. (It is here because the full YAML
/// libraries for Swift need Foundation, which alone would more than double the exporter's resident
/// memory.)
struct YAMLReader {
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    /// One line with content: its number, indentation and text (without the indentation).
    private struct Line {
        let number: Int
        let indent: Int
        var text: [UInt8]
    }

    /// Collections nested deeper than this are refused (the reader recurses once per level).
    static let maxDepth = 64

    private var lines: [Line] = []
    private var index = 0
    private var depth = 0

    /// The document in `text`; `.null` when it holds nothing.
    static func read(_ text: String) throws(Failure) -> YAMLNode {
        var reader = try YAMLReader(text)
        guard !reader.lines.isEmpty else { return .null }
        let root = try reader.block(indent: reader.lines[0].indent)
        if reader.index < reader.lines.count {
            throw Failure(line: reader.lines[reader.index].number, message: "unexpected indentation")
        }
        return root
    }

    private init(_ text: String) throws(Failure) {
        var number = 0
        var started = false
        var ended = false
        for raw in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            var bytes = Array(raw)
            if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
            var indent = 0
            while indent < bytes.count, bytes[indent] == UInt8(ascii: " ") { indent += 1 }
            var content = Array(bytes[indent...])
            while let last = content.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { content.removeLast() }
            if content.isEmpty || content.first == UInt8(ascii: "#") { continue }
            if content.first == UInt8(ascii: "\t") {
                throw Failure(line: number, message: "tabs cannot indent YAML")
            }
            if ended { throw Failure(line: number, message: "only one YAML document is read (content after \"...\")") }
            if indent == 0, Self.isMarker(content, "---") {
                guard !started else { throw Failure(line: number, message: "only one YAML document is read") }
                try Self.requireNothingAfterMarker(content, line: number)
                continue
            }
            if indent == 0, Self.isMarker(content, "...") {
                try Self.requireNothingAfterMarker(content, line: number)
                ended = true
                continue
            }
            if content.first == UInt8(ascii: "%") { throw Failure(line: number, message: "YAML directives are not read") }
            started = true
            lines.append(Line(number: number, indent: indent, text: content))
        }
    }

    /// A document marker's line may hold a comment, nothing else (content there is not read).
    private static func requireNothingAfterMarker(_ content: [UInt8], line: Int) throws(Failure) {
        var position = 3
        while position < content.count, content[position] == UInt8(ascii: " ") { position += 1 }
        if position < content.count, content[position] != UInt8(ascii: "#") {
            throw Failure(line: line, message: "content on the line of a document marker is not read; start it on the next line")
        }
    }

    private static func isMarker(_ content: [UInt8], _ marker: StaticString) -> Bool {
        let text = Array(UnsafeBufferPointer(start: marker.utf8Start, count: marker.utf8CodeUnitCount))
        guard content.starts(with: text) else { return false }
        return content.count == text.count || content[text.count] == UInt8(ascii: " ")
    }

    // MARK: Block structure

    /// The node whose first line is the current one, at `indent`.
    private mutating func block(indent: Int) throws(Failure) -> YAMLNode {
        let line = lines[index]
        guard depth < Self.maxDepth else { throw Failure(line: line.number, message: "nested deeper than \(Self.maxDepth) levels") }
        depth += 1
        defer { depth -= 1 }
        if Self.isSequenceItem(line.text) { return try sequence(indent: indent) }
        if try Self.splitKey(line.text, line: line.number) != nil { return try mapping(indent: indent) }
        // A lone value: it must be the only line of its block.
        index += 1
        return try lineValue(line.text[...], line: line.number, indent: indent)
    }

    /// The value written on a line just read, at `indent`: no more indented line may continue it.
    private func lineValue(_ text: ArraySlice<UInt8>, line: Int, indent: Int) throws(Failure) -> YAMLNode {
        let node = try Self.value(text, line: line)
        if index < lines.count, lines[index].indent > indent {
            throw Failure(line: lines[index].number, message: "a scalar over several lines is not read; quote it on one line")
        }
        return node
    }

    private mutating func mapping(indent: Int) throws(Failure) -> YAMLNode {
        var entries: [(key: String, value: YAMLNode)] = []
        while index < lines.count, lines[index].indent == indent {
            let line = lines[index]
            if Self.isSequenceItem(line.text) {
                throw Failure(line: line.number, message: "a sequence item where a mapping key belongs")
            }
            guard let (key, rest) = try Self.splitKey(line.text, line: line.number) else {
                throw Failure(line: line.number, message: "expected \"key: value\"")
            }
            if entries.contains(where: { $0.key == key }) {
                throw Failure(line: line.number, message: "duplicate key \"\(key)\"")
            }
            index += 1
            let value: YAMLNode
            if rest.isEmpty || rest.first == UInt8(ascii: "#") {
                if index < lines.count, lines[index].indent > indent
                    || (lines[index].indent == indent && Self.isSequenceItem(lines[index].text)) {
                    value = try block(indent: lines[index].indent)
                } else {
                    value = .null
                }
            } else {
                value = try lineValue(rest, line: line.number, indent: indent)
            }
            entries.append((key, value))
        }
        return .mapping(entries)
    }

    private mutating func sequence(indent: Int) throws(Failure) -> YAMLNode {
        var items: [YAMLNode] = []
        while index < lines.count, lines[index].indent == indent, Self.isSequenceItem(lines[index].text) {
            let line = lines[index]
            var offset = 1
            while offset < line.text.count, line.text[offset] == UInt8(ascii: " ") { offset += 1 }
            let rest = line.text[offset...]
            if rest.isEmpty || rest.first == UInt8(ascii: "#") {
                index += 1
                items.append(index < lines.count && lines[index].indent > indent ? try block(indent: lines[index].indent) : .null)
            } else if try Self.startsBlock(Array(rest), line: line.number) {
                // `- key: value` or `- - item`: the rest of the line starts a block at its own column.
                lines[index] = Line(number: line.number, indent: indent + offset, text: Array(rest))
                items.append(try block(indent: indent + offset))
            } else {
                index += 1
                items.append(try lineValue(rest, line: line.number, indent: indent))
            }
        }
        return .sequence(items)
    }

    /// Whether the text after `- ` opens a nested block (`- key: value`, `- - item`).
    private static func startsBlock(_ text: [UInt8], line: Int) throws(Failure) -> Bool {
        if isSequenceItem(text) { return true }
        return try splitKey(text, line: line) != nil
    }

    private static func isSequenceItem(_ text: [UInt8]) -> Bool {
        text.first == UInt8(ascii: "-") && (text.count == 1 || text[1] == UInt8(ascii: " "))
    }

    /// Splits `key: rest` (the key plain or quoted); `nil` when the line is no mapping entry.
    private static func splitKey(_ text: [UInt8], line: Int) throws(Failure) -> (String, ArraySlice<UInt8>)? {
        var position = 0
        let key: String
        if let first = text.first, first == UInt8(ascii: "\"") || first == UInt8(ascii: "'") {
            var cursor = Cursor(text[...], line: line)
            key = try cursor.quoted()
            position = cursor.position
            while position < text.count, text[position] == UInt8(ascii: " ") { position += 1 }
            guard position < text.count, text[position] == UInt8(ascii: ":") else { return nil }
        } else {
            if let first = text.first, first == UInt8(ascii: "[") || first == UInt8(ascii: "{") {
                return nil
            }
            if text.first == UInt8(ascii: "?") {
                throw Failure(line: line, message: "complex mapping keys (\"? \") are not read")
            }
            if let first = text.first, first == UInt8(ascii: "&") || first == UInt8(ascii: "*") || first == UInt8(ascii: "!") {
                throw Failure(line: line, message: "anchors, aliases and tags are not read")
            }
            // A plain key ends at the first ": " (or a ':' ending the line).
            while position < text.count {
                if text[position] == UInt8(ascii: ":"), position + 1 == text.count || text[position + 1] == UInt8(ascii: " ") { break }
                if text[position] == UInt8(ascii: " "), position + 1 < text.count, text[position + 1] == UInt8(ascii: "#") { return nil }
                position += 1
            }
            guard position < text.count else { return nil }
            var end = position
            while end > 0, text[end - 1] == UInt8(ascii: " ") { end -= 1 }
            key = String(decoding: text[..<end], as: UTF8.self)
        }
        position += 1
        while position < text.count, text[position] == UInt8(ascii: " ") { position += 1 }
        return (key, text[position...])
    }

    /// A value written on one line: a flow collection, a quoted or a plain scalar.
    private static func value(_ text: ArraySlice<UInt8>, line: Int) throws(Failure) -> YAMLNode {
        var cursor = Cursor(text, line: line)
        let node = try cursor.flowValue(inFlow: false)
        cursor.skipSpaces()
        if !cursor.atEnd && cursor.peek != UInt8(ascii: "#") {
            throw Failure(line: line, message: "unexpected text after a value")
        }
        return node
    }
}

/// Reads values from one line.
private struct Cursor {
    let text: ArraySlice<UInt8>
    let line: Int
    var position: Int
    /// Flow collections open at the position.
    var depth = 0

    init(_ text: ArraySlice<UInt8>, line: Int) {
        self.text = text
        self.line = line
        position = text.startIndex
    }

    var atEnd: Bool { position >= text.endIndex }
    var peek: UInt8? { atEnd ? nil : text[position] }

    mutating func skipSpaces() {
        while let byte = peek, byte == UInt8(ascii: " ") { position += 1 }
    }

    func failure(_ message: String) -> YAMLReader.Failure { YAMLReader.Failure(line: line, message: message) }

    /// A value; inside a flow collection, plain scalars also end at `,`, `]` and `}`.
    mutating func flowValue(inFlow: Bool) throws(YAMLReader.Failure) -> YAMLNode {
        skipSpaces()
        guard let first = peek else { return .null }
        switch first {
        case UInt8(ascii: "["): return try flowSequence()
        case UInt8(ascii: "{"): return try flowMapping()
        case UInt8(ascii: "\""), UInt8(ascii: "'"): return .scalar(try quoted())
        case UInt8(ascii: "|"), UInt8(ascii: ">"): throw failure("block scalars (| and >) are not read; quote the value on one line")
        case UInt8(ascii: "&"), UInt8(ascii: "*"): throw failure("anchors and aliases are not read")
        case UInt8(ascii: "!"): throw failure("tags are not read")
        case UInt8(ascii: "@"), UInt8(ascii: "`"): throw failure("a plain value cannot start with \(Character(Unicode.Scalar(first)))")
        default: break
        }
        let start = position
        while let byte = peek {
            if byte == UInt8(ascii: "#"), position > start, text[position - 1] == UInt8(ascii: " ") { break }
            if inFlow, byte == UInt8(ascii: ",") || byte == UInt8(ascii: "]") || byte == UInt8(ascii: "}") { break }
            if inFlow, byte == UInt8(ascii: ":"), position + 1 < text.endIndex, text[position + 1] == UInt8(ascii: " ") { break }
            position += 1
        }
        var end = position
        while end > start, text[end - 1] == UInt8(ascii: " ") { end -= 1 }
        let plain = String(decoding: text[start..<end], as: UTF8.self)
        switch plain {
        case "", "~", "null", "Null", "NULL": return .null
        default: return .scalar(plain)
        }
    }

    /// Enters a flow collection, refusing one nested too deep.
    mutating func enter() throws(YAMLReader.Failure) {
        guard depth < YAMLReader.maxDepth else { throw failure("nested deeper than \(YAMLReader.maxDepth) levels") }
        depth += 1
    }

    mutating func flowSequence() throws(YAMLReader.Failure) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        position += 1
        var items: [YAMLNode] = []
        skipSpaces()
        if peek == UInt8(ascii: "]") { position += 1; return .sequence(items) }
        while true {
            items.append(try flowValue(inFlow: true))
            skipSpaces()
            guard let byte = peek else { throw failure("unterminated [ (flow collections must close on their line)") }
            position += 1
            if byte == UInt8(ascii: "]") { return .sequence(items) }
            guard byte == UInt8(ascii: ",") else { throw failure("expected , or ] in a flow sequence") }
        }
    }

    mutating func flowMapping() throws(YAMLReader.Failure) -> YAMLNode {
        try enter()
        defer { depth -= 1 }
        position += 1
        var entries: [(key: String, value: YAMLNode)] = []
        skipSpaces()
        if peek == UInt8(ascii: "}") { position += 1; return .mapping(entries) }
        while true {
            guard case .scalar(let key) = try flowValue(inFlow: true) else { throw failure("a flow mapping key must be a scalar") }
            skipSpaces()
            guard peek == UInt8(ascii: ":") else { throw failure("expected : after \"\(key)\" in a flow mapping") }
            position += 1
            if entries.contains(where: { $0.key == key }) { throw failure("duplicate key \"\(key)\"") }
            entries.append((key, try flowValue(inFlow: true)))
            skipSpaces()
            guard let byte = peek else { throw failure("unterminated { (flow collections must close on their line)") }
            position += 1
            if byte == UInt8(ascii: "}") { return .mapping(entries) }
            guard byte == UInt8(ascii: ",") else { throw failure("expected , or } in a flow mapping") }
        }
    }

    /// A single- or double-quoted scalar, unescaped.
    mutating func quoted() throws(YAMLReader.Failure) -> String {
        let quote = text[position]
        position += 1
        var bytes: [UInt8] = []
        while true {
            guard let byte = peek else { throw failure("unterminated quoted value (quoted values must close on their line)") }
            position += 1
            if quote == UInt8(ascii: "'") {
                if byte == UInt8(ascii: "'") {
                    // '' is a quote inside a single-quoted value.
                    if peek == UInt8(ascii: "'") { position += 1; bytes.append(byte); continue }
                    break
                }
                bytes.append(byte)
                continue
            }
            if byte == UInt8(ascii: "\"") { break }
            guard byte == UInt8(ascii: "\\") else { bytes.append(byte); continue }
            guard let escape = peek else { throw failure("unterminated quoted value") }
            position += 1
            switch escape {
            case UInt8(ascii: "\\"), UInt8(ascii: "\""), UInt8(ascii: "/"), UInt8(ascii: " "): bytes.append(escape)
            case UInt8(ascii: "n"): bytes.append(0x0A)
            case UInt8(ascii: "t"): bytes.append(0x09)
            case UInt8(ascii: "r"): bytes.append(0x0D)
            case UInt8(ascii: "0"): bytes.append(0x00)
            case UInt8(ascii: "a"): bytes.append(0x07)
            case UInt8(ascii: "b"): bytes.append(0x08)
            case UInt8(ascii: "e"): bytes.append(0x1B)
            case UInt8(ascii: "f"): bytes.append(0x0C)
            case UInt8(ascii: "v"): bytes.append(0x0B)
            case UInt8(ascii: "x"): try appendScalar(hexDigits: 2, to: &bytes)
            case UInt8(ascii: "u"): try appendScalar(hexDigits: 4, to: &bytes)
            case UInt8(ascii: "U"): try appendScalar(hexDigits: 8, to: &bytes)
            default: throw failure("unknown escape \\\(Character(Unicode.Scalar(escape)))")
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private mutating func appendScalar(hexDigits: Int, to bytes: inout [UInt8]) throws(YAMLReader.Failure) {
        var value: UInt32 = 0
        for _ in 0..<hexDigits {
            guard let byte = peek, let digit = Self.hexValue(byte) else { throw failure("bad \\x, \\u or \\U escape") }
            value = value << 4 | digit
            position += 1
        }
        guard let scalar = Unicode.Scalar(value) else { throw failure("escape \\u\(String(value, radix: 16)) is no Unicode scalar") }
        bytes.append(contentsOf: String(Character(scalar)).utf8)
    }

    private static func hexValue(_ byte: UInt8) -> UInt32? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): UInt32(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): UInt32(byte - UInt8(ascii: "a") + 10)
        case UInt8(ascii: "A")...UInt8(ascii: "F"): UInt32(byte - UInt8(ascii: "A") + 10)
        default: nil
        }
    }
}
