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
out have their subnormals replaced by signed zeros. The check is vectorized and allocates only when a
subnormal is present.
"""
from __future__ import annotations

import functools
from dataclasses import replace
from typing import Any, Callable

import numpy as np

FLUSHED_CATEGORIES = {"math", "reduction", "nn", "linalg", "special", "image", "spectral", "segment", "rnn"}
# kernels of those categories that copy or select bits (or read only signs/classes) and so keep subnormals
PRESERVING = {"Abs", "Neg", "Select", "SelectV2", "Cast", "Real", "Imag", "Conj", "Complex", "IsNan", "IsInf",
              "IsFinite", "NextAfter", "BitwiseAnd", "BitwiseOr", "BitwiseXor", "Invert", "LeftShift", "RightShift",
              "PopulationCount", "LogicalAnd", "LogicalOr", "LogicalNot"}
_TINY = {np.dtype(np.float32): np.float32(np.finfo(np.float32).tiny),
         np.dtype(np.float64): np.float64(np.finfo(np.float64).tiny)}


def flush(x: Any) -> Any:
    """x with float32/float64 subnormals replaced by zeros of their sign (anything else as it is)."""
    if isinstance(x, np.ndarray):
        tiny = _TINY.get(x.dtype)
        if tiny is None or x.size == 0:
            return x
        if any(st == 0 and n > 1 for st, n in zip(x.strides, x.shape)):    # a broadcast view: check (and flush) the values it repeats, not every copy
            core = np.array(x[tuple(slice(0, 1) if st == 0 else slice(None) for st in x.strides)])
            flushed = flush(core)
            return x if flushed is core else np.broadcast_to(flushed, x.shape)
        small = np.abs(x) < tiny            # zeros too: replacing them by themselves is harmless
        if not small.any():
            return x
        out = x.copy()
        out[small] = 0 * out[small]         # 0 * x keeps the sign
        return out
    if isinstance(x, (np.float32, np.float64)) and 0 < abs(x) < _TINY[np.dtype(type(x))]:
        return type(x)(0.0) * x
    if isinstance(x, list) and x and isinstance(x[0], np.ndarray):
        return [flush(v) for v in x]
    return x


def _flushing(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def kernel(*args, **kwargs):
        out = fn(*(flush(a) for a in args), **kwargs)
        if isinstance(out, tuple):
            return tuple(flush(v) for v in out)
        if isinstance(out, list):
            return [flush(v) for v in out]
        return flush(out)
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
            fn = wrapped.setdefault(id(spec.fn), _flushing(spec.fn))
            kernels[name] = replace(spec, fn=fn)
