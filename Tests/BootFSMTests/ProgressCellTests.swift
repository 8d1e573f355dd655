// SPDX-License-Identifier: AGPL-3.0-or-later

@testable import BootFSM
import Testing

@Suite("Progress cell")
struct ProgressCellTests {
    /// Whether an update under `message` would now skip the machine's lock.
    private func skipsTheLock(_ fsm: BootStateMachine, _ message: String) -> Bool {
        let claimed = fsm.progressCell.claim()
        defer { fsm.progressCell.release(claimed) }
        return fsm.progressCell.admits(messageBits: ProgressCell.bits(of: message))
    }

    @Test("a phase's first update takes the lock; the next ones under the same string skip it")
    func firstUpdateThenLockFree() throws {
        let fsm = try machine(in: .recovering)
        #expect(!skipsTheLock(fsm, ""))
        fsm.updateProgress(PhaseProgress(message: "replaying WAL", itemsProcessed: 1))
        #expect(skipsTheLock(fsm, "replaying WAL"), "a short string is the same string whenever equal")
        #expect(!skipsTheLock(fsm, "checkpoint"))
        try fsm.transition(to: .warmingUp)
        #expect(!skipsTheLock(fsm, "replaying WAL"), "a new phase's first update takes the lock")
    }

    @Test("an equal message in other storage is adopted, so the caller's next updates skip the lock")
    func equalMessageInOtherStorage() throws {
        let fsm = try machine(in: .recovering)
        let first = "replaying WAL segment 7 of 12, from the checkpoint"
        let equal = String(decoding: Array(first.utf8), as: UTF8.self)
        #expect(ProgressCell.bits(of: first) != ProgressCell.bits(of: equal), "two heap strings")
        fsm.updateProgress(PhaseProgress(message: first, itemsProcessed: 1))
        #expect(skipsTheLock(fsm, first))
        #expect(!skipsTheLock(fsm, equal))
        fsm.updateProgress(PhaseProgress(message: equal, itemsProcessed: 2))
        #expect(skipsTheLock(fsm, equal))
        #expect(fsm.currentProgress.message == first)
        #expect(fsm.currentProgress.itemsProcessed == 2)
    }
}
