"""The `native` backend: the NumPy backend's prepared convolutions (numpy_conv.py) with the depthwise
convolution, im2col and the fused epilogues in a small C library (native_src/conv.c), loaded with ctypes.

The library is optional and not a Python extension: `python build.py native` (run by `build.py test`
and `build.py serve`) compiles it with the pinned Zig toolchain into native_src/. Where it is absent or
cannot load (another platform, a pip install without it, Pyodide), `available()` is False, the backend
is not registered and every step runs on NumPy. Every size passed to C is derived here from the arrays
themselves and checked against the buffers before the call.
"""
from __future__ import annotations

import os
import platform
from pathlib import Path

import numpy as np

from ..kernels import nn_ops
from ..kernels.registry import Buffers
from .base import PreparedKernel, StepSpec
from .numpy_conv import F32, Epilogue, Geometry, output, prepare_conv

LIBRARY_DIR = Path(__file__).parent / "native_src"
ENV_DISABLE = "SMLENS_NO_NATIVE"  # set (to anything but empty) to leave the library unloaded
_ACT = {None: 0, "Relu": 1, "Relu6": 2}


def library_name() -> str:
    """The file build.py writes for this machine: AVX2+FMA (x86-64-v3) where the CPU has them, else baseline."""
    return "libsmlens_native_v3.so" if _has_avx2_fma() else "libsmlens_native.so"


def _has_avx2_fma() -> bool:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx2", "fma", "bmi2", "movbe"} <= flags
    except OSError:
        pass
    return False


def _address(a: np.ndarray | None) -> int | None:
    return None if a is None else a.__array_interface__["data"][0]


class NativeKernels:
    """The library's two entry points, with their arguments checked."""

    def __init__(self, lib):
        import ctypes

        p, i64 = ctypes.c_void_p, ctypes.c_int64
        self._epilogue = lib.smlens_epilogue
        self._epilogue.argtypes = [p, i64, i64, p, p, ctypes.c_int]
        self._epilogue.restype = None
        self._depthwise = lib.smlens_depthwise
        self._depthwise.argtypes = [p, p, p, p, p, p, ctypes.c_int]
        self._depthwise.restype = None
        self._im2col = lib.smlens_im2col
        self._im2col.argtypes = [p, p, p, i64, i64]
        self._im2col.restype = None

    def epilogue(self, y: np.ndarray, bias: np.ndarray | None, residual: np.ndarray | None,
                 activation: str | None) -> None:
        """In place on y (contiguous float32, channels last): + bias, + residual, activation, flush."""
        channels = y.shape[-1]
        _check(y, y.shape, writeable=True)
        _check(bias, (channels,))
        _check(residual, y.shape)
        self._epilogue(_address(y), y.size // channels, channels, _address(bias), _address(residual),
                       _ACT[activation])

    def depthwise(self, x: np.ndarray, filt: np.ndarray, strides: tuple, pads_before: tuple, out: np.ndarray,
                  bias: np.ndarray | None, residual: np.ndarray | None, activation: str | None) -> None:
        """out = activation(depthwise(x, filt) + bias + residual); filt (KH, KW, C, 1), zero padding."""
        N, H, W, C = x.shape
        KH, KW = filt.shape[:2]
        _, OH, OW, _ = out.shape
        sh, sw = strides
        pt, pl = pads_before
        if filt.shape != (KH, KW, C, 1) or out.shape != (N, OH, OW, C) or min(sh, sw) < 1 or min(pt, pl) < 0:
            raise ValueError(f"depthwise: inconsistent shapes x {x.shape}, filter {filt.shape}, out {out.shape}")
        for a, shape in ((x, x.shape), (filt, filt.shape), (bias, (C,)), (residual, out.shape)):
            _check(a, shape)
        _check(out, out.shape, writeable=True)
        shape = np.array([N, H, W, C, KH, KW, sh, sw, pt, pl, OH, OW], np.int64)
        self._depthwise(_address(shape), _address(x), _address(filt), _address(out), _address(bias),
                        _address(residual), _ACT[activation])


    def im2col(self, x: np.ndarray, kernel: tuple, strides: tuple, pads_before: tuple, outs: tuple,
               patches: np.ndarray, rows: tuple) -> None:
        """Patch-matrix rows of output rows [rows[0], rows[1]) (counted over batch x output height) of a
        convolution of x (N, H, W, C) with a (KH, KW) window and zero padding: patches[(r, ow), (i, j, c)]."""
        N, H, W, C = x.shape
        (KH, KW), (OH, OW), (r0, r1) = kernel, outs, rows
        if not (0 <= r0 <= r1 <= N * OH) or patches.shape[0] < (r1 - r0) * OW or patches.shape[1:] != (KH * KW * C,) \
                or min(KH, KW, *strides) < 1 or min(pads_before) < 0:
            raise ValueError(f"im2col: inconsistent shapes x {x.shape}, window {kernel}, patches {patches.shape}")
        _check(x, x.shape)
        _check(patches, patches.shape, writeable=True)
        shape = np.array([N, H, W, C, KH, KW, *strides, *pads_before, OH, OW], np.int64)
        self._im2col(_address(shape), _address(x), _address(patches), r0, r1)


def _check(a: np.ndarray | None, shape: tuple, writeable: bool = False) -> None:
    if a is None:
        return
    if a.dtype != F32 or a.shape != tuple(shape) or not a.flags.c_contiguous or (writeable and not a.flags.writeable):
        raise ValueError(f"native kernel argument {a.shape} {a.dtype} is not a contiguous float32 {shape}")


class NativeBackend:
    name = "native"
    host = True  # numpy arrays in place: no transfers to or from the NumPy backend

    def __init__(self, kernels: NativeKernels):
        self.kernels = kernels

    def kernel(self, spec: StepSpec) -> PreparedKernel | None:
        return prepare_conv(spec, conv=self._conv, depthwise=self._depthwise)

    def upload(self, array: np.ndarray) -> np.ndarray:
        return array

    def download(self, tensor: np.ndarray) -> np.ndarray:
        return tensor

    def free(self, tensor) -> None:
        return None

    def _conv(self, g: Geometry, x: np.ndarray, residual, epilogue: Epilogue, buffers: Buffers) -> np.ndarray:
        """1x1: one GEMM, then the C epilogue (blocking it measured slower: BLAS packs the weights at every
        call). k x k: blocks of output rows whose patches C copies (the reference kernel's im2col blocks),
        each block's epilogue run while it is in cache. The GEMM is NumPy's (BLAS)."""
        outs, pads = g.sizes(x.shape)
        y = output(buffers, g.out_shape(x.shape))
        if not y.size:
            return y
        N, C, O = x.shape[0], x.shape[3], g.out_channels
        (OH, OW), K = outs, g.kernel[0] * g.kernel[1] * C
        if g.is_matmul(pads):
            rows, a, wm = N * OH, x.reshape(-1, C), g.matrix
        else:
            rows = max(nn_ops._PATCH_BLOCK_BYTES // max(1, OW * K * 4), -(-nn_ops._MIN_PATCH_ROWS // OW))
            rows = max(1, min(N * OH, rows))
            nn_ops._guard_size(rows * OW * K, 4, "convolution patches")
            a, wm = buffers.get("patches", (rows * OW, K), F32), g.filter.reshape(K, O)
        y2 = y.reshape(N * OH * OW, O)
        res2 = None if residual is None else residual.reshape(N * OH * OW, O)
        for r in range(0, N * OH, rows):
            r1 = min(r + rows, N * OH)
            lo, hi = r * OW, r1 * OW
            if g.is_matmul(pads):
                np.matmul(a[lo:hi], wm, out=y2[lo:hi])
            else:
                self.kernels.im2col(x, g.kernel, g.strides, (pads[0][0], pads[1][0]), (OH, OW), a, (r, r1))
                np.matmul(a[:hi - lo], wm, out=y2[lo:hi])
            self.kernels.epilogue(y2[lo:hi], epilogue.bias, None if res2 is None else res2[lo:hi],
                                  epilogue.activation)
        return y

    def _depthwise(self, g: Geometry, x: np.ndarray, residual, epilogue: Epilogue, buffers: Buffers) -> np.ndarray:
        """Depthwise convolution and its epilogue in one C call (zero padding read in place)."""
        _, pads = g.sizes(x.shape)
        out = output(buffers, g.out_shape(x.shape))
        self.kernels.depthwise(x, g.filter, g.strides, (pads[0][0], pads[1][0]), out, epilogue.bias, residual,
                               epilogue.activation)
        return out


def _load() -> NativeBackend | None:
    if os.environ.get(ENV_DISABLE) or platform.system() != "Linux" or platform.machine() != "x86_64":
        return None
    path = LIBRARY_DIR / library_name()
    if not path.is_file():
        return None
    try:
        import ctypes  # here, not at the top: Pyodide never gets this far

        return NativeBackend(NativeKernels(ctypes.CDLL(str(path), mode=os.RTLD_NOW)))
    except (ImportError, OSError, AttributeError):
        return None


BACKEND = _load()


def available() -> bool:
    return BACKEND is not None
