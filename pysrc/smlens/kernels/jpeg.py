"""A JPEG decoder that reproduces TensorFlow's DecodeJpeg (libjpeg-turbo with TF's settings) pixel for pixel:
baseline and progressive Huffman JPEGs with 8-bit samples, 1 or 3 components (YCbCr), any sampling factors,
restart markers. Pure Python + NumPy.

libjpeg-turbo steps reproduced exactly: the "fast integer" (AA&N) IDCT TF selects by default (8-bit
fixed-point constants, truncating shifts, dequantization by the AA&N-scaled multiplier table) or the
"accurate integer" one (dct_method INTEGER_ACCURATE), "fancy"
(triangle) upsampling of 2x1 / 2x2 / 1x2 subsampled chroma (plain replication for other ratios or
components at most 2 samples wide), edge rows replicated, and the table-driven YCbCr -> RGB conversion.
A grayscale output from a colour file is its Y component, as libjpeg gives it. Arithmetic coding, 12-bit
samples, lossless JPEG and CMYK/YCCK files are refused.

Not a kernel module: it registers no ops.
"""
from __future__ import annotations

import math
import struct

import numpy as np

from .. import limits
from ..errors import ExecutionError, UnsupportedError

_MAX_PIXELS = 1 << 26          # 64 Mpixel: coefficients are kept (int16) for the whole image
_ZIGZAG = np.array([
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14,
    21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60,
    61, 54, 47, 55, 62, 63], np.int64)   # zigzag position -> natural (row-major) position


def _err(msg: str) -> ExecutionError:
    return ExecutionError(f"Invalid JPEG data: {msg}")


def _aan_scales() -> np.ndarray:
    """AA&N scale factors * 2^14: s[0] = 1, s[k] = cos(k pi / 16) sqrt(2)."""
    s = [1.0] + [math.cos(k * math.pi / 16) * math.sqrt(2) for k in range(1, 8)]
    return np.array([[round(16384 * s[r] * s[c]) for c in range(8)] for r in range(8)], np.int64).reshape(-1)


_AAN = _aan_scales()


# ---------------------------------------------------------------- entropy decoding

class _Huffman:
    """A DHT table as a 16-bit lookahead table: peek16 -> (code length, symbol)."""

    def __init__(self, counts: list[int], symbols: bytes):
        self.lookup: list = [None] * 65536
        code, k = 0, 0
        for length in range(1, 17):
            for _ in range(counts[length - 1]):
                if k >= len(symbols):
                    raise _err("Huffman table has fewer symbols than codes")
                span = 1 << (16 - length)
                start = code << (16 - length)
                if start + span > 65536:
                    raise _err("bad Huffman table")
                entry = (length, symbols[k])
                for i in range(start, start + span):
                    self.lookup[i] = entry
                code += 1
                k += 1
            code <<= 1


class _Bits:
    """Entropy-coded bits of one restart interval (byte stuffing already removed)."""

    __slots__ = ("data", "pos", "acc", "n", "over")

    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.acc = 0
        self.n = 0
        self.over = 0     # zero bytes fed past the end of the data

    def _fill(self, need: int) -> None:
        while self.n < need:
            if self.pos < len(self.data):
                self.acc = ((self.acc << 8) | self.data[self.pos]) & 0xFFFFFFFFFFFF
                self.pos += 1
            else:                                  # past the end: libjpeg feeds zero bits
                self.acc = (self.acc << 8) & 0xFFFFFFFFFFFF
                self.over += 1
            self.n += 8

    def bits(self, count: int) -> int:
        if count == 0:
            return 0
        if self.n < count:
            self._fill(count)
        self.n -= count
        return (self.acc >> self.n) & ((1 << count) - 1)

    def bit(self) -> int:
        if self.n < 1:
            self._fill(1)
        self.n -= 1
        return (self.acc >> self.n) & 1

    def symbol(self, table: _Huffman) -> int:
        if self.n < 16:
            self._fill(16)
        entry = table.lookup[(self.acc >> (self.n - 16)) & 0xFFFF]
        if entry is None:
            raise _err("bad Huffman code")
        self.n -= entry[0]
        return entry[1]

    def receive_extend(self, s: int) -> int:
        if s == 0:
            return 0
        v = self.bits(s)
        return v if v >= 1 << (s - 1) else v - (1 << s) + 1


# ---------------------------------------------------------------- file structure

class _Component:
    def __init__(self, cid: int, h: int, v: int, tq: int):
        self.id, self.h, self.v, self.tq = cid, h, v, tq
        self.coefs: np.ndarray | None = None     # [blocks_y, blocks_x, 64] natural order
        self.pred = 0


class _Frame:
    def __init__(self):
        self.progressive = False
        self.height = self.width = 0
        self.components: list[_Component] = []
        self.qtables: dict[int, np.ndarray] = {}
        self.dc_tables: dict[int, _Huffman] = {}
        self.ac_tables: dict[int, _Huffman] = {}
        self.restart = 0
        self.adobe_transform = None
        self.hmax = self.vmax = 1
        self.mcus_x = self.mcus_y = 0
        self.complete = False          # EOI reached
        self.stop_if_truncated = False  # refuse (instead of decoding zero bits) once a scan's data runs out


def _segments(data: bytes, pos: int) -> tuple[list[bytes], int]:
    """The entropy-coded data from pos: unstuffed, split at RSTn markers; and the position of the next marker."""
    parts = []
    n = len(data)
    chunk = bytearray()
    while pos < n:
        j = data.find(b"\xff", pos)
        if j < 0 or j + 1 >= n:
            chunk += data[pos:]
            pos = n
            break
        chunk += data[pos:j]
        nxt = data[j + 1]
        if nxt == 0x00:
            chunk.append(0xFF)
            pos = j + 2
        elif 0xD0 <= nxt <= 0xD7:
            parts.append(bytes(chunk))
            chunk = bytearray()
            pos = j + 2
        elif nxt == 0xFF:
            pos = j + 1                            # fill byte
        else:
            pos = j
            break
    parts.append(bytes(chunk))
    return parts, pos


def _decode_scan(frame: _Frame, comps: list[_Component], tables: list[tuple[int, int]], ss: int, se: int, ah: int,
                 al: int, parts: list[bytes]) -> None:
    """One scan (baseline, or one progressive pass) into the components' coefficient arrays."""
    single = len(comps) == 1
    if single:        # non-interleaved: the component's own blocks, not padded to whole MCUs
        c = comps[0]
        bw = math.ceil(math.ceil(frame.width * c.h / frame.hmax) / 8)
        bh = math.ceil(math.ceil(frame.height * c.v / frame.vmax) / 8)
    total_units = (bw * bh) if single else frame.mcus_x * frame.mcus_y
    interval = frame.restart or total_units
    part_i = 0
    bits = _Bits(parts[0] if parts else b"")
    eobrun = 0
    dc = [frame.dc_tables.get(t[0]) for t in tables]
    ac = [frame.ac_tables.get(t[1]) for t in tables]
    zz = _ZIGZAG
    for unit in range(total_units):
        if bits.over > 8 and frame.stop_if_truncated:   # work stays proportional to the bytes given
            raise ExecutionError("jpeg::Uncompress failed. Invalid JPEG data or crop window.")
        if unit and unit % interval == 0:
            part_i += 1
            bits = _Bits(parts[part_i] if part_i < len(parts) else b"")
            eobrun = 0
            for c in comps:
                c.pred = 0
        if single:
            by, bx = divmod(unit, bw)
            blocks = [(0, comps[0], by, bx)]
        else:
            my, mx = divmod(unit, frame.mcus_x)
            blocks = [(k, c, my * c.v + y, mx * c.h + x) for k, c in enumerate(comps)
                      for y in range(c.v) for x in range(c.h)]
        for k, c, by, bx in blocks:
            coef = c.coefs[by, bx]
            if not frame.progressive:
                t = dc[k]
                if t is None or ac[k] is None:
                    raise _err("scan uses an undefined Huffman table")
                c.pred += bits.receive_extend(bits.symbol(t))
                coef[0] = c.pred
                i = 1
                tac = ac[k]
                while i < 64:
                    rs = bits.symbol(tac)
                    r, s = rs >> 4, rs & 15
                    if s:
                        i += r
                        if i > 63:
                            raise _err("coefficient index out of range")
                        coef[zz[i]] = bits.receive_extend(s)
                        i += 1
                    elif r == 15:
                        i += 16
                    else:
                        break
            elif ss == 0:                                   # DC scans
                if ah == 0:
                    if dc[k] is None:
                        raise _err("scan uses an undefined Huffman table")
                    c.pred += bits.receive_extend(bits.symbol(dc[k]))
                    coef[0] = c.pred << al
                elif bits.bit():
                    coef[0] |= 1 << al
            elif ah == 0:                                   # AC first pass
                if eobrun:
                    eobrun -= 1
                    continue
                tac = ac[k]
                if tac is None:
                    raise _err("scan uses an undefined Huffman table")
                i = ss
                while i <= se:
                    rs = bits.symbol(tac)
                    r, s = rs >> 4, rs & 15
                    if s:
                        i += r
                        if i > 63:
                            raise _err("coefficient index out of range")
                        coef[zz[i]] = bits.receive_extend(s) << al
                        i += 1
                    elif r == 15:
                        i += 16
                    else:
                        eobrun = (1 << r) + bits.bits(r) - 1
                        break
            else:                                           # AC refinement
                eobrun = _refine_ac(bits, ac[k], coef, ss, se, al, eobrun)


def _refine_ac(bits: _Bits, table: _Huffman | None, coef: np.ndarray, ss: int, se: int, al: int, eobrun: int) -> int:
    """libjpeg's decode_mcu_AC_refine for one block; returns the remaining EOB run."""
    p1, m1 = 1 << al, -1 << al
    zz = _ZIGZAG
    k = ss
    if eobrun == 0:
        if table is None:
            raise _err("scan uses an undefined Huffman table")
        while k <= se:
            rs = bits.symbol(table)
            r, s = rs >> 4, rs & 15
            if s:
                s = p1 if bits.bit() else m1
            elif r != 15:
                eobrun = 1 << r
                if r:
                    eobrun += bits.bits(r)
                break
            while k <= se:
                pos = zz[k]
                if coef[pos]:
                    if bits.bit() and (coef[pos] & p1) == 0:
                        coef[pos] += p1 if coef[pos] >= 0 else m1
                else:
                    if r == 0:
                        if s:
                            coef[pos] = s
                        k += 1
                        break
                    r -= 1
                k += 1
            else:
                if s:
                    raise _err("corrupt refinement scan")
    if eobrun > 0:
        while k <= se:
            pos = zz[k]
            if coef[pos] and bits.bit() and (coef[pos] & p1) == 0:
                coef[pos] += p1 if coef[pos] >= 0 else m1
            k += 1
        eobrun -= 1
    return eobrun


def _parse(data: bytes, stop_if_truncated: bool = False) -> _Frame:
    if not data.startswith(b"\xff\xd8"):
        raise _err("no SOI marker")
    frame = _Frame()
    pos = 2
    seen_frame = False
    n = len(data)
    while pos < n:
        if data[pos] != 0xFF:
            raise _err(f"expected a marker at byte {pos}")
        marker = data[pos + 1] if pos + 1 < n else 0xD9
        pos += 2
        if marker == 0xFF:
            pos -= 1
            continue
        if marker == 0xD9:
            frame.complete = True
            break
        if marker in (0x01,) or 0xD0 <= marker <= 0xD7:
            continue
        if pos + 2 > n:
            raise _err("truncated marker segment")
        length = struct.unpack(">H", data[pos:pos + 2])[0]
        body = data[pos + 2:pos + length]
        if len(body) != length - 2:
            raise _err("truncated marker segment")
        pos += length
        if marker in (0xC0, 0xC1, 0xC2):
            if body[0] != 8:
                raise UnsupportedError(f"JPEG with {body[0]}-bit samples is not supported (8-bit only)")
            frame.progressive = marker == 0xC2
            frame.height, frame.width, count = struct.unpack(">HHB", body[1:6])
            for i in range(count):
                cid, hv, tq = body[6 + 3 * i:9 + 3 * i]
                if not (1 <= hv >> 4 <= 4 and 1 <= hv & 15 <= 4):
                    raise _err("bad sampling factors")
                frame.components.append(_Component(cid, hv >> 4, hv & 15, tq))
            if count not in (1, 3):
                raise UnsupportedError(f"JPEG with {count} components is not supported (grayscale or YCbCr)")
            if frame.width == 0 or frame.height == 0 or frame.width * frame.height > _MAX_PIXELS:
                raise _err(f"image of {frame.width}x{frame.height} pixels is empty or too large")
            frame.hmax = max(c.h for c in frame.components)
            frame.vmax = max(c.v for c in frame.components)
            frame.mcus_x = math.ceil(frame.width / (8 * frame.hmax))
            frame.mcus_y = math.ceil(frame.height / (8 * frame.vmax))
            limits.check_alloc(sum(frame.mcus_y * c.v * frame.mcus_x * c.h * 128 for c in frame.components),
                               f"JPEG of {frame.width}x{frame.height} pixels: coefficients")
            for c in frame.components:
                c.coefs = np.zeros((frame.mcus_y * c.v, frame.mcus_x * c.h, 64), np.int16)
            seen_frame = True
        elif 0xC3 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            raise UnsupportedError("lossless, hierarchical and arithmetic-coded JPEGs are not supported")
        elif marker == 0xC4:
            i = 0
            while i < len(body):
                tc_th = body[i]
                counts = list(body[i + 1:i + 17])
                total = sum(counts)
                table = _Huffman(counts, body[i + 17:i + 17 + total])
                (frame.ac_tables if tc_th >> 4 else frame.dc_tables)[tc_th & 15] = table
                i += 17 + total
        elif marker == 0xDB:
            i = 0
            while i < len(body):
                pq_tq = body[i]
                if pq_tq >> 4:
                    vals = struct.unpack(">64H", body[i + 1:i + 129])
                    i += 129
                else:
                    vals = tuple(body[i + 1:i + 65])
                    i += 65
                if len(vals) != 64:
                    raise _err("truncated quantization table")
                q = np.zeros(64, np.int64)
                q[_ZIGZAG] = vals
                frame.qtables[pq_tq & 15] = q
        elif marker == 0xDD:
            frame.restart = struct.unpack(">H", body[:2])[0]
        elif marker == 0xEE and body.startswith(b"Adobe") and len(body) >= 12:
            frame.adobe_transform = body[11]
        elif marker == 0xDA:
            if not seen_frame:
                raise _err("scan before the frame header")
            count = body[0]
            comps, tables = [], []
            for i in range(count):
                cid, td_ta = body[1 + 2 * i:3 + 2 * i]
                comp = next((c for c in frame.components if c.id == cid), None)
                if comp is None:
                    raise _err("scan names an unknown component")
                comps.append(comp)
                tables.append((td_ta >> 4, td_ta & 15))
            ss, se, ahal = body[1 + 2 * count:4 + 2 * count]
            parts, pos = _segments(data, pos)
            # A scan cut off by the end of the file: the image is truncated, which TF refuses unless asked
            # to recover, so stop as soon as the data runs out rather than decode the rest from zero bits.
            frame.stop_if_truncated = stop_if_truncated and pos >= len(data)
            for c in comps:
                c.pred = 0
            _decode_scan(frame, comps, tables, ss, se, ahal >> 4, ahal & 15, parts)
    if not seen_frame:
        raise _err("no frame header")
    return frame


# ---------------------------------------------------------------- reconstruction

def _idct_ifast(coefs: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """libjpeg's jpeg_idct_ifast on [n, 64] coefficient blocks; uint8 [n, 8, 8]."""
    mult = (quant * _AAN + (1 << 11)) >> 12                 # IFAST multiplier table (rounded to 2 fraction bits)
    x = (coefs * mult).reshape(-1, 8, 8)

    def mul(v, c):
        return (v * c) >> 8

    def one_d(d):                                            # d[..., k] -> outputs along the last axis
        tmp10, tmp11 = d[..., 0] + d[..., 4], d[..., 0] - d[..., 4]
        tmp13 = d[..., 2] + d[..., 6]
        tmp12 = mul(d[..., 2] - d[..., 6], 362) - tmp13
        e0, e3, e1, e2 = tmp10 + tmp13, tmp10 - tmp13, tmp11 + tmp12, tmp11 - tmp12
        z13, z10 = d[..., 5] + d[..., 3], d[..., 5] - d[..., 3]
        z11, z12 = d[..., 1] + d[..., 7], d[..., 1] - d[..., 7]
        o7 = z11 + z13
        t11 = mul(z11 - z13, 362)
        z5 = mul(z10 + z12, 473)
        t10 = mul(z12, 277) - z5
        t12 = mul(z10, -669) + z5
        o6 = t12 - o7
        o5 = t11 - o6
        o4 = t10 + o5
        return np.stack([e0 + o7, e1 + o6, e2 + o5, e3 - o4, e3 + o4, e2 - o5, e1 - o6, e0 - o7], axis=-1)

    cols = one_d(np.swapaxes(x, 1, 2))                       # pass 1 on columns: [n, col, row]
    rows = one_d(np.swapaxes(cols, 1, 2))                    # pass 2 on rows: [n, row, col]
    return np.clip((rows >> 5) + 128, 0, 255).astype(np.uint8)


def _idct_islow(coefs: np.ndarray, quant: np.ndarray) -> np.ndarray:
    """libjpeg's jpeg_idct_islow (LL&M, 13 fraction bits, rounded descaling): TF's INTEGER_ACCURATE."""
    x = (coefs * quant).reshape(-1, 8, 8)

    def one_d(d, shift):
        z1 = (d[..., 2] + d[..., 6]) * 4433
        t2 = z1 + d[..., 6] * -15137
        t3 = z1 + d[..., 2] * 6270
        t0 = (d[..., 0] + d[..., 4]) << 13
        t1 = (d[..., 0] - d[..., 4]) << 13
        e10, e13, e11, e12 = t0 + t3, t0 - t3, t1 + t2, t1 - t2
        o0, o1, o2, o3 = d[..., 7], d[..., 5], d[..., 3], d[..., 1]
        z1, z2, z3, z4 = o0 + o3, o1 + o2, o0 + o2, o1 + o3
        z5 = (z3 + z4) * 9633
        o0, o1, o2, o3 = o0 * 2446, o1 * 16819, o2 * 25172, o3 * 12299
        z1, z2, z3, z4 = z1 * -7373, z2 * -20995, z3 * -16069 + z5, z4 * -3196 + z5
        o0, o1, o2, o3 = o0 + z1 + z3, o1 + z2 + z4, o2 + z2 + z3, o3 + z1 + z4
        out = np.stack([e10 + o3, e11 + o2, e12 + o1, e13 + o0, e13 - o0, e12 - o1, e11 - o2, e10 - o3], axis=-1)
        return (out + (1 << (shift - 1))) >> shift

    cols = one_d(np.swapaxes(x, 1, 2), 11)
    rows = one_d(np.swapaxes(cols, 1, 2), 18)
    return np.clip(rows + 128, 0, 255).astype(np.uint8)


def _plane(frame: _Frame, c: _Component, accurate: bool) -> np.ndarray:
    q = frame.qtables.get(c.tq)
    if q is None:
        raise _err("component uses an undefined quantization table")
    by, bx = c.coefs.shape[:2]
    flat = c.coefs.reshape(-1, 64)
    idct = _idct_islow if accurate else _idct_ifast
    blocks = np.concatenate([idct(flat[i:i + 16384].astype(np.int64), q) for i in range(0, len(flat), 16384)]
                            or [np.zeros((0, 8, 8), np.uint8)]).reshape(by, bx, 8, 8)
    full = blocks.transpose(0, 2, 1, 3).reshape(by * 8, bx * 8)
    w = math.ceil(frame.width * c.h / frame.hmax)
    h = math.ceil(frame.height * c.v / frame.vmax)
    return full[:h, :w]


def _upsample(p: np.ndarray, fh: int, fv: int, fancy: bool, full_width: int) -> np.ndarray:
    """libjpeg's upsampler for a component plane. Triangle filters for 2x1 and 2x2 when the component is
    more than 2 samples wide in the whole image (libjpeg picks the method once; a crop narrower than 2
    samples makes it pick again), for 1x2 always; replication otherwise."""
    x = p.astype(np.int64)
    h, w = x.shape
    wide = full_width > 2 and w >= 2
    if fancy and fh == 2 and fv == 1 and wide:
        left = np.concatenate([x[:, :1], x[:, :-1]], axis=1)
        right = np.concatenate([x[:, 1:], x[:, -1:]], axis=1)
        even = (3 * x + left + 1) >> 2
        odd = (3 * x + right + 2) >> 2
        even[:, 0] = x[:, 0]
        odd[:, -1] = x[:, -1]
        return np.stack([even, odd], axis=-1).reshape(h, 2 * w).astype(np.uint8)
    if fancy and fh == 2 and fv == 2 and wide:
        up = np.concatenate([x[:1], x[:-1]], axis=0)
        down = np.concatenate([x[1:], x[-1:]], axis=0)
        out = np.empty((h, 2, 2 * w), np.int64)
        for v, near in ((0, up), (1, down)):
            col = 3 * x + near                                  # column sums
            last = np.concatenate([col[:, :1], col[:, :-1]], axis=1)
            nxt = np.concatenate([col[:, 1:], col[:, -1:]], axis=1)
            even = (3 * col + last + 8) >> 4
            odd = (3 * col + nxt + 7) >> 4
            even[:, 0] = (4 * col[:, 0] + 8) >> 4
            odd[:, -1] = (4 * col[:, -1] + 7) >> 4
            out[:, v] = np.stack([even, odd], axis=-1).reshape(h, 2 * w)
        return out.reshape(2 * h, 2 * w).astype(np.uint8)
    if fancy and fh == 1 and fv == 2:
        up = np.concatenate([x[:1], x[:-1]], axis=0)
        down = np.concatenate([x[1:], x[-1:]], axis=0)
        return np.stack([(3 * x + up + 1) >> 2, (3 * x + down + 2) >> 2], axis=1).reshape(2 * h, w).astype(np.uint8)
    return np.repeat(np.repeat(p, fv, axis=0), fh, axis=1)


def _ycc_to_rgb(y: np.ndarray, cb: np.ndarray, cr: np.ndarray) -> np.ndarray:
    """libjpeg's table-driven conversion (16 fraction bits)."""
    def fix(v):
        return int(v * 65536 + 0.5)
    xb = cb.astype(np.int64) - 128
    xr = cr.astype(np.int64) - 128
    half = 1 << 15
    r = y + ((fix(1.40200) * xr + half) >> 16)
    b = y + ((fix(1.77200) * xb + half) >> 16)
    g = y + ((-fix(0.34414) * xb + half - fix(0.71414) * xr) >> 16)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).astype(np.uint8)


def decode(data: bytes, channels: int, fancy: bool = True, accurate: bool = False,
           crop: tuple[int, int, int, int] | None = None, recover_truncated: bool = False) -> np.ndarray:
    """[height, width, channels] uint8 as TF's DecodeJpeg with ratio 1: the IFAST IDCT (TF's default), or
    ISLOW with accurate (dct_method INTEGER_ACCURATE). crop = (y, x, h, w) as DecodeAndCropJpeg, which
    decodes from the iMCU column at or left of x (libjpeg's jpeg_crop_scanline): the upsampler then treats
    that column and the crop's right end as image edges, which changes pixels next to them."""
    if channels not in (0, 1, 3):
        raise ExecutionError(f"channels must be 0, 1 or 3 for JPEG, got {channels}")
    try:
        frame = _parse(data, stop_if_truncated=not recover_truncated)
    except (OverflowError, IndexError, ValueError, struct.error):   # out-of-range values, fields cut short
        raise _err("corrupt data") from None
    if not frame.complete and not recover_truncated:   # libjpeg would fill the rest with gray: TF refuses
        raise ExecutionError("jpeg::Uncompress failed. Invalid JPEG data or crop window.")
    comps = frame.components
    if len(comps) == 3 and frame.adobe_transform == 0:
        raise UnsupportedError("RGB (untransformed) JPEGs are not supported")
    want = channels or len(comps)
    used = comps[:1] if want == 1 or len(comps) == 1 else comps
    y0, x0, out_h, out_w = 0, 0, frame.height, frame.width
    left = 0
    if crop is not None:
        y0, x0, out_h, out_w = crop
        if out_h <= 0 or out_w <= 0 or y0 < 0 or x0 < 0 or y0 + out_h > frame.height or x0 + out_w > frame.width:
            raise ExecutionError(f"Invalid JPEG data or crop window, crop window {list(crop)} does not fit in the "
                                 f"image of {frame.height}x{frame.width}")
        align = 8 * (frame.hmax if len(used) > 1 or len(comps) > 1 else 1)
        left = x0 // align * align
    span = x0 + out_w - left                                 # decoded columns, from the aligned left edge
    planes = []
    for c in used:
        fh, fv = frame.hmax // c.h, frame.vmax // c.v
        if frame.hmax % c.h or frame.vmax % c.v:
            raise UnsupportedError("JPEG sampling factors that are not integer ratios are not supported")
        plane = _plane(frame, c, accurate)
        first = left * c.h // frame.hmax
        width = math.ceil(span * c.h / frame.hmax)
        up = _upsample(plane[:, first:first + width], fh, fv, fancy, plane.shape[1])
        planes.append(up[y0:y0 + out_h, x0 - left:x0 - left + out_w])
    if len(planes) == 1:
        y = planes[0]
        return np.repeat(y[..., None], want, axis=-1) if want == 3 else y[..., None]
    return _ycc_to_rgb(*(p.astype(np.int64) for p in planes))
