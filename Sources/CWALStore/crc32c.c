// SPDX-License-Identifier: AGPL-3.0-or-later
#include "CWALStore.h"

#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>

int bootfsm_crc32c_hardware_available(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    return (ecx & bit_SSE4_2) != 0;
}

// Compiled for SSE4.2 whatever the target's baseline: called only after the check above.
__attribute__((target("sse4.2")))
uint32_t bootfsm_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    const unsigned char *next = bytes;
    uint64_t crc64 = crc;
    while (count >= 8) {
        uint64_t word;
        memcpy(&word, next, 8);
        crc64 = __builtin_ia32_crc32di(crc64, word);
        next += 8;
        count -= 8;
    }
    uint32_t crc32 = (uint32_t)crc64;
    if (count >= 4) {
        uint32_t word;
        memcpy(&word, next, 4);
        crc32 = __builtin_ia32_crc32si(crc32, word);
        next += 4;
        count -= 4;
    }
    while (count > 0) {
        crc32 = __builtin_ia32_crc32qi(crc32, *next);
        next += 1;
        count -= 1;
    }
    return crc32;
}

#else

int bootfsm_crc32c_hardware_available(void) { return 0; }

// Never called (the check above says no): a wrong checksum returned quietly would pass for damage.
uint32_t bootfsm_crc32c_hardware_update(uint32_t crc, const void *bytes, size_t count) {
    (void)crc;
    (void)bytes;
    (void)count;
    __builtin_trap();
}

#endif
