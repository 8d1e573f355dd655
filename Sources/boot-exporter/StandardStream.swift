// SPDX-License-Identifier: AGPL-3.0-or-later

#if canImport(Glibc)
import Glibc
#endif

/// Standard output and standard error, written with `write(2)`: one call per piece of text, so a
/// line written whole is never interleaved with another thread's, and nothing is buffered.
enum StandardStream {
    case output
    case error

    func write(_ text: String) {
        let fd = self == .output ? STDOUT_FILENO : STDERR_FILENO
        var text = text
        text.withUTF8 { bytes in
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                if written < 0 {
                    if errno == EINTR { continue }
                    return  // A closed or full stream: nothing better to do with the text.
                }
                offset += written
            }
        }
    }
}
