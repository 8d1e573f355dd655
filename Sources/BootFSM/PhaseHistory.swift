// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

/// The completed phases of a boot, oldest first, stored inside the machine's state.
///
/// A boot completes at most six phases (`init`, `migrate`, a recovery, `warmup`, `ready`,
/// `shuttingDown`): the transition table has no cycles, `failed` is final, and `uninitialized` is
/// not recorded. So eight slots in place hold any boot, and making a machine allocates nothing for
/// its history; were there ever more, they would go to an array.
struct PhaseHistory {
    private static let capacity = 8
    private var slots: (PhaseTiming, PhaseTiming, PhaseTiming, PhaseTiming,
                        PhaseTiming, PhaseTiming, PhaseTiming, PhaseTiming)
    private var overflow: [PhaseTiming] = []
    /// The number of completed phases.
    private(set) var count = 0

    @inline(__always)
    init() {
        let empty = PhaseTiming(phase: .uninitialized, start: .inlineZero, duration: .inlineZero)
        slots = (empty, empty, empty, empty, empty, empty, empty, empty)
    }

    mutating func append(_ timing: PhaseTiming) {
        if count < Self.capacity {
            // A homogeneous tuple is laid out as an array of its element.
            withUnsafeMutablePointer(to: &slots) { tuple in
                tuple.withMemoryRebound(to: PhaseTiming.self, capacity: Self.capacity) { $0[count] = timing }
            }
        } else {
            overflow.append(timing)
        }
        count += 1
    }

    /// The `index`th completed phase.
    subscript(index: Int) -> PhaseTiming {
        precondition(index >= 0 && index < count, "PhaseHistory: index out of range")
        if index >= Self.capacity { return overflow[index - Self.capacity] }
        return withUnsafePointer(to: slots) { tuple in
            tuple.withMemoryRebound(to: PhaseTiming.self, capacity: Self.capacity) { $0[index] }
        }
    }

    /// The phases, transformed, in order.
    func map<T>(_ transform: (PhaseTiming) -> T) -> [T] {
        var result: [T] = []
        result.reserveCapacity(count)
        withUnsafePointer(to: slots) { tuple in
            tuple.withMemoryRebound(to: PhaseTiming.self, capacity: Self.capacity) { timings in
                for index in 0..<min(count, Self.capacity) { result.append(transform(timings[index])) }
            }
        }
        result.append(contentsOf: overflow.lazy.map(transform))
        return result
    }
}
