#!/usr/bin/env bash
# SPDX-License-Identifier: AGPL-3.0-or-later
# The concurrency tests under ThreadSanitizer and the server and store tests under AddressSanitizer,
# each in its own build folder. Any report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

# BOOTFSM_TSAN swaps the machine's Synchronization.Mutex for a pthread mutex: ThreadSanitizer cannot
# see the futex the former waits on and reports every access it protects (see Sources/BootFSM/StateMutex.swift).
echo "== ThreadSanitizer: concurrency tests"
TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1" \
    swift test --sanitize=thread --scratch-path .build-tsan -Xswiftc -DBOOTFSM_TSAN \
    --filter "ConcurrencyTests|concurrentScrapes|keepAlive|racingFailures"

echo "== AddressSanitizer: server and store tests"
ASAN_OPTIONS="halt_on_error=1:detect_leaks=0" \
    swift test --sanitize=address --scratch-path .build-asan --filter "BootExporterTests|WALStoreTests"
