// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The package-benchmark hot paths as a plain loop, for profilers: `perf record -g` (time) and
// valgrind's callgrind (instructions, repeatable on a noisy machine). Only `measuredLoop` does the
// measured work, so
//   valgrind --tool=callgrind --toggle-collect='*measuredLoop*' fsm-profile <name> <calls>
// counts exactly the instructions of <calls> calls. Names: recordWALProgress, updateProgress,
// healthStatus.toJSON, bootCycle; and its parts: snapshot, healthStatus, toJSONOnly (one status
// written <calls> times). `print` prints the health JSON once.

import BootFSM

#if canImport(Glibc)
import Glibc
#endif

/// A machine in `recover` with progress, counters and two completed phases (as in the benchmarks).
func recoveringMachine() -> BootStateMachine {
    let fsm = BootStateMachine(budgets: .forKubernetes(startupProbeTotalSeconds: 3600))
    try! fsm.startBoot(mode: .normal)
    try! fsm.transition(to: .migrating)
    fsm.metrics.recordMigrationSteps(2)
    fsm.metrics.recordCheckpointBytesScanned(1_048_576)
    try! fsm.transition(to: .recovering)
    fsm.updateProgress(PhaseProgress(message: "replaying WAL segment 7 of 12", itemsProcessed: 420_000,
                                     itemsTotal: 1_000_000, bytesProcessed: 27_000_000, bytesTotal: 64_000_000))
    fsm.recordWALProgress(records: 420_000, bytes: 27_000_000)
    fsm.recordPagesRecovered(1_234)
    fsm.recordTxnRollbacks(17)
    return fsm
}

@inline(never)
func measuredLoop(_ name: String, _ calls: Int, _ fsm: BootStateMachine) -> Int {
    var sink = 0
    switch name {
    case "recordWALProgress":
        for _ in 0..<calls { fsm.recordWALProgress(records: 1, bytes: 64) }
    case "updateProgress":
        var progress = PhaseProgress(message: "replaying", itemsTotal: 1_000_000, bytesTotal: 64_000_000)
        for index in 0..<calls {
            progress.itemsProcessed = UInt64(index)
            progress.bytesProcessed = UInt64(index) &* 64
            fsm.updateProgress(progress)
        }
    case "healthStatus.toJSON":
        for _ in 0..<calls { sink &+= fsm.healthStatus().toJSON().utf8.count }
    case "snapshot":
        for _ in 0..<calls { sink &+= Int(fsm.snapshot().counters.pagesRecovered) }
    case "healthStatus":
        for _ in 0..<calls { sink &+= Int(fsm.healthStatus().pagesRecovered) }
    case "print":
        print(fsm.healthStatus().toJSON())
    case "toJSONOnly":
        let status = fsm.healthStatus()
        for _ in 0..<calls { sink &+= status.toJSON().utf8.count }
    case "bootCycle":
        for _ in 0..<calls {
            let machine = BootStateMachine()
            try! machine.startBoot(mode: .normal)
            try! machine.transition(to: .migrating)
            try! machine.transition(to: .recovering)
            try! machine.transition(to: .warmingUp)
            try! machine.transition(to: .ready)
            sink &+= Int(machine.currentPhase.rawValue)
        }
    default:
        fatalError("unknown hot path \(name)")
    }
    return sink
}

let arguments = CommandLine.arguments
guard arguments.count == 3, let calls = Int(arguments[2]) else {
    fatalError("usage: fsm-profile recordWALProgress|updateProgress|healthStatus.toJSON|bootCycle|snapshot|healthStatus|toJSONOnly|print <calls>")
}
let fsm = recoveringMachine()
let clock = ContinuousClock()
let started = clock.now
let sink = measuredLoop(arguments[1], calls, fsm)
let elapsed = clock.now - started
let nanoseconds = Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9
print("name=\(arguments[1]) calls=\(calls) ns_per_call=\(nanoseconds / Double(calls)) sink=\(sink)")
