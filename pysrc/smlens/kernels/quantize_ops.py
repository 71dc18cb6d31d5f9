"""Quantization kernels: QuantizeV2 and Dequantize (QuantizeAndDequantize* and FakeQuant* are in nn_ops).

Quantized dtypes (qint8, quint8, qint16, quint16, qint32) are held in their integer storage type. The
arithmetic follows TensorFlow's CPU kernels step by step in float32 (the order of the float operations
decides the last bit and the rounding of ties):

- QuantizeV2 MIN_COMBINED: clamp to [min, max], (x - min) * scale (scale = range(T) / (max - min)), minus
  half the range for signed T, rounded half away from zero (unsigned: + 0.5 and truncated); MIN_FIRST:
  round(x * scale) - round(min * scale) + lowest(T), clamped; SCALED: symmetric around zero, scale picked so
  neither side overflows, rounded with `round_mode`. The range is first widened to contain 0 and to be at
  least `ensure_minimum_range` (relative) wide.
- Dequantize inverts each mode (MIN_FIRST with TF's rounded range minimum); dtype bfloat16 rounds the float32
  result to nearest even.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from .registry import REQUIRED, op

F32 = np.float32
_LIMITS = {"qint8": (-128, 127), "quint8": (0, 255), "qint16": (-32768, 32767), "quint16": (0, 65535),
           "qint32": (-2147483648, 2147483647)}


def _limits(T: dtypes.DType, what: str) -> tuple[int, int]:
    if T.name not in _LIMITS:
        raise ExecutionError(f"{what}: unsupported quantized type {T.name}")
    return _LIMITS[T.name]


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """std::round: ties away from zero (exact: float32 values + 0.5 are exact in float64)."""
    x64 = x.astype(np.float64)
    return np.trunc(x64 + np.copysign(0.5, x64))


def _to_int(r: np.ndarray, T: dtypes.DType) -> np.ndarray:
    """Rounded floats -> T's storage. Out-of-range int32 conversions give INT_MIN, as x86's cvttss2si does."""
    if T.name == "qint32":
        r = np.asarray(r, dtype=np.float64)
        bad = ~((r >= -2147483648.0) & (r < 2147483648.0))
        return np.where(bad, -2147483648, np.where(bad, 0, r)).astype(np.int32)
    return r.astype(np.int64).astype(T.np)


def _slices(x: np.ndarray, axis: int, n_ranges: int, what: str) -> list[tuple]:
    """Index tuples of the slices along `axis` (-1: the whole tensor as one slice)."""
    if axis == -1:
        if n_ranges != 1:
            raise ExecutionError(f"{what}: min and max must be scalars when axis is -1, got {n_ranges} values")
        return [(Ellipsis,)]
    if not 0 <= axis < x.ndim:
        raise ExecutionError(f"{what}: axis {axis} out of range for an input of rank {x.ndim}")
    if n_ranges != x.shape[axis]:
        raise ExecutionError(f"{what}: min/max must have {x.shape[axis]} elements (dimension {axis} of the "
                             f"input), got {n_ranges}")
    return [(slice(None),) * axis + (i,) for i in range(x.shape[axis])]


def _widened(lo: F32, hi: F32, ensure_minimum_range: float, what: str) -> tuple[F32, F32]:
    if hi < lo:
        raise ExecutionError(f"{what}: input_max_range must be larger than input_min_range")
    min_range = min(F32(0), lo)
    eps = max(F32(1), max(abs(lo), abs(hi))) * F32(ensure_minimum_range)
    max_range = max(F32(0), max(hi, F32(min_range + eps)))
    return F32(min_range), F32(max_range)


# --------------------------------------------------------------------------- QuantizeV2 / Dequantize

@op("QuantizeV2", inputs=["input", "min_range", "max_range"],
    attrs={"T": REQUIRED, "mode": "MIN_COMBINED", "round_mode": "HALF_AWAY_FROM_ZERO", "narrow_range": False,
           "axis": -1, "ensure_minimum_range": 0.01})
def quantize_v2(input, min_range, max_range, *, T, mode, round_mode, narrow_range, axis, ensure_minimum_range):
    what = "QuantizeV2"
    x = np.asarray(input, dtype=F32)
    lo_all = np.asarray(min_range, dtype=F32).reshape(-1)
    hi_all = np.asarray(max_range, dtype=F32).reshape(-1)
    if lo_all.size != hi_all.size or lo_all.size == 0:
        raise ExecutionError(f"{what}: min_range and max_range must have the same, non-zero number of elements")
    if round_mode == "HALF_TO_EVEN" and mode != "SCALED":
        raise ExecutionError(f"{what}: Round mode 'HALF_TO_EVEN' only supported for mode 'SCALED', but mode is "
                             f"'{mode}'.")
    per_axis = axis != -1 and x.ndim > axis >= 0 and x.shape[axis] != 1
    if per_axis and mode == "MIN_FIRST":
        raise ExecutionError(f"{what}: MIN_FIRST mode is not implemented for Quantize with axis != -1.")
    slices = _slices(x, axis if per_axis else -1, lo_all.size if per_axis else 1, what) if per_axis \
        else [(Ellipsis,)]
    out = np.empty(x.shape, dtype=T.np)
    out_min = np.empty(len(slices), dtype=F32)
    out_max = np.empty(len(slices), dtype=F32)
    for i, idx in enumerate(slices):
        out[idx], out_min[i], out_max[i] = _quantize(x[idx], lo_all[i], hi_all[i], T, mode, round_mode,
                                                     narrow_range, ensure_minimum_range, what)
    if per_axis:
        return out, out_min.reshape(np.shape(min_range)), out_max.reshape(np.shape(max_range))
    return out, out_min.reshape(()), out_max.reshape(())


def _quantize(x, lo, hi, T, mode, round_mode, narrow_range, ensure_minimum_range, what):
    qmin, qmax = _limits(T, what)
    min_range, max_range = _widened(F32(lo), F32(hi), ensure_minimum_range, what)
    if mode == "MIN_FIRST":
        return _quantize_min_first(x, min_range, max_range, T, qmin, qmax), min_range, max_range
    if mode == "MIN_COMBINED":
        scale = F32((float(qmax) - float(qmin)) / float(F32(max_range - min_range)))
        shifted = (np.minimum(np.maximum(x, min_range), max_range) - min_range) * scale
        if qmin < 0:
            half = F32((float(qmax) - float(qmin) + 1) / 2.0)
            return _to_int(_round_half_away(shifted - half), T), min_range, max_range
        return _to_int(np.trunc(shifted + F32(0.5)), T), min_range, max_range
    if mode != "SCALED":
        raise ExecutionError(f"{what}: Mode string must be 'MIN_COMBINED', 'MIN_FIRST', or 'SCALED', is '{mode}'")
    lo_out = qmin + (1 if narrow_range else 0)
    from_min = F32(lo_out) / min_range if lo_out * float(min_range) > 0 else np.finfo(F32).max
    from_max = F32(qmax) / max_range if qmax * float(max_range) > 0 else np.finfo(F32).max
    scale = F32(min(from_min, from_max))
    min_range, max_range = F32(F32(lo_out) / scale), F32(F32(qmax) / scale)
    scaled = np.minimum(np.maximum(x, min_range), max_range) * scale
    r = np.rint(scaled) if round_mode == "HALF_TO_EVEN" else _round_half_away(scaled)
    return _to_int(r, T), min_range, max_range


def _quantize_min_first(x, lo, hi, T, qmin, qmax):
    steps = 1 << (np.dtype(T.np).itemsize * 8)
    scale = F32(0.0) if hi == lo else F32((steps - 1.0) / float(F32(hi - lo)))
    min_scaled = F32(_round_half_away(np.asarray(lo * scale, dtype=F32)))
    q = _round_half_away(x * scale).astype(F32) - F32(min_scaled - F32(qmin))
    lower = max(F32(qmin), F32(-2.147483648e9))
    upper = min(F32(qmax), F32(2.147483520e9))
    return np.minimum(np.maximum(q, lower), upper).astype(np.int64).astype(T.np)


@op("Dequantize", inputs=["input", "min_range", "max_range"],
    attrs={"T": REQUIRED, "mode": "MIN_COMBINED", "narrow_range": False, "axis": -1, "dtype": dtypes.float32})
def dequantize(input, min_range, max_range, *, T, mode, narrow_range, axis, dtype):
    what = "Dequantize"
    if dtype.name not in ("float32", "bfloat16"):
        raise ExecutionError(f"{what}: Output type must be bfloat16 or float, is '{dtype.name}'")
    if dtype.name == "bfloat16" and mode != "MIN_COMBINED":
        raise ExecutionError(f"{what}: When output type is bfloat16, Mode string must be 'MIN_COMBINED', is "
                             f"'{mode}'")
    q = np.asarray(input)
    if axis >= max(q.ndim, 0) and axis != -1:
        raise ExecutionError(f"{what}: Axis must be less than input dimension({q.ndim}), got {axis}")
    lo_all = np.asarray(min_range, dtype=F32).reshape(-1)
    hi_all = np.asarray(max_range, dtype=F32).reshape(-1)
    n = 1 if axis == -1 else q.shape[axis]
    if lo_all.size != n or hi_all.size != n:
        raise ExecutionError(f"{what}: input_min_tensor and input_max_tensor must have as many elements as input "
                             f"on the dequantization axis ({axis}), got {lo_all.size} and {hi_all.size}, "
                             f"expected {n}")
    if n > 1 and mode == "MIN_FIRST":
        raise ExecutionError(f"{what}: MIN_FIRST mode is not implemented for Dequantize with axis != -1.")
    qmin, qmax = _limits(T, what)
    out = np.empty(q.shape, dtype=F32)
    for i, idx in enumerate(_slices(q, axis, n, what) if n > 1 else [(Ellipsis,)]):
        out[idx] = _dequantize(q[idx], lo_all[i], hi_all[i], T, qmin, qmax, mode, narrow_range, what)
    return dtypes.round_to_bfloat16(out) if dtype.name == "bfloat16" else out


def _dequantize(q, lo, hi, T, qmin, qmax, mode, narrow_range, what):
    qf = np.asarray(q).astype(F32)
    if mode == "MIN_COMBINED":
        half = F32(0.0) if qmin == 0 else F32((F32(qmax) - F32(qmin) + F32(1)) / F32(2))
        scale = F32((hi - lo) / (F32(qmax) - F32(qmin)))
        return (qf + half) * scale + lo
    if mode == "MIN_FIRST":
        steps = 1 << (np.dtype(T.np).itemsize * 8)
        scale = F32((float(hi) - float(lo)) / (steps - 1.0))
        if hi == lo:
            min_rounded = lo
        else:
            min_rounded = F32(_round_half_away(np.asarray(lo / scale, dtype=F32)) * scale)
        return F32(min_rounded - F32(qmin) * scale) + qf * scale
    if mode == "SCALED":
        lo_out = qmin + (1 if narrow_range else 0)
        if qmin == 0:
            scale = F32(hi / F32(qmax))
        else:
            scale = max(F32(lo / F32(lo_out)), F32(hi / F32(qmax)))
        return qf * scale
    raise ExecutionError(f"{what}: Mode string must be 'MIN_COMBINED', 'MIN_FIRST', or 'SCALED', is '{mode}'")
