// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The baselines of the WAL replay figures, on a data directory written by `boot-exporter generate`:
//
//   wal-replay-bench replay <data-dir>   open + migrate (untimed), then recover(RecoveryOptions()) with
//                                        no hooks: WALStore alone, no state machine, no exporter
//   wal-replay-bench replay-thread <dir> the same on a second thread, as boot-exporter replays (its
//                                        allocations then come from another malloc arena)
//   wal-replay-bench read <data-dir>     read(2) every WAL segment into a 1 MiB buffer, twice (the
//                                        first warms the page cache), timing the second
//   wal-replay-bench digest <data-dir>   recover, print what recovery reported and recovered, then
//                                        checkpoint: to check that two builds recover alike
//
// Each prints one line of `key=value` pairs. `replay` takes the directory's lock and may truncate a
// torn tail: give it a fresh copy of the directory for every run.

import WALStore

#if canImport(Glibc)
import Glibc
#endif

func fail(_ message: String) -> Never {
    let line = "wal-replay-bench: \(message)\n"
    _ = line.withCString { write(2, $0, strlen($0)) }
    exit(1)
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

func replay(_ path: String) {
    let clock = ContinuousClock()
    do {
        let opened = clock.now
        let store = try WALStore.open(path: path, access: .readWrite)
        try store.migrate()
        let started = clock.now
        let report = try store.recover(RecoveryOptions())
        let ended = clock.now
        store.close()
        print("recover_seconds=\((ended - started).seconds) open_recover_seconds=\((ended - opened).seconds) records=\(report.recordsReplayed) bytes=\(report.bytesReplayed) pages=\(report.pagesRecovered)")
    } catch {
        fail("\(error)")
    }
}

/// The thread body of `replay-thread`: a named function, since a closure written in top-level code
/// would be main-actor isolated and trap when called on another thread.
func replayThreadEntry(_ argument: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    replay(String(cString: argument!.assumingMemoryBound(to: CChar.self)))
    return nil
}

func read(_ path: String) {
    let walDirectory = path + "/wal"
    guard let directory = opendir(walDirectory) else { fail("cannot open \(walDirectory)") }
    var files: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name.hasSuffix(".wal") { files.append(walDirectory + "/" + name) }
    }
    closedir(directory)
    files.sort()
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 4096)
    defer { buffer.deallocate() }
    func readAll() -> Int {
        var total = 0
        for file in files {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { fail("cannot open \(file)") }
            while true {
                let got = Glibc.read(fd, buffer, 1 << 20)
                if got <= 0 { break }
                total += got
            }
            close(fd)
        }
        return total
    }
    _ = readAll()
    let clock = ContinuousClock()
    let started = clock.now
    let bytes = readAll()
    let seconds = (clock.now - started).seconds
    print("read_seconds=\(seconds) bytes=\(bytes) files=\(files.count)")
}

/// The `digest` mode: recovers `path` (in the mode `WAL_MODE` names: normal, readonly or force;
/// reporting every `WAL_REPORT` records, 4096 by default), prints the report (its duration zeroed),
/// an FNV-1a hash of every progress report and one of every tuple, then checkpoints (unless read
/// only). Run by two builds on copies of one directory, it tells whether they recover alike: compare
/// their output and the files they leave (the page file byte for byte).
func digest(_ path: String) {
    let modeName = getenv("WAL_MODE").map { String(cString: $0) } ?? "normal"
    let mode: RecoveryOptions.Mode = modeName == "force" ? .force : modeName == "readonly" ? .readOnly : .normal
    let reportEvery = getenv("WAL_REPORT").flatMap { UInt64(String(cString: $0)) } ?? 4096
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    func mix(_ value: UInt64) { hash = (hash ^ value) &* 0x100_0000_01b3 }
    var reports = 0
    var replayed: (records: UInt64, bytes: UInt64) = (0, 0)
    do {
        let store = try WALStore.open(path: path, access: mode == .readOnly ? .readOnly : .readWrite)
        try store.migrate()
        var report = try store.recover(RecoveryOptions(
            mode: mode, reportEvery: reportEvery,
            onProgress: { progress in
                reports += 1
                for value in [progress.recordsDone, progress.recordsTotal, progress.bytesDone, progress.bytesTotal] { mix(value) }
                for byte in progress.message.utf8 { mix(UInt64(byte)) }
            },
            onReplayed: { records, bytes in
                replayed.records += records
                replayed.bytes += bytes
                mix(records)
                mix(bytes)
            }))
        print("progress reports=\(reports) replayed=\(replayed) hash=\(hash)")
        report.duration = .zero
        print("report \(report)")
        hash = 0xcbf2_9ce4_8422_2325
        let pageIDs = store.pageIDs
        for pageID in pageIDs {
            mix(pageID)
            for (slot, value) in try store.tuples(pageID: pageID) {
                mix(UInt64(slot))
                mix(UInt64(value.count))
                for byte in value { mix(UInt64(byte)) }
            }
        }
        print("pages=\(pageIDs.count) tuples hash=\(hash)")
        if mode != .readOnly { try store.checkpoint() }
        store.close()
    } catch {
        print("error \(error)")
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 else { fail("usage: wal-replay-bench replay|replay-thread|read|digest <data-dir>") }
switch arguments[1] {
case "replay": replay(arguments[2])
case "replay-thread":
    var thread = pthread_t()
    let path = UnsafeMutablePointer<CChar>(strdup(arguments[2])!)
    pthread_create(&thread, nil, replayThreadEntry, path)
    pthread_join(thread, nil)
case "read": read(arguments[2])
case "digest": digest(arguments[2])
default: fail("unknown mode \(arguments[1])")
}
