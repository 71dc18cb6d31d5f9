"""Float comparisons for results that are not exactly rounded.

NumPy picks a SIMD path per CPU (SSE, AVX2, AVX-512) for transcendental functions, powers and reductions,
and OpenBLAS picks its kernels per CPU, so such results may differ in the last bits between two machines of
the same kind. Tests state how far a result may be from the reference in ULPs (units in the last place of
the result's dtype), or with a relative tolerance. Exact equality (np.testing.assert_array_equal) stays for
exactly rounded work only: casts, integer ops, copies, bit-exact decoders.
"""
from __future__ import annotations

import numpy as np

_INT_VIEW = {np.dtype(np.float16): np.int16, np.dtype(np.float32): np.int32, np.dtype(np.float64): np.int64}


def _ordered(x: np.ndarray) -> np.ndarray:
    """Each float's position on the number line as an integer: adjacent floats differ by 1, -0.0 == +0.0."""
    bits = x.view(_INT_VIEW[x.dtype]).astype(np.int64)
    sign = np.int64(1) << (8 * x.dtype.itemsize - 1)
    return np.where(bits < 0, -(bits + sign), bits)


def ulp_distance(actual, expected) -> np.ndarray:
    """How many representable values of `actual`'s float dtype lie between the two (element-wise);
    `expected` is rounded to that dtype first. NaN against NaN and equal infinities count as 0."""
    a = np.asarray(actual)
    if a.dtype not in _INT_VIEW:
        raise TypeError(f"ulp_distance needs float16/32/64 values, got {a.dtype}")
    e = np.asarray(expected, dtype=a.dtype)
    a, e = np.broadcast_arrays(a, e)
    dist = np.abs(_ordered(np.ascontiguousarray(a)) - _ordered(np.ascontiguousarray(e)))
    both_nan = np.isnan(a) & np.isnan(e)
    one_nan = np.isnan(a) ^ np.isnan(e)
    dist = np.where(both_nan, 0, dist)
    return np.where(one_nan, np.iinfo(np.int64).max, dist)


def assert_ulp_close(actual, expected, max_ulp: int = 4, *, atol: float = 0.0, dtype=None) -> None:
    """Assert `actual` is within `max_ulp` ULPs of `expected` element-wise (or within `atol`, for values
    near zero where ULPs are tiny). Shapes must match; the dtype must be `dtype` when given."""
    a = np.asarray(actual)
    if dtype is not None and a.dtype != np.dtype(dtype):
        raise AssertionError(f"dtype {a.dtype}, expected {np.dtype(dtype)}")
    e = np.asarray(expected)
    if e.shape != a.shape and e.size != 1:
        raise AssertionError(f"shape {a.shape}, expected {e.shape}")
    dist = ulp_distance(a, e)
    ok = dist <= max_ulp
    if atol:
        ok |= np.abs(a.astype(np.float64) - np.asarray(e, np.float64)) <= atol
    if not np.all(ok):
        bad = np.argwhere(~ok)
        idx = tuple(bad[0]) if a.ndim else ()
        e_b = np.broadcast_to(np.asarray(e, a.dtype), a.shape)
        raise AssertionError(
            f"{len(bad)} of {a.size} elements differ by more than {max_ulp} ULP"
            f"{f' and atol {atol}' if atol else ''}; first at {idx}: {a[idx]!r} vs {e_b[idx]!r} "
            f"({int(dist[idx])} ULP; worst {int(dist[~ok].max())} ULP)")
