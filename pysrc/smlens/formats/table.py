"""LevelDB-format immutable table (SSTable), as TensorFlow writes checkpoint `.index` files.

Layout: data blocks, a metaindex block, an index block, a 48-byte footer
(two BlockHandles, padding, magic 0xdb4775248b80fb57). Each block is followed by a 5-byte trailer
(compression type, masked CRC32C of contents+type), which is verified.
"""
from __future__ import annotations

import struct
from typing import Iterator

from ..errors import ChecksumError, FormatError
from . import crc32c, snappy
from .varint import varint

MAGIC = 0xDB4775248B80FB57
FOOTER_SIZE = 48


def snappy_budget() -> int:
    """Most bytes all compressed blocks of one table may expand to (index files are small)."""
    from ..limits import max_memory
    return min(max_memory(), 64 << 20)


def _block_entries(block: bytes, what: str) -> Iterator[tuple[bytes, bytes]]:
    if len(block) < 4:
        raise FormatError(f"{what}: block too small")
    num_restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    limit = len(block) - 4 - 4 * num_restarts
    if num_restarts == 0 or limit < 0:
        raise FormatError(f"{what}: bad restart count {num_restarts}")
    pos = 0
    key = b""
    while pos < limit:
        shared, pos = varint(block, pos, what)
        non_shared, pos = varint(block, pos, what)
        vlen, pos = varint(block, pos, what)
        if shared > len(key) or pos + non_shared + vlen > limit:
            raise FormatError(f"{what}: corrupt block entry")
        key = key[:shared] + block[pos:pos + non_shared]
        pos += non_shared
        yield key, block[pos:pos + vlen]
        pos += vlen


class Table:
    """All entries of a table, read eagerly (index files are small: one entry per tensor)."""

    def __init__(self, data: bytes, path: str):
        self.path = path
        self.data = data
        self._inflated = 0
        if len(data) < FOOTER_SIZE:
            raise FormatError(f"too small for a checkpoint index ({len(data)} bytes)", path)
        footer = data[-FOOTER_SIZE:]
        if struct.unpack_from("<Q", footer, 40)[0] != MAGIC:
            raise FormatError("not a checkpoint index (bad table magic)", path)
        pos = 0
        _meta_off, pos = varint(footer, pos, path)
        _meta_size, pos = varint(footer, pos, path)
        idx_off, pos = varint(footer, pos, path)
        idx_size, pos = varint(footer, pos, path)
        index = self._block(idx_off, idx_size, "index block")
        self.entries: dict[bytes, bytes] = {}
        next_free = 0  # data blocks are written one after another: each handle must start past the last
        for _, handle in _block_entries(index, f"{path}: index block"):
            off, p = varint(handle, 0, path)
            size, _ = varint(handle, p, path)
            if off < next_free:
                raise FormatError(f"index block: data block at offset {off} overlaps or repeats an earlier "
                                  "block", path)
            next_free = off + size + 5
            for k, v in _block_entries(self._block(off, size, "data block"), f"{path}: data block at {off}"):
                self.entries[k] = v

    def _block(self, offset: int, size: int, what: str) -> bytes:
        end = offset + size + 5
        if offset < 0 or end > len(self.data) - FOOTER_SIZE + (0 if what != "index block" else 0):
            raise FormatError(f"{what} at offset {offset} (+{size}) runs past the end of the file", self.path)
        contents = self.data[offset:offset + size]
        ctype = self.data[offset + size]
        stored = struct.unpack_from("<I", self.data, offset + size + 1)[0]
        actual = crc32c.mask(crc32c.crc32c(self.data[offset:offset + size + 1]))
        if stored != actual:
            raise ChecksumError(f"{what} at offset {offset}: checksum mismatch (file is corrupt)", self.path)
        if ctype == 0:
            return contents
        if ctype == 1:
            try:
                out = snappy.decompress(contents, max(snappy_budget() - self._inflated, 0))
            except FormatError as e:
                raise FormatError(f"{what} at offset {offset}: {e}", self.path) from None
            self._inflated += len(out)
            if self._inflated > snappy_budget():
                raise FormatError(f"{what} at offset {offset}: compressed blocks expand to more than "
                                  f"{snappy_budget()} bytes", self.path)
            return out
        raise FormatError(f"{what} at offset {offset}: unknown compression type {ctype}", self.path)
