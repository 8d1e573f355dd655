// SPDX-License-Identifier: AGPL-3.0-or-later

import CWALStore

/// CRC-32C (Castagnoli), the checksum of WAL records, pages and checkpoints: the CPU's `crc32`
/// instruction where there is one (x86-64 with SSE4.2), else slicing-by-8 tables.
public enum CRC32C {
    /// Whether the CPU computes CRC-32C itself; asked once.
    static let hardwareAvailable = bootfsm_crc32c_hardware_available() != 0

    /// The CRC-32C of `bytes`, continuing from `crc` (0 to start).
    @inline(__always)
    public static func checksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        guard hardwareAvailable else { return softwareChecksum(bytes, continuing: crc) }
        return ~bootfsm_crc32c_hardware_update(~crc, bytes.baseAddress, bytes.count)
    }

    /// Eight 256-entry tables: table k advances the CRC over a byte followed by k zero bytes.
    private static let tables: [UInt32] = {
        let polynomial: UInt32 = 0x82F6_3B78
        var tables = [UInt32](repeating: 0, count: 8 * 256)
        for byte in 0..<256 {
            var crc = UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ polynomial : crc >> 1 }
            tables[byte] = crc
        }
        for byte in 0..<256 {
            var crc = tables[byte]
            for table in 1..<8 {
                crc = tables[Int(crc & 0xFF)] ^ (crc >> 8)
                tables[table * 256 + byte] = crc
            }
        }
        return tables
    }()

    /// ``checksum(_:continuing:)`` without the instruction: eight bytes per step through the tables.
    static func softwareChecksum(_ bytes: UnsafeRawBufferPointer, continuing crc: UInt32 = 0) -> UInt32 {
        var crc = ~crc
        guard var pointer = bytes.baseAddress else { return ~crc }
        var count = bytes.count
        tables.withUnsafeBufferPointer { t in
            while count >= 8 {
                let word = UInt64(littleEndian: pointer.loadUnaligned(as: UInt64.self)) ^ UInt64(crc)
                crc = t[7 * 256 + Int(word & 0xFF)] ^ t[6 * 256 + Int((word >> 8) & 0xFF)]
                    ^ t[5 * 256 + Int((word >> 16) & 0xFF)] ^ t[4 * 256 + Int((word >> 24) & 0xFF)]
                    ^ t[3 * 256 + Int((word >> 32) & 0xFF)] ^ t[2 * 256 + Int((word >> 40) & 0xFF)]
                    ^ t[1 * 256 + Int((word >> 48) & 0xFF)] ^ t[Int(word >> 56)]
                pointer += 8
                count -= 8
            }
            while count > 0 {
                crc = t[Int((crc ^ UInt32(pointer.load(as: UInt8.self))) & 0xFF)] ^ (crc >> 8)
                pointer += 1
                count -= 1
            }
        }
        return ~crc
    }

    /// The CRC-32C of `bytes`.
    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { checksum($0) }
    }
}
