// SPDX-License-Identifier: AGPL-3.0-or-later

/// Progress of the recovery phase, as reported to ``RecoveryOptions/onProgress``.
public struct RecoveryProgress: Sendable, Equatable {
    public var message: String
    public var recordsDone: UInt64 = 0
    public var recordsTotal: UInt64 = 0
    public var bytesDone: UInt64 = 0
    public var bytesTotal: UInt64 = 0
}

/// How to recover, and where to report.
public struct RecoveryOptions {
    /// What recovery may do with a damaged log.
    public enum Mode: Sendable, Hashable, CaseIterable {
        /// Redo and undo; a torn tail is truncated; damage before the end of the log is an error.
        case normal
        /// Nothing in the data directory is written; recovery stops at the first damage.
        case readOnly
        /// Damaged stretches of the log are skipped and counted instead of ending recovery.
        case force
    }

    public var mode: Mode
    /// Replay no faster than this (records per second), to make a boot last for a demonstration.
    public var maxRecordsPerSecond: UInt64?
    /// Records between two progress reports.
    public var reportEvery: UInt64
    /// Called with the size of the checkpoint once read.
    public var onCheckpointRead: (UInt64) -> Void
    /// Called at the start of each pass and every ``reportEvery`` records.
    public var onProgress: (RecoveryProgress) -> Void
    /// Called with the records and bytes replayed since the last call.
    public var onReplayed: (_ records: UInt64, _ bytes: UInt64) -> Void
    /// Called once analysis knows them: the transactions recovery rolls back (they never committed)
    /// and the damaged stretches force mode skipped.
    public var onAnalysed: (_ rolledBack: UInt64, _ skipped: UInt64) -> Void
    /// Called with the pages redo changed for the first time since the last call, with each
    /// ``onReplayed`` (their sum is ``RecoveryReport/pagesRecovered``).
    public var onPagesRecovered: (UInt64) -> Void
    /// Asked at every report: `false` stops recovery with ``StoreError/interrupted(_:)``.
    public var shouldContinue: () -> Bool

    public init(
        mode: Mode = .normal,
        maxRecordsPerSecond: UInt64? = nil,
        reportEvery: UInt64 = 4096,
        onCheckpointRead: @escaping (UInt64) -> Void = { _ in },
        onProgress: @escaping (RecoveryProgress) -> Void = { _ in },
        onReplayed: @escaping (UInt64, UInt64) -> Void = { _, _ in },
        onAnalysed: @escaping (UInt64, UInt64) -> Void = { _, _ in },
        onPagesRecovered: @escaping (UInt64) -> Void = { _ in },
        shouldContinue: @escaping () -> Bool = { true }
    ) {
        self.mode = mode
        self.maxRecordsPerSecond = maxRecordsPerSecond
        self.reportEvery = max(reportEvery, 1)
        self.onCheckpointRead = onCheckpointRead
        self.onProgress = onProgress
        self.onReplayed = onReplayed
        self.onAnalysed = onAnalysed
        self.onPagesRecovered = onPagesRecovered
        self.shouldContinue = shouldContinue
    }
}

/// What recovery did.
public struct RecoveryReport: Sendable, Equatable {
    public var checkpointLSN: UInt64
    /// The LSN of the last valid record.
    public var lastLSN: UInt64
    public var recordsReplayed: UInt64
    public var bytesReplayed: UInt64
    /// Distinct pages redo changed.
    public var pagesRecovered: UInt64
    public var transactionsCommitted: UInt64
    /// Transactions after the checkpoint that never committed (aborted or unfinished).
    public var transactionsRolledBack: UInt64
    /// Corrupt stretches skipped (force mode).
    public var corruptRecordsSkipped: UInt64
    /// Where and why the log ended early, if it did.
    public var tornTail: String?
    /// Whether that tail was cut off the files (never in read-only mode).
    public var tailTruncated: Bool
    public var checkpointBytes: UInt64
    public var duration: Duration
    /// The pages warmup should preload (see ``WALStore/warmUp(pageIDs:onProgress:)``): those recovery
    /// changed and the checkpoint's hot pages, sorted.
    public var preloadPageIDs: [UInt64]
    /// The bytes those pages take in memory.
    public var preloadBytes: UInt64
}

/// What warmup did.
public struct WarmupReport: Sendable, Equatable {
    public var pagesRequested: Int
    /// Pages already in memory.
    public var hits: Int
    /// Pages read from the page file.
    public var misses: Int

    /// Hits over the pages found (0 when none was).
    public var hitRatio: Double {
        hits + misses == 0 ? 0 : Double(hits) / Double(hits + misses)
    }
}
