"""FFT kernels over the innermost 1, 2 or 3 dimensions (or given axes), via numpy.fft.

numpy.fft computes in double precision; results are cast to TF's output dtype (complex64 for
float32/complex64 inputs), so they are at least as accurate as TensorFlow's.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes
from ..errors import ExecutionError
from .registry import op

_COMPLEX_OF = {np.dtype(np.float32): np.complex64, np.dtype(np.float64): np.complex128}
_REAL_OF = {np.dtype(np.complex64): np.float32, np.dtype(np.complex128): np.float64}


def _complex_input(x, rank: int, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind != "c":
        raise ExecutionError(f"{what}: input must be complex64 or complex128, got {a.dtype}")
    if a.ndim < rank:
        raise ExecutionError(f"{what}: input must have rank of at least {rank} but got shape {list(a.shape)}")
    return a


def _lengths(fft_length, rank: int, what: str) -> list[int]:
    n = [int(v) for v in np.asarray(fft_length).reshape(-1).tolist()]
    if len(n) != rank:
        raise ExecutionError(f"{what}: fft_length must have {rank} elements, got {len(n)}")
    if any(v < 0 for v in n):
        raise ExecutionError(f"{what}: fft_length must be non-negative, got {n}")
    return n


def _check_lengths(a: np.ndarray, axes: list[int], needed: list[int]) -> None:
    for ax, n in zip(axes, needed):
        if 0 < a.shape[ax] < n:   # TF skips the check on empty dimensions
            raise ExecutionError(f"Input dimension {ax} must have length of at least {n} but got: {a.shape[ax]}")


def _fit(a: np.ndarray, axes: list[int], sizes: list[int]) -> np.ndarray:
    """Crop or zero-pad `a` along `axes` to `sizes` (what TF does with fft_length)."""
    index = [slice(None)] * a.ndim
    pad = [(0, 0)] * a.ndim
    for ax, n in zip(axes, sizes):
        index[ax] = slice(0, n)
        pad[ax] = (0, max(0, n - a.shape[ax]))
    a = a[tuple(index)]
    return np.pad(a, pad) if any(p != (0, 0) for p in pad) else a


def _complex_fft(x, rank: int, inverse: bool, what: str) -> np.ndarray:
    a = _complex_input(x, rank, what)
    axes = list(range(a.ndim - rank, a.ndim))
    if a.size == 0:
        return a.copy()
    out = np.fft.ifftn(a, axes=axes) if inverse else np.fft.fftn(a, axes=axes)
    return out.astype(a.dtype)


def _real_fft(x, fft_length, rank: int, Tcomplex: dtypes.DType | None, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind != "f":
        raise ExecutionError(f"{what}: input must be float32 or float64, got {a.dtype}")
    if a.ndim < rank:
        raise ExecutionError(f"{what}: input must have rank of at least {rank} but got shape {list(a.shape)}")
    sizes = _lengths(fft_length, rank, what)
    axes = list(range(a.ndim - rank, a.ndim))
    out_dtype = Tcomplex.np if Tcomplex is not None else _COMPLEX_OF[a.dtype]
    _check_lengths(a, axes, sizes)
    if a.size == 0:
        return np.zeros(a.shape[:a.ndim - rank] + tuple(sizes[:-1]) + (sizes[-1] // 2 + 1,), out_dtype)
    fitted = _fit(a, axes, sizes)
    out_shape = list(fitted.shape)
    out_shape[-1] = sizes[-1] // 2 + 1 if sizes[-1] else 0
    if fitted.size == 0 or 0 in out_shape:
        return np.zeros(out_shape, dtype=out_dtype)
    return np.fft.rfftn(fitted, axes=axes).astype(out_dtype)


def _inverse_real_fft(x, fft_length, rank: int, Treal: dtypes.DType | None, what: str) -> np.ndarray:
    a = _complex_input(x, rank, what)
    sizes = _lengths(fft_length, rank, what)
    axes = list(range(a.ndim - rank, a.ndim))
    out_dtype = Treal.np if Treal is not None else _REAL_OF[a.dtype]
    inner = sizes[:-1] + [sizes[-1] // 2 + 1 if sizes[-1] else 0]
    _check_lengths(a, axes, inner)
    if a.size == 0:
        return np.zeros(a.shape[:a.ndim - rank] + tuple(sizes), out_dtype)
    fitted = _fit(a, axes, inner)
    out_shape = list(a.shape[:a.ndim - rank]) + sizes
    if fitted.size == 0 or 0 in out_shape:
        return np.zeros(out_shape, dtype=out_dtype)
    return np.fft.irfftn(fitted, s=sizes, axes=axes).astype(out_dtype)


def _register(rank: int, suffix: str) -> None:
    @op("FFT" + suffix, inputs=["input"])
    def fft(input):
        return _complex_fft(input, rank, False, "FFT" + suffix)

    @op("IFFT" + suffix, inputs=["input"])
    def ifft(input):
        return _complex_fft(input, rank, True, "IFFT" + suffix)

    @op("RFFT" + suffix, inputs=["input", "fft_length"], attrs={"Tcomplex": dtypes.complex64})
    def rfft(input, fft_length, *, Tcomplex):
        return _real_fft(input, fft_length, rank, Tcomplex, "RFFT" + suffix)

    @op("IRFFT" + suffix, inputs=["input", "fft_length"], attrs={"Treal": dtypes.float32})
    def irfft(input, fft_length, *, Treal):
        return _inverse_real_fft(input, fft_length, rank, Treal, "IRFFT" + suffix)


for _rank, _suffix in ((1, ""), (2, "2D"), (3, "3D")):
    _register(_rank, _suffix)


def _nd_axes(a: np.ndarray, fft_length, axes, what: str) -> tuple[list[int], list[int]]:
    ax = [int(v) for v in np.asarray(axes).reshape(-1).tolist()]
    ax = [v + a.ndim if v < 0 else v for v in ax]
    if any(not 0 <= v < a.ndim for v in ax) or len(set(ax)) != len(ax):
        raise ExecutionError(f"{what}: invalid axes {ax} for input of rank {a.ndim}")
    n = [int(v) for v in np.asarray(fft_length).reshape(-1).tolist()]
    if len(n) != len(ax):
        raise ExecutionError(f"{what}: fft_length and axes must have the same length")
    return ax, n


def _complex_fft_nd(x, fft_length, axes, inverse: bool, what: str) -> np.ndarray:
    a = _complex_input(x, 0, what)
    ax, n = _nd_axes(a, fft_length, axes, what)
    if a.size == 0:
        return _fit(a, ax, n).copy()
    out = np.fft.ifftn(a, s=n, axes=ax) if inverse else np.fft.fftn(a, s=n, axes=ax)
    return out.astype(a.dtype)


@op("FFTND", inputs=["input", "fft_length", "axes"])
def fft_nd(input, fft_length, axes):
    return _complex_fft_nd(input, fft_length, axes, False, "FFTND")


@op("IFFTND", inputs=["input", "fft_length", "axes"])
def ifft_nd(input, fft_length, axes):
    return _complex_fft_nd(input, fft_length, axes, True, "IFFTND")


@op("RFFTND", inputs=["input", "fft_length", "axes"], attrs={"Tcomplex": dtypes.complex64})
def rfft_nd(input, fft_length, axes, *, Tcomplex):
    a = np.asarray(input)
    ax, n = _nd_axes(a, fft_length, axes, "RFFTND")
    out_dtype = Tcomplex.np if Tcomplex is not None else _COMPLEX_OF[a.dtype]
    return np.fft.rfftn(a, s=n, axes=ax).astype(out_dtype)


@op("IRFFTND", inputs=["input", "fft_length", "axes"], attrs={"Treal": dtypes.float32})
def irfft_nd(input, fft_length, axes, *, Treal):
    a = _complex_input(input, 0, "IRFFTND")
    ax, n = _nd_axes(a, fft_length, axes, "IRFFTND")
    out_dtype = Treal.np if Treal is not None else _REAL_OF[a.dtype]
    return np.fft.irfftn(a, s=n, axes=ax).astype(out_dtype)
