// SPDX-License-Identifier: AGPL-3.0-or-later

import CYAML

#if canImport(Glibc)
import Glibc
#endif

/// Reads one YAML document into a ``YAMLNode`` tree with libyaml (YAML 1.1, the parser Yams wraps),
/// without Foundation.
///
/// Everything YAML writes is read: block and flow collections over any number of lines, every scalar
/// style (plain, quoted, `|` and `>` block scalars), comments, tags, anchors and aliases, and merge keys
/// (`<<: *defaults`). What this reader adds is refusal, each with the line: a second document (the
/// exporter toolkit reads only the first, so a section there would silently not apply), duplicate keys,
/// keys that are not scalars, tags outside YAML's own, an alias of a node not yet complete (a cycle), and
/// documents that aliases blow up past ``maxNodes`` nodes or ``maxDepth`` levels (a "billion laughs").
struct YAMLReader {
    /// Why a text is not read, with its line (1-based).
    struct Failure: Error, CustomStringConvertible {
        let line: Int
        let message: String
        var description: String { "line \(line): \(message)" }
    }

    /// Collections nested deeper than this, aliases expanded, are refused (the builder recurses once per level).
    static let maxDepth = 64
    /// Documents with more nodes than this, aliases expanded, are refused: a web configuration has dozens.
    static let maxNodes = 10_000

    /// The document in `text`; `nil` when it holds none (an empty file, or only comments).
    static func read(_ text: String) throws(Failure) -> YAMLNode? {
        let parser = EventParser(text)
        var builder = TreeBuilder(parser: parser)
        return try builder.document()
    }
}

/// What libyaml reports, copied out of its event.
private struct Event {
    enum Kind {
        case streamStart, streamEnd, documentStart, documentEnd
        case alias(String)
        case scalar(YAMLScalar)
        case sequenceStart, sequenceEnd
        case mappingStart, mappingEnd
    }

    var kind: Kind
    var anchor: String?
    /// The tag of a collection (a scalar's is in its ``YAMLScalar``).
    var tag: String?
    var line: Int
}

/// libyaml's event parser over one text; frees the parser and its copy of the text when done.
private final class EventParser {
    private let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    /// libyaml reads the text in place, so it stays here, at a fixed address, until the parser is freed.
    private let input: UnsafeMutableBufferPointer<UInt8>

    init(_ text: String) {
        input = .allocate(capacity: max(text.utf8.count, 1))
        _ = input.initialize(from: text.utf8)
        yaml_parser_initialize(parser)
        yaml_parser_set_input_string(parser, input.baseAddress, text.utf8.count)
    }

    deinit {
        yaml_parser_delete(parser)
        parser.deallocate()
        input.deallocate()
    }

    func next() throws(YAMLReader.Failure) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(parser, &event) == 1 else {
            let problem = parser.pointee.problem.map { String(cString: $0) } ?? "not YAML"
            let context = parser.pointee.context.map { " " + String(cString: $0) } ?? ""
            throw YAMLReader.Failure(line: Int(parser.pointee.problem_mark.line) + 1, message: problem + context)
        }
        defer { yaml_event_delete(&event) }
        let line = Int(event.start_mark.line) + 1
        switch event.type {
        case YAML_STREAM_START_EVENT: return Event(kind: .streamStart, line: line)
        case YAML_STREAM_END_EVENT: return Event(kind: .streamEnd, line: line)
        case YAML_DOCUMENT_START_EVENT: return Event(kind: .documentStart, line: line)
        case YAML_DOCUMENT_END_EVENT: return Event(kind: .documentEnd, line: line)
        case YAML_ALIAS_EVENT: return Event(kind: .alias(Self.string(event.data.alias.anchor) ?? ""), line: line)
        case YAML_SCALAR_EVENT:
            let data = event.data.scalar
            let text = String(decoding: UnsafeBufferPointer(start: data.value, count: data.length), as: UTF8.self)
            let scalar = YAMLScalar(text: text, tag: Self.string(data.tag), isPlain: data.style == YAML_PLAIN_SCALAR_STYLE)
            return Event(kind: .scalar(scalar), anchor: Self.string(data.anchor), line: line)
        case YAML_SEQUENCE_START_EVENT:
            let data = event.data.sequence_start
            return Event(kind: .sequenceStart, anchor: Self.string(data.anchor), tag: Self.string(data.tag), line: line)
        case YAML_SEQUENCE_END_EVENT: return Event(kind: .sequenceEnd, line: line)
        case YAML_MAPPING_START_EVENT:
            let data = event.data.mapping_start
            return Event(kind: .mappingStart, anchor: Self.string(data.anchor), tag: Self.string(data.tag), line: line)
        case YAML_MAPPING_END_EVENT: return Event(kind: .mappingEnd, line: line)
        default: throw YAMLReader.Failure(line: line, message: "unexpected YAML event")
        }
    }

    private static func string(_ bytes: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        bytes.map { String(cString: $0) }
    }
}

/// Builds the tree from the events, expanding aliases and counting what they expand to.
private struct TreeBuilder {
    /// A finished node with its size and height, aliases included.
    private struct Built {
        var node: YAMLNode
        var size: Int
        var height: Int
    }

    let parser: EventParser
    private var anchors: [String: Built] = [:]
    private var nodes = 0

    init(parser: EventParser) {
        self.parser = parser
    }

    /// The stream's only document, or `nil` when it has none.
    mutating func document() throws(YAMLReader.Failure) -> YAMLNode? {
        _ = try parser.next()  // stream start
        let start = try parser.next()
        if case .streamEnd = start.kind { return nil }
        let root = try node(try parser.next(), depth: 1).node
        _ = try parser.next()  // document end
        let after = try parser.next()
        guard case .streamEnd = after.kind else {
            throw YAMLReader.Failure(line: after.line, message: "a second YAML document; only one is read (the exporter toolkit would silently ignore it)")
        }
        return root
    }

    private mutating func node(_ event: Event, depth: Int) throws(YAMLReader.Failure) -> Built {
        // Before recursing: a test thread's stack is small, and the text may nest 100,000 levels.
        guard depth <= YAMLReader.maxDepth else {
            throw YAMLReader.Failure(line: event.line, message: "nested deeper than \(YAMLReader.maxDepth) levels")
        }
        let built: Built
        switch event.kind {
        case .alias(let name):
            guard let anchored = anchors[name] else {
                throw YAMLReader.Failure(line: event.line, message: "alias *\(name) names no complete anchor (undefined, or a node that contains its own alias)")
            }
            built = anchored
        case .scalar(let scalar):
            if let tag = scalar.tag, !Self.scalarTags.contains(tag) {
                throw YAMLReader.Failure(line: event.line, message: "tag \(Self.shortTag(tag)) is not read on a scalar (only !!str, !!int, !!float, !!bool, !!null)")
            }
            built = Built(node: .scalar(scalar), size: 1, height: 0)
        case .sequenceStart:
            try checkCollectionTag(event, allowed: "tag:yaml.org,2002:seq")
            var items: [YAMLNode] = []
            var size = 1
            var height = 1
            while true {
                let next = try parser.next()
                if case .sequenceEnd = next.kind { break }
                let item = try node(next, depth: depth + 1)
                items.append(item.node)
                size += item.size
                height = max(height, item.height + 1)
            }
            built = Built(node: .sequence(items), size: size, height: height)
        case .mappingStart:
            try checkCollectionTag(event, allowed: "tag:yaml.org,2002:map")
            built = try mapping(event, depth: depth)
        default:
            throw YAMLReader.Failure(line: event.line, message: "unexpected YAML structure")
        }
        // Each node counts once (its children counted themselves), and an alias as everything it
        // stands for: that is what a consumer walks.
        if case .alias = event.kind { nodes += built.size } else { nodes += 1 }
        guard nodes <= YAMLReader.maxNodes else {
            throw YAMLReader.Failure(line: event.line, message: "more than \(YAMLReader.maxNodes) nodes with aliases expanded; not a web configuration")
        }
        guard depth + built.height <= YAMLReader.maxDepth else {
            throw YAMLReader.Failure(line: event.line, message: "nested deeper than \(YAMLReader.maxDepth) levels")
        }
        if let anchor = event.anchor { anchors[anchor] = built }
        return built
    }

    private mutating func mapping(_ start: Event, depth: Int) throws(YAMLReader.Failure) -> Built {
        var entries: [YAMLMappingEntry] = []
        // A set, not a search of `entries`: duplicate detection stays linear in the keys.
        var keys: Set<String> = []
        var merged: [YAMLMappingEntry] = []
        var size = 1
        var height = 1
        while true {
            let keyEvent = try parser.next()
            if case .mappingEnd = keyEvent.kind { break }
            let key = try node(keyEvent, depth: depth + 1)
            guard case .scalar(let keyScalar) = key.node else {
                throw YAMLReader.Failure(line: keyEvent.line, message: "a mapping key must be a scalar")
            }
            let value = try node(try parser.next(), depth: depth + 1)
            size += key.size + value.size
            height = max(height, value.height + 1)
            if keyScalar.isPlain, keyScalar.tag == nil, keyScalar.text == "<<" {
                merged += try Self.mergeSources(value.node, line: keyEvent.line)
                continue
            }
            guard keys.insert(keyScalar.text).inserted else {
                throw YAMLReader.Failure(line: keyEvent.line, message: "duplicate key \"\(keyScalar.text)\"")
            }
            entries.append(YAMLMappingEntry(key: keyScalar.text, value: value.node, line: keyEvent.line))
        }
        // Merged entries never override the mapping's own, and an earlier source wins over a later one.
        for entry in merged where keys.insert(entry.key).inserted {
            entries.append(entry)
        }
        return Built(node: .mapping(entries), size: size, height: height)
    }

    /// The entries a merge key (`<<`) brings in: one mapping, or a sequence of them.
    private static func mergeSources(_ value: YAMLNode, line: Int) throws(YAMLReader.Failure) -> [YAMLMappingEntry] {
        let failure = YAMLReader.Failure(line: line, message: "a merge key (<<) takes a mapping or a sequence of mappings")
        switch value {
        case .mapping(let entries):
            return entries
        case .sequence(let items):
            var entries: [YAMLMappingEntry] = []
            for item in items {
                guard case .mapping(let more) = item else { throw failure }
                entries += more
            }
            return entries
        case .scalar:
            throw failure
        }
    }

    private func checkCollectionTag(_ event: Event, allowed: String) throws(YAMLReader.Failure) {
        guard let tag = event.tag, tag != "!", tag != allowed else { return }
        throw YAMLReader.Failure(line: event.line, message: "tag \(Self.shortTag(tag)) is not read on a collection")
    }

    /// YAML's own scalar tags, and `!` (a non-specific tag: the scalar is a string).
    private static let scalarTags: Set<String> = [
        "!", YAMLScalar.stringTag, YAMLScalar.nullTag, YAMLScalar.boolTag, YAMLScalar.intTag, "tag:yaml.org,2002:float",
    ]

    private static func shortTag(_ tag: String) -> String {
        tag.hasPrefix("tag:yaml.org,2002:") ? "!!" + tag.dropFirst("tag:yaml.org,2002:".count) : tag
    }
}
