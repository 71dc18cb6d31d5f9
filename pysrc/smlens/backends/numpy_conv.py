"""The NumPy backend's prepared convolutions: float32 NHWC Conv2D / DepthwiseConv2dNative and their fused
forms (`_FusedConv2D`, `_FusedDepthwiseConv2dNative` with BiasAdd, a residual Add, Relu or Relu6) whose
filter (and bias) are plan constants.

They compute what the reference kernels in `kernels/nn_ops.py` compute, in the same order of operations,
but decide at plan time what the reference decides at every call (attrs, geometry, weight layout), and
run the epilogue on long rows: NumPy's loops are several times faster on a contiguous row of thousands
of elements than broadcasting a bias of C channels over rows of C. Denormals are flushed as TF's CPU
kernels flush them (kernels/ftz.py): inputs are read with DAZ, and the epilogue writes no subnormal
result (after Relu/Relu6 the flush is folded into the clamp). A stride-2 depthwise convolution reads
its input split into even and odd columns, so that its einsum also runs on long rows.
Anything else is declined and runs on the reference kernel.
"""
from __future__ import annotations

import threading
from typing import Callable

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..kernels import ftz, nn_ops
from ..kernels.registry import KERNELS, Buffers, prepare
from .base import PreparedKernel, StepSpec

F32 = np.dtype(np.float32)
TINY = np.float32(np.finfo(np.float32).tiny)
ROW = 16384  # length of the constant rows the epilogue works against
CONV_OPS = {"Conv2D", "_FusedConv2D"}
DEPTHWISE_OPS = {"DepthwiseConv2dNative", "_FusedDepthwiseConv2dNative"}
# the fused op lists prepared here: BiasAdd, then a residual Add, then one activation
_EPILOGUES = {(), ("BiasAdd",), ("BiasAdd", "Relu"), ("BiasAdd", "Relu6"), ("BiasAdd", "Add"),
              ("BiasAdd", "Add", "Relu"), ("BiasAdd", "Add", "Relu6"), ("Relu",), ("Relu6",)}


def prepare_conv(spec: StepSpec, conv: Callable | None = None, depthwise: Callable | None = None
                 ) -> PreparedKernel | None:
    """A prepared kernel for a convolution step, or None (the step then runs on the reference kernel).
    `conv` / `depthwise` compute a step's result, epilogue included: (geometry, x, residual, epilogue,
    buffers) -> y; NumPy's by default (the native backend passes its own)."""
    if spec.op not in CONV_OPS and spec.op not in DEPTHWISE_OPS:
        return None
    geometry = Geometry.of(spec)
    ops = tuple(str(o) for o in spec.attrs.get("fused_ops", ())) if spec.op.startswith("_Fused") else ()
    n_args = len(spec.in_dtypes) - 2
    if geometry is None or ops not in _EPILOGUES or n_args != ops.count("BiasAdd") + ops.count("Add") \
            or any(d is not None and np.dtype(d) != F32 for d in spec.in_dtypes):
        return None
    bias = spec.consts.get(2) if "BiasAdd" in ops else None
    if "BiasAdd" in ops and (bias is None or bias.shape != (geometry.out_channels,)):
        return None
    epilogue = Epilogue(bias, next((o for o in ops if o.startswith("Relu")), None))
    reference = prepare(KERNELS[spec.op], spec.attrs, len(spec.in_dtypes))
    compute = (depthwise or _depthwise) if spec.op in DEPTHWISE_OPS else (conv or _conv)
    return _kernel(geometry, epilogue, compute, reference, captured={1, 2} if bias is not None else {1})


def _kernel(geometry: "Geometry", epilogue: "Epilogue", compute: Callable, reference: Callable,
            captured: set) -> PreparedKernel:
    buffers = Buffers()
    filt, bias = geometry.filter, epilogue.bias

    def fn(x, residual=None):
        if x.__class__ is not np.ndarray or x.dtype != F32 or x.ndim != 4 or x.shape[3] != geometry.in_channels \
                or (residual is not None and (residual.__class__ is not np.ndarray or residual.dtype != F32)):
            return reference(*_full_inputs(x, filt, bias, residual))  # the reference kernel's checks and errors
        shape = geometry.out_shape(x.shape)
        if residual is not None and residual.shape != shape:
            return reference(*_full_inputs(x, filt, bias, residual))
        residual = None if residual is None else np.ascontiguousarray(ftz.flush(residual))
        y = compute(geometry, np.ascontiguousarray(ftz.flush(x)), residual, epilogue, buffers)
        return ftz.mark_clean(y)
    return PreparedKernel(fn, frozenset(captured))


def _full_inputs(x, filt, bias, residual) -> list:
    return [x, filt] + [a for a in (bias, residual) if a is not None]


class Geometry:
    """A convolution's attrs decoded once: strides, padding rule, the filter in float32."""

    def __init__(self, filt: np.ndarray, strides: tuple, padding: str, explicit, depthwise: bool):
        self.filter = filt
        self.kernel = filt.shape[:2]
        self.strides = strides
        self.padding = padding
        self.explicit = explicit
        self.in_channels = filt.shape[2]
        self.out_channels = filt.shape[2] if depthwise else filt.shape[3]
        self.pointwise = self.kernel == (1, 1) and not depthwise
        self.matrix = filt.reshape(filt.shape[2], -1) if self.pointwise else None  # 1x1: (in, out) channels
        self._memo: dict = {}

    @classmethod
    def of(cls, spec: StepSpec) -> "Geometry | None":
        a = spec.attrs
        filt = spec.consts.get(1)
        depthwise = spec.op in DEPTHWISE_OPS
        if filt is None or filt.dtype != F32 or filt.ndim != 4 or str(a.get("data_format")) != "NHWC" \
                or list(a.get("dilations", [1, 1, 1, 1])) != [1, 1, 1, 1] or (depthwise and filt.shape[3] != 1):
            return None  # (channel multipliers other than 1 too)
        strides = [int(v) for v in a.get("strides", ())]
        if len(strides) != 4 or strides[0] != 1 or strides[3] != 1 or min(strides) < 1:
            return None
        padding = str(a.get("padding"))
        explicit = None
        if padding == "EXPLICIT":
            vals = [int(v) for v in a.get("explicit_paddings", ())]
            if len(vals) != 8 or any(vals[:2]) or any(vals[6:]) or min(vals) < 0:
                return None
            explicit = [(vals[2], vals[3]), (vals[4], vals[5])]
        elif padding not in ("SAME", "VALID"):
            return None
        return cls(np.ascontiguousarray(ftz.flush(filt)), (strides[1], strides[2]), padding, explicit, depthwise)

    def sizes(self, shape: tuple):
        """(output sizes, paddings) for an input shape, by TF's rules (memoized per shape)."""
        key = shape[1:3]
        r = self._memo.get(key)
        if r is None:
            r = self._memo[key] = nn_ops._window_geometry(key, self.kernel, self.strides, (1, 1), self.padding,
                                                          self.explicit)
        return r

    def out_shape(self, shape: tuple) -> tuple:
        outs, _ = self.sizes(shape)
        return (shape[0], outs[0], outs[1], self.out_channels)

    def is_matmul(self, pads) -> bool:
        """1x1 window, stride 1, no padding: the input itself is the GEMM's left matrix."""
        return self.pointwise and self.strides == (1, 1) and pads == [(0, 0), (0, 0)]


def output(buffers: Buffers, shape: tuple) -> np.ndarray:
    """The step's float32 result buffer (reused between runs once the previous result is dead)."""
    nn_ops._guard_size(shape[0] * shape[1] * shape[2] * shape[3], 4, "convolution output")
    return buffers.get("out", tuple(shape), F32)


def _conv(g: Geometry, x: np.ndarray, residual, epilogue: "Epilogue", buffers: Buffers) -> np.ndarray:
    outs, pads = g.sizes(x.shape)
    if g.is_matmul(pads):
        y = output(buffers, g.out_shape(x.shape))
        np.matmul(x.reshape(-1, x.shape[3]), g.matrix, out=y.reshape(-1, g.out_channels))
    else:
        y = nn_ops._conv_forward(x, g.filter, g.strides, (1, 1), pads, outs, buffers)
    epilogue.apply(y, residual)
    return y


def _depthwise(g: Geometry, x: np.ndarray, residual, epilogue: "Epilogue", buffers: Buffers) -> np.ndarray:
    outs, pads = g.sizes(x.shape)
    if g.strides[1] == 2 and outs[0] * outs[1] and x.shape[0]:
        y = _depthwise_w2(g, x, outs, pads, buffers)
    else:
        y = nn_ops._depthwise_forward(x, g.filter, g.strides, (1, 1), pads, outs, buffers)
    epilogue.apply(y, residual)
    return y


def _depthwise_w2(g: Geometry, x: np.ndarray, outs, pads, buffers: Buffers) -> np.ndarray:
    """Depthwise convolution with width stride 2: the padded input is stored as its even and odd
    columns, D[n, h, parity, q, c] = padded[n, h, 2q + parity, c]. Tap j of output column ow reads
    D[.., j % 2, ow + j // 2, ..], so for either parity the (ow, c) pairs form one contiguous run."""
    N, H, W, C = x.shape
    (OH, OW), ((pt, pb), (pl, _)) = outs, pads
    KH, KW = g.kernel
    Q = OW + (KW - 1) // 2
    nn_ops._guard_size(N * (H + pt + pb) * 2 * Q * C, 4, "depthwise convolution input")
    d = buffers.get("deinterleaved", (N, H + pt + pb, 2, Q, C), F32, zero=True)  # its padding stays zero
    for parity in (0, 1):
        w0 = (parity - pl) % 2                           # first input column landing on this parity
        cols = range(w0, min(W, 2 * Q - pl), 2)
        if len(cols):
            q0 = (w0 + pl) // 2
            d[:, pt:pt + H, parity, q0:q0 + len(cols)] = x[:, :, w0:cols[-1] + 1:2]
    out = output(buffers, (N, OH, OW, C))
    out3 = out.reshape(N, OH, OW * C)
    sN, sH, sP, sQ, sC = d.strides
    for parity in (0, 1):
        taps = (KW + 1 - parity) // 2
        if not taps:
            continue
        view = as_strided(d[:, :, parity], (N, OH, KH, taps, OW * C), (sN, sH * g.strides[0], sH, sQ, sC),
                          writeable=False)
        wt = _tiled_taps(g, parity, OW, buffers)
        if parity == 0:
            np.einsum("nhijm,ijm->nhm", view, wt, out=out3)
        else:
            odd = buffers.get("odd", out3.shape, F32)
            np.einsum("nhijm,ijm->nhm", view, wt, out=odd)
            np.add(out3, odd, out=out3)
    return out


def _tiled_taps(g: Geometry, parity: int, OW: int, buffers: Buffers) -> np.ndarray:
    """The filter taps of one column parity, tiled over OW output columns: (KH, taps, OW*C)."""
    key = ("taps", parity, OW)
    wt = buffers.memo.get(key)
    if wt is None:
        wt = buffers.memo[key] = np.tile(g.filter[:, parity::2, :, 0], (1, 1, OW))
    return wt


class Epilogue:
    """BiasAdd, then a residual Add, then Relu/Relu6, applied in place, then the flush of subnormal results.
    NumPy's add/maximum/minimum against a scalar or a short row (a bias of C channels) take slow loops,
    so those run against rows of about ROW elements (the bias tiled)."""

    def __init__(self, bias: np.ndarray | None, activation: str | None):
        self.bias = None if bias is None else ftz.flush(np.ascontiguousarray(bias, F32))
        self.activation = activation
        self._bias_rows: dict = {}

    def _bias_row(self, channels: int) -> np.ndarray:
        row = self._bias_rows.get(channels)
        if row is None:
            row = self._bias_rows[channels] = np.tile(self.bias, max(1, ROW // max(channels, 1)))
        return row

    def apply(self, y: np.ndarray, residual: np.ndarray | None) -> None:
        if not y.size or not y.shape[-1]:
            return
        flat = y.reshape(-1)
        if self.bias is not None:
            _rowwise(np.add, flat, self._bias_row(y.shape[-1]))
        if residual is not None:
            np.add(flat, np.ascontiguousarray(residual).reshape(-1), out=flat)
        masks = (_scratch("small", flat.shape[0], np.dtype(bool)), _scratch("positive", flat.shape[0], np.dtype(bool)))
        if self.activation is None:
            _flush(flat, np.abs(flat, out=_scratch("magnitude", flat.shape[0], F32)), masks)
            return
        if self.activation == "Relu6":
            _rowwise(np.minimum, flat, _SIX)
        _rowwise(np.maximum, flat, _ZERO)  # NaN propagates, as in TF
        _flush(flat, flat, masks)


_SIX = np.full(ROW, 6, F32)
_ZERO = np.zeros(ROW, F32)
_local = threading.local()


def _scratch(key: str, n: int, dtype: np.dtype) -> np.ndarray:
    """A temporary of n elements, shared by all steps (per thread): the epilogue's masks live only during
    one call, so they need not be kept per step like outputs are."""
    buf = getattr(_local, key, None)
    if buf is None or buf.shape[0] < n:
        buf = np.empty(max(n, 1 << 16), dtype)
        setattr(_local, key, buf)
    return buf[:n]


def _rowwise(fn, flat: np.ndarray, row: np.ndarray) -> None:
    """flat = fn(flat, row repeated), in place: as rows of len(row), then the tail."""
    n = row.shape[0]
    main = flat.shape[0] - flat.shape[0] % n
    if main:
        fn(flat[:main].reshape(-1, n), row, out=flat[:main].reshape(-1, n))
    if main < flat.shape[0]:
        fn(flat[main:], row[:flat.shape[0] - main], out=flat[main:])


def _flush(o: np.ndarray, magnitude: np.ndarray, masks) -> None:
    """Replace the subnormals of o (0 < magnitude < smallest normal) by zeros of their sign; there rarely
    are any, so this is a check first."""
    small, positive = masks
    np.less(magnitude, TINY, out=small)
    np.greater(magnitude, 0, out=positive)
    np.logical_and(small, positive, out=small)
    if small.any():
        np.multiply(o, 0, out=o, where=small)
