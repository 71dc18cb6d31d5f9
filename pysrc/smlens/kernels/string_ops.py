"""String kernels: hashing, regex, joins/splits, case, substrings, number formatting and parsing,
base64, n-grams, StringFormat.

Strings are object arrays of `bytes`; byte-level semantics follow TensorFlow (ASCII-only case
mapping and whitespace unless an op says otherwise).
"""
from __future__ import annotations

import re

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from . import hashing, re2
from .registry import REQUIRED, op

_ASCII_SPACE = b" \t\n\v\f\r"


def _b(x) -> bytes:
    if isinstance(x, bytes):
        return x
    if isinstance(x, str):
        return x.encode("utf-8")
    if isinstance(x, (bytearray, memoryview, np.bytes_)):
        return bytes(x)
    raise ExecutionError(f"expected a string tensor, got an element of type {type(x).__name__}")


def _strings(x) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype != object:
        if a.dtype.kind in "SU":
            return np.vectorize(_b, otypes=[object])(a) if a.size else a.astype(object)
        raise ExecutionError(f"expected a string tensor, got {a.dtype}")
    return a


def _map(fn, x, otype=object) -> np.ndarray:
    a = _strings(x)
    out = np.empty(a.shape, dtype=otype)
    flat_in, flat_out = a.reshape(-1), out.reshape(-1)
    for i in range(flat_in.size):
        flat_out[i] = fn(_b(flat_in[i]))
    return out


def _scalar_string(x, what: str) -> bytes:
    a = _strings(x)
    if a.shape != ():
        raise ExecutionError(f"{what} must be a scalar, got shape {list(a.shape)}")
    return _b(a[()])


def _obj(values: list, shape=None) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out if shape is None else out.reshape(shape)


# ---------------------------------------------------------------- hashing

def _buckets(num_buckets: int) -> int:
    if num_buckets < 1:
        raise ExecutionError(f"num_buckets must be at least 1, got {num_buckets}")
    return num_buckets


@op("StringToHashBucketFast", inputs=["input"], attrs={"num_buckets": REQUIRED})
def string_to_hash_bucket_fast(input, *, num_buckets):
    n = _buckets(num_buckets)
    return _map(lambda s: hashing.fingerprint64(s) % n, input, np.int64)


@op("StringToHashBucket", inputs=["string_tensor"], attrs={"num_buckets": REQUIRED})
def string_to_hash_bucket(string_tensor, *, num_buckets):
    n = _buckets(num_buckets)
    return _map(lambda s: hashing.tf_hash64(s) % n, string_tensor, np.int64)


@op("StringToHashBucketStrong", inputs=["input"], attrs={"num_buckets": REQUIRED, "key": REQUIRED})
def string_to_hash_bucket_strong(input, *, num_buckets, key):
    n = _buckets(num_buckets)
    if len(key) != 2:
        raise ExecutionError(f"StringToHashBucketStrong: key must have 2 elements, got {len(key)}")
    k0, k1 = (int(k) & 0xFFFFFFFFFFFFFFFF for k in key)
    return _map(lambda s: hashing.siphash24(k0, k1, s) % n, input, np.int64)


def _fp_bytes(s: bytes) -> bytes:
    return hashing.fingerprint64(s).to_bytes(8, "little")


@op("Fingerprint", inputs=["data", "method"])
def fingerprint(data, method):
    m = _scalar_string(method, "Fingerprint: method")
    if m != b"farmhash64":
        raise ExecutionError(f"Unsupported fingerprint method: {m.decode('utf-8', 'replace')}")
    a = np.asarray(data)
    if a.ndim < 1:
        raise ExecutionError(f"`data` should have at least one dimension: {list(a.shape)}")
    rows = a.shape[0]
    flat = a.reshape(rows, -1) if rows else a.reshape(0, 0)
    out = np.empty((rows, 8), dtype=np.uint8)
    for r in range(rows):
        if a.dtype == object:
            row = flat[r]
            if row.size == 1:
                digest = _fp_bytes(_b(row[0]))
            else:
                digest = _fp_bytes(b"".join(_fp_bytes(_b(s)) for s in row))
        else:
            digest = _fp_bytes(_row_bytes(flat[r]))
        out[r] = np.frombuffer(digest, np.uint8)
    return out


def _row_bytes(row: np.ndarray) -> bytes:
    if row.dtype.kind in "iufcb":
        return np.ascontiguousarray(row, row.dtype.newbyteorder("<")).tobytes()
    raise ExecutionError(f"Fingerprint: unsupported dtype {row.dtype}")


# ---------------------------------------------------------------- RE2 patterns (kernels/re2.py)
# Strings are matched as text decoded from UTF-8 with surrogateescape (see re2.py). Global replacement
# follows RE2::GlobalReplace (no empty match right after the previous match).

def compile_re2(pattern: str) -> re2.Regex:
    return re2.compile(pattern)


def _parse_rewrite(rewrite: str) -> tuple[list, int]:
    """Rewrite string -> (pieces: str or group number, highest group referenced)."""
    pieces: list = []
    top = 0
    buf: list[str] = []
    i = 0
    while i < len(rewrite):
        c = rewrite[i]
        if c != "\\":
            buf.append(c)
            i += 1
            continue
        e = rewrite[i + 1] if i + 1 < len(rewrite) else ""
        if e.isdigit() and e.isascii():
            if buf:
                pieces.append("".join(buf))
                buf = []
            pieces.append(int(e))
            top = max(top, int(e))
        elif e == "\\":
            buf.append("\\")
        else:
            raise ExecutionError(f"invalid rewrite pattern: {rewrite}")
        i += 2
    if buf:
        pieces.append("".join(buf))
    return pieces, top


def _expand(text: str, spans: list, pieces: list) -> str:
    out = []
    for p in pieces:
        if isinstance(p, str):
            out.append(p)
        elif spans[p] is not None:
            out.append(text[spans[p][0]:spans[p][1]])
    return "".join(out)


def _utf8_text(s: bytes) -> str:
    return s.decode("utf-8", "surrogateescape")


def _utf8_bytes(s: str) -> bytes:
    return s.encode("utf-8", "surrogateescape")


def replace(pattern: re2.Regex, rewrite: str, s: bytes, replace_global: bool) -> bytes:
    pieces, top = _parse_rewrite(rewrite)
    if top > pattern.groups:
        return s    # RE2 refuses a rewrite naming a group the pattern does not have
    text = _utf8_text(s)
    if not replace_global:
        m = pattern.search(text, groups=top > 0)
        if m is None:
            return s
        return _utf8_bytes(text[:m[0][0]] + _expand(text, m, pieces) + text[m[0][1]:])
    out: list[str] = []
    pos, n = 0, len(text)
    last_end = -1
    count = 0
    while pos <= n:
        m = pattern.search(text, pos, groups=top > 0)
        if m is None:
            break
        start, end = m[0]
        if pos < start:
            out.append(text[pos:start])
        if start == end == last_end:
            if pos < n:
                out.append(text[pos])
            pos += 1
            continue
        out.append(_expand(text, m, pieces))
        pos = last_end = end
        count += 1
    if count == 0:
        return s
    if pos < n:
        out.append(text[pos:])
    return _utf8_bytes("".join(out))


def full_match(pattern: re2.Regex, s: bytes) -> bool:
    return pattern.fullmatch(_utf8_text(s))


# ---------------------------------------------------------------- regex

def _pattern_text(p) -> str:
    return p.decode("utf-8", "surrogateescape") if isinstance(p, bytes) else p


@op("StaticRegexReplace", inputs=["input"],
    attrs={"pattern": REQUIRED, "rewrite": REQUIRED, "replace_global": True})
def static_regex_replace(input, *, pattern, rewrite, replace_global):
    rx = compile_re2(_pattern_text(pattern))
    rw = _pattern_text(rewrite)
    return _map(lambda s: replace(rx, rw, s, replace_global), input)


@op("RegexReplace", inputs=["input", "pattern", "rewrite"], attrs={"replace_global": True})
def regex_replace(input, pattern, rewrite, *, replace_global):
    rx = compile_re2(_pattern_text(_scalar_string(pattern, "RegexReplace: pattern")))
    rw = _pattern_text(_scalar_string(rewrite, "RegexReplace: rewrite"))
    return _map(lambda s: replace(rx, rw, s, replace_global), input)


@op("StaticRegexFullMatch", inputs=["input"], attrs={"pattern": REQUIRED})
def static_regex_full_match(input, *, pattern):
    rx = compile_re2(_pattern_text(pattern))
    return _map(lambda s: full_match(rx, s), input, np.bool_)


@op("RegexFullMatch", inputs=["input", "pattern"])
def regex_full_match(input, pattern):
    rx = compile_re2(_pattern_text(_scalar_string(pattern, "RegexFullMatch: pattern")))
    return _map(lambda s: full_match(rx, s), input, np.bool_)


# ---------------------------------------------------------------- joins

@op("StringJoin", inputs=["*inputs"], attrs={"separator": ""})
def string_join(inputs, *, separator):
    sep = _b(separator)
    arrays = [_strings(x) for x in inputs]
    shape = ()
    for a in arrays:
        if a.ndim:
            if shape and a.shape != shape:
                raise ExecutionError(f"Input shapes do not match: {list(shape)} vs. {list(a.shape)}")
            shape = a.shape
    size = int(np.prod(shape, dtype=np.int64))
    _check_joined(size * len(sep) * max(len(arrays) - 1, 0) + sum(
        _total_bytes(a) if a.ndim else size * len(_b(a[()])) for a in arrays), "StringJoin")
    cols = [a.reshape(-1) if a.ndim else np.full(size, a[()], dtype=object) for a in arrays]
    return _obj([sep.join(_b(c[i]) for c in cols) for i in range(size)], shape)


def _total_bytes(a: np.ndarray) -> int:
    return sum(len(x) if isinstance(x, (bytes, str)) else 0 for x in a.reshape(-1))


def _check_joined(nbytes: int, what: str) -> None:
    """Joins can multiply one long string (broadcast scalars, tiled views): bound the result first."""
    from .. import limits
    limits.check_alloc(nbytes, f"{what}: joined strings")


@op("ReduceJoin", inputs=["inputs", "reduction_indices"], attrs={"keep_dims": False, "separator": ""})
def reduce_join(inputs, reduction_indices, *, keep_dims, separator):
    a = _strings(inputs)
    sep = _b(separator)
    axes = []
    for ax in np.asarray(reduction_indices).reshape(-1).tolist():
        real = ax + a.ndim if ax < 0 else ax
        if not 0 <= real < a.ndim:
            raise ExecutionError(f"Invalid reduction dimension {ax} for input with {a.ndim} dimension(s)")
        if real in axes:
            raise ExecutionError(f"Duplicate reduction dimension {ax}")
        axes.append(real)
    kept = [d for d in range(a.ndim) if d not in axes]
    _check_joined(_total_bytes(a) + a.size * len(sep), "ReduceJoin")
    # The first listed reduction axis varies fastest in the joined order.
    t = np.transpose(a, kept + axes[::-1])
    kept_shape = tuple(a.shape[d] for d in kept)
    rows = t.reshape(int(np.prod(kept_shape, dtype=np.int64)), -1) if t.size else \
        np.empty((int(np.prod(kept_shape, dtype=np.int64)), 0), dtype=object)
    out = _obj([sep.join(_b(s) for s in row) for row in rows], kept_shape)
    if keep_dims:
        out = out.reshape(tuple(1 if d in axes else a.shape[d] for d in range(a.ndim)))
    return out


@op("UnsortedSegmentJoin", inputs=["inputs", "segment_ids", "num_segments"], attrs={"separator": ""})
def unsorted_segment_join(inputs, segment_ids, num_segments, *, separator):
    """Strings of each segment joined in input order; output [num_segments] + inputs.shape[ids.ndim:]."""
    a = _strings(inputs)
    ids = np.asarray(segment_ids)
    n = int(np.asarray(num_segments).reshape(()))
    if ids.dtype.kind not in "iu" or a.shape[:ids.ndim] != ids.shape:
        raise ExecutionError(f"segment_ids shape {list(ids.shape)} must be a prefix of inputs shape "
                             f"{list(a.shape)}")
    if n < 0:
        raise ExecutionError(f"num_segments must be non-negative, got {n}")
    flat_ids = ids.reshape(-1).tolist()
    if any(not 0 <= i < n for i in flat_ids):
        raise ExecutionError(f"segment_ids must be in [0, {n})")
    inner = a.shape[ids.ndim:]
    rows = a.reshape((len(flat_ids),) + inner).reshape(len(flat_ids), -1) if a.size else \
        np.empty((len(flat_ids), int(np.prod(inner, dtype=np.int64))), dtype=object)
    parts: list[list[list[bytes]]] = [[[] for _ in range(rows.shape[1])] for _ in range(n)]
    for r, seg in enumerate(flat_ids):
        for k in range(rows.shape[1]):
            parts[seg][k].append(_b(rows[r, k]))
    sep = _b(separator)
    return _obj([sep.join(p) for seg in parts for p in seg], (n,) + inner)


# ---------------------------------------------------------------- case, length, strip

def _ascii_case(s: bytes, upper: bool) -> bytes:
    return s.upper() if upper else s.lower()   # bytes.upper/lower touch ASCII letters only


def _utf8_case(s: bytes, upper: bool) -> bytes:
    t = s.decode("utf-8", "replace")
    return (t.upper() if upper else t.lower()).encode("utf-8")


def _case_op(input, encoding: str, upper: bool):
    enc = encoding.lower().replace("_", "-")
    if enc == "":
        return _map(lambda s: _ascii_case(s, upper), input)
    if enc in ("utf-8", "utf8"):
        return _map(lambda s: _utf8_case(s, upper), input)
    raise ExecutionError(f"Unsupported encoding {encoding!r} (only '' and 'utf-8')")


@op("StringUpper", inputs=["input"], attrs={"encoding": ""})
def string_upper(input, *, encoding):
    return _case_op(input, encoding, True)


@op("StringLower", inputs=["input"], attrs={"encoding": ""})
def string_lower(input, *, encoding):
    return _case_op(input, encoding, False)


def _utf8_len(s: bytes) -> int:
    return sum(1 for c in s if c & 0xC0 != 0x80)


@op("StringLength", inputs=["input"], attrs={"unit": "BYTE"})
def string_length(input, *, unit):
    if unit == "BYTE":
        return _map(len, input, np.int32)
    if unit == "UTF8_CHAR":
        return _map(_utf8_len, input, np.int32)
    raise ExecutionError(f"StringLength: unknown unit {unit!r}")


@op("StringStrip", inputs=["input"])
def string_strip(input):
    return _map(lambda s: s.strip(_ASCII_SPACE), input)


# ---------------------------------------------------------------- substr

def _char_starts(s: bytes) -> list[int]:
    return [i for i, c in enumerate(s) if c & 0xC0 != 0x80]


def _substr_one(s: bytes, pos: int, length: int, utf8: bool, index: int) -> bytes:
    if utf8:
        starts = _char_starts(s)
        n = len(starts)
    else:
        n = len(s)
    p = pos + n if pos < 0 else pos
    if not 0 <= p <= n:
        shown = "" if utf8 else f" {s!r}"
        raise ExecutionError(f"pos {pos} out of range for string{shown} at index {index}")
    if length < 0:   # bytes: to the end (a huge size_t in TF); UTF-8: nothing
        length = 0 if utf8 else n
    end = min(n, p + length)
    if not utf8:
        return s[p:end]
    starts.append(len(s))
    return s[starts[p]:starts[end]]


@op("Substr", inputs=["input", "pos", "len"], attrs={"unit": "BYTE"})
def substr(input, pos, len, *, unit):  # noqa: A002 - TF's input name
    if unit not in ("BYTE", "UTF8_CHAR"):
        raise ExecutionError(f"Substr: unknown unit {unit!r}")
    a = _strings(input)
    p, n = np.asarray(pos), np.asarray(len)
    if p.shape != n.shape:
        raise ExecutionError(f"pos and len should have the same shape, got: {list(p.shape)} vs. {list(n.shape)}")
    try:
        a_b, p_b, n_b = np.broadcast_arrays(a, p, n)
    except ValueError:
        raise ExecutionError(f"Substr: input shape {list(a.shape)} and pos shape {list(p.shape)} "
                             "are not broadcastable") from None
    flat_a, flat_p, flat_n = a_b.reshape(-1), p_b.reshape(-1), n_b.reshape(-1)
    utf8 = unit == "UTF8_CHAR"
    vals = [_substr_one(_b(flat_a[i]), int(flat_p[i]), int(flat_n[i]), utf8, i) for i in range(flat_a.size)]
    return _obj(vals, a_b.shape)


# ---------------------------------------------------------------- number <-> string

_FILL_FLAGS = {" ", "+", "-", "0", "#"}


def _format_spec(dtype: np.dtype, precision: int, scientific: bool, shortest: bool, width: int,
                 fill: str) -> str:
    kind = dtype.kind
    is_float = kind in "fc"
    if not is_float and (scientific or shortest):
        raise ExecutionError(f"scientific and shortest format not supported for datatype {_dt_name(dtype)}")
    if not is_float and precision > -1:
        raise ExecutionError(f"precision not supported for datatype {_dt_name(dtype)}")
    if scientific and shortest:
        raise ExecutionError("Cannot select both scientific and shortest notation")
    if fill and fill[0] not in _FILL_FLAGS:
        raise ExecutionError(f'Fill argument not supported: "{fill}"')
    spec = "%" + (fill[0] if fill else "")
    if width > -1:
        spec += str(width)
    if precision > -1:
        spec += f".{precision}"
    if kind == "u":   # printf ignores the sign flags for unsigned conversions
        return spec.replace("+", "").replace(" ", "") + "d"
    if kind == "i":
        return spec + "d"
    if kind == "O":
        return spec + "s"
    if kind == "b":
        return ""
    return spec + ("g" if shortest else "e" if scientific else "f")


def _dt_name(dtype: np.dtype) -> str:
    try:
        return dtypes.from_numpy(dtype).name
    except Exception:
        return str(dtype)


@op("AsString", inputs=["input"],
    attrs={"precision": -1, "scientific": False, "shortest": False, "width": -1, "fill": ""})
def as_string(input, *, precision, scientific, shortest, width, fill):
    a = np.asarray(input)
    spec = _format_spec(a.dtype, precision, scientific, shortest, width, fill)
    kind = a.dtype.kind
    flat = a.reshape(-1)
    if kind == "b":
        vals = [b"true" if v else b"false" for v in flat.tolist()]
    elif kind == "O":
        vals = [(spec % _b(v).decode("utf-8", "surrogateescape")).encode("utf-8", "surrogateescape")
                for v in flat]
    elif kind == "c":
        vals = [f"({_format_float(spec, v.real)},{_format_float(spec, v.imag)})".encode()
                for v in flat.astype(np.complex128).tolist()]
    elif kind == "f":
        vals = [_format_float(spec, v).encode() for v in flat.astype(np.float64).tolist()]
    else:
        vals = [(spec % v).encode() for v in flat.tolist()]
    return _obj(vals, a.shape)


def _format_float(spec: str, v: float) -> str:
    if spec[1:2] == "0" and not np.isfinite(v):   # printf pads inf/nan with spaces, not zeros
        spec = "%" + spec[2:]
    return spec % v


_C_SPACE = " \t\n\v\f\r"
_DEC_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_HEX_FLOAT = re.compile(r"([+-]?)0[xX]((?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?)")
_SPECIAL_FLOAT = re.compile(r"([+-]?)(inf|infinity|nan)", re.IGNORECASE)
_INT = re.compile(r"[+-]?[0-9]+")
_INT_RANGE = {np.dtype(np.int32): (-(1 << 31), (1 << 31) - 1), np.dtype(np.int64): (-(1 << 63), (1 << 63) - 1)}


def _parse_float(text: str) -> float | None:
    if _DEC_FLOAT.fullmatch(text):
        return float(text)
    m = _HEX_FLOAT.fullmatch(text)
    if m:
        body = m.group(2)
        if "p" not in body.lower():
            body += "p0"
        v = float.fromhex("0x" + body)
        return -v if m.group(1) == "-" else v
    m = _SPECIAL_FLOAT.fullmatch(text)
    if m:
        v = float("nan") if m.group(2).lower() == "nan" else float("inf")
        return -v if m.group(1) == "-" else v
    return None


def parse_number(raw: bytes, dtype: np.dtype) -> float | int | None:
    """TF's text -> number rules (strtod-like floats incl. hex/inf/nan, decimal ints, surrounding C
    whitespace allowed); None when `raw` is not a valid number of `dtype`."""
    text = raw.decode("latin-1").strip(_C_SPACE)
    if dtype.kind == "f":
        return _parse_float(text)
    if not _INT.fullmatch(text):
        return None
    value = int(text)
    lo, hi = _INT_RANGE[np.dtype(dtype)]
    return value if lo <= value <= hi else None


@op("StringToNumber", inputs=["string_tensor"], attrs={"out_type": dtypes.float32})
def string_to_number(string_tensor, *, out_type):
    dt = out_type.np
    if dt not in (np.dtype(np.float32), np.dtype(np.float64), np.dtype(np.int32), np.dtype(np.int64)):
        raise ExecutionError(f"StringToNumber: unsupported out_type {out_type.name}")
    a = _strings(string_tensor)
    values: list = []
    for item in a.reshape(-1):
        raw = _b(item)
        value = parse_number(raw, dt)
        if value is None:
            raise ExecutionError("StringToNumberOp could not correctly convert string: "
                                 + raw.decode("utf-8", "replace"))
        values.append(value)
    with np.errstate(over="ignore"):   # out-of-range floats become inf, as in TF
        return np.array(values, dtype=dt).reshape(a.shape)


# ---------------------------------------------------------------- splits

def _sparse_tokens(rows: list[list[bytes]]):
    indices, values = [], []
    width = 0
    for r, toks in enumerate(rows):
        width = max(width, len(toks))
        for j, t in enumerate(toks):
            indices.append((r, j))
            values.append(t)
    idx = np.array(indices, dtype=np.int64).reshape(-1, 2)
    return idx, _obj(values), np.array([len(rows), width], dtype=np.int64)


def _vector_strings(x, what: str) -> np.ndarray:
    a = _strings(x)
    if a.ndim != 1:
        raise ExecutionError(f"{what}: input must be a vector, got shape: {list(a.shape)}")
    return a


@op("StringSplit", inputs=["input", "delimiter"], attrs={"skip_empty": True})
def string_split(input, delimiter, *, skip_empty):
    a = _vector_strings(input, "StringSplit")
    delim = _scalar_string(delimiter, "StringSplit: delimiter")
    rows = []
    for s in a:
        s = _b(s)
        if not s:
            rows.append([])
        elif not delim:
            rows.append([s[i:i + 1] for i in range(len(s))])
        else:
            toks = re.split(b"[" + re.escape(delim) + b"]", s) if len(delim) > 1 else s.split(delim)
            rows.append([t for t in toks if t] if skip_empty else toks)
    return _sparse_tokens(rows)


@op("StringSplitV2", inputs=["input", "sep"], attrs={"maxsplit": -1})
def string_split_v2(input, sep, *, maxsplit):
    a = _vector_strings(input, "StringSplitV2")
    sep_b = _scalar_string(sep, "StringSplitV2: sep")
    rows = []
    for s in a:
        s = _b(s)
        rows.append(_split_whitespace(s, maxsplit) if not sep_b else s.split(sep_b, maxsplit))
    return _sparse_tokens(rows)


def _split_whitespace(s: bytes, maxsplit: int) -> list[bytes]:
    """TF's whitespace split: once maxsplit tokens are taken, the rest (maybe empty) is the last token."""
    if maxsplit == 0:
        return [s]
    tokens: list[bytes] = []
    rest = s.lstrip(_ASCII_SPACE)
    while rest:
        parts = rest.split(None, 1)
        tokens.append(parts[0])
        rest = parts[1].lstrip(_ASCII_SPACE) if len(parts) > 1 else b""
        if len(tokens) == maxsplit:
            tokens.append(rest)
            break
    return tokens


# ---------------------------------------------------------------- n-grams

@op("StringNGrams", inputs=["data", "data_splits"],
    attrs={"separator": REQUIRED, "ngram_widths": REQUIRED, "left_pad": REQUIRED, "right_pad": REQUIRED,
           "pad_width": REQUIRED, "preserve_short_sequences": REQUIRED})
def string_ngrams(data, data_splits, *, separator, ngram_widths, left_pad, right_pad, pad_width,
                  preserve_short_sequences):
    tokens = [_b(s) for s in _strings(data).reshape(-1)]
    splits_in = np.asarray(data_splits)
    splits = splits_in.reshape(-1).tolist()
    sep, lpad, rpad = _b(separator), _b(left_pad), _b(right_pad)
    _check_splits(splits, len(tokens))

    def pad_for(width: int) -> int:
        return min(width - 1 if pad_width < 0 else pad_width, width - 1)

    def count(length: int, width: int) -> int:
        return max(0, length + 2 * pad_for(width) - width + 1)

    def make(row: list[bytes], width: int, num: int) -> list[bytes]:
        pw = pad_for(width)
        grams = []
        for k in range(num):
            left = max(0, pw - k)
            right = max(0, pw - (num - (k + 1)))
            n_tok = width - left - right
            start = 0 if left > 0 else k - pw
            grams.append(sep.join([lpad] * left + row[start:start + n_tok] + [rpad] * right))
        return grams

    out: list[bytes] = []
    out_splits = [0]
    for r in range(len(splits) - 1 if splits else 0):
        row = tokens[splits[r]:splits[r + 1]]
        grams: list[bytes] = []
        for w in ngram_widths:
            grams += make(row, w, count(len(row), w))
        if preserve_short_sequences and not grams and row:
            grams = make(row, len(row) + 2 * pad_width, 1)
        out += grams
        out_splits.append(len(out))
    return _obj(out), np.array(out_splits, dtype=splits_in.dtype)


def _check_splits(splits: list[int], size: int) -> None:
    if not splits:
        return
    if splits[0] != 0:
        raise ExecutionError(f"First split value must be 0, got {splits[0]}")
    for a, b in zip(splits, splits[1:]):
        if b < a:
            raise ExecutionError(f"Invalid split value {b}, must be >= {a}")
    if splits[-1] != size:
        raise ExecutionError(f"Last split value must be data size. Expected {size}, got {splits[-1]}")


# ---------------------------------------------------------------- base64 (web-safe alphabet)

_B64 = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_B64_INDEX = {c: i for i, c in enumerate(_B64)}


def _encode_b64(s: bytes, pad: bool) -> bytes:
    out = bytearray()
    for i in range(0, len(s) - len(s) % 3, 3):
        v = (s[i] << 16) | (s[i + 1] << 8) | s[i + 2]
        out += bytes((_B64[v >> 18], _B64[(v >> 12) & 63], _B64[(v >> 6) & 63], _B64[v & 63]))
    rest = len(s) % 3
    if rest:
        tail = s[len(s) - rest:] + b"\0" * (3 - rest)
        v = (tail[0] << 16) | (tail[1] << 8) | tail[2]
        chars = bytes((_B64[v >> 18], _B64[(v >> 12) & 63], _B64[(v >> 6) & 63]))[:rest + 1]
        out += chars + (b"=" * (3 - rest) if pad else b"")
    return bytes(out)


def _decode_quad(q: bytes) -> bytes:
    v = 0
    for c in q:
        d = _B64_INDEX.get(c)
        if d is None:
            raise ExecutionError("Invalid character found in base64.")
        v = (v << 6) | d
    return bytes(((v >> 16) & 255, (v >> 8) & 255, v & 255))


def _decode_b64(s: bytes) -> bytes:
    if not s:
        return b""
    out = bytearray()
    i, end = 0, len(s)
    while end - i > 4:
        out += _decode_quad(s[i:i + 4])
        i += 4
    if end - i == 4:
        if s[i + 2:i + 4] == b"==":
            end -= 2
        elif s[i + 3:i + 4] == b"=":
            end -= 1
    remain = end - i
    if remain == 1:
        raise ExecutionError("Base64 string length cannot be 1 modulo 4.")
    tail = s[i:end] + b"A" * (4 - remain)
    out += _decode_quad(tail)[:remain - 1]
    return bytes(out)


@op("EncodeBase64", inputs=["input"], attrs={"pad": False})
def encode_base64(input, *, pad):
    return _map(lambda s: _encode_b64(s, pad), input)


@op("DecodeBase64", inputs=["input"])
def decode_base64(input):
    return _map(_decode_b64, input)


# ---------------------------------------------------------------- StringFormat (tf.strings.format)

def _float_text(v: float, single: bool) -> str:
    """TF's FloatToBuffer/DoubleToBuffer: the short form if it round-trips, else full precision."""
    if v != v:
        return "nan"
    if v in (float("inf"), float("-inf")):
        return "inf" if v > 0 else "-inf"
    short, full = (6, 9) if single else (15, 17)
    text = "%.*g" % (short, v)
    back = float(np.float32(float(text))) if single else float(text)
    return text if back == v else "%.*g" % (full, v)


_ESCAPES = {ord("\n"): b"\\n", ord("\r"): b"\\r", ord("\t"): b"\\t", ord('"'): b'\\"', ord("'"): b"\\'",
            ord("\\"): b"\\\\"}


def _escape(s: bytes) -> bytes:
    """absl's Utf8SafeCEscape: C escapes for control characters, bytes >= 0x80 kept as they are."""
    out = bytearray()
    for c in s:
        if c in _ESCAPES:
            out += _ESCAPES[c]
        elif c < 32 or c == 127:
            out += b"\\%03o" % c
        else:
            out.append(c)
    return bytes(out)


def _element_text(v, dtype: np.dtype) -> str:
    if dtype == object:
        return '"' + _escape(_b(v)).decode("utf-8", "surrogateescape") + '"'
    if dtype.kind == "b":
        return "1" if v else "0"
    if dtype.kind == "f":
        if v != 0 and abs(v) < np.finfo(dtype).tiny:   # TF's CPU threads treat subnormals as zero
            v = -0.0 if v < 0 else 0.0
        return _float_text(float(v), dtype != np.float64)
    if dtype.kind == "c":
        return "?"
    return str(int(v))


def _summarize(a: np.ndarray, summarize: int, depth: int = 0) -> str:
    if a.ndim == 0:
        return _element_text(a[()], a.dtype)
    n = a.shape[0]
    if 0 <= summarize and n > 2 * summarize:
        picks: list = list(range(summarize)) + [None] + list(range(n - summarize, n))
    else:
        picks = list(range(n))
    sep = " " if a.ndim == 1 else "\n" * (a.ndim - 1) + " " * (depth + 1)
    text = "["
    for k, i in enumerate(picks):
        if k or i is None:   # "..." always follows a separator, even with summarize=0: "[ ...]"
            text += sep
        text += "..." if i is None else _summarize(a[i, ...], summarize, depth + 1)
    return text + "]"


@op("StringFormat", inputs=["*inputs"], attrs={"template": "%s", "placeholder": "%s", "summarize": 3})
def string_format(inputs, *, template, placeholder, summarize):
    pieces = template.split(placeholder) if placeholder else [template]
    if len(pieces) - 1 != len(inputs):
        raise ExecutionError(f"num placeholders in template and num inputs must match: {len(pieces) - 1} vs. "
                             f"{len(inputs)}")
    text = pieces[0]
    for value, rest in zip(inputs, pieces[1:]):
        text += _summarize(np.asarray(value), summarize) + rest
    out = np.empty((), dtype=object)
    out[()] = text.encode("utf-8", "surrogateescape")
    return out
