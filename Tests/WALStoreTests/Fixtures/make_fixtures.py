#!/usr/bin/env python3
# SPDX-License-Identifier: AGPL-3.0-or-later
"""Writes the format-1 and format-2 data directories the migration tests start from.

An independent writer of the old formats (see docs/data-format.md, "On-disk format"), so the tests do not
check the Swift code against itself. Run it from this folder; the output is checked in.
"""
import os
import shutil
import struct


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


PAGES = {  # page id -> {slot: value}, the state at the checkpoint
    1: {0: b"alpha", 5: b"beta"},
    2: {1: b"gamma", 3: b"old"},
    3: {31: b"z" * 120},
}
CHECKPOINT_LSN = 10
NEXT_TXID = 5


def legacy_page(page_id: int, tuples: dict) -> bytes:
    body = struct.pack("<QH", page_id, len(tuples))
    for slot, value in sorted(tuples.items()):
        body += struct.pack("<BB", slot, len(value)) + value
    return body + bytes(4096 - len(body))


def checkpoint(version: int) -> bytes:
    ids = sorted(PAGES)
    hot = [2]
    data = b"BFCK" + struct.pack("<IQQQII", version, CHECKPOINT_LSN, NEXT_TXID, 0, len(ids), len(hot))
    data += b"".join(struct.pack("<Q", i) for i in ids) + b"".join(struct.pack("<Q", i) for i in hot)
    if version >= 2:
        data += struct.pack("<I", crc32c(data))
    return data


def frame(lsn: int, txid: int, kind: int, payload: bytes = b"") -> bytes:
    body = struct.pack("<QQB", lsn, txid, kind) + payload
    return struct.pack("<II", len(body), crc32c(body)) + body


def put(page: int, slot: int, value: bytes) -> bytes:
    return struct.pack("<QBB", page, slot, len(value)) + value


BEGIN, PUT, DELETE, COMMIT, ABORT = 1, 2, 3, 4, 5
WAL = (
    frame(9, 4, PUT, put(1, 0, b"stale, before the checkpoint"))  # already in the pages
    + frame(11, 5, BEGIN)
    + frame(12, 5, PUT, put(2, 3, b"new"))
    + frame(13, 6, BEGIN)
    + frame(14, 6, PUT, put(4, 0, b"never committed"))
    + frame(15, 5, DELETE, struct.pack("<QB", 1, 5))
    + frame(16, 5, COMMIT)
)


def write(directory: str, version: int) -> None:
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(os.path.join(directory, "wal"))
    with open(os.path.join(directory, "FORMAT"), "w") as f:
        f.write(f"format={version}\n")
    with open(os.path.join(directory, "checkpoint"), "wb") as f:
        f.write(checkpoint(version))
    with open(os.path.join(directory, "pages-0.db"), "wb") as f:
        for page_id in sorted(PAGES):
            f.write(legacy_page(page_id, PAGES[page_id]))
    with open(os.path.join(directory, "wal", "0000000000000001.wal"), "wb") as f:
        f.write(b"BFWALSEG" + struct.pack("<Q", 1) + WAL)


if __name__ == "__main__":
    write("format-1", 1)
    write("format-2", 2)
