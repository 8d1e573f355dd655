// SPDX-License-Identifier: AGPL-3.0-or-later

import CZlib
import Synchronization

/// Compresses response bodies with gzip, reusing zlib streams across requests (a fresh stream
/// allocates a quarter of a megabyte of state).
final class GzipEncoder: Sendable {
    /// A zlib stream; `z_stream` holds pointers, so it lives in its own allocation and is only ever
    /// used by the one thread that took it from the pool.
    private final class Stream: @unchecked Sendable {
        let state: UnsafeMutablePointer<z_stream>

        init?(level: Int32) {
            state = .allocate(capacity: 1)
            state.initialize(to: z_stream())
            guard bootfsm_deflate_init_gzip(state, level) == Z_OK else {
                state.deallocate()
                return nil
            }
        }

        deinit {
            deflateEnd(state)
            state.deallocate()
        }
    }

    private let level: Int32
    private let idle = Mutex<[Stream]>([])
    private let maxIdle: Int

    /// An encoder at zlib `level` (1 is fastest) keeping at most `maxIdleStreams` streams for reuse.
    init(level: Int32 = 1, maxIdleStreams: Int = 8) {
        self.level = level
        self.maxIdle = maxIdleStreams
    }

    /// `input` compressed, or `nil` if zlib fails (the caller then sends it uncompressed).
    func compress(_ input: UnsafeBufferPointer<UInt8>) -> OutputBuffer? {
        guard let stream = idle.withLock({ $0.popLast() }) ?? Stream(level: level) else { return nil }
        defer {
            deflateReset(stream.state)
            idle.withLock { if $0.count < maxIdle { $0.append(stream) } }
        }
        let z = stream.state
        var output = OutputBuffer(capacity: Int(deflateBound(z, uLong(input.count))) + 32)
        z.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress)
        z.pointee.avail_in = uInt(input.count)
        while true {
            output.reserve(4096)
            let room = output.capacityLeft
            z.pointee.next_out = output.base + output.count
            z.pointee.avail_out = uInt(room)
            let result = deflate(z, Z_FINISH)
            output.advance(by: room - Int(z.pointee.avail_out))
            if result == Z_STREAM_END { return output }
            guard result == Z_OK || result == Z_BUF_ERROR else { return nil }
        }
    }
}
