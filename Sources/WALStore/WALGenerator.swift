// SPDX-License-Identifier: AGPL-3.0-or-later

/// SplitMix64: a small, fast, seeded generator, so generated logs are the same on every machine.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Writes a realistic WAL: interleaved transactions over many pages, most committed, some aborted,
/// a few left unfinished at the end, with puts and deletes of tuples of varied sizes.
public struct WALGenerator {
    public struct Options: Sendable {
        /// Records to write in all (begin, put, delete, commit and abort records alike).
        public var records: Int
        public var seed: UInt64
        /// Pages the transactions spread over; by default one for every 40 records (at least 16).
        public var pages: Int?
        /// Transactions open at once.
        public var concurrency: Int
        /// Percent of finished transactions that abort.
        public var abortPercent: Int
        public var segmentSize: Int

        public init(records: Int, seed: UInt64 = 0xB007, pages: Int? = nil, concurrency: Int = 4,
                    abortPercent: Int = 8, segmentSize: Int = 4 << 20) {
            self.records = records
            self.seed = seed
            self.pages = pages
            self.concurrency = concurrency
            self.abortPercent = abortPercent
            self.segmentSize = segmentSize
        }
    }

    /// What was generated.
    public struct Summary: Sendable {
        public var records: Int
        public var committed: Int
        public var aborted: Int
        public var unfinished: Int
        public var segments: Int
        /// Every record, when asked for (tests model the expected state from them).
        public var log: [WALRecord]
    }

    /// Appends `options.records` records to the store's log (the store must be read-write and
    /// recovered) and makes them durable.
    ///
    /// `shouldContinue` is asked every 4,096 records: `false` makes what was written durable and
    /// stops with ``StoreError/interrupted(_:)`` (a shutdown during a long generation).
    public static func generate(into store: WALStore, options: Options, keepLog: Bool = false,
                                shouldContinue: () -> Bool = { true }) throws(StoreError) -> Summary {
        let writer = try store.makeWriter(segmentSize: options.segmentSize)
        var random = SplitMix64(seed: options.seed)
        let pageCount = UInt64(max(16, options.pages ?? options.records / 40))
        var open: [UInt64] = []
        var summary = Summary(records: 0, committed: 0, aborted: 0, unfinished: 0, segments: 0, log: [])
        let concurrency = max(1, options.concurrency)

        func emit(_ txid: UInt64, _ kind: WALRecord.Kind, page: UInt64 = 0, slot: UInt8 = 0, value: [UInt8] = []) throws(StoreError) {
            let record = WALRecord(lsn: store.reserve(lsns: 1), txid: txid, kind: kind, pageID: page, slot: slot, value: value)
            try writer.append(record)
            if keepLog { summary.log.append(record) }
            summary.records += 1
        }

        while summary.records < options.records {
            if summary.records % 4096 == 0, summary.records > 0, !shouldContinue() {
                try writer.sync()
                throw .interrupted("generation stopped after \(summary.records) of \(options.records) records")
            }
            let left = options.records - summary.records
            // Near the end, finish transactions so that only a few stay unfinished.
            let mustFinish = left <= open.count && open.count > 2
            let roll = Int(random.next() % 100)
            if !mustFinish, open.count < concurrency, open.isEmpty || roll < 20 {
                let txid = store.reserveTxID()
                open.append(txid)
                try emit(txid, .begin)
            } else if !mustFinish, !open.isEmpty, roll < 85 {
                let txid = open[Int(random.next() % UInt64(open.count))]
                let page = random.next() % pageCount
                let slot = UInt8(random.next() % UInt64(Page.slotCount))
                if random.next() % 10 == 0 {
                    try emit(txid, .delete, page: page, slot: slot)
                } else {
                    let length = 8 + Int(random.next() % UInt64(Page.maxValueSize - 8 + 1))
                    let value = (0..<length).map { _ in UInt8(truncatingIfNeeded: random.next()) }
                    try emit(txid, .put, page: page, slot: slot, value: value)
                }
            } else if !open.isEmpty {
                let index = Int(random.next() % UInt64(open.count))
                let txid = open.remove(at: index)
                if Int(random.next() % 100) < options.abortPercent {
                    try emit(txid, .abort)
                    summary.aborted += 1
                } else {
                    try emit(txid, .commit)
                    summary.committed += 1
                }
            }
        }
        summary.unfinished = open.count
        try writer.sync()
        summary.segments = try WALSegment.list(store.directory.walDirectory).count
        return summary
    }
}

/// Appends real transactions to a store's log, each made durable (fsync) at its commit: what
/// `boot-exporter write` runs, and what the crash tests kill.
public struct TransactionWriter {
    /// A transaction's writes: page, slot and value of each put.
    public struct Write: Sendable, Equatable {
        public var pageID: UInt64
        public var slot: UInt8
        public var value: [UInt8]
    }

    /// Page ids of written transactions start here, each transaction writing its own page, so a
    /// test can tell every transaction's writes apart.
    public static let firstPage: UInt64 = 1 << 32

    /// Writes `count` transactions; about one in ten aborts. `onCommit` runs after a commit is
    /// durable, `onAbort` after an abort is written.
    public static func write(into store: WALStore, count: Int, seed: UInt64, segmentSize: Int = 4 << 20,
                             onCommit: (UInt64, [Write]) -> Void, onAbort: (UInt64, [Write]) -> Void) throws(StoreError) {
        let writer = try store.makeWriter(segmentSize: segmentSize)
        var random = SplitMix64(seed: seed)
        for _ in 0..<count {
            let txid = store.reserveTxID()
            try writer.append(WALRecord(lsn: store.reserve(lsns: 1), txid: txid, kind: .begin))
            let page = firstPage + txid
            var writes: [Write] = []
            for slot in 0..<UInt8(1 + random.next() % 4) {
                var value = Array("tx\(txid)-s\(slot)-".utf8)
                value += (0..<Int(random.next() % 32)).map { _ in UInt8(ascii: "a") + UInt8(random.next() % 26) }
                writes.append(Write(pageID: page, slot: slot, value: value))
                try writer.append(WALRecord(lsn: store.reserve(lsns: 1), txid: txid, kind: .put, pageID: page, slot: slot, value: value))
            }
            if random.next() % 10 == 0 {
                try writer.append(WALRecord(lsn: store.reserve(lsns: 1), txid: txid, kind: .abort))
                try writer.flush()
                onAbort(txid, writes)
            } else {
                try writer.append(WALRecord(lsn: store.reserve(lsns: 1), txid: txid, kind: .commit))
                try writer.sync()
                onCommit(txid, writes)
            }
        }
        try writer.sync()
    }
}
