// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootExporter
import Testing

@Suite("YAML reader (web configuration files)")
struct YAMLReaderTests {
    func read(_ text: String) throws -> YAMLNode { try YAMLReader.read(text) }

    @Test func readsTheWebConfigurationExample() throws {
        let node = try read("""
        # exporter toolkit web configuration
        ---
        tls_server_config:
          cert_file: server.crt
          key_file: "server key.pem"   # quoted, with a space
          client_auth_type: RequireAndVerifyClientCert   # a comment
          client_ca_file: 'ca''s.crt'
          cipher_suites: [TLS_AES_128_GCM_SHA256, "TLS_CHACHA20"]
        basic_auth_users:
          prometheus: $2y$10$X0r8xh4k.abc/def#notacomment
          empty:
        http_server_config:
          headers: {X-Frame-Options: deny, X-Content-Type-Options: nosniff}
        """)
        #expect(node == .mapping([
            ("tls_server_config", .mapping([
                ("cert_file", .scalar("server.crt")),
                ("key_file", .scalar("server key.pem")),
                ("client_auth_type", .scalar("RequireAndVerifyClientCert")),
                ("client_ca_file", .scalar("ca's.crt")),
                ("cipher_suites", .sequence([.scalar("TLS_AES_128_GCM_SHA256"), .scalar("TLS_CHACHA20")])),
            ])),
            ("basic_auth_users", .mapping([
                ("prometheus", .scalar("$2y$10$X0r8xh4k.abc/def#notacomment")),
                ("empty", .null),
            ])),
            ("http_server_config", .mapping([
                ("headers", .mapping([("X-Frame-Options", .scalar("deny")), ("X-Content-Type-Options", .scalar("nosniff"))])),
            ])),
        ]))
    }

    @Test func readsBlockSequencesAndNulls() throws {
        let node = try read("""
        list:
        - a
        - b: 1
          c: 2
        -
          - nested
        nulls: [~, null, ""]
        "quoted key": "tab\\there \\u00e9\\x41\\"\\\\"
        url: http://example.com:9090/path
        """)
        #expect(node == .mapping([
            ("list", .sequence([
                .scalar("a"),
                .mapping([("b", .scalar("1")), ("c", .scalar("2"))]),
                .sequence([.scalar("nested")]),
            ])),
            ("nulls", .sequence([.null, .null, .scalar("")])),
            ("quoted key", .scalar("tab\there éA\"\\")),
            ("url", .scalar("http://example.com:9090/path")),
        ]))
    }

    @Test func emptyDocumentsAreNull() throws {
        #expect(try read("") == .null)
        #expect(try read("# only a comment\n\n---\n") == .null)
        #expect(try read("--- # the document\na: 1\n... # its end\n# a comment\n") == .mapping([("a", .scalar("1"))]))
        let nested = String(repeating: "[", count: YAMLReader.maxDepth) + String(repeating: "]", count: YAMLReader.maxDepth)
        #expect(throws: Never.self) { try read("a: " + nested + "\n") }
        #expect(try read("a: 1\r\nb: 2\r\n") == .mapping([("a", .scalar("1")), ("b", .scalar("2"))]))
        #expect(try read("a: 1\n\t\n  \t \nb: 2\n") == .mapping([("a", .scalar("1")), ("b", .scalar("2"))]), "blank lines may hold tabs")
    }

    @Test("what the reader does not read is refused with its line", arguments: [
        ("a: 1\n\tb: 2\n", 2, "tabs"),
        ("a: 1\na: 2\n", 2, "duplicate key \"a\""),
        ("a: &anchor 1\n", 1, "anchors"),
        ("a: *alias\n", 1, "anchors"),
        ("a: !!str 1\n", 1, "tags"),
        ("a: |\n  text\n", 1, "block scalars"),
        ("a: one\n  two\n", 2, "several lines"),
        ("a: [1,\n  2]\n", 1, "unterminated ["),
        ("basic_auth_users: [\n", 1, "unterminated ["),
        ("a: \"open\n", 1, "unterminated quoted"),
        ("a: {b: 1\n", 1, "unterminated {"),
        ("a:\n    b: 1\n  c: 2\n", 3, "indentation"),
        ("a: 1\n- b\n", 2, "sequence item"),
        ("a: \"\\q\"\n", 1, "unknown escape"),
        ("a: 1\n---\nb: 2\n", 2, "one YAML document"),
        // Never a document silently dropped: basic_auth_users there would leave the server open.
        ("--- {basic_auth_users: {prom: x}}\n", 1, "document marker"),
        ("a: 1\n...\nbasic_auth_users:\n  prom: x\n", 3, "one YAML document"),
        ("a: 1\n... b: 2\n", 2, "document marker"),
        ("basic_auth_users:\n  &a prom: x\n", 2, "anchors"),
        ("*alias: x\n", 1, "anchors"),
        // Nesting past the limit is refused, not a stack overflow.
        ("a: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "\n", 1, "nested deeper"),
        ("a: " + String(repeating: "{a: ", count: 100_000) + "\n", 1, "nested deeper"),
        (String(repeating: "- ", count: 100_000) + "x\n", 1, "nested deeper"),
        ("? complex\n", 1, "complex"),
        ("a: \"x\" y\n", 1, "unexpected text"),
    ])
    func refusals(text: String, line: Int, mentions: String) {
        #expect {
            try YAMLReader.read(text)
        } throws: { error in
            guard let failure = error as? YAMLReader.Failure else { return false }
            return failure.line == line && failure.message.contains(mentions)
        }
    }

    @Test func webConfigErrorsNameTheKey() {
        #expect {
            try WebConfigFile.parse("tls_server_config:\n  cert_file: a\n  cipher_suites: [x]\n", baseDirectory: "/nonexistent/")
        } throws: { error in
            "\(error)" == "unknown key \"cipher_suites\" in tls_server_config"
        }
        #expect {
            try WebConfigFile.parse("basic_auth_users:\n  alice: {password: plain}\n", baseDirectory: "")
        } throws: { error in
            "\(error)".contains("must be a bcrypt hash") && !"\(error)".contains("plain")
        }
        #expect(throws: WebConfigFile.Failure.self) {
            try WebConfigFile.parse("- a\n", baseDirectory: "")
        }
        #expect(throws: WebConfigFile.Failure.self) {
            try WebConfigFile.load("/nonexistent/web.yml")
        }
    }

    @Test func webConfigReadsUsersAndHeaders() throws {
        let config = try WebConfigFile.parse("""
        basic_auth_users:
          prometheus: $2y$10$abc
        http_server_config:
          headers:
            X-Frame-Options: deny
        """, baseDirectory: "")
        #expect(config.basicAuthUsers == ["prometheus": "$2y$10$abc"])
        #expect(config.headers == ["X-Frame-Options": "deny"])
        #expect(config.tls == nil)
    }
}
