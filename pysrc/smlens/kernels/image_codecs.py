"""Decoding PNG and BMP files into arrays, as TensorFlow's DecodePng / DecodeBmp (libpng and TF's own BMP
reader) produce them, and reading a JPEG's frame header (jpeg.py decodes JPEG pixels). Pure Python + NumPy (zlib is in the standard
library, also under Pyodide).

PNG, following the libpng transformations TF asks for: palettes and low bit depths expanded to 8 bits,
16-bit samples stripped to their high byte for uint8 output (8-bit samples widened by 257 for uint16),
tRNS turned into alpha only when 4 channels are requested (or, for palettes, when the file's own channel
count is used), RGB -> gray as libpng's fixed-point (9797 R + 19234 G + 3737 B) >> 15 (TF asks for
0.299/0.587; rounded for 16-bit samples), and a missing alpha filled with the sample maximum at the
file's bit depth (so 1/3/15 for 1/2/4-bit gray, a libpng quirk TF inherits).

Not a kernel module: it registers no ops.
"""
from __future__ import annotations

import struct
import sys
import zlib

import numpy as np

from .. import limits
from ..errors import ExecutionError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
_MAX_PIXELS = 1 << 28          # refuse images beyond 256 Mpixel (hostile headers)
_ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
_GRAY_COEFS = (9797, 19234, 3737)   # int(0.299 * 32768), int(0.587 * 32768), the rest


def _err(msg: str) -> ExecutionError:
    return ExecutionError(msg)


# ---------------------------------------------------------------- PNG

def _png_chunks(data: bytes):
    if not data.startswith(PNG_MAGIC):
        raise _err("Invalid PNG header, data is not a PNG")
    pos = len(PNG_MAGIC)
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length or pos + 12 + length > len(data):
            raise _err("Invalid PNG data: truncated chunk")
        crc = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            raise _err(f"Invalid PNG data: bad CRC in chunk {kind.decode('latin-1')}")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length
    raise _err("Invalid PNG data: no IEND chunk")


def _unfilter(raw: memoryview, rows: int, stride: int, bpp: int) -> np.ndarray:
    """Undo PNG's per-row filters (None, Sub, Up, Average, Paeth); uint8 [rows, stride]. None/Sub/Up are
    vectorized; Average and Paeth depend on the byte just decoded, so they run byte by byte."""
    out = np.zeros((rows, stride), np.uint8)
    prev = bytes(stride)
    pos = 0
    for r in range(rows):
        ftype = raw[pos]
        line = bytes(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if ftype in (0, 1, 2):
            cur = np.frombuffer(line, np.uint8)
            if ftype == 2:
                cur = cur + np.frombuffer(prev, np.uint8)       # uint8 arithmetic wraps mod 256
            elif ftype == 1:
                lanes = np.zeros(-(-stride // bpp) * bpp, np.uint8)
                lanes[:stride] = cur
                cur = np.cumsum(lanes.reshape(-1, bpp), axis=0, dtype=np.uint8).reshape(-1)[:stride]
            out[r] = cur
            prev = out[r].tobytes()
            continue
        if ftype not in (3, 4):
            raise _err(f"Invalid PNG data: unknown filter type {ftype}")
        cur = bytearray(line)
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            if ftype == 3:
                pred = (a + b) >> 1
            else:
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            cur[i] = (cur[i] + pred) & 0xFF
        out[r] = np.frombuffer(bytes(cur), np.uint8)
        prev = bytes(cur)
    return out


def _samples(rows: np.ndarray, width: int, channels: int, depth: int) -> np.ndarray:
    """Unpacked samples [h, width, channels] (uint8 for depth <= 8, uint16 for 16)."""
    h = rows.shape[0]
    if depth == 16:
        return rows.view(">u2").astype(np.uint16).reshape(h, -1)[:, :width * channels].reshape(h, width, channels)
    if depth == 8:
        return rows[:, :width * channels].reshape(h, width, channels)
    bits = np.unpackbits(rows, axis=1).reshape(h, -1, depth)
    weights = (1 << np.arange(depth - 1, -1, -1)).astype(np.uint8)
    vals = (bits * weights).sum(axis=2).astype(np.uint8)
    return vals[:, :width * channels].reshape(h, width, channels)


def _png_pixels(data: bytes) -> tuple[np.ndarray, int, int, bytes | None, bytes | None]:
    """(samples [h, w, c] at the file's depth, color type, bit depth, PLTE, tRNS)."""
    header = None
    palette = trns = None
    idat = []
    for kind, body in _png_chunks(data):
        if kind == b"IHDR":
            if len(body) != 13:
                raise _err("Invalid PNG data: bad IHDR")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"PLTE":
            palette = body
        elif kind == b"tRNS":
            trns = body
        elif kind == b"IDAT":
            idat.append(body)
    if header is None:
        raise _err("Invalid PNG data: no IHDR chunk")
    width, height, depth, ctype, _, _, interlace = header
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(ctype)
    if channels is None or depth not in (1, 2, 4, 8, 16) or (ctype in (2, 4, 6) and depth < 8) or \
            (ctype == 3 and depth == 16):
        raise _err(f"Invalid PNG data: color type {ctype} with bit depth {depth}")
    if width == 0 or height == 0 or width * height > _MAX_PIXELS:
        raise _err(f"PNG of {width}x{height} pixels is empty or too large")
    limits.check_alloc(width * height * channels * (2 if depth == 16 else 1) * 2,  # rows + output
                       f"PNG of {width}x{height} pixels")
    if ctype == 3 and palette is None:
        raise _err("Invalid PNG data: palette image without PLTE")
    bpp = max(1, channels * depth // 8)
    try:
        # bounded output; sys.maxsize keeps the bound a valid ssize_t on wasm32
        raw = memoryview(zlib.decompressobj().decompress(b"".join(idat), min(1 << 31, sys.maxsize)))
    except zlib.error as e:
        raise _err(f"Invalid PNG data: {e}") from None
    passes = _ADAM7 if interlace else [(0, 0, 1, 1)]
    dtype = np.uint16 if depth == 16 else np.uint8
    out = np.zeros((height, width, channels), dtype)
    pos = 0
    for x0, y0, dx, dy in passes:
        pw, ph = len(range(x0, width, dx)), len(range(y0, height, dy))
        if pw == 0 or ph == 0:
            continue
        stride = (pw * channels * depth + 7) // 8
        need = ph * (stride + 1)
        if pos + need > len(raw):
            raise _err("Invalid PNG data: image data is truncated")
        rows = _unfilter(raw[pos:pos + need], ph, stride, bpp)
        pos += need
        out[y0::dy, x0::dx] = _samples(rows, pw, channels, depth)
    return out, ctype, depth, palette, trns


def _to_gray(rgb: np.ndarray) -> np.ndarray:
    """libpng's fixed-point RGB -> gray: truncated for 8-bit samples, rounded for 16-bit ones."""
    r, g, b = (rgb[..., k].astype(np.int64) for k in range(3))
    rc, gc, bc = _GRAY_COEFS
    bias = 16384 if rgb.dtype == np.uint16 else 0
    return ((rc * r + gc * g + bc * b + bias) >> 15).astype(rgb.dtype)[..., None]


def decode_png(data: bytes, channels: int, uint16: bool) -> np.ndarray:
    """[height, width, channels] uint8 (or uint16) as TF's DecodePng."""
    if channels not in (0, 1, 2, 3, 4):
        raise _err(f"channels must be 0, 1, 2, 3 or 4, got {channels}")
    px, ctype, depth, palette, trns = _png_pixels(data)
    want = channels or {0: 1, 2: 3, 4: 2, 6: 4}.get(ctype, 4 if trns is not None else 3)   # the file's own
    alpha = None
    maxval = (1 << depth) - 1
    if ctype == 3:                                   # palette -> RGB (+ alpha from tRNS)
        pal = np.frombuffer(palette[:len(palette) // 3 * 3], np.uint8).reshape(-1, 3)
        idx = px[..., 0].astype(np.int64)
        if (idx >= len(pal)).any():
            raise _err("Invalid PNG data: palette index out of range")
        color = pal[idx]
        if trns is not None and want in (2, 4):
            table = np.full(256, 255, np.uint8)
            table[:len(trns)] = np.frombuffer(trns[:256], np.uint8)
            alpha = table[idx][..., None]
        depth, maxval = 8, 255
    else:
        if depth < 8:                                # gray 1/2/4 bits -> 8 bits by scaling
            color = (px.astype(np.int64) * (255 // maxval)).astype(np.uint8)
        else:
            color = px
        if ctype in (4, 6):
            color, alpha = color[..., :-1], color[..., -1:]
        elif trns is not None and want in (2, 4):        # tRNS colour key -> alpha
            key = np.array(struct.unpack(f">{len(trns) // 2}H", trns[:len(trns) // 2 * 2]), np.int64)
            if key.size >= color.shape[-1]:
                match = (px[..., :color.shape[-1]].astype(np.int64) == key[:color.shape[-1]]).all(-1)
                alpha = np.where(match, 0, (1 << min(depth, 16)) - 1 if depth >= 8 else 255)[..., None]
    sixteen = color.dtype == np.uint16
    if alpha is not None and alpha.dtype != color.dtype:
        alpha = alpha.astype(color.dtype)
    ncolor = color.shape[-1]
    if want in (1, 2) and ncolor == 3:
        color = _to_gray(color)
    elif want in (3, 4) and ncolor == 1:
        color = np.repeat(color, 3, axis=-1)
    if want in (2, 4):
        if alpha is None:                            # filler: the sample maximum at the original depth
            alpha = np.full(color.shape[:-1] + (1,), maxval if not sixteen else 0xFFFF, color.dtype)
        out = np.concatenate([color, alpha.astype(color.dtype)], axis=-1)
    else:
        out = color
    if uint16:
        return out.astype(np.uint16) if sixteen else out.astype(np.uint16) * np.uint16(257)
    return (out >> 8).astype(np.uint8) if sixteen else out.astype(np.uint8)


# ---------------------------------------------------------------- BMP

def decode_bmp(data: bytes, channels: int) -> np.ndarray:
    """Uncompressed 24/32-bit BMP (BITMAPINFOHEADER and later) as TF's DecodeBmp: [h, w, c] uint8 in RGB(A)
    order, rows top first."""
    if channels not in (0, 3, 4):
        raise _err(f"`channels` must be 0, 3 or 4 for BMP, but got {channels}")
    if len(data) < 54 or not data.startswith(b"BM"):
        raise _err("Invalid BMP data: bad header")
    offset = struct.unpack("<I", data[10:14])[0]
    header_size, width, height, _, bpp, compression = struct.unpack("<IiiHHI", data[14:34])
    if header_size < 40 or compression not in (0, 3) or bpp not in (24, 32):
        raise _err(f"BMP with {bpp} bits per pixel and compression {compression} is not supported")
    top_down = height < 0
    height = abs(height)
    if width <= 0 or height == 0 or width * height > _MAX_PIXELS:
        raise _err(f"BMP of {width}x{height} pixels is empty or too large")
    limits.check_alloc(width * height * 4, f"BMP of {width}x{height} pixels")
    src = bpp // 8
    row_size = (width * src + 3) // 4 * 4
    if offset + row_size * (height - 1) + width * src > len(data):
        raise _err("Invalid BMP data: pixel data is truncated")
    rows = np.frombuffer(data, np.uint8, count=row_size * height, offset=offset) if \
        offset + row_size * height <= len(data) else \
        np.frombuffer(data[offset:] + b"\0" * (offset + row_size * height - len(data)), np.uint8)
    px = rows.reshape(height, row_size)[:, :width * src].reshape(height, width, src)
    if not top_down:
        px = px[::-1]
    px = np.concatenate([px[..., 2::-1], px[..., 3:]], axis=-1)   # BGR(A) -> RGB(A)
    want = channels or src
    if want == src:
        return np.ascontiguousarray(px)
    if want == 3:
        return np.ascontiguousarray(px[..., :3])
    return np.concatenate([px[..., :3], np.full(px.shape[:2] + (1,), 255, np.uint8)], axis=-1)


# ---------------------------------------------------------------- JPEG header

def jpeg_shape(data: bytes) -> tuple[int, int, int]:
    """(height, width, components) from a JPEG's SOFn marker, without decoding."""
    if not data.startswith(b"\xff\xd8"):
        raise _err("Invalid JPEG data: no SOI marker")
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            raise _err("Invalid JPEG data: expected a marker")
        marker = data[pos + 1]
        if marker == 0xFF:
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            if pos + 10 > len(data):
                break
            height, width, comps = struct.unpack(">HHB", data[pos + 5:pos + 10])
            return height, width, comps
        pos += 2 + length
    raise _err("Invalid JPEG data: no frame header")
