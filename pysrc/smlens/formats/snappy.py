"""Snappy block decompression (LevelDB tables may use it), bounded by the declared length."""
from __future__ import annotations

from ..errors import FormatError
from .varint import varint

MAX_UNCOMPRESSED = 1 << 30


def decompress(buf: bytes, limit: int = MAX_UNCOMPRESSED) -> bytes:
    """The uncompressed bytes; FormatError for corrupt data or a declared length over `limit`."""
    n, pos = varint(buf, 0, "snappy: uncompressed length", max_bits=32)
    if n > MAX_UNCOMPRESSED or n > 255 * len(buf):
        raise FormatError(f"snappy: implausible uncompressed length {n}")
    if n > limit:
        raise FormatError(f"snappy: block expands to {n} bytes, more than the {limit} allowed")
    out = bytearray()
    while pos < len(buf):
        tag = buf[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            ln = tag >> 2
            if ln >= 60:
                extra = ln - 59
                ln = int.from_bytes(buf[pos:pos + extra], "little")
                pos += extra
            ln += 1
            if pos + ln > len(buf):
                raise FormatError("snappy: literal runs past the end")
            out += buf[pos:pos + ln]
            pos += ln
        else:
            if kind == 1:
                ln = ((tag >> 2) & 7) + 4
                off = ((tag >> 5) << 8) | buf[pos]
                pos += 1
            elif kind == 2:
                ln = (tag >> 2) + 1
                off = int.from_bytes(buf[pos:pos + 2], "little")
                pos += 2
            else:
                ln = (tag >> 2) + 1
                off = int.from_bytes(buf[pos:pos + 4], "little")
                pos += 4
            if off == 0 or off > len(out):
                raise FormatError("snappy: bad copy offset")
            if len(out) + ln > n:
                raise FormatError("snappy: output longer than declared")
            _copy(out, off, ln)
        if len(out) > n:
            raise FormatError("snappy: output longer than declared")
    if len(out) != n:
        raise FormatError("snappy: output shorter than declared")
    return bytes(out)


def _copy(out: bytearray, off: int, ln: int) -> None:
    """Append `ln` bytes starting `off` back (the source may overlap what is being written)."""
    start = len(out) - off
    if off >= ln:
        out += out[start:start + ln]
        return
    pattern = bytes(out[start:])
    reps, rest = divmod(ln, off)
    out += pattern * reps + pattern[:rest]
