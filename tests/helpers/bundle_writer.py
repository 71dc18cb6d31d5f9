"""Writes tensor-bundle checkpoints (LevelDB table + data shard) for tests, including hostile ones."""
from __future__ import annotations

import struct

import numpy as np

from smlens import dtypes, tensors
from smlens.formats import crc32c
from smlens.formats.table import MAGIC
from smlens.proto import checkpoint_pb2


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _block(entries: list[tuple[bytes, bytes]]) -> bytes:
    body = bytearray()
    restarts = []
    for k, v in entries:
        restarts.append(len(body))
        body += _varint(0) + _varint(len(k)) + _varint(len(v)) + k + v
    if not restarts:
        restarts = [0]
    for r in restarts:
        body += struct.pack("<I", r)
    body += struct.pack("<I", len(restarts))
    return bytes(body)


def _with_trailer(block: bytes) -> bytes:
    return block + b"\x00" + struct.pack("<I", crc32c.mask(crc32c.crc32c(block + b"\x00")))


def table(entries: list[tuple[bytes, bytes]]) -> bytes:
    entries = sorted(entries)
    data = _block(entries)
    out = bytearray(_with_trailer(data))
    meta_off = len(out)
    meta = _block([])
    out += _with_trailer(meta)
    idx_off = len(out)
    last_key = entries[-1][0] if entries else b""
    index = _block([(last_key + b"\xff", _varint(0) + _varint(len(data)))])
    out += _with_trailer(index)
    footer = _varint(meta_off) + _varint(len(meta)) + _varint(idx_off) + _varint(len(index))
    footer += b"\x00" * (40 - len(footer)) + struct.pack("<Q", MAGIC)
    return bytes(out + footer)


def string_tensor(values: list[bytes]) -> tuple[bytes, int]:
    """(stored bytes, masked entry CRC32C) of a string tensor: varint64 lengths, the masked CRC of the
    lengths (as uint32s), then the bytes; the entry CRC covers the lengths as uint32s, that CRC, the bytes."""
    lens_crc = crc32c.crc32c(struct.pack(f"<{len(values)}I", *[len(v) for v in values]))
    rest = struct.pack("<I", crc32c.mask(lens_crc)) + b"".join(values)
    return b"".join(_varint(len(v)) for v in values) + rest, crc32c.mask(crc32c.crc32c(rest, lens_crc))


def bundle(tensors_: dict[str, np.ndarray], *, num_shards: int = 1,
           tweak=None) -> dict[str, bytes]:
    """{'ckpt.index': ..., 'ckpt.data-00000-of-00001': ...} for numeric tensors and string tensors (object
    arrays of bytes). `tweak(name, entry)` may edit each BundleEntryProto before it is written."""
    data = bytearray()
    entries = []
    header = checkpoint_pb2.BundleHeaderProto(num_shards=num_shards)
    header.version.producer = 1
    entries.append((b"", header.SerializeToString()))
    for name, arr in tensors_.items():
        arr = np.asarray(arr)
        if arr.dtype == object:
            raw, crc = string_tensor([bytes(v) for v in arr.reshape(-1)])
            e = checkpoint_pb2.BundleEntryProto(dtype=dtypes.string.enum, shape=tensors.shape_to_proto(arr.shape),
                                                shard_id=0, offset=len(data), size=len(raw), crc32c=crc)
            if tweak:
                tweak(name, e)
            data += raw
            entries.append((name.encode(), e.SerializeToString()))
            continue
        dt = dtypes.from_numpy(arr.dtype)
        raw = np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tobytes()
        e = checkpoint_pb2.BundleEntryProto(dtype=dt.enum, shape=tensors.shape_to_proto(arr.shape),
                                            shard_id=0, offset=len(data), size=len(raw),
                                            crc32c=crc32c.mask(crc32c.crc32c(raw)))
        if tweak:
            tweak(name, e)
        data += raw
        entries.append((name.encode(), e.SerializeToString()))
    files = {"ckpt.index": table(entries)}
    for s in range(num_shards):
        files[f"ckpt.data-{s:05d}-of-{num_shards:05d}"] = bytes(data) if s == 0 else b""
    return files
