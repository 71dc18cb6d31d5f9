"""TensorFlow's CPU numerics: denormals are flushed to zero. This module is the one place that rule lives.

TF's executor runs every CPU kernel with the SSE flags FTZ and DAZ set (port::ScopedFlushDenormal): an
arithmetic instruction reads a subnormal float32/float64 input as a zero of the same sign (DAZ) and writes
a subnormal result as a zero of the same sign (FTZ). So `log(sigmoid(-88.5))` is -inf in TF (the sigmoid
underflows to 0) and `sqrt(1e-40)` is 0. Observed on TF 2.21 (scripts/make_conformance.py, case `ftz`):

- flushed: float32, float64 and bfloat16 (computed in float32) inputs and results of every kernel that
  computes (the categories in FLUSHED_CATEGORIES: elementwise math, reductions, nn, linalg, image, ...);
- kept: float16 (computed in float32, whose range covers half's subnormals, and converted back exactly),
  and every kernel that only moves or selects values (Identity, Reshape, ConcatV2, GatherV2, Select, Neg,
  Abs, bitcasts, casts to bfloat16...), which copy the bits;
- Cast flushes only between float32 and float64 (the SSE conversion reads and writes with DAZ/FTZ; casts
  from and to bfloat16 and float16 are integer bit manipulations).

Kernels of those categories are wrapped at import (`install`): float32/float64 arrays going in and coming
out have their subnormals replaced by signed zeros. The check is vectorized; results of wrapped kernels and
read-only inputs (constants, variables) are remembered as clean and not checked again as inputs.
"""
from __future__ import annotations

import functools
import threading
import weakref
from dataclasses import replace
from typing import Any, Callable

import numpy as np

FLUSHED_CATEGORIES = {"math", "reduction", "nn", "linalg", "special", "image", "spectral", "segment", "rnn"}
# kernels of those categories that copy or select bits (or read only signs/classes) and so keep subnormals
PRESERVING = {"Abs", "Neg", "Select", "SelectV2", "Cast", "Real", "Imag", "Conj", "Complex", "IsNan", "IsInf",
              "IsFinite", "NextAfter", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Invert", "LeftShift", "RightShift",
              "PopulationCount", "LogicalAnd", "LogicalOr", "LogicalNot"}
# kernels whose results are some of their (flushed) inputs, or integers: not scanned, only remembered as clean
SELECTING = {"Relu", "Relu6", "MaxPool", "MaxPoolV2", "MaxPool3D", "Max", "Min", "Maximum", "Minimum",
             "ClipByValue", "Floor", "Ceil", "Round", "Rint", "Sign", "SegmentMax", "SegmentMin",
             "UnsortedSegmentMax", "UnsortedSegmentMin"}
_TINY = {np.float32: np.float32(np.finfo(np.float32).tiny), np.float64: np.float64(np.finfo(np.float64).tiny)}


_clean: dict[int, weakref.ref] = {}   # arrays known to hold no subnormal: results of flushing kernels


def _is_clean(a: np.ndarray) -> bool:
    for obj in (a, a.base):
        ref = _clean.get(id(obj)) if obj is not None else None
        if ref is not None and ref() is obj:
            return True
    return False


def _mark_clean(a: np.ndarray) -> None:
    key = id(a)
    try:
        _clean[key] = weakref.ref(a, lambda _r, k=key: _clean.pop(k, None))
    except TypeError:
        pass


def mark_clean(a: np.ndarray) -> np.ndarray:
    """Remember a kernel's result as holding no subnormal (the kernel flushed it itself); returns it."""
    _mark_clean(a)
    return a


_scratch = threading.local()
# per float type: unsigned view, magnitude mask, and the number of positive subnormal bit patterns
_BITS = {np.dtype(np.float32): (np.uint32, np.uint32(0x7FFFFFFF), np.uint32(0x007FFFFF)),
         np.dtype(np.float64): (np.uint64, np.uint64(0x7FFFFFFFFFFFFFFF), np.uint64(0x000FFFFFFFFFFFFF))}


def _subnormals(x: np.ndarray) -> np.ndarray:
    """The mask of x's subnormals: 0 < magnitude bits <= the largest subnormal, i.e. (bits - 1) < count with
    unsigned wrap-around for zeros. Computed in per-thread scratch buffers (no allocation per call)."""
    utype, magnitude, count = _BITS[x.dtype]
    key = x.dtype.char
    bufs = getattr(_scratch, key, None)
    if bufs is None or bufs[0].size < x.size:
        bufs = (np.empty(max(x.size, 1 << 16), dtype=utype), np.empty(max(x.size, 1 << 16), dtype=bool))
        setattr(_scratch, key, bufs)
    u = bufs[0][:x.size].reshape(x.shape)
    mask = bufs[1][:x.size].reshape(x.shape)
    bits = (x if x.flags.c_contiguous else x.copy(order="C")).view(utype)
    np.bitwise_and(bits, magnitude, out=u)
    np.subtract(u, utype(1), out=u)
    return np.less(u, count, out=mask)


def flush(x: Any, result: bool = False) -> Any:
    """x with float32/float64 subnormals replaced by zeros of their sign (anything else as it is). A kernel's
    `result` is remembered as clean, so it is not checked again where it is an input; so is a read-only input
    (a constant or a variable's value)."""
    if isinstance(x, np.ndarray):
        # a result is always checked: kernels reuse their output buffers, so one remembered as clean at an
        # earlier run may hold new values now
        if x.dtype not in _BITS or x.size == 0 or (not result and _is_clean(x)):
            return x
        if any(st == 0 and n > 1 for st, n in zip(x.strides, x.shape)):    # a broadcast view: check (and flush)
            core = np.array(x[tuple(slice(0, 1) if st == 0 else slice(None) for st in x.strides)])  # what it repeats
            flushed = flush(core)
            return x if flushed is core else np.broadcast_to(flushed, x.shape)
        sub = _subnormals(x)
        if sub.any():
            x = x.copy()
            x[sub] = 0 * x[sub]            # 0 * x keeps the sign
            result = True
        if result or not x.flags.writeable:
            _mark_clean(x)
        return x
    if isinstance(x, (np.float32, np.float64)) and 0 < abs(x) < _TINY[type(x)]:
        return type(x)(0.0) * x
    if isinstance(x, list) and x and isinstance(x[0], np.ndarray):
        return [flush(v, result) for v in x]
    return x


def _remember(x: Any) -> Any:
    if isinstance(x, np.ndarray) and x.dtype in _BITS:
        _mark_clean(x)
    return x


def _flushing(fn: Callable, selecting: bool = False) -> Callable:
    def finish(v):
        return _remember(v) if selecting else flush(v, True)

    @functools.wraps(fn)
    def kernel(*args, **kwargs):
        out = fn(*(flush(a) for a in args), **kwargs)
        if isinstance(out, tuple):
            return tuple(finish(v) for v in out)
        if isinstance(out, list):
            return [finish(v) for v in out]
        return finish(out)
    kernel.flushes_denormals = True
    return kernel


def _flushing_cast(fn: Callable) -> Callable:
    plain = _flushing(fn)

    @functools.wraps(fn)
    def kernel(*args, **kwargs):
        src, dst = getattr(kwargs.get("SrcT"), "name", ""), getattr(kwargs.get("DstT"), "name", "")
        both_sse = src in ("float32", "float64") and dst in ("float32", "float64")
        return (plain if both_sse else fn)(*args, **kwargs)
    kernel.flushes_denormals = True
    return kernel


def install(kernels: dict) -> None:
    """Wrap the computing kernels of `kernels` (op type -> OpSpec) so they flush denormals like TF."""
    if "Cast" in kernels and not getattr(kernels["Cast"].fn, "flushes_denormals", False):
        kernels["Cast"] = replace(kernels["Cast"], fn=_flushing_cast(kernels["Cast"].fn))
    wrapped: dict[int, Callable] = {}   # one wrapper per kernel function: aliases keep sharing theirs
    for name, spec in list(kernels.items()):
        if spec.category in FLUSHED_CATEGORIES and name not in PRESERVING \
                and not getattr(spec.fn, "flushes_denormals", False):
            fn = wrapped.setdefault(id(spec.fn), _flushing(spec.fn, selecting=name in SELECTING))
            kernels[name] = replace(spec, fn=fn)
