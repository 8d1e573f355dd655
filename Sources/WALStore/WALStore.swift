// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// The reference store booted by `boot-exporter`: pages of tuple slots, a write-ahead log of
/// transactions, and a checkpoint. Each boot phase does real work on it:
///
/// - ``open(path:access:)`` (init): opens or creates the directory and locks it;
/// - ``migrate(onStep:)`` (migrate): upgrades older formats step by step;
/// - ``recover(_:)`` (recover): analyses the WAL, redoes committed transactions, rolls back the rest;
/// - ``warmUp(pageIDs:onProgress:)`` (warmup): preloads the pages recovery named;
/// - ``checkpoint()`` (shutdown): writes the applied state so the next boot replays nothing.
///
/// Not thread-safe: one boot drives it from one thread.
public final class WALStore {
    /// How the directory may be used.
    public enum Access: Sendable {
        /// Shared lock; nothing in the directory is ever written.
        case readOnly
        /// Exclusive lock; creates the directory if it is missing or empty.
        case readWrite
    }

    public let path: String
    public let access: Access
    let directory: DataDirectory
    private var lock: DirectoryLock?
    /// The on-disk format this build writes, which ``migrate(onStep:)`` upgrades to.
    public static let currentFormat = DataDirectory.currentFormat
    /// The on-disk format before migration.
    public private(set) var format: Int
    var checkpointState = Checkpoint()
    private var pageFile: PageFile?
    /// Pages in memory: those recovery changed and those warmup loaded.
    private(set) var pool: [UInt64: Page] = [:]
    /// The end of the valid log and the next transaction id, once recovered.
    private(set) var lastLSN: UInt64 = 0
    private(set) var nextTxID: UInt64 = 1
    /// The end of the log when recovery finished: everything up to it is in the pages in memory.
    /// Records a writer appends afterwards are only in the WAL.
    private var appliedLSN: UInt64 = 0
    private var recovered = false

    private init(path: String, access: Access, directory: DataDirectory, lock: DirectoryLock?, format: Int) {
        self.path = path
        self.access = access
        self.directory = directory
        self.lock = lock
        self.format = format
    }

    /// Opens the data directory at `path` and locks it: exclusively for `.readWrite` (creating
    /// it when missing or empty), shared for `.readOnly`. Throws ``StoreError/locked(path:holder:)``
    /// when another process holds it.
    ///
    /// `onLocked` runs once the lock is held, before the directory is created or its format read
    /// under it: from then on the directory is the caller's to write in (its boot journal).
    public static func open(path: String, access: Access, onLocked: () -> Void = {}) throws(StoreError) -> WALStore {
        let directory = DataDirectory(path: path)
        if access == .readWrite, !FileIO.exists(path) { try FileIO.makeDirectories(path) }
        guard FileIO.isDirectory(path) else {
            // (errno is whatever the last call left: say what is wrong with the path itself.)
            throw .io(operation: "open", path: path, errno: FileIO.exists(path) ? ENOTDIR : ENOENT)
        }
        // A newer directory, or one that is not a data directory, is refused before anything is
        // written, the lock file included (the second check is made again under the lock).
        // (Emptiness first: a creator running meanwhile only adds FORMAT, last, so a directory seen
        // non-empty here shows its FORMAT to the read that follows.)
        let empty = directory.isMissingOrEmpty
        let found = try directory.readFormat()
        if let found, found > DataDirectory.currentFormat {
            throw .newerFormat(path: path, found: found, supported: DataDirectory.currentFormat)
        }
        if found == nil, !empty { throw .notADataDirectory(path: path) }
        let lock = try DirectoryLock.acquire(directory, exclusive: access == .readWrite)
        onLocked()
        // Under the lock: create a store that is missing, or finish one whose creation was cut short.
        if access == .readWrite, directory.isMissingOrEmpty { try directory.create() }
        guard let format = try directory.readFormat() else { throw .notADataDirectory(path: path) }
        return WALStore(path: path, access: access, directory: directory, lock: lock, format: format)
    }

    /// The file in the data directory that belongs to the application, not the store: its boot
    /// journal. The store never reads or writes it, and a directory holding only it is empty.
    public static let journalFileName = "journal"

    /// Whether `path` is missing or an empty directory: a place `open` would create a store.
    public static func isMissingOrEmpty(_ path: String) -> Bool {
        DataDirectory(path: path).isMissingOrEmpty
    }

    // MARK: Migrate

    /// Upgrades the directory to the current format one step at a time, calling `onStep` after
    /// each (with the version reached). Read-only stores are upgraded in memory only. Returns the
    /// number of steps.
    @discardableResult
    public func migrate(onStep: (Int) -> Void = { _ in }) throws(StoreError) -> Int {
        var migration = try FormatMigration(directory: directory, format: format, writes: access == .readWrite)
        if access == .readWrite, migration.format == DataDirectory.currentFormat {
            try directory.removeLeftovers(generation: migration.checkpoint.generation)
        }
        var steps = 0
        while migration.format < DataDirectory.currentFormat {
            try migration.step()
            steps += 1
            onStep(migration.format)
        }
        checkpointState = migration.checkpoint
        pageFile = migration.pageFile
        pool = migration.convertedPages
        format = migration.format
        return steps
    }

    // MARK: Recover

    /// Replays the WAL from the checkpoint's LSN. See ``RecoveryOptions`` and ``RecoveryReport``.
    public func recover(_ options: RecoveryOptions) throws(StoreError) -> RecoveryReport {
        if pageFile == nil && pool.isEmpty { try migrate() }
        let started = ContinuousClock.now
        let checkpointBytes = try FileIO.size(directory.checkpointFile)
        options.onCheckpointRead(UInt64(checkpointBytes))
        // The WAL directory is made with the store and never removed: one that is gone may have
        // taken transactions committed after the checkpoint with it. (Without this, a boot reached
        // ready on the checkpoint alone and the damage showed only at the checkpoint on shutdown.)
        let walMissing = !FileIO.isDirectory(directory.walDirectory)
        if walMissing {
            if FileIO.exists(directory.walDirectory) {
                throw .io(operation: "open", path: directory.walDirectory, errno: ENOTDIR)
            }
            switch options.mode {
            case .normal:
                throw .corrupt(path: path, reason: "its WAL directory wal/ is missing, with any transaction committed after the checkpoint: restore it, or boot with --recovery-mode force to start an empty one (readonly to inspect)")
            case .force:
                try FileIO.makeDirectory(directory.walDirectory)
                try FileIO.fsyncDirectory(path)
            case .readOnly:
                break
            }
        }
        let segments = try WALSegment.list(directory.walDirectory)
        // Writers number segments one after the other, and segments are removed only from the end
        // (a torn tail) or all of them (a checkpoint): a hole in the numbers is a segment lost, with
        // the transactions committed in it.
        let missingSegment = zip(segments, segments.dropFirst())
            .first { earlier, later in earlier.index + 1 != later.index }
            .map { earlier, _ in WALSegment.name(index: earlier.index + 1) }
        if let missingSegment, options.mode == .normal {
            throw .corrupt(path: path, reason: "its WAL segment wal/\(missingSegment) is missing, with any transaction committed in it: restore it, or boot with --recovery-mode force to go on without it (readonly to inspect)")
        }
        // The end: segments past the last one present that wal/last-segment says were made are lost,
        // with the transactions committed in them (the LSNs cannot show it: nothing follows them).
        let newestPresent = segments.last?.index ?? 0
        let lostLast: (missing: String, refusal: String)?
        switch try WALSegment.lastCreated(in: directory.walDirectory) {
        case .index(let recorded) where recorded > newestPresent:
            let marker = "wal/\(WALSegment.lastSegmentFile) names wal/\(WALSegment.name(index: recorded))"
            let first = "wal/" + WALSegment.name(index: newestPresent + 1)
            let (lost, them) = recorded == newestPresent + 1
                ? ("\(first) is", "it") : ("\(first) to wal/\(WALSegment.name(index: recorded)) are", "them")
            lostLast = ("\(lost) missing (\(marker))",
                        "its last WAL segment\(them == "it" ? "" : "s") \(lost) missing (\(marker)), with any transaction committed in \(them): restore \(them), or boot with --recovery-mode force to go on without \(them) (readonly to inspect)")
        case .unreadable:
            lostLast = ("wal/\(WALSegment.lastSegmentFile) is unreadable: whether the last segments are missing cannot be told",
                        "its wal/\(WALSegment.lastSegmentFile) is unreadable (16 hex digits and a newline expected): whether the last WAL segments are missing cannot be told: restore it, or boot with --recovery-mode force to go on with the segments there (readonly to inspect)")
        default:
            lostLast = nil
        }
        if let lostLast, options.mode == .normal { throw .corrupt(path: path, reason: lostLast.refusal) }
        var walBytes: UInt64 = 0
        for segment in segments { walBytes += UInt64(try FileIO.size(segment.path)) }
        options.onProgress(RecoveryProgress(message: "analysing \(segments.count) WAL segments", bytesTotal: walBytes))

        let buffer = SegmentBuffer()
        let analysis = try WALAnalysis(segments: segments, checkpointLSN: checkpointState.lsn, mode: options.mode,
                                       buffer: buffer)
        // A checkpoint leaves the WAL empty, or reaching its LSN at least (the segments it did not
        // remove): a WAL that ends before it has lost its last segments, and with them any
        // transaction committed after the checkpoint. (Nothing shows a lost last segment when the
        // checkpoint is older than every record in the WAL.)
        let endsEarly = analysis.lastFrameLSN > 0 && analysis.lastFrameLSN < checkpointState.lsn
        if endsEarly, options.mode == .normal {
            throw .corrupt(path: path, reason: "its WAL ends at LSN \(analysis.lastFrameLSN), before the checkpoint's \(checkpointState.lsn): its last segments are missing, with any transaction committed after the checkpoint: restore them, or boot with --recovery-mode force to go on without them (readonly to inspect)")
        }
        lastLSN = analysis.lastLSN
        nextTxID = max(checkpointState.nextTxID, analysis.maxTxID + 1)
        if let tail = analysis.tail, options.mode != .readOnly {
            try truncate(segments: segments, at: tail, removing: analysis.segmentsAfterTail)
        }

        options.onAnalysed(UInt64(analysis.transactions.rolledBackCount), analysis.skippedRecords)
        var replay = WALReplay(store: self, options: options, totalRecords: analysis.recordsToReplay,
                               totalBytes: analysis.bytesToReplay)
        // The spans of one segment follow each other (force mode splits a damaged segment into
        // several): each segment is read once. Its bytes stay valid until the next read.
        var held: (segment: Int, bytes: UnsafeRawBufferPointer)?
        for span in analysis.spans {
            if held?.segment != span.segment {
                held = (span.segment, try buffer.read(segments[span.segment].path))
            }
            try replay.replay(held.unsafelyUnwrapped.bytes, range: span.range, checkpointLSN: checkpointState.lsn,
                              transactions: analysis.transactions)
        }
        try replay.finish()
        appliedLSN = lastLSN
        recovered = true

        // What readonly and force mode found missing is reported where a torn tail is: it is the
        // cause, where a tail that analysis may also find is only its effect.
        let missing: String?
        if walMissing {
            missing = "\(directory.walDirectory) is missing\(options.mode == .force ? " (made anew, empty)" : "")"
        } else if let missingSegment {
            missing = "\(FileIO.join(directory.walDirectory, missingSegment)) is missing"
        } else if let lostLast {
            missing = "\(path)/\(lostLast.missing)"
        } else if endsEarly {
            missing = "\(directory.walDirectory) ends at LSN \(analysis.lastFrameLSN), before the checkpoint's \(checkpointState.lsn): its last segments are missing"
        } else {
            missing = nil
        }
        let recoveredPages = replay.changedPages.sorted()
        let preload = Self.sortedUnion(recoveredPages, checkpointState.hotPages.sorted())
        return RecoveryReport(
            checkpointLSN: checkpointState.lsn, lastLSN: lastLSN,
            recordsReplayed: replay.recordsDone, bytesReplayed: replay.bytesDone,
            pagesRecovered: UInt64(recoveredPages.count),
            transactionsCommitted: UInt64(analysis.transactions.committedCount),
            transactionsRolledBack: UInt64(analysis.transactions.rolledBackCount),
            corruptRecordsSkipped: analysis.skippedRecords,
            tornTail: missing ?? analysis.tail.map { "\(segments[$0.segment].path) at offset \($0.offset): \($0.reason)" },
            tailTruncated: analysis.tail != nil && options.mode != .readOnly,
            checkpointBytes: UInt64(checkpointBytes),
            duration: ContinuousClock.now - started,
            preloadPageIDs: preload,
            preloadBytes: UInt64(preload.count * Page.size)
        )
    }

    /// The distinct ids of two sorted arrays, sorted: a merge, where a `Set` would hash every id
    /// (recovery can change tens of thousands of pages).
    static func sortedUnion(_ first: [UInt64], _ second: [UInt64]) -> [UInt64] {
        var union: [UInt64] = []
        union.reserveCapacity(first.count + second.count)
        var i = 0, j = 0
        while i < first.count || j < second.count {
            let next: UInt64
            if j == second.count || (i < first.count && first[i] <= second[j]) {
                next = first[i]
                i += 1
            } else {
                next = second[j]
                j += 1
            }
            if union.last != next { union.append(next) }
        }
        return union
    }

    /// Cuts the log at a torn tail: the tail's segment is truncated (or removed if nothing valid is
    /// left in it) and the empty segments after it are removed.
    private func truncate(segments: [WALSegment], at tail: WALAnalysis.Tail, removing later: [Int]) throws(StoreError) {
        let segment = segments[tail.segment]
        // wal/last-segment stops naming the segments removed here before they go.
        let kept = tail.offset <= WALSegment.headerSize ? tail.segment - 1 : tail.segment
        if kept < segments.count - 1 {
            if kept >= 0 {
                try WALSegment.recordLastCreated(segments[kept].index, in: directory.walDirectory)
            } else {
                try WALSegment.forgetLastCreated(in: directory.walDirectory)
            }
        }
        if tail.offset <= WALSegment.headerSize {
            try FileIO.remove(segment.path)
        } else {
            let fd = try FileIO.openWithoutFollowing(segment.path, O_WRONLY)
            defer { Glibc.close(fd) }
            guard ftruncate(fd, off_t(tail.offset)) == 0 else { throw .system("truncate", segment.path) }
            try FileIO.fsync(fd: fd, path: segment.path)
        }
        for index in later { try FileIO.remove(segments[index].path) }
        try FileIO.fsyncDirectory(directory.walDirectory)
    }

    /// The page `id`: from memory, else from the page file (and then kept in memory), else `nil`.
    func loadPage(_ id: UInt64) throws(StoreError) -> Page? {
        if let page = pool[id] { return page }
        guard let page = try pageFile?.page(id) else { return nil }
        pool[id] = page
        return page
    }

    /// The page `id`, created empty when it exists nowhere yet.
    func pageForWriting(_ id: UInt64) throws(StoreError) -> Page {
        if let page = try loadPage(id) { return page }
        let page = Page(id: id)
        pool[id] = page
        return page
    }

    // MARK: Warm up

    /// Preloads the pages `pageIDs` (``RecoveryReport/preloadPageIDs``) into memory, calling
    /// `onProgress` with the pages done and the total. A page already there (recovery just changed
    /// it) is a hit; one read from the page file is a miss; a page that exists nowhere is neither.
    public func warmUp(pageIDs: [UInt64], onProgress: (Int, Int) -> Void = { _, _ in }) throws(StoreError) -> WarmupReport {
        var hits = 0, misses = 0
        for (index, id) in pageIDs.enumerated() {
            if pool[id] != nil {
                hits += 1
            } else if let page = try pageFile?.page(id) {
                pool[id] = page
                misses += 1
            }
            if index % 256 == 255 { onProgress(index + 1, pageIDs.count) }
        }
        onProgress(pageIDs.count, pageIDs.count)
        return WarmupReport(pagesRequested: pageIDs.count, hits: hits, misses: misses)
    }

    // MARK: Checkpoint

    /// Writes every page (changed ones from memory, the rest copied from the current page file) to a
    /// new page file, then a checkpoint naming it and the end of the log, then removes the old page
    /// file and the WAL segments the checkpoint covers. A crash at any point leaves a complete
    /// checkpoint: the old one or the new one.
    public func checkpoint() throws(StoreError) {
        guard access == .readWrite else { throw .readOnly(path: path) }
        guard recovered else { return }
        let oldGeneration = checkpointState.generation
        let generation = oldGeneration + 1
        var ids = Set(checkpointState.pageIDs)
        ids.formUnion(pool.keys)
        let pageIDs = ids.sorted()
        let newPath = directory.pageFile(generation: generation)
        try PageFile.write(path: newPath, pageIDs: pageIDs) { (id) throws(StoreError) -> [UInt8] in
            if let page = pool[id] { return page.encoded }
            guard let pageFile, let bytes = try pageFile.rawPage(id) else { return Page(id: id).encoded }
            // Never carried into the next generation unchecked: a damaged page stops the checkpoint
            // here (the current page file and the WAL stay as they are) instead.
            guard Page.isIntact(bytes, id: id) else {
                throw .corrupt(path: pageFile.path, reason: "page \(id) fails its checksum or layout")
            }
            return bytes
        }
        let hot = pool.values.filter(\.isDirty).map(\.id).sorted().prefix(4096)
        // The checkpoint holds what the pages hold: up to the end of recovery. Records appended since
        // (by a writer on this store) stay in the WAL for the next recovery.
        let next = Checkpoint(lsn: appliedLSN, nextTxID: nextTxID, generation: generation, pageIDs: pageIDs, hotPages: Array(hot))
        try FileIO.writeAtomically(directory.checkpointFile, next.encode(version: DataDirectory.currentFormat))
        checkpointState = next
        pageFile = try PageFile(path: newPath, pageIDs: pageIDs)
        for page in pool.values { page.isDirty = false }
        try FileIO.remove(directory.pageFile(generation: oldGeneration))
        if lastLSN == appliedLSN {
            try WALSegment.forgetLastCreated(in: directory.walDirectory)
            for segment in try WALSegment.list(directory.walDirectory) { try FileIO.remove(segment.path) }
            try FileIO.fsyncDirectory(directory.walDirectory)
        }
        try FileIO.fsyncDirectory(path)
    }

    // MARK: Reading

    /// The value of `slot` in page `pageID` as recovered (call after ``recover(_:)``).
    public func value(pageID: UInt64, slot: UInt8) throws(StoreError) -> [UInt8]? {
        try loadPage(pageID)?.value(slot: slot)
    }

    /// Every page id the store holds.
    public var pageIDs: [UInt64] {
        Set(checkpointState.pageIDs).union(pool.keys).sorted()
    }

    /// Every occupied slot of page `pageID`.
    public func tuples(pageID: UInt64) throws(StoreError) -> [(slot: UInt8, value: [UInt8])] {
        try loadPage(pageID)?.tuples ?? []
    }

    /// Releases the directory's lock and the page file. The store must not be used afterwards.
    public func close() {
        lock = nil
        pageFile = nil
        pool = [:]
    }

    /// A writer appending to the recovered log (read-write stores only).
    func makeWriter(segmentSize: Int) throws(StoreError) -> WALWriter {
        guard access == .readWrite else { throw .readOnly(path: path) }
        return try WALWriter(directory: directory.walDirectory, segments: try WALSegment.list(directory.walDirectory),
                             segmentSize: segmentSize)
    }

    /// Takes the next LSN and transaction id for records a writer appends.
    func reserve(lsns: UInt64) -> UInt64 {
        defer { lastLSN += lsns }
        return lastLSN + 1
    }

    func reserveTxID() -> UInt64 {
        defer { nextTxID += 1 }
        return nextTxID
    }
}
