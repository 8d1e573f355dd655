// SPDX-License-Identifier: AGPL-3.0-or-later
// BootFSM — a Swift port of SochDB's boot_fsm.rs (Copyright (C) 2026 Sushanth Reddy Vanagala).

import Synchronization

#if BOOTFSM_TSAN
#if canImport(Glibc)
import Glibc
#endif

/// The machine's lock in ThreadSanitizer builds (`-Xswiftc -DBOOTFSM_TSAN`): the same critical
/// sections around a `pthread_mutex_t`, which ThreadSanitizer intercepts. On Linux the
/// Synchronization module's `Mutex` waits on a futex from uninstrumented code, so ThreadSanitizer
/// reports every access it protects as a race (a plain counter under `Mutex` reproduces it).
final class StateMutex<Value>: @unchecked Sendable {
    var value: Value
    let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)

    init(_ value: Value) {
        self.value = value
        pthread_mutex_init(lock, nil)
    }

    deinit {
        pthread_mutex_destroy(lock)
        lock.deallocate()
    }

    func withLock<Result, E: Error>(_ body: (inout Value) throws(E) -> Result) throws(E) -> Result {
        pthread_mutex_lock(lock)
        defer { pthread_mutex_unlock(lock) }
        return try body(&value)
    }
}
#else
/// The machine's lock: a `Mutex` (see the `BOOTFSM_TSAN` variant for ThreadSanitizer builds).
typealias StateMutex<Value> = Mutex<Value>
#endif
