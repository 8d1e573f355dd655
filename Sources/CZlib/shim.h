// SPDX-License-Identifier: AGPL-3.0-or-later
// zlib's `deflateInit2` is a macro, which Swift cannot call.
#ifndef BOOTFSM_CZLIB_SHIM_H
#define BOOTFSM_CZLIB_SHIM_H

#include <zlib.h>

/// Prepares `stream` to write gzip (RFC 1952) at `level`.
static inline int bootfsm_deflate_init_gzip(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}

#endif
