// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// Starts `body` on a new detached POSIX thread (for blocking reads that must not occupy the
/// concurrency pool's few threads); `false` (with a line on standard error) if no thread could be
/// started, `body` then never runs.
@discardableResult
func startDetachedThread(_ body: @escaping @Sendable () -> Void) -> Bool {
    final class Box: Sendable {
        let body: @Sendable () -> Void
        init(_ body: @escaping @Sendable () -> Void) { self.body = body }
    }
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    var thread = pthread_t()
    let status = pthread_create(&thread, nil, { argument in
        let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
        box.body()
        return nil
    }, box)
    guard status == 0 else {
        Unmanaged<Box>.fromOpaque(box).release()
        StandardStream.error.write("boot-exporter: error: cannot start a thread: \(String(cString: strerror(status)))\n")
        return false
    }
    pthread_detach(thread)
    return true
}
