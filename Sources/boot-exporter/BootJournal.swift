// SPDX-License-Identifier: AGPL-3.0-or-later

import BootExporter
import BootFSM
import Glibc
import Synchronization
import WALStore

/// One boot as the journal remembers it.
struct JournalBoot: Sendable, Equatable, Codable {
    /// How the boot ended.
    enum Outcome: String, Sendable, Codable {
        case ready
        case failed
        /// A shutdown was requested during the boot (a rolling restart): not a failure.
        case stopped
        /// The process ended (killed, crashed) before the boot did.
        case crashed
        /// The boot is the running one.
        case running
    }

    var attempt: UInt64
    var startUnixMilliseconds: UInt64
    var mode: String
    /// Each completed phase and its duration in milliseconds, in order.
    var phases: [Phase]
    var outcome: Outcome
    var durationMilliseconds: UInt64?
    var failedPhase: String?
    var reason: String?

    struct Phase: Sendable, Equatable, Codable {
        var phase: String
        var durationMilliseconds: UInt64
    }
}

/// An append-only, crash-safe journal of boots in the data directory (`journal`), so a process that
/// restarts remembers why its last boots failed — what Kubernetes shows only as `CrashLoopBackOff`.
///
/// Each entry is a frame `length u32 | crc32c u32 | JSON`, appended and fsynced at every change of
/// phase. A torn or damaged entry costs that entry alone: reading skips it and resynchronises on the
/// next frame whose checksum matches, with one warning; the journal never fails a boot. A `journal`
/// that is a symbolic link (or not a regular file) is refused: neither read nor written through. It
/// keeps the last ``keptBoots`` boots: past ``maxBytes`` it is rewritten atomically with those only.
///
/// It also keeps the boot-time histograms, which count every boot ever journaled and so outlive the
/// boots it keeps: each change of phase that counts something is followed, in the same append, by a
/// `histograms` entry with the counts as they then stand. Reading takes the last valid one and adds
/// what the entries after it count: one damaged entry, whichever it is, loses no count. Compaction
/// writes the counts twice at the end of the file, for the same reason. Counts are published only
/// once written: a count shown is never taken back by a restart.
final class BootJournal: Sendable {
    static let fileName = WALStore.journalFileName
    static let maxBytes = 256 * 1024
    static let keptBoots = 50

    private struct State {
        var boots: [JournalBoot]
        /// The highest attempt number given so far, damaged boots counted: never goes back.
        var lastAttempt: UInt64
        var fd: Int32
        var bytes: Int
        /// Set while writing waits for ``startWriting()``.
        var deferred = false
        /// The boots recorded by this process start at this index of `boots`.
        var ownStart = 0
        /// The boot-time histograms as the file holds them: what is published.
        var histograms: BootTimeHistograms
        /// What this process counted that is not written yet (before ``startWriting()``, or after a
        /// failed write): written with the next append.
        var unwritten: [BootTimeHistograms.Observation] = []
    }

    private let path: String
    /// The budgets the histograms' empty buckets follow (`nil`: those in the file, else the defaults).
    private let budgets: BootBudgets?
    private let state: Mutex<State>
    /// Why the file could not be read when the journal was opened (it exists but is a directory, or
    /// is not readable), or `nil`: the journal then reads as empty, which is not the same as no boots.
    let readFailure: String?

    /// When a journal opened writable starts writing.
    enum Writing: Sendable {
        /// At once.
        case immediately
        /// At ``BootJournal/startWriting()``, once the data directory is the caller's (its lock taken):
        /// a process refused the directory must write nothing in it, and another process's journal
        /// is not ours to append to or cut. Until then changes are kept in memory.
        case afterLock
    }

    /// Reads the journal of `directory` (absent: empty). With `writable`, the file is opened for
    /// appending (and created) as `writing` says; otherwise nothing is ever written. Returns the
    /// journal and the warnings about entries it skipped. The histograms not counted yet take their
    /// bounds from `budgets`; with `budgets`, a histogram that keeps other bounds is warned about.
    static func open(directory: String, writable: Bool, writing: Writing = .immediately,
                     budgets: BootBudgets? = nil) -> (BootJournal, warnings: [String]) {
        let path = FileIO.join(directory, fileName)
        var warnings: [String] = []
        let (bytes, readFailure) = readFile(path)
        if let readFailure { warnings.append(readFailure) }
        let read = parse(bytes, path: path, warnings: &warnings)
        let goodLength = read.goodLength
        let histograms = read.histograms(following: budgets)
        if let budgets, case let kept = histograms.keptBounds(differingFrom: budgets), !kept.isEmpty {
            warnings.append("\(path): the boot-time histograms of \(kept.joined(separator: ", ")) keep the buckets of the budgets they first counted with, not the budgets configured now")
        }
        var state = State(boots: read.boots, lastAttempt: read.lastAttempt, fd: -1, bytes: goodLength, ownStart: read.boots.count,
                          histograms: histograms)
        // A journal not read (refused, unreadable) is not appended to: its attempts are unknown.
        if writable, readFailure == nil {
            if writing == .afterLock {
                state.deferred = true
            } else if let warning = openForAppending(path: path, goodLength: goodLength, fileLength: bytes.count, into: &state) {
                warnings.append(warning)
            }
        }
        return (BootJournal(path: path, budgets: budgets, state: state, readFailure: readFailure), warnings)
    }

    /// The journal file's bytes: none when it is absent. Any other failure (a directory, no
    /// permission) is returned as one line, not taken silently for no boots.
    private static func readFile(_ path: String) -> (bytes: [UInt8], failure: String?) {
        // lstat, not stat: a symbolic link is refused rather than followed, and a FIFO would block
        // the read. A directory is left to the read, which names it.
        var info = stat()
        if lstat(path, &info) == 0, ![S_IFREG, S_IFDIR].contains(info.st_mode & S_IFMT) {
            return ([], notRegular(path, info))
        }
        do {
            return (try FileIO.read(path), nil)
        } catch {
            if case .io(_, _, let code) = error, code == ENOENT { return ([], nil) }
            return ([], "\(error): boot journal not read")
        }
    }

    private static func notRegular(_ path: String, _ info: stat) -> String {
        let kind = info.st_mode & S_IFMT == S_IFLNK ? "a symbolic link" : "not a regular file"
        return "\(path) is \(kind): boot journal refused (not read, not written)"
    }

    /// Opens `path` for appending into `state` (cutting a torn tail off); a warning if it cannot.
    private static func openForAppending(path: String, goodLength: Int, fileLength: Int, into state: inout State) -> String? {
        // Never through a symbolic link: a journal planted as one must not have its target appended to or cut.
        let fd: Int32
        do {
            fd = try FileIO.openWithoutFollowing(path, O_WRONLY | O_CREAT | O_APPEND)
        } catch .symbolicLink {
            return "\(path) is a symbolic link: boot journal refused (not read, not written)"
        } catch {
            return "cannot append to the boot journal: \(error); boots are not journaled"
        }
        if goodLength < fileLength {
            // Cut the torn tail off, or every entry appended after it would be unreadable.
            _ = ftruncate(fd, off_t(goodLength))
            _ = fdatasync(fd)
        }
        state.fd = fd
        state.bytes = goodLength
        return nil
    }

    /// Starts writing a journal opened with ``Writing/afterLock``: reads the file again (another
    /// process may have appended to it meanwhile), puts the boots recorded since after those it holds
    /// (renumbered), and appends them. Returns warnings about entries skipped in the file; does
    /// nothing (and returns none) for any other journal, or a second time.
    func startWriting() -> [String] {
        state.withLock { state in
            guard state.deferred else { return [] }
            state.deferred = false
            var warnings: [String] = []
            let (bytes, failure) = Self.readFile(path)
            if let failure {
                warnings.append(failure)
                return warnings
            }
            let onDisk = Self.parse(bytes, path: path, warnings: &warnings)
            var own = Array(state.boots[state.ownStart...])
            for index in own.indices { own[index].attempt = onDisk.lastAttempt + 1 + UInt64(index) }
            state.boots = onDisk.boots + own
            state.ownStart = onDisk.boots.count
            state.lastAttempt = max(state.lastAttempt, onDisk.lastAttempt + UInt64(own.count))
            state.histograms = onDisk.histograms(following: budgets)
            if let warning = Self.openForAppending(path: path, goodLength: onDisk.goodLength, fileLength: bytes.count, into: &state) {
                warnings.append(warning)
                return warnings
            }
            append(own.flatMap(Self.entries(of:)), to: &state)
            return warnings
        }
    }

    private init(path: String, budgets: BootBudgets?, state: State, readFailure: String?) {
        self.path = path
        self.budgets = budgets
        self.state = Mutex(state)
        self.readFailure = readFailure
    }

    deinit {
        state.withLock { if $0.fd >= 0 { close($0.fd) } }
    }

    /// Every boot remembered, oldest first (the running one last, once started).
    var boots: [JournalBoot] { state.withLock { $0.boots } }

    /// The boot-time histograms of every boot journaled, this process's once written.
    var histograms: BootTimeHistograms { state.withLock { $0.histograms } }

    /// Records a change of phase of the running boot: its start, each completed phase, its end.
    func record(_ change: PhaseChange, mode: RecoveryMode, wallClock: Duration) {
        state.withLock { state in
            var entries: [JournalEntry] = []
            if change.from == .uninitialized {
                let attempt = state.lastAttempt + 1
                state.lastAttempt = attempt
                let boot = JournalBoot(attempt: attempt, startUnixMilliseconds: wallClock.milliseconds, mode: mode.name,
                                       phases: [], outcome: .running)
                state.boots.append(boot)
                entries.append(Self.startEntry(of: boot))
            }
            // The boot as the change leaves it, then its entries written from it, as compaction writes them.
            if var boot = state.boots.last, boot.outcome == .running {
                let phaseEnded = change.from != .uninitialized
                if phaseEnded {
                    boot.phases.append(.init(phase: change.from.name, durationMilliseconds: change.duration.milliseconds))
                }
                if change.to == .ready || change.to == .failed {
                    let stopped = change.failureReason?.hasSuffix(StoreBoot.stopReason) == true
                    boot.outcome = change.to == .ready ? .ready : stopped ? .stopped : .failed
                    boot.durationMilliseconds = change.totalElapsed.milliseconds
                    if boot.outcome != .ready {
                        boot.failedPhase = boot.outcome == .failed ? change.from.name : nil
                        boot.reason = change.failureReason
                    }
                }
                state.boots[state.boots.count - 1] = boot
                if phaseEnded { entries.append(Self.phaseEntry(of: boot, at: boot.phases.count - 1)) }
                if let end = Self.endEntry(of: boot) { entries.append(end) }
            }
            state.unwritten += BootTimeHistograms.observations(of: change)
            append(entries, to: &state)
        }
    }

    /// Appends `entries`, and the histograms after them when there is something to count; they are
    /// published once written.
    private func append(_ entries: [JournalEntry], to state: inout State) {
        guard state.fd >= 0, !entries.isEmpty || !state.unwritten.isEmpty else { return }
        var histograms = state.histograms
        for observation in state.unwritten { histograms.add(observation) }
        var frames: [UInt8] = []
        for entry in entries { frames.appendFrame(entry.json) }
        if !state.unwritten.isEmpty { frames.appendFrame(Self.entry(of: histograms).json) }
        let written: Bool
        if state.bytes + frames.count > Self.maxBytes {
            written = compact(&state, histograms: histograms)
        } else if (try? FileIO.writeAll(fd: state.fd, path: path, frames)) != nil {
            // Published only once on disk: a count shown must survive a crash right after.
            written = fdatasync(state.fd) == 0
            state.bytes += frames.count
        } else {
            written = false
        }
        if written {
            state.histograms = histograms
            state.unwritten = []
        }
    }

    /// The `histograms` entry of `histograms`: `boot` always, a phase once it has counted something.
    private static func entry(of histograms: BootTimeHistograms) -> JournalEntry {
        var named = ["boot": histograms.boot]
        for (phase, histogram) in histograms.phases where histogram.count > 0 { named[phase.name] = histogram }
        return JournalEntry(type: "histograms", histograms: named)
    }

    /// The entries that write `boot` as it stands.
    private static func entries(of boot: JournalBoot) -> [JournalEntry] {
        [startEntry(of: boot)] + boot.phases.indices.map { phaseEntry(of: boot, at: $0) } + (endEntry(of: boot).map { [$0] } ?? [])
    }

    private static func startEntry(of boot: JournalBoot) -> JournalEntry {
        JournalEntry(type: "boot", attempt: boot.attempt, startUnixMs: boot.startUnixMilliseconds, mode: boot.mode)
    }

    /// The phase a boot failed or was stopped in (its last) says so itself: a torn `end` after it must not make
    /// it count as completed.
    private static func phaseEntry(of boot: JournalBoot, at index: Int) -> JournalEntry {
        let unfinished = (boot.outcome == .failed || boot.outcome == .stopped) && index == boot.phases.count - 1
        return JournalEntry(type: "phase", phase: boot.phases[index].phase, durationMs: boot.phases[index].durationMilliseconds,
                            outcome: unfinished ? boot.outcome.rawValue : nil)
    }

    /// The end of a boot that ended; `nil` for a running or crashed one.
    private static func endEntry(of boot: JournalBoot) -> JournalEntry? {
        guard boot.outcome == .ready || boot.outcome == .failed || boot.outcome == .stopped else { return nil }
        return JournalEntry(type: "end", phase: boot.failedPhase, durationMs: boot.durationMilliseconds,
                            outcome: boot.outcome.rawValue, reason: boot.reason)
    }

    /// Rewrites the file with the last ``keptBoots`` boots and `histograms`, atomically; whether it did.
    private func compact(_ state: inout State, histograms: BootTimeHistograms) -> Bool {
        let dropped = max(0, state.boots.count - Self.keptBoots)
        state.boots = Array(state.boots.suffix(Self.keptBoots))
        state.ownStart = max(0, state.ownStart - dropped)
        var bytes: [UInt8] = []
        for boot in state.boots {
            for entry in Self.entries(of: boot) { bytes.appendFrame(entry.json) }
        }
        // Twice: the counts of the boots dropped are nowhere else, and one damaged entry must not lose them.
        for _ in 0..<2 { bytes.appendFrame(Self.entry(of: histograms).json) }
        // A leftover `journal.tmp` (a crash's, or a planted link, which FileIO would refuse to write
        // through) is removed first, so that compaction goes on; unlink removes a link, not its target.
        unlink(path + ".tmp")
        guard (try? FileIO.writeAtomically(path, bytes)) != nil else { return false }
        close(state.fd)
        state.fd = (try? FileIO.openWithoutFollowing(path, O_WRONLY | O_APPEND)) ?? -1
        state.bytes = bytes.count
        return true
    }

    /// What ``parse(_:path:warnings:)`` reads.
    struct Reading {
        var boots: [JournalBoot] = []
        /// The highest attempt number the file shows: the last readable one, plus one for each boot
        /// whose `boot` entry was damaged after it (its phases or end survive without it).
        var lastAttempt: UInt64 = 0
        /// Where the last valid frame ends: what follows is a torn tail, cut before appending.
        var goodLength = 0
        /// The histograms of the last valid `histograms` entry (none: no such entry).
        var snapshot: [String: BootTimeHistograms.Histogram] = [:]
        /// What the entries after it count, but for ``pendingPhase``.
        var observations: [BootTimeHistograms.Observation] = []
        /// The last phase read, counted unless the next entry ends the boot without `ready`: the
        /// phase that failed or was stopped is written just before that end.
        var pendingPhase: BootTimeHistograms.Observation?

        /// Follows the histograms through `entry`.
        mutating func count(_ entry: JournalEntry) {
            switch entry.type {
            case "histograms":
                snapshot = entry.histograms ?? [:]
                observations = []
                pendingPhase = nil
            case "boot":
                flushPendingPhase()
            case "phase":
                flushPendingPhase()
                // The phase a boot failed or was stopped in (older journals do not say: the `end` after it does).
                if entry.outcome == nil, let phase = entry.phase.flatMap(BootPhase.init(name:)), BootTimeHistograms.countedPhases.contains(phase) {
                    pendingPhase = .phase(phase, milliseconds: entry.durationMs ?? 0)
                }
            case "end" where entry.outcome == JournalBoot.Outcome.ready.rawValue:
                flushPendingPhase()
                observations.append(.boot(milliseconds: entry.durationMs ?? 0))
            case "end":
                pendingPhase = nil
            default:
                break
            }
        }

        private mutating func flushPendingPhase() {
            if let pendingPhase { observations.append(pendingPhase) }
            pendingPhase = nil
        }

        /// The histograms the file holds: the last snapshot and what follows it, those empty with
        /// bounds from `budgets` (or the defaults).
        func histograms(following budgets: BootBudgets?) -> BootTimeHistograms {
            var histograms = BootTimeHistograms(budgets: budgets ?? BootBudgets())
            for (name, histogram) in snapshot {
                if name == "boot" { histograms.boot = histogram } else if let phase = BootPhase(name: name) { histograms.phases[phase] = histogram }
            }
            histograms = histograms.following(budgets ?? BootBudgets())
            for observation in observations + (pendingPhase.map { [$0] } ?? []) { histograms.add(observation) }
            return histograms
        }
    }

    /// The boots in `bytes`; a boot without an end is `crashed`. A bad frame costs itself alone:
    /// reading resumes at the next offset where a valid frame starts, and the damage is reported in
    /// one warning. After damage, phases and ends that the last boot cannot take (it has ended) are
    /// left unread up to the next `boot` entry: they belong to a boot whose start was lost.
    /// Scanning is cheap: JSON holds no NUL bytes, so a plausible length (< 64 KiB) is rare inside it.
    static func parse(_ bytes: [UInt8], path: String, warnings: inout [String]) -> Reading {
        var reading = Reading()
        var damagedOffsets: [Int] = []
        var afterDamage = false
        var skipping = false
        var offset = 0
        while offset < bytes.count {
            guard let (entry, end) = frame(in: bytes, at: offset) else {
                damagedOffsets.append(offset)
                afterDamage = true
                offset = nextFrame(in: bytes, after: offset)
                continue
            }
            let start = offset
            offset = end
            reading.goodLength = end
            // Counted whatever boot the entry belongs to, even one whose start was lost.
            reading.count(entry)
            switch entry.type {
            case "boot":
                afterDamage = false
                skipping = false
                let attempt = entry.attempt ?? reading.lastAttempt + 1
                reading.lastAttempt = max(reading.lastAttempt, attempt)
                reading.boots.append(JournalBoot(attempt: attempt, startUnixMilliseconds: entry.startUnixMs ?? 0,
                                                 mode: entry.mode ?? "normal", phases: [], outcome: .crashed))
            case "phase", "end":
                if skipping { continue }
                // After damage, a phase or end with no running boot to take it (the last one ended)
                // belongs to a boot whose `boot` entry was lost: count that boot, and skip its entries
                // rather than give them to the boot before.
                if afterDamage, reading.boots.last.map({ $0.outcome != .crashed }) ?? true {
                    reading.lastAttempt += 1
                    skipping = true
                    continue
                }
                guard !reading.boots.isEmpty else { continue }
                let index = reading.boots.count - 1
                if entry.type == "phase" {
                    reading.boots[index].phases.append(.init(phase: entry.phase ?? "?", durationMilliseconds: entry.durationMs ?? 0))
                } else {
                    reading.boots[index].outcome = JournalBoot.Outcome(rawValue: entry.outcome ?? "") ?? .failed
                    reading.boots[index].durationMilliseconds = entry.durationMs
                    reading.boots[index].failedPhase = reading.boots[index].outcome == .failed ? entry.phase : nil
                    reading.boots[index].reason = entry.reason
                }
            case "histograms":
                break
            default:
                warnings.append("\(path): skipped an entry of unknown type \"\(entry.type)\" at offset \(start)")
            }
        }
        // One warning for all the damage: a journal is read at every start, and by `history`.
        if !damagedOffsets.isEmpty {
            let offsets = damagedOffsets.prefix(5).map(String.init).joined(separator: ", ") + (damagedOffsets.count > 5 ? ", …" : "")
            let what = damagedOffsets.count == 1 ? "a torn or corrupt entry at offset" : "\(damagedOffsets.count) torn or corrupt entries at offsets"
            warnings.append("\(path): skipped \(what) \(offsets); the entries around the damage are kept")
        }
        return reading
    }

    /// The offset of the first valid frame after `offset`, or the end of `bytes`. Each entry is a JSON
    /// object, so only offsets whose body starts with `{` are checksummed.
    private static func nextFrame(in bytes: [UInt8], after offset: Int) -> Int {
        var candidate = offset + 1
        while candidate + 8 < bytes.count {
            if bytes[candidate + 8] == UInt8(ascii: "{"), frame(in: bytes, at: candidate) != nil { return candidate }
            candidate += 1
        }
        return bytes.count
    }

    /// The entry framed at `offset` (`length u32 | crc32c u32 | json`, little-endian) and the offset
    /// after it, or `nil` when the frame is torn or corrupt.
    private static func frame(in bytes: [UInt8], at offset: Int) -> (JournalEntry, end: Int)? {
        guard bytes.count - offset >= 8 else { return nil }
        let length = Int(littleEndianUInt32(bytes, at: offset))
        let checksum = littleEndianUInt32(bytes, at: offset + 4)
        let start = offset + 8
        guard length <= 65_536, bytes.count - start >= length else { return nil }
        let json = bytes[start..<(start + length)]
        guard json.withUnsafeBytes({ CRC32C.checksum($0) }) == checksum, let entry = JournalEntry(json: json) else { return nil }
        return (entry, start + length)
    }

    private static func littleEndianUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
        bytes[offset..<(offset + 4)].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) }
    }
}

extension [UInt8] {
    /// Appends one journal frame: `length u32 | crc32c u32 | json`, little-endian.
    fileprivate mutating func appendFrame(_ json: [UInt8]) {
        Swift.withUnsafeBytes(of: UInt32(json.count).littleEndian) { append(contentsOf: $0) }
        Swift.withUnsafeBytes(of: CRC32C.checksum(json).littleEndian) { append(contentsOf: $0) }
        append(contentsOf: json)
    }
}

extension BootHistorySource {
    /// The metrics of the boots in `journal`. The boot before this process's is the last one the
    /// journal holds now: make the source before the boot starts.
    convenience init(journal: BootJournal) {
        self.init(previousAttempt: journal.boots.last?.attempt) {
            journal.boots.map(\.bootAttempt)
        }
    }
}

extension BootTimeHistogramSource {
    /// The histograms of every boot the journal counted, across restarts.
    convenience init(journal: BootJournal) {
        self.init { journal.histograms }
    }
}

extension JournalBoot {
    /// The boot as ``BootHistorySource`` publishes it.
    var bootAttempt: BootAttempt {
        let outcome: BootAttempt.Outcome = switch self.outcome {
        case .ready: .ready
        case .failed: .failed
        case .stopped: .stopped
        case .crashed: .crashed
        case .running: .running
        }
        return BootAttempt(
            attempt: attempt, outcome: outcome, failedPhase: failedPhase, reason: reason,
            duration: durationMilliseconds.map { .milliseconds($0) },
            phaseDurations: phases.map { BootAttempt.PhaseDuration(phase: $0.phase, duration: .milliseconds($0.durationMilliseconds)) }
        )
    }
}
