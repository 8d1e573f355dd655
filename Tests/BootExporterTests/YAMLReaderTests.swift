// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import Testing

@Suite("YAML reader (libyaml)")
struct YAMLReaderTests {
    func read(_ text: String) throws -> YAMLNode? { try YAMLReader.read(text) }

    func entry(_ key: String, _ value: YAMLNode, line: Int) -> YAMLMappingEntry {
        YAMLMappingEntry(key: key, value: value, line: line)
    }

    @Test("a large mapping is read up to the node cap, nested or not, and its last duplicate found")
    func largeMappingsUpToTheCap() throws {
        // Every node counts once: 2 + 2 × 4,990 nodes, under the cap of 10,000 (each level of nesting
        // once counted its children again, refusing a third of that).
        let users = (0..<4_990).map { "  user\($0): x\n" }.joined()
        guard case .mapping(let root) = try read("basic_auth_users:\n" + users), case .mapping(let entries) = root[0].value else {
            Issue.record("not a mapping")
            return
        }
        #expect(entries.count == 4_990)
        #expect(throws: YAMLReader.Failure.self) { try read("basic_auth_users:\n" + users + "  user0: y\n") }
        // One node past the cap is refused, with the cap in the line.
        let past = (0..<5_000).map { "  k\($0): x\n" }.joined()
        #expect { try read("a:\n" + past) } throws: { "\($0)".contains("more than \(YAMLReader.maxNodes) nodes") }
    }

    @Test func readsOrdinaryYAML() throws {
        let node = try read("""
        # comments, anchors, aliases, a flow mapping over several lines, block scalars, tags, quoted keys
        defaults: &headers {
          X-Frame-Options: deny,
          X-Content-Type-Options: nosniff
        }
        headers: *headers
        "quoted key": 'it''s'
        literal: |-
          line one
          line two
        folded: >
          folded
          text
        tagged: !!str 123
        list:
        - a
        - [b, c]
        """)
        guard case .mapping(let entries) = node else { Issue.record("not a mapping"); return }
        let flow = YAMLNode.mapping([entry("X-Frame-Options", .plain("deny"), line: 3), entry("X-Content-Type-Options", .plain("nosniff"), line: 4)])
        #expect(entries.map(\.key) == ["defaults", "headers", "quoted key", "literal", "folded", "tagged", "list"])
        #expect(entries[0].value == flow)
        #expect(entries[1].value == flow, "the alias stands for the anchored mapping")
        #expect(entries[2].value == .scalar(YAMLScalar(text: "it's", isPlain: false)))
        #expect(entries[3].value == .scalar(YAMLScalar(text: "line one\nline two", isPlain: false)))
        #expect(entries[4].value == .scalar(YAMLScalar(text: "folded text\n", isPlain: false)))
        #expect(entries[5].value == .scalar(YAMLScalar(text: "123", tag: YAMLScalar.stringTag)))
        #expect(entries[6].value == .sequence([.plain("a"), .sequence([.plain("b"), .plain("c")])]))
        #expect(entries[6].line == 15)
    }

    @Test func mergeKeysBringInEntriesTheMappingDoesNotHave() throws {
        let node = try read("""
        base: &base {a: 1, b: 2}
        more: &more {c: 3}
        merged:
          <<: [*base, *more]
          b: own
        """)
        guard case .mapping(let entries) = node, case .mapping(let merged) = entries[2].value else { Issue.record("not mappings"); return }
        #expect(merged.map(\.key) == ["b", "a", "c"])
        #expect(merged[0].value == .plain("own"), "the mapping's own entry wins")
    }

    @Test func nullsAndEmptyDocuments() throws {
        #expect(try read("") == nil)
        #expect(try read("# only a comment\n\n") == nil)
        #expect(try read("---\n...\n")?.isNull == true)
        #expect(try read("--- # the document\na: 1\n... # its end\n# a comment\n") == .mapping([entry("a", .plain("1"), line: 2)]))
        guard case .mapping(let entries) = try read("a: ~\nb: null\nc:\nd: '~'\ne: !!null x\n") else { Issue.record("not a mapping"); return }
        #expect(entries.map(\.value.isNull) == [true, true, true, false, true])
        let nested = String(repeating: "[", count: YAMLReader.maxDepth - 1) + String(repeating: "]", count: YAMLReader.maxDepth - 1)
        #expect(throws: Never.self) { try read(nested) }
    }

    @Test("what cannot be read, or should not be, is refused with its line", arguments: [
        ("a: 1\nb: 2\n---\nbasic_auth_users: {}\n", 3, "second YAML document"),
        ("a: 1\n---\n", 2, "second YAML document"),
        ("a: 1\na: 2\n", 2, "duplicate key \"a\""),
        ("a: {b: 1,\n  b: 2}\n", 2, "duplicate key \"b\""),
        ("a: *nowhere\n", 1, "alias *nowhere"),
        ("a: &loop [1, *loop]\n", 1, "alias *loop"),
        ("a: !custom 1\n", 1, "tag !custom"),
        ("a: !!str {b: 1}\n", 1, "tag !!str"),
        ("? [a, b]\n: c\n", 1, "key must be a scalar"),
        ("a: 1\n\tb: 2\n", 2, "tab character"),
        ("a: [1,\n  2\n", 3, "flow sequence"),
        ("a: \"open\n", 2, "quoted scalar"),
        ("a: b: c\n", 1, "mapping values are not allowed"),
        ("a:\n  <<: 1\n", 2, "merge key"),
        // Never a stack overflow or a memory blow-up, whatever the nesting or the aliases.
        (String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n", 1, "nested deeper"),
        (String(repeating: "- ", count: 1_000) + "x\n", 1, "nested deeper"),
        (YAMLReaderTests.billionLaughs, 4, "more than 10000 nodes"),
        ("a: &a [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\nb: [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[*a]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]\n", 2, "nested deeper"),
    ])
    func refusals(text: String, line: Int, mentions: String) {
        #expect {
            try YAMLReader.read(text)
        } throws: { error in
            guard let failure = error as? YAMLReader.Failure else { return false }
            return failure.line == line && failure.message.contains(mentions)
        }
    }

    /// Ten levels of ten aliases each: 10^10 nodes once expanded, a few hundred bytes written.
    static let billionLaughs = (["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"] + (1...10).map { level in
        "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]"
    }).joined(separator: "\n") + "\n"
}

extension YAMLNode {
    /// A plain scalar, as the tests write the nodes they expect.
    static func plain(_ text: String) -> YAMLNode { .scalar(YAMLScalar(text: text)) }
}
