// SPDX-License-Identifier: AGPL-3.0-or-later

import ArgumentParser
import WALStore

/// `boot-exporter write`: appends real transactions, durably, printing each as it commits.
struct WriteCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "write",
        abstract: "Recover the data directory, then append transactions, printing a line once each commit is durable (used by crash tests)."
    )

    @OptionGroup var dataDirectory: DataDirectoryOption

    @Option(help: "Transactions to write; about one in ten aborts.")
    var transactions = 100

    @Option(help: "Seed of the transactions' contents.")
    var seed: UInt64 = 1

    func validate() throws {
        guard transactions >= 0 else { throw ValidationError("--transactions must not be negative") }
    }

    func run() throws {
        do {
            let store = try WALStore.open(path: dataDirectory.path, access: .readWrite)
            defer { store.close() }
            try store.migrate()
            _ = try store.recover(RecoveryOptions())
            try TransactionWriter.write(into: store, count: transactions, seed: seed,
                                        onCommit: { txid, writes in Self.report("committed", txid, writes) },
                                        onAbort: { txid, writes in Self.report("aborted", txid, writes) })
        } catch {
            throw RuntimeFailure("\(error)")
        }
    }

    /// `committed 42 4294967338:0=tx42-s0-abc 4294967338:1=…`, flushed at once.
    static func report(_ outcome: String, _ txid: UInt64, _ writes: [TransactionWriter.Write]) {
        let items = writes.map { "\($0.pageID):\($0.slot)=\(String(decoding: $0.value, as: UTF8.self))" }
        StandardStream.output.write(([outcome, String(txid)] + items).joined(separator: " ") + "\n")
    }
}
