// SPDX-License-Identifier: AGPL-3.0-or-later
// What WALStore needs from C, which Swift cannot emit: CRC-32C with the SSE4.2 `crc32` instruction
// (WALStore checks every WAL frame, page and checkpoint with it, and keeps its own table-driven code
// for CPUs without it), and prefetch hints (redo asks for the pages of records ahead).
#ifndef BOOTFSM_CWALSTORE_H
#define BOOTFSM_CWALSTORE_H

#include <stddef.h>
#include <stdint.h>

/// 1 when this CPU has the `crc32` instruction (x86-64 with SSE4.2), else 0.
int bootfsm_crc32c_hardware_available(void);

/// Continues the raw (not inverted) CRC-32C `crc` over the `count` bytes at `bytes`. Call it only
/// when `bootfsm_crc32c_hardware_available()` returned 1.
uint32_t bootfsm_crc32c_hardware_update(uint32_t crc, const void *_Nullable bytes, size_t count);

/// Asks the CPU to start loading the cache line holding `address` into its caches: a hint, which
/// never faults, whatever the address.
static inline void bootfsm_prefetch(const void *_Nullable address) {
    __builtin_prefetch(address, 1, 3);
}

#endif
