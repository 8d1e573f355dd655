// SPDX-License-Identifier: AGPL-3.0-or-later

/// The analysis pass of recovery: checks every frame of the WAL, finds where the valid log ends and
/// which transactions committed, and counts what redo will replay, so progress has its totals
/// before replay starts.
struct WALAnalysis {
    /// A run of valid frames in one segment.
    struct Span {
        var segment: Int
        var range: Range<Int>
    }

    /// Where the valid log stops, if it stops before the files end.
    struct Tail {
        var segment: Int
        var offset: Int
        var reason: String
    }

    var spans: [Span] = []
    /// Every transaction with records after the checkpoint: which committed, how many did not.
    let transactions = TransactionTable()
    /// Records and frame bytes after the checkpoint LSN: what redo replays.
    var recordsToReplay: UInt64 = 0
    var bytesToReplay: UInt64 = 0
    var lastLSN: UInt64
    /// The LSN of the last valid frame in the segments (0 if there is none), the checkpoint aside.
    var lastFrameLSN: UInt64 = 0
    var maxTxID: UInt64 = 0
    /// Corrupt stretches skipped in force mode.
    var skippedRecords: UInt64 = 0
    /// A torn or corrupt end of the log (the valid log ends at `offset` of `segment`).
    var tail: Tail?
    /// Segments after the tail's: nothing valid in them.
    var segmentsAfterTail: [Int] = []

    /// Analyses `segments` for a checkpoint at `checkpointLSN`.
    ///
    /// A frame that is cut short or damaged ends the log when nothing valid follows it (a torn tail).
    /// When valid frames follow, the log is damaged in the middle: force mode skips the damage and
    /// goes on; read-only mode stops there; normal mode throws rather than truncate valid records.
    ///
    /// After the checkpoint, LSNs must rise by exactly one: a gap (a lost segment, a hole) is damage
    /// too. Force mode rolls back every transaction open across a skipped stretch and every
    /// transaction whose `begin` it did not see, so no transaction is applied in part.
    ///
    /// Segments are read into `buffer`.
    init(segments: [WALSegment], checkpointLSN: UInt64, mode: RecoveryOptions.Mode, buffer: SegmentBuffer) throws(StoreError) {
        lastLSN = checkpointLSN
        // LSNs must rise through the whole log, including records the checkpoint already holds
        // (a crash between writing a checkpoint and removing old segments leaves those behind).
        var previous: UInt64 = 0
        let transactions = self.transactions
        var laterHaveFrames: [Int: Bool] = [:]
        // Set by a skip in force mode: the next valid frame may follow a gap.
        var resynchronized = false
        func validLater(_ segment: Int) throws(StoreError) -> Bool {
            if let known = laterHaveFrames[segment] { return known }
            let answer = try Self.laterSegmentsHaveFrames(segments, after: segment, lsnAbove: previous)
            laterHaveFrames[segment] = answer
            return answer
        }
        // A frame that checks out but jumps ahead of the last LSN, while the frame after it (in this
        // segment, or first in the next) follows that last LSN: the jump is one damaged LSN (a
        // checksum recomputed over it, say), not records lost before it. Resuming at it would take
        // every LSN after it for stale and cut the good records off. Asked only off the hot path,
        // where the log does not follow on.
        func hasImplausibleLSN(_ frame: WALFrame, at offset: Int, in bytes: UnsafeRawBufferPointer,
                               segment: Int) throws(StoreError) -> Bool {
            let nextLSN: UInt64?
            if offset + frame.size < bytes.count {
                guard case .frame(let next) = WALFrame.parse(bytes, at: offset + frame.size) else { return false }
                nextLSN = next.lsn
            } else if segment + 1 < segments.count {
                // (Its own read: `bytes` is the shared buffer, still in use.)
                nextLSN = try segments[segment + 1].withContents { bytes in
                    guard case .frame(let next) = WALFrame.parse(bytes, at: WALSegment.headerSize) else { return nil }
                    return next.lsn
                }
            } else {
                nextLSN = nil
            }
            guard let nextLSN else { return false }
            return nextLSN > previous && nextLSN < frame.lsn
        }
        // A plain loop over the segments, the bytes read in place: no closure captures the state
        // the loop updates for every record.
        nextSegment: for (segmentNumber, segment) in segments.enumerated() {
            if tail != nil {
                segmentsAfterTail.append(segmentNumber)
                continue
            }
            let bytes = try buffer.read(segment.path)
            var offset = WALSegment.headerSize
            if !segment.hasValidHeader(bytes) {
                let reason = bytes.count < WALSegment.headerSize ? "segment header cut short" : "bad segment header"
                // Frames that check out in the segment's own body, or in a later segment, make the header
                // damage in the middle of the log, never a torn end to cut off.
                let resume = Self.nextValidFrame(bytes, after: WALSegment.headerSize - 1, lsnAbove: previous)
                var validAfter = resume != nil
                if !validAfter { validAfter = try validLater(segmentNumber) }
                guard mode == .force, validAfter else {
                    try stop(at: 0, in: segmentNumber, reason: reason, validAfter: validAfter, mode: mode, path: segment.path)
                    continue nextSegment
                }
                // The header is a damaged stretch: skip it, and the frames up to the first that checks out.
                skippedRecords += 1
                guard let resume else {
                    transactions.skip()
                    resynchronized = true
                    continue nextSegment
                }
                // Only the header is damaged when its first frame is where it belongs and follows the
                // last record: nothing was lost, no transaction is rolled back for it.
                var lostNothing = false
                if resume == WALSegment.headerSize, case .frame(let frame) = WALFrame.parse(bytes, at: resume) {
                    lostNothing = frame.lsn <= checkpointLSN || frame.lsn == max(previous, checkpointLSN) + 1
                }
                if !lostNothing {
                    transactions.skip()
                    resynchronized = true
                }
                offset = resume
            }
            var spanStart = offset
            while offset < bytes.count {
                let parsed = WALFrame.parse(bytes, at: offset)
                if case .frame(let frame) = parsed, frame.lsn > previous {
                    // After the checkpoint, each LSN follows the last (force mode resumes past a gap,
                    // unless the frame it would resume at is itself the damage).
                    let expected = max(previous, checkpointLSN) + 1
                    var contiguous = frame.lsn <= checkpointLSN || frame.lsn == expected
                    if !contiguous, resynchronized {
                        contiguous = !(try hasImplausibleLSN(frame, at: offset, in: bytes, segment: segmentNumber))
                    }
                    if contiguous {
                        resynchronized = false
                        previous = frame.lsn
                        lastLSN = max(lastLSN, frame.lsn)
                        maxTxID = max(maxTxID, frame.txid)
                        if frame.lsn > checkpointLSN {
                            recordsToReplay += 1
                            bytesToReplay += UInt64(frame.size)
                            switch frame.kind {
                            case .begin: transactions.begin(frame.txid)
                            case .put, .delete: transactions.write(frame.txid)
                            case .commit: transactions.commit(frame.txid)
                            case .abort: transactions.abort(frame.txid)
                            }
                        }
                        offset += frame.size
                        continue
                    }
                }
                // Cut short, damaged, a gap, or an LSN that goes backwards (stale bytes): the valid run ends.
                let reason: String
                switch parsed {
                case .truncated: reason = "record cut short"
                case .corrupt: reason = "checksum or layout mismatch"
                case .frame(let frame): reason = frame.lsn > previous ? "LSN gap (\(frame.lsn) after \(previous))" : "LSN out of order"
                }
                if offset > spanStart { spans.append(Span(segment: segmentNumber, range: spanStart..<offset)) }
                // After a gap the frame here checks out: the log resumes with it, or after it when its
                // LSN is the damage. Otherwise, with the next frame that checks out.
                let resume: Int?
                if case .frame(let frame) = parsed, frame.lsn > previous {
                    resume = try hasImplausibleLSN(frame, at: offset, in: bytes, segment: segmentNumber) ? offset + frame.size : offset
                } else {
                    resume = Self.nextValidFrame(bytes, after: offset, lsnAbove: previous)
                }
                var validAfter = resume != nil
                if !validAfter { validAfter = try validLater(segmentNumber) }
                if mode == .force, validAfter {
                    skippedRecords += 1
                    transactions.skip()
                    resynchronized = true
                    guard let resume else { offset = bytes.count; spanStart = offset; break }
                    offset = resume
                    spanStart = offset
                    continue
                }
                try stop(at: offset, in: segmentNumber, reason: reason, validAfter: validAfter, mode: mode, path: segment.path)
                continue nextSegment
            }
            if offset > spanStart { spans.append(Span(segment: segmentNumber, range: spanStart..<offset)) }
        }
        transactions.finish()
        lastFrameLSN = previous
    }

    private mutating func stop(at offset: Int, in segment: Int, reason: String, validAfter: Bool,
                               mode: RecoveryOptions.Mode, path: String) throws(StoreError) {
        if validAfter && mode == .normal {
            throw .corruptWAL(path: path, offset: offset, reason: reason)
        }
        tail = Tail(segment: segment, offset: offset, reason: reason)
    }

    /// The offset of the next frame after `offset` that parses and checks out with an LSN above
    /// `lsn`, found byte by byte; `nil` if there is none.
    static func nextValidFrame(_ bytes: UnsafeRawBufferPointer, after offset: Int, lsnAbove lsn: UInt64) -> Int? {
        var candidate = offset + 1
        while candidate + WALRecord.frameHeaderSize + WALRecord.bodyHeaderSize <= bytes.count {
            if case .frame(let frame) = WALFrame.parse(bytes, at: candidate), frame.lsn > lsn { return candidate }
            candidate += 1
        }
        return nil
    }

    /// Whether any segment after `segment` holds a frame that checks out with an LSN above `lsn`,
    /// anywhere in it (whatever its header and the bytes before the frame). A segment that cannot be
    /// read is an error, never a "no": what follows may be truncated or removed.
    private static func laterSegmentsHaveFrames(_ segments: [WALSegment], after segment: Int, lsnAbove lsn: UInt64) throws(StoreError) -> Bool {
        for later in segments[(segment + 1)...] {
            let valid = try later.withContents { (bytes) throws(StoreError) -> Bool in
                if later.hasValidHeader(bytes), case .frame(let frame) = WALFrame.parse(bytes, at: WALSegment.headerSize),
                   frame.lsn > lsn {
                    return true
                }
                return nextValidFrame(bytes, after: WALSegment.headerSize - 1, lsnAbove: lsn) != nil
            }
            if valid { return true }
        }
        return false
    }
}
