"""Neural-network kernels: matmul/einsum, activations, convolutions, pooling, batch norm, losses,
fake quantization.

Speed matters here (CNNs spend nearly all their time in these kernels), so:
- 1x1 convolutions are one matmul; KxK convolutions are im2col (a strided view copied into one
  patch matrix, in chunks of bounded size) followed by one BLAS matmul;
- depthwise convolutions accumulate over the KxK taps with one einsum on a strided view; at
  width stride 1 the width and channel axes are merged into one long contiguous axis, which
  keeps NumPy's inner loop long;
- float32 stays float32 (float16 is computed in float32, bfloat16 in float32 and rounded).
Layouts: convolutions and pooling work channels-last; NCHW/NCDHW inputs are transposed in and out.
"""
from __future__ import annotations

import itertools
import math
from typing import Sequence

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .. import dtypes
from ..errors import ExecutionError, UnsupportedError
from .registry import Buffers, REQUIRED, op
from .special_functions import erf

_PATCH_BLOCK_BYTES = 384 << 10  # im2col block size: about what stays in a core's L2 cache ...
_MIN_PATCH_ROWS = 256  # ... unless that leaves too few rows for an efficient BLAS call
_MAX_POOL_TAPS = 64  # pooling windows with more taps are reduced window by window, not tap by tap
_MAX_BYTES = 1 << 32  # refuse single intermediate arrays beyond 4 GiB (hostile or broken shapes)


# --------------------------------------------------------------------------- dtype helpers

def _is_bf16(T) -> bool:
    return isinstance(T, dtypes.DType) and dtypes.base(T).name == "bfloat16"


def _work(x: np.ndarray) -> np.ndarray:
    """The array in the dtype arithmetic is done in (float16 -> float32)."""
    return x.astype(np.float32) if x.dtype == np.float16 else x


def _finish(y: np.ndarray, dtype: np.dtype, T=None) -> np.ndarray:
    """Cast a result back to the op's dtype; bfloat16 values are rounded to bfloat16."""
    y = np.asarray(y)
    if y.dtype != dtype:
        y = y.astype(dtype)
    if _is_bf16(T):
        y = dtypes.round_to_bfloat16(y)
    return y


def _float_arg(x: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind not in "fc":
        raise ExecutionError(f"{what} must be floating point, got {x.dtype}")
    return x


def _lowest(dtype: np.dtype):
    return np.finfo(dtype).min if dtype.kind == "f" else np.iinfo(dtype).min


def _guard_size(nelems: int, itemsize: int, what: str) -> None:
    from .. import limits
    limits.check_alloc(nelems * itemsize, what)


def _empty(buffers: "Buffers | None", key: str, shape: tuple, dtype) -> np.ndarray:
    return np.empty(shape, dtype) if buffers is None else buffers.get(key, tuple(shape), np.dtype(dtype))


# --------------------------------------------------------------------------- matmul, einsum

def _matmul(a: np.ndarray, b: np.ndarray, T=None) -> np.ndarray:
    out_dtype = a.dtype
    if a.dtype == np.bool_ or a.dtype.kind in "OSU":
        raise ExecutionError(f"matmul is not defined for {a.dtype}")
    y = np.matmul(_work(a), _work(b).astype(_work(a).dtype, copy=False))
    return _finish(y, out_dtype, T)


@op("MatMul", inputs=["a", "b"], attrs={"transpose_a": False, "transpose_b": False, "T": REQUIRED})
def mat_mul(a, b, *, transpose_a, transpose_b, T):
    if a.ndim != 2 or b.ndim != 2:
        raise ExecutionError(f"MatMul needs 2-D inputs, got shapes {a.shape} and {b.shape}")
    a = a.T if transpose_a else a
    b = b.T if transpose_b else b
    if a.shape[1] != b.shape[0]:
        raise ExecutionError(f"MatMul: inner dimensions differ: {a.shape} x {b.shape}")
    return _matmul(a, b, T)


def _batch_matmul(x, y, adj_x, adj_y, broadcast, out_dtype, T=None):
    if x.ndim < 2 or y.ndim < 2:
        raise ExecutionError(f"BatchMatMul needs inputs of rank >= 2, got {x.shape} and {y.shape}")
    if adj_x:
        x = np.conj(np.swapaxes(x, -1, -2)) if x.dtype.kind == "c" else np.swapaxes(x, -1, -2)
    if adj_y:
        y = np.conj(np.swapaxes(y, -1, -2)) if y.dtype.kind == "c" else np.swapaxes(y, -1, -2)
    if x.shape[-1] != y.shape[-2]:
        raise ExecutionError(f"BatchMatMul: inner dimensions differ: {x.shape} x {y.shape}")
    if broadcast:
        try:
            np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
        except ValueError:
            raise ExecutionError(f"BatchMatMul: batch dimensions do not broadcast: {x.shape} x {y.shape}") from None
    elif x.shape[:-2] != y.shape[:-2]:
        raise ExecutionError(f"BatchMatMul: batch dimensions differ: {x.shape} x {y.shape}")
    work = _work(np.empty(0, out_dtype)).dtype
    r = np.matmul(x.astype(work, copy=False), y.astype(work, copy=False))
    return _finish(r, out_dtype, T)


@op("BatchMatMul", inputs=["x", "y"], attrs={"adj_x": False, "adj_y": False, "T": REQUIRED})
def batch_mat_mul(x, y, *, adj_x, adj_y, T):
    return _batch_matmul(x, y, adj_x, adj_y, False, x.dtype, T)


@op("BatchMatMulV2", inputs=["x", "y"], attrs={"adj_x": False, "adj_y": False, "T": REQUIRED})
def batch_mat_mul_v2(x, y, *, adj_x, adj_y, T):
    return _batch_matmul(x, y, adj_x, adj_y, True, x.dtype, T)


@op("BatchMatMulV3", inputs=["x", "y"], attrs={"adj_x": False, "adj_y": False, "Tout": REQUIRED})
def batch_mat_mul_v3(x, y, *, adj_x, adj_y, Tout):
    return _batch_matmul(x, y, adj_x, adj_y, True, Tout.np, Tout)


@op("Einsum", inputs=["*inputs:N"], attrs={"equation": REQUIRED, "N": REQUIRED, "T": REQUIRED})
def einsum(inputs, *, equation, N, T):
    dtype = inputs[0].dtype
    ops = [_work(x) for x in inputs]
    eq = equation.replace(" ", "")
    lhs = eq.split("->")[0]
    # A subscript repeated inside one operand (a diagonal) trips up the optimizer's path search
    # for some equations; NumPy's plain loop handles every case.
    repeated = any(len(set(s.replace("...", ""))) != len(s.replace("...", "")) for s in lhs.split(","))
    try:
        y = np.einsum(eq, *ops, optimize=len(ops) > 1 and not repeated)
    except ValueError as e:
        raise ExecutionError(f"Einsum {equation!r}: {e}") from None
    return _finish(y, dtype, T)


# --------------------------------------------------------------------------- activations

_ROW = 4096
_CONST_ROWS: dict = {}


def _const_row(dtype: np.dtype, value) -> np.ndarray:
    key = (dtype.str, value)
    row = _CONST_ROWS.get(key)
    if row is None:
        row = _CONST_ROWS[key] = np.full(_ROW, value, dtype)
    return row


def _clamp(x: np.ndarray, lo, hi, out: np.ndarray | None = None) -> np.ndarray:
    """max(x, lo) then min(., hi) (either bound may be None) into a new array (or `out`, which may be x),
    NaN propagating. NumPy's maximum/minimum against a scalar take a slow non-SIMD loop; against an
    array row they are 2-3x faster, so large contiguous inputs are processed as rows of _ROW elements."""
    out = np.empty_like(x) if out is None else out
    if x.size < _ROW or not x.flags.c_contiguous:
        src = x
        for fn, v in ((np.maximum, lo), (np.minimum, hi)):
            if v is not None:
                fn(src, x.dtype.type(v), out=out)
                src = out
        return out
    flat_in, flat_out = x.reshape(-1), out.reshape(-1)
    main = x.size - x.size % _ROW
    src = flat_in
    for fn, v in ((np.maximum, lo), (np.minimum, hi)):
        if v is None:
            continue
        fn(src[:main].reshape(-1, _ROW), _const_row(x.dtype, v), out=flat_out[:main].reshape(-1, _ROW))
        fn(src[main:], x.dtype.type(v), out=flat_out[main:])
        src = flat_out
    return out


def _relu(x):
    return _clamp(x, 0, None) if x.dtype.kind != "u" else x.copy()


def _relu6(x):
    return _clamp(x, 0 if x.dtype.kind != "u" else None, 6)


def _elu(x):
    with np.errstate(over="ignore"):
        return np.where(x < 0, np.exp(x) - 1, x)


def _leaky_relu(x, alpha):
    return np.where(x > 0, x, x * x.dtype.type(alpha))


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1 / (1 + np.exp(-x))


def _gelu(x, exact):
    if exact:
        return (0.5 * x * (1 + erf(x.astype(np.float64) / math.sqrt(2)))).astype(x.dtype)
    c = math.sqrt(2 / math.pi)
    return 0.5 * x * (1 + np.tanh(c * (x + 0.044715 * x * x * x)))


_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_ALPHA = 1.6732632423543772848170429916717


@op("Relu", inputs=["features"], attrs={"T": REQUIRED})
def relu(features, *, T):
    return _relu(features)


@op("Relu6", inputs=["features"], attrs={"T": REQUIRED})
def relu6(features, *, T):
    return _relu6(features)


@op("Elu", inputs=["features"], attrs={"T": REQUIRED})
def elu(features, *, T):
    x = _float_arg(features, "Elu features")
    return _finish(_elu(_work(x)), x.dtype, T)


@op("Selu", inputs=["features"], attrs={"T": REQUIRED})
def selu(features, *, T):
    x = _float_arg(features, "Selu features")
    w = _work(x)
    with np.errstate(over="ignore"):
        y = np.where(w < 0, (_SELU_SCALE * _SELU_ALPHA) * (np.exp(w) - 1), _SELU_SCALE * w)
    return _finish(y, x.dtype, T)


@op("LeakyRelu", inputs=["features"], attrs={"alpha": 0.2, "T": dtypes.float32})
def leaky_relu(features, *, alpha, T):
    x = _float_arg(features, "LeakyRelu features")
    return _finish(_leaky_relu(_work(x), alpha), x.dtype, T)


def _softmax_parts(logits: np.ndarray):
    with np.errstate(invalid="ignore"):  # inf - inf = nan, as in TF
        shifted = logits - np.max(logits, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return shifted, e, np.sum(e, axis=-1, keepdims=True)


@op("Softmax", inputs=["logits"], attrs={"T": REQUIRED})
def softmax(logits, *, T):
    x = _float_arg(logits, "Softmax logits")
    if x.ndim < 1:
        raise ExecutionError("Softmax: logits must have rank >= 1")
    if x.size == 0:
        return x.copy()
    _, e, s = _softmax_parts(_work(x))
    e /= s
    return _finish(e, x.dtype, T)


@op("LogSoftmax", inputs=["logits"], attrs={"T": REQUIRED})
def log_softmax(logits, *, T):
    x = _float_arg(logits, "LogSoftmax logits")
    if x.ndim < 1:
        raise ExecutionError("LogSoftmax: logits must have rank >= 1")
    if x.size == 0:
        return x.copy()
    shifted, _, s = _softmax_parts(_work(x))
    return _finish(shifted - np.log(s), x.dtype, T)


def _channel_axis(ndim: int, data_format: str) -> int:
    return 1 if data_format.startswith("NC") and ndim >= 3 else ndim - 1


def _bias_add(value, bias, data_format="NHWC", T=None):
    if value.ndim < 2:
        raise ExecutionError(f"BiasAdd: input must have rank >= 2, got shape {value.shape}")
    if bias.ndim != 1:
        raise ExecutionError(f"BiasAdd: bias must be 1-D, got shape {bias.shape}")
    axis = _channel_axis(value.ndim, data_format)
    if value.shape[axis] != bias.shape[0]:
        raise ExecutionError(f"BiasAdd: bias of length {bias.shape[0]} does not match "
                             f"dimension {axis} of input shape {value.shape}")
    b = bias.astype(value.dtype, copy=False).reshape((-1,) + (1,) * (value.ndim - 1 - axis))
    return _finish(np.add(value, b), value.dtype, T)


@op("BiasAdd", inputs=["value", "bias"], attrs={"data_format": "NHWC", "T": REQUIRED})
def bias_add(value, bias, *, data_format, T):
    return _bias_add(value, bias, data_format, T)


@op("BiasAddV1", inputs=["value", "bias"], attrs={"T": REQUIRED})
def bias_add_v1(value, bias, *, T):
    return _bias_add(value, bias, "NHWC", T)


def _apply_fused(y: np.ndarray, fused_ops: Sequence[str], args: list, epsilon: float,
                 leakyrelu_alpha: float, channel_axis: int) -> np.ndarray:
    """The post-ops of _FusedMatMul/_FusedConv2D/_FusedDepthwiseConv2dNative, in order, on `y`
    (already in its working dtype, and a fresh array the kernel owns: bias, residual and clipping
    activations are applied in place)."""
    args = [_work(np.asarray(a)).astype(y.dtype, copy=False) for a in args]
    shape = (-1,) + (1,) * (y.ndim - 1 - channel_axis)

    def take(n: int, what: str) -> list:
        if len(args) < n:
            raise ExecutionError(f"fused op {what} needs {n} more argument(s) than the node has")
        return [args.pop(0) for _ in range(n)]

    for name in fused_ops:
        if name == "BiasAdd":
            bias = take(1, name)[0]
            if bias.ndim != 1 or bias.shape[0] != y.shape[channel_axis]:
                raise ExecutionError(f"fused BiasAdd: bias of shape {bias.shape} does not match the "
                                     f"{y.shape[channel_axis]} channels of the result {y.shape}")
            y = _add_into(y, bias.reshape(shape))
        elif name == "Add":
            y = _add_into(y, take(1, name)[0])
        elif name == "FusedBatchNorm":
            scale, offset, mean, var = (a.reshape(shape) for a in take(4, name))
            factor = scale / np.sqrt(var + y.dtype.type(epsilon))
            y = (y - mean) * factor + offset
        elif name in ("Relu", "Relu6"):
            y = _clamp(y, 0, 6 if name == "Relu6" else None, out=y if y.flags.writeable else None)
        else:
            y = _activation(name, y, leakyrelu_alpha)
    return y


def _add_into(y: np.ndarray, a: np.ndarray) -> np.ndarray:
    """y + a, in y's buffer when the broadcast result has y's shape."""
    if y.flags.writeable and np.broadcast_shapes(y.shape, a.shape) == y.shape:
        return np.add(y, a, out=y)
    return y + a


def _activation(name: str, y: np.ndarray, leakyrelu_alpha: float) -> np.ndarray:
    if name == "Elu":
        return _elu(y)
    if name == "LeakyRelu":
        return _leaky_relu(y, leakyrelu_alpha)
    if name == "Sigmoid":
        return _sigmoid(y)
    if name == "Tanh":
        return np.tanh(y, out=y) if y.flags.writeable else np.tanh(y)
    if name in ("GeluExact", "GeluApproximate"):
        return _gelu(y, name == "GeluExact")
    raise UnsupportedError(f"fused op {name!r} is not supported")


_FUSED_ATTRS = {"num_args": REQUIRED, "fused_ops": [], "epsilon": 0.0001, "leakyrelu_alpha": 0.2, "T": REQUIRED}


@op("_FusedMatMul", inputs=["a", "b", "*args:num_args"],
    attrs={"transpose_a": False, "transpose_b": False, **_FUSED_ATTRS})
def fused_mat_mul(a, b, args, *, transpose_a, transpose_b, num_args, fused_ops, epsilon,
                  leakyrelu_alpha, T):
    if a.ndim != 2 or b.ndim != 2:
        raise ExecutionError(f"_FusedMatMul needs 2-D inputs, got shapes {a.shape} and {b.shape}")
    a = a.T if transpose_a else a
    b = b.T if transpose_b else b
    if a.shape[1] != b.shape[0]:
        raise ExecutionError(f"_FusedMatMul: inner dimensions differ: {a.shape} x {b.shape}")
    y = np.matmul(_work(a), _work(b))
    y = _apply_fused(y, fused_ops, list(args), epsilon, leakyrelu_alpha, 1)
    return _finish(y, a.dtype, T)


# --------------------------------------------------------------------------- window geometry

def _window_geometry(in_sizes, k_sizes, strides, dilations, padding, explicit):
    """Output sizes and (before, after) padding per windowed dimension, by TF's rules."""
    outs, pads = [], []
    for i, (n, k, s, d) in enumerate(zip(in_sizes, k_sizes, strides, dilations)):
        if s < 1 or d < 1 or k < 0:
            raise ExecutionError(f"strides and dilations must be >= 1 (got stride {s}, dilation {d})")
        eff = (k - 1) * d + 1
        if padding == "VALID":
            before = after = 0
        elif padding == "SAME":
            total = max((-(-n // s) - 1) * s + eff - n, 0)
            before, after = total // 2, total - total // 2
        elif padding == "EXPLICIT":
            before, after = explicit[i]
            if before < 0 or after < 0:
                raise ExecutionError(f"explicit paddings must be >= 0, got {explicit[i]}")
        else:
            raise ExecutionError(f"unknown padding {padding!r}")
        q = n + before + after - eff + s
        out = abs(q) // s * (1 if q >= 0 else -1)  # C division (truncates toward zero), as TF computes it
        if out < 0:
            raise ExecutionError(f"computed output size would be negative (input {n}, window {eff}, "
                                 f"padding {before}+{after}, stride {s})")
        outs.append(out)
        pads.append((before, after))
    return outs, pads


def _format_dims(data_format: str, nspatial: int):
    """(channels-last permutation, its inverse) for a data format; None when already channels-last."""
    if data_format in ("NHWC", "NDHWC", "NWC"):
        return None
    if data_format in ("NCHW", "NCDHW", "NCW"):
        perm = (0,) + tuple(range(2, nspatial + 2)) + (1,)
        inv = (0, nspatial + 1) + tuple(range(1, nspatial + 1))
        return perm, inv
    raise UnsupportedError(f"data_format {data_format!r} is not supported")


def _spatial_attr(values, data_format: str, nspatial: int, name: str) -> list[int]:
    """Per-spatial-dim values of a full-rank attr (strides, dilations, ksize); batch and channel
    entries must be 1."""
    values = list(values)
    if len(values) != nspatial + 2:
        raise ExecutionError(f"{name} must have {nspatial + 2} entries, got {values}")
    if data_format.startswith("NC"):
        other, spatial = (values[0], values[1]), values[2:]
    else:
        other, spatial = (values[0], values[-1]), values[1:-1]
    if other != (1, 1):
        raise UnsupportedError(f"{name} other than 1 in the batch or channel dimension: {values}")
    return [int(v) for v in spatial]


def _explicit_pairs(explicit_paddings, data_format: str, nspatial: int):
    vals = list(explicit_paddings)
    if len(vals) != 2 * (nspatial + 2):
        raise ExecutionError(f"explicit_paddings must have {2 * (nspatial + 2)} entries, got {vals}")
    pairs = [(int(vals[2 * i]), int(vals[2 * i + 1])) for i in range(nspatial + 2)]
    spatial = pairs[2:] if data_format.startswith("NC") else pairs[1:-1]
    other = (pairs[0], pairs[1]) if data_format.startswith("NC") else (pairs[0], pairs[-1])
    if any(p != (0, 0) for p in other):
        raise ExecutionError(f"explicit padding of the batch or channel dimension: {vals}")
    return spatial


def _pad_spatial(x: np.ndarray, pads, buffers: Buffers | None = None) -> np.ndarray:
    """Zero-pad the spatial dims of a channels-last array (returns x itself when no padding). With
    `buffers`, the padded array is reused (its border stays zero; the interior is overwritten)."""
    if not any(b or a for b, a in pads):
        return np.ascontiguousarray(x)
    shape = (x.shape[0],) + tuple(n + b + a for n, (b, a) in zip(x.shape[1:-1], pads)) + (x.shape[-1],)
    _guard_size(math.prod(shape), x.itemsize, "padded input")
    key = f"pad{pads}"
    xp = np.zeros(shape, x.dtype) if buffers is None else buffers.get(key, shape, x.dtype, zero=True)
    xp[(slice(None),) + tuple(slice(b, b + n) for n, (b, _) in zip(x.shape[1:-1], pads))] = x
    return xp


# --------------------------------------------------------------------------- convolution

def _conv_forward(x, w, strides, dilations, pads, outs, buffers: Buffers | None = None) -> np.ndarray:
    """Channels-last N-D convolution. x (N, *S, C), w (*K, Cg, O) with C = G * Cg groups."""
    N, C = x.shape[0], x.shape[-1]
    K, Cg, O = w.shape[:len(outs)], w.shape[-2], w.shape[-1]
    if Cg == 0 or C == 0 or C % Cg:
        raise ExecutionError(f"input depth {C} is not a multiple of the filter's input depth {Cg}")
    G = C // Cg
    if O % G:
        raise ExecutionError(f"output depth {O} is not a multiple of the number of groups {G}")
    _guard_size(N * math.prod(outs) * O, x.itemsize, "convolution output")
    if N * math.prod(outs) == 0 or O == 0:
        return np.zeros((N, *outs, O), x.dtype)
    xp = _pad_spatial(x, pads, buffers)
    kp = math.prod(K)
    wm = w.reshape(kp * Cg, O) if G == 1 else \
        w.reshape(kp, Cg, G, O // G).transpose(2, 0, 1, 3).reshape(G, kp * Cg, O // G)

    def matmul(patches, out2d=None):
        if G == 1:
            return np.matmul(patches, wm, out=out2d)
        m = patches.shape[0]
        pg = patches.reshape(m, kp, G, Cg).transpose(2, 0, 1, 3).reshape(G, m, kp * Cg)
        r = np.matmul(pg, wm).transpose(1, 0, 2).reshape(m, O)
        if out2d is None:
            return r
        out2d[...] = r
        return out2d

    if all(k == 1 for k in K):  # 1x1: the (strided) input itself is the patch matrix
        sl = tuple(slice(0, s * (o - 1) + 1, s) for s, o in zip(strides, outs))
        xs = xp[(slice(None),) + sl]
        out = _empty(buffers, "out", (N, *outs, O), x.dtype)
        matmul(xs.reshape(-1, C), out.reshape(-1, O))
        return out
    sN, sC = xp.strides[0], xp.strides[-1]
    sS = xp.strides[1:-1]
    view = as_strided(xp, (N, *outs, *K, C),
                      (sN, *(a * s for a, s in zip(sS, strides)), *(a * d for a, d in zip(sS, dilations)), sC),
                      writeable=False)
    # im2col in blocks of output rows whose patch matrix fits in cache, copied into one reused
    # buffer: several times faster than building the whole patch matrix at once.
    per_row = math.prod(outs[1:])
    rows = max(_PATCH_BLOCK_BYTES // max(1, per_row * kp * C * x.itemsize), -(-_MIN_PATCH_ROWS // per_row))
    rows = max(1, min(outs[0], rows))
    buf = _empty(buffers, "patches", (rows * per_row, kp * C), x.dtype)
    out = _empty(buffers, "out", (N, *outs, O), x.dtype)
    for n in range(N):
        out_n = out[n].reshape(-1, O)
        for r in range(0, outs[0], rows):
            rr = min(rows, outs[0] - r)
            m = rr * per_row
            np.copyto(buf[:m].reshape(view[n, r:r + rr].shape), view[n, r:r + rr])
            matmul(buf[:m], out_n[r * per_row:r * per_row + m])
    return out


def _conv_backprop_input(dy, w, in_shape, strides, dilations, pads) -> np.ndarray:
    """Gradient of _conv_forward w.r.t. its input (a transposed convolution), tap by tap:
    dx_padded[window of tap t] += dy @ w[t]^T. in_shape is the forward input's channels-last shape."""
    nsp = len(in_shape) - 2
    N, C = in_shape[0], in_shape[-1]
    O = dy.shape[-1]
    outs = dy.shape[1:-1]
    K, Cg = w.shape[:nsp], w.shape[-2]
    if w.shape[-1] != O:
        raise ExecutionError(f"filter output depth {w.shape[-1]} does not match out_backprop depth {O}")
    if Cg == 0 or C == 0 or C % Cg or O % (C // Cg):
        raise ExecutionError(f"input depth {C} does not fit the filter's input depth {Cg} / output depth {O}")
    G = C // Cg
    padded = [n + b + a for n, (b, a) in zip(in_shape[1:-1], pads)]
    padded = [max(p, (k - 1) * d + 1 + s * (o - 1)) for p, k, d, s, o in zip(padded, K, dilations, strides, outs)]
    _guard_size(N * math.prod(padded) * C, dy.itemsize, "transposed convolution output")
    dxp = np.zeros((N, *padded, C), dy.dtype)
    M = N * math.prod(outs)
    if M and O and C:
        dym = dy.reshape(M, O)
        if G > 1:
            dyg = dym.reshape(M, G, O // G).transpose(1, 0, 2)
        for tap in itertools.product(*(range(k) for k in K)):
            wt = w[tap]  # (Cg, O)
            if G == 1:
                contrib = dym @ wt.T
            else:
                wg = wt.reshape(Cg, G, O // G).transpose(1, 2, 0)  # (G, Og, Cg)
                contrib = np.matmul(dyg, wg).transpose(1, 0, 2).reshape(M, C)
            sl = tuple(slice(t * d, t * d + s * (o - 1) + 1, s) for t, d, s, o in zip(tap, dilations, strides, outs))
            dxp[(slice(None),) + sl] += contrib.reshape(N, *outs, C)
    crop = tuple(slice(b, b + n) for n, (b, _) in zip(in_shape[1:-1], pads))
    return dxp[(slice(None),) + crop]


def _tiled_filter(w: np.ndarray, OW: int, buffers: Buffers | None) -> np.ndarray:
    """The (KH, KW, OW*C) filter of the merged (ow, c) depthwise loop, kept by the step for a constant
    filter (the same array object at every call)."""
    memo = buffers.memo.get("tiled") if buffers is not None else None
    if memo is not None and memo[0] is w and memo[1] == OW:
        return memo[2]
    wt = np.tile(w[:, :, :, 0], (1, 1, OW))
    if buffers is not None:
        buffers.memo["tiled"] = (w, OW, wt)
    return wt


def _depthwise_forward(x, w, strides, dilations, pads, outs, buffers: Buffers | None = None) -> np.ndarray:
    """Channels-last 2-D depthwise convolution. x (N, H, W, C), w (KH, KW, C, M) -> (N, OH, OW, C*M)."""
    N, C = x.shape[0], x.shape[-1]
    KH, KW, Cw, Mult = w.shape
    if Cw != C:
        raise ExecutionError(f"depthwise filter depth {Cw} does not match input depth {C}")
    OH, OW = outs
    _guard_size(N * OH * OW * C * Mult, x.itemsize, "depthwise convolution output")
    if N * OH * OW * C * Mult == 0:
        return np.zeros((N, OH, OW, C * Mult), x.dtype)
    xp = _pad_spatial(x, pads, buffers)
    sN, sH, sW, sC = xp.strides
    (sh, sw), (dh, dw) = strides, dilations
    if Mult == 1 and sw == 1:
        # Merge (ow, c): at width stride 1 they form one contiguous run of OW*C elements per row.
        view = as_strided(xp, (N, OH, KH, KW, OW * C), (sN, sH * sh, sH * dh, sW * dw, sC), writeable=False)
        wt = _tiled_filter(w, OW, buffers)
        out = _empty(buffers, "out", (N, OH, OW, C), x.dtype)
        np.einsum("nhijm,ijm->nhm", view, wt, out=out.reshape(N, OH, OW * C))
        return out
    view = as_strided(xp, (N, OH, OW, KH, KW, C), (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC), writeable=False)
    if Mult == 1:
        out = _empty(buffers, "out", (N, OH, OW, C), x.dtype)
        return np.einsum("nhwijc,ijc->nhwc", view, w[:, :, :, 0], out=out)
    return np.einsum("nhwijc,ijcm->nhwcm", view, w).reshape(N, OH, OW, C * Mult)


class _ConvSetup:
    """Decoded geometry of one convolution node: channels-last input, spatial attrs, output sizes."""

    def __init__(self, x, kernel_spatial, nspatial, strides, padding, explicit_paddings, data_format,
                 dilations, op_name):
        if x.ndim != nspatial + 2:
            raise ExecutionError(f"{op_name}: input must be {nspatial + 2}-D, got shape {x.shape}")
        self.perms = _format_dims(data_format, nspatial)
        self.x = x.transpose(self.perms[0]) if self.perms else x
        self.strides = _spatial_attr(strides, data_format, nspatial, "strides")
        self.dilations = _spatial_attr(dilations, data_format, nspatial, "dilations")
        explicit = _explicit_pairs(explicit_paddings, data_format, nspatial) if padding == "EXPLICIT" else None
        self.outs, self.pads = _window_geometry(self.x.shape[1:-1], kernel_spatial, self.strides,
                                                self.dilations, padding, explicit)

    def restore(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y.transpose(self.perms[1])) if self.perms else y

    def with_input(self, x) -> "_ConvSetup":
        """The same geometry for another input of the same shape."""
        other = object.__new__(_ConvSetup)
        other.__dict__.update(self.__dict__)
        other.x = x.transpose(self.perms[0]) if self.perms else x
        return other


def _setup(x, w, nspatial, strides, padding, explicit_paddings, data_format, dilations, op_name,
           buffers: Buffers | None) -> _ConvSetup:
    """The conv geometry; a step's Buffers remembers it per input shape (the attrs are the step's)."""
    key = ("conv", x.shape, w.shape)
    setup = buffers.memo.get(key) if buffers is not None else None
    if setup is not None:
        return setup.with_input(x)
    setup = _ConvSetup(x, w.shape[:nspatial], nspatial, strides, padding, explicit_paddings, data_format,
                       dilations, op_name)
    if buffers is not None:
        buffers.memo[key] = setup.with_input(x)
        buffers.memo[key].x = None  # never keep an input alive (it would block its producer's buffer reuse)
    return setup


def _conv(x, filter, nspatial, strides, padding, explicit_paddings, data_format, dilations, op_name,
          depthwise=False, buffers: Buffers | None = None):
    x = np.asarray(x)
    w = np.asarray(filter)
    if w.ndim != nspatial + 2:
        raise ExecutionError(f"{op_name}: filter must be {nspatial + 2}-D, got shape {w.shape}")
    setup = _setup(x, w, nspatial, strides, padding, explicit_paddings, data_format, dilations, op_name, buffers)
    xw = _work(setup.x)
    ww = _work(w).astype(xw.dtype, copy=False)
    if depthwise:
        y = _depthwise_forward(xw, ww, setup.strides, setup.dilations, setup.pads, setup.outs, buffers)
    else:
        y = _conv_forward(xw, ww, setup.strides, setup.dilations, setup.pads, setup.outs, buffers)
    return y, setup


_CONV2D_ATTRS = {"strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [], "data_format": "NHWC",
                 "dilations": [1, 1, 1, 1], "T": REQUIRED}


@op("Conv2D", inputs=["input", "filter"], attrs=dict(_CONV2D_ATTRS))
def conv2d(input, filter, *, strides, padding, explicit_paddings, data_format, dilations, T, buffers=None):
    y, setup = _conv(input, filter, 2, strides, padding, explicit_paddings, data_format, dilations, "Conv2D",
                     buffers=buffers)
    return _finish(setup.restore(y), input.dtype, T)


@op("_FusedConv2D", inputs=["input", "filter", "*args:num_args", "*host_args"],
    attrs={**_CONV2D_ATTRS, **_FUSED_ATTRS})
def fused_conv2d(input, filter, args, host_args, *, strides, padding, explicit_paddings, data_format,
                 dilations, T, num_args, fused_ops, epsilon, leakyrelu_alpha, buffers=None):
    y, setup = _conv(input, filter, 2, strides, padding, explicit_paddings, data_format, dilations,
                     "_FusedConv2D", buffers=buffers)
    y = _apply_fused(y, fused_ops, list(args), epsilon, leakyrelu_alpha, y.ndim - 1)
    return _finish(setup.restore(y), input.dtype, T)


@op("Conv3D", inputs=["input", "filter"],
    attrs={"strides": REQUIRED, "padding": REQUIRED, "data_format": "NDHWC", "dilations": [1, 1, 1, 1, 1],
           "T": REQUIRED})
def conv3d(input, filter, *, strides, padding, data_format, dilations, T):
    y, setup = _conv(input, filter, 3, strides, padding, [], data_format, dilations, "Conv3D")
    return _finish(setup.restore(y), input.dtype, T)


_DW_ATTRS = {"strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [], "data_format": "NHWC",
             "dilations": [1, 1, 1, 1], "T": REQUIRED}


@op("DepthwiseConv2dNative", inputs=["input", "filter"], attrs=dict(_DW_ATTRS))
def depthwise_conv2d_native(input, filter, *, strides, padding, explicit_paddings, data_format, dilations, T,
                            buffers=None):
    y, setup = _conv(input, filter, 2, strides, padding, explicit_paddings, data_format, dilations,
                     "DepthwiseConv2dNative", depthwise=True, buffers=buffers)
    return _finish(setup.restore(y), input.dtype, T)


# explicit_paddings (with padding EXPLICIT) is an smlens extension of TF's op: fold_pad puts a Pad there
@op("_FusedDepthwiseConv2dNative", inputs=["input", "filter", "*args:num_args"],
    attrs={**_DW_ATTRS, **_FUSED_ATTRS})
def fused_depthwise_conv2d_native(input, filter, args, *, strides, padding, explicit_paddings, data_format,
                                  dilations, T, num_args, fused_ops, epsilon, leakyrelu_alpha, buffers=None):
    y, setup = _conv(input, filter, 2, strides, padding, explicit_paddings, data_format, dilations,
                     "_FusedDepthwiseConv2dNative", depthwise=True, buffers=buffers)
    y = _apply_fused(y, fused_ops, list(args), epsilon, leakyrelu_alpha, y.ndim - 1)
    return _finish(setup.restore(y), input.dtype, T)


def _input_shape_from_sizes(sizes, dy, w, nspatial, data_format, op_name):
    """The forward input's full shape (in data_format order) from an input_sizes tensor, which may
    also hold only the spatial dims."""
    sizes = [int(v) for v in np.asarray(sizes).reshape(-1)]
    if len(sizes) == nspatial + 2:
        return sizes
    if len(sizes) == nspatial:
        cin = w.shape[-2]
        n = dy.shape[0]
        return [n, cin, *sizes] if data_format.startswith("NC") else [n, *sizes, cin]
    raise ExecutionError(f"{op_name}: input_sizes must have {nspatial + 2} or {nspatial} entries, got {sizes}")


def _backprop_input(input_shape, filter, out_backprop, nspatial, strides, padding, explicit_paddings,
                    data_format, dilations, op_name, depthwise=False, T=None):
    w = np.asarray(filter)
    dy = np.asarray(out_backprop)
    if w.ndim != nspatial + 2 or dy.ndim != nspatial + 2 or len(input_shape) != nspatial + 2:
        raise ExecutionError(f"{op_name}: filter, out_backprop and input must be {nspatial + 2}-D")
    if any(v < 0 for v in input_shape):
        raise ExecutionError(f"{op_name}: negative input size {input_shape}")
    perms = _format_dims(data_format, nspatial)
    in_shape = [input_shape[i] for i in perms[0]] if perms else list(input_shape)
    dyl = dy.transpose(perms[0]) if perms else dy
    if depthwise:
        kh, kw, c, m = w.shape
        if c != in_shape[-1]:
            raise ExecutionError(f"{op_name}: filter depth {c} does not match input depth {in_shape[-1]}")
        w = w.reshape(kh, kw, 1, c * m)
    strides_s = _spatial_attr(strides, data_format, nspatial, "strides")
    dil_s = _spatial_attr(dilations, data_format, nspatial, "dilations")
    explicit = _explicit_pairs(explicit_paddings, data_format, nspatial) if padding == "EXPLICIT" else None
    outs, pads = _window_geometry(in_shape[1:-1], w.shape[:nspatial], strides_s, dil_s, padding, explicit)
    expected = (in_shape[0], *outs, w.shape[-1])
    if tuple(dyl.shape) != expected:
        raise ExecutionError(f"{op_name}: out_backprop has shape {tuple(dyl.shape)} (channels last), "
                             f"expected {expected}")
    dyw = _work(dyl)
    dx = _conv_backprop_input(dyw, _work(w).astype(dyw.dtype, copy=False), in_shape, strides_s, dil_s, pads)
    if perms:
        dx = np.ascontiguousarray(dx.transpose(perms[1]))
    return _finish(dx, dy.dtype, T)


@op("Conv2DBackpropInput", inputs=["input_sizes", "filter", "out_backprop"],
    attrs={**_CONV2D_ATTRS, "use_cudnn_on_gpu": True})
def conv2d_backprop_input(input_sizes, filter, out_backprop, *, strides, padding, explicit_paddings,
                          data_format, dilations, T, use_cudnn_on_gpu):
    shape = _input_shape_from_sizes(input_sizes, out_backprop, filter, 2, data_format, "Conv2DBackpropInput")
    return _backprop_input(shape, filter, out_backprop, 2, strides, padding, explicit_paddings, data_format,
                           dilations, "Conv2DBackpropInput", T=T)


@op("Conv2DBackpropInputV2", inputs=["input", "filter", "out_backprop"],
    attrs={**_CONV2D_ATTRS, "use_cudnn_on_gpu": True})
def conv2d_backprop_input_v2(input, filter, out_backprop, *, strides, padding, explicit_paddings,
                             data_format, dilations, T, use_cudnn_on_gpu):
    return _backprop_input(list(np.shape(input)), filter, out_backprop, 2, strides, padding, explicit_paddings,
                           data_format, dilations, "Conv2DBackpropInputV2", T=T)


@op("Conv3DBackpropInputV2", inputs=["input_sizes", "filter", "out_backprop"],
    attrs={"strides": REQUIRED, "padding": REQUIRED, "data_format": "NDHWC", "dilations": [1, 1, 1, 1, 1],
           "T": REQUIRED})
def conv3d_backprop_input_v2(input_sizes, filter, out_backprop, *, strides, padding, data_format, dilations, T):
    shape = _input_shape_from_sizes(input_sizes, out_backprop, filter, 3, data_format, "Conv3DBackpropInputV2")
    return _backprop_input(shape, filter, out_backprop, 3, strides, padding, [], data_format, dilations,
                           "Conv3DBackpropInputV2", T=T)


@op("DepthwiseConv2dNativeBackpropInput", inputs=["input_sizes", "filter", "out_backprop"], attrs=dict(_DW_ATTRS))
def depthwise_conv2d_native_backprop_input(input_sizes, filter, out_backprop, *, strides, padding,
                                           explicit_paddings, data_format, dilations, T):
    sizes = [int(v) for v in np.asarray(input_sizes).reshape(-1)]
    if len(sizes) != 4:
        raise ExecutionError(f"DepthwiseConv2dNativeBackpropInput: input_sizes must have 4 entries, got {sizes}")
    return _backprop_input(sizes, filter, out_backprop, 2, strides, padding, explicit_paddings, data_format,
                           dilations, "DepthwiseConv2dNativeBackpropInput", depthwise=True, T=T)


# --------------------------------------------------------------------------- pooling

def _tap_slices(in_size, out_size, k, s, d, pad_before):
    """For each tap t of a window dim: (out slice, in slice) of the outputs whose tap t reads a real
    (unpadded) input element."""
    res = []
    for t in range(k):
        off = t * d - pad_before
        lo = 0 if off >= 0 else (-off + s - 1) // s
        hi = min(out_size, (in_size - 1 - off) // s + 1) if in_size - 1 - off >= 0 else 0
        if hi > lo:
            start = lo * s + off
            res.append((slice(lo, hi), slice(start, start + (hi - lo - 1) * s + 1, s)))
    return res


def _pool_geometry(x, ksize, strides, padding, explicit=None, dilations=None):
    """Window geometry over every dim of x (batch and channel windows included, usually size 1)."""
    dilations = dilations or [1] * x.ndim
    outs, pads = _window_geometry(x.shape, ksize, strides, dilations, padding, explicit)
    per_dim = [_tap_slices(n, o, k, s, d, p[0])
               for n, o, k, s, d, p in zip(x.shape, outs, ksize, strides, dilations, pads)]
    return outs, pads, per_dim


def _window_view(x, ksize, strides, pads, outs, pad_value):
    """Strided view (*outs, *ksize) of x padded with pad_value: every window as trailing axes."""
    if any(b or a for b, a in pads):
        _guard_size(math.prod(n + b + a for n, (b, a) in zip(x.shape, pads)), x.itemsize, "padded pooling input")
        x = np.pad(x, pads, constant_values=pad_value)
    return as_strided(x, (*outs, *ksize), (*(st * s for st, s in zip(x.strides, strides)), *x.strides),
                      writeable=False)


def _max_pool(x, ksize, strides, padding, explicit=None):
    outs, pads, per_dim = _pool_geometry(x, ksize, strides, padding, explicit)
    lowest = _lowest(x.dtype)
    # TF's max pooling skips NaN and never goes below the lowest finite value: fmax from `lowest`.
    reduce = np.fmax if x.dtype.kind == "f" else np.maximum
    _guard_size(math.prod(outs), x.itemsize, "MaxPool output")
    if math.prod(outs) == 0:
        return np.zeros(outs, x.dtype)
    if math.prod(ksize) > _MAX_POOL_TAPS:  # large windows: reduce each window in one call
        view = _window_view(x, ksize, strides, pads, outs, lowest)
        return reduce.reduce(view, axis=tuple(range(x.ndim, 2 * x.ndim)), initial=lowest)
    acc = np.full(outs, lowest, x.dtype)
    for combo in itertools.product(*per_dim):
        osl = tuple(c[0] for c in combo)
        isl = tuple(c[1] for c in combo)
        reduce(acc[osl], x[isl], out=acc[osl])
    return acc


def _avg_pool(x, ksize, strides, padding):
    outs, pads, per_dim = _pool_geometry(x, ksize, strides, padding)
    xw = _work(x)
    _guard_size(math.prod(outs), xw.itemsize, "AvgPool output")
    if math.prod(outs) == 0:
        return np.zeros(outs, xw.dtype)
    if math.prod(ksize) > _MAX_POOL_TAPS:
        view = _window_view(xw, ksize, strides, pads, outs, 0)
        acc = np.add.reduce(view, axis=tuple(range(x.ndim, 2 * x.ndim)))
    else:
        acc = np.zeros(outs, xw.dtype)
        for combo in itertools.product(*per_dim):
            osl = tuple(c[0] for c in combo)
            isl = tuple(c[1] for c in combo)
            acc[osl] += xw[isl]
    # Padding is excluded from the count: count = product over dims of the real taps per position.
    count = np.ones([1] * x.ndim, np.int64)
    for axis, (o, taps) in enumerate(zip(outs, per_dim)):
        c = np.zeros(o, np.int64)
        for osl, _ in taps:
            c[osl] += 1
        count = count * c.reshape([-1 if i == axis else 1 for i in range(x.ndim)])
    return acc / count.astype(acc.dtype)


def _pool_attrs(x, ksize, strides, data_format, nspatial, op_name):
    if x.ndim != nspatial + 2:
        raise ExecutionError(f"{op_name}: input must be {nspatial + 2}-D, got shape {x.shape}")
    ksize = [int(v) for v in np.asarray(ksize).reshape(-1)]
    strides = [int(v) for v in np.asarray(strides).reshape(-1)]
    if len(ksize) != nspatial + 2 or len(strides) != nspatial + 2:
        raise ExecutionError(f"{op_name}: ksize and strides must have {nspatial + 2} entries")
    if any(k < 1 for k in ksize) or any(s < 1 for s in strides):
        raise ExecutionError(f"{op_name}: ksize and strides must be >= 1, got {ksize}, {strides}")
    perms = _format_dims(data_format, nspatial)
    if perms:  # attrs come in data_format order; pool channels-last
        x = x.transpose(perms[0])
        ksize = [ksize[i] for i in perms[0]]
        strides = [strides[i] for i in perms[0]]
    return x, ksize, strides, perms


def _restore(y, perms):
    return np.ascontiguousarray(y.transpose(perms[1])) if perms else y


@op("MaxPool", inputs=["input"],
    attrs={"ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "explicit_paddings": [],
           "data_format": "NHWC", "T": dtypes.float32})
def max_pool(input, *, ksize, strides, padding, explicit_paddings, data_format, T):
    x, k, s, perms = _pool_attrs(np.asarray(input), ksize, strides, data_format, 2, "MaxPool")
    explicit = None
    if padding == "EXPLICIT":
        sp = _explicit_pairs(explicit_paddings, data_format, 2)
        explicit = [(0, 0), *sp, (0, 0)]
    return _restore(_max_pool(x, k, s, padding, explicit), perms)


@op("MaxPoolV2", inputs=["input", "ksize", "strides"],
    attrs={"padding": REQUIRED, "data_format": "NHWC", "T": dtypes.float32})
def max_pool_v2(input, ksize, strides, *, padding, data_format, T):
    x, k, s, perms = _pool_attrs(np.asarray(input), ksize, strides, data_format, 2, "MaxPoolV2")
    return _restore(_max_pool(x, k, s, padding), perms)


@op("MaxPool3D", inputs=["input"],
    attrs={"ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "data_format": "NDHWC", "T": REQUIRED})
def max_pool3d(input, *, ksize, strides, padding, data_format, T):
    x, k, s, perms = _pool_attrs(np.asarray(input), ksize, strides, data_format, 3, "MaxPool3D")
    return _restore(_max_pool(x, k, s, padding), perms)


@op("AvgPool", inputs=["value"],
    attrs={"ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "data_format": "NHWC", "T": REQUIRED})
def avg_pool(value, *, ksize, strides, padding, data_format, T):
    v = _float_arg(value, "AvgPool value")
    x, k, s, perms = _pool_attrs(v, ksize, strides, data_format, 2, "AvgPool")
    return _finish(_restore(_avg_pool(x, k, s, padding), perms), v.dtype, T)


@op("AvgPool3D", inputs=["input"],
    attrs={"ksize": REQUIRED, "strides": REQUIRED, "padding": REQUIRED, "data_format": "NDHWC", "T": REQUIRED})
def avg_pool3d(input, *, ksize, strides, padding, data_format, T):
    v = _float_arg(input, "AvgPool3D input")
    x, k, s, perms = _pool_attrs(v, ksize, strides, data_format, 3, "AvgPool3D")
    return _finish(_restore(_avg_pool(x, k, s, padding), perms), v.dtype, T)


@op("MaxPoolWithArgmax", inputs=["input"],
    attrs={"ksize": REQUIRED, "strides": REQUIRED, "Targmax": dtypes.int64, "padding": REQUIRED,
           "include_batch_in_index": False, "T": REQUIRED})
def max_pool_with_argmax(input, *, ksize, strides, Targmax, padding, include_batch_in_index, T):
    x, k, s, _ = _pool_attrs(np.asarray(input), ksize, strides, "NHWC", 2, "MaxPoolWithArgmax")
    outs, _, per_dim = _pool_geometry(x, k, s, padding)
    _guard_size(math.prod(outs), 8, "MaxPoolWithArgmax output")
    N, H, W, C = x.shape
    # Flat index of every input element, per TF: ((b * H + y) * W + x) * C + c, batch term optional.
    flat = np.arange(H * W * C, dtype=np.int64).reshape(1, H, W, C)
    if include_batch_in_index:
        flat = flat + (np.arange(N, dtype=np.int64) * (H * W * C)).reshape(N, 1, 1, 1)
    flat = np.broadcast_to(flat, x.shape)
    val = np.zeros(outs, x.dtype)
    idx = np.zeros(outs, np.int64)
    seen = np.zeros(outs, bool)
    # The first element of a window (scan order) is taken as is, later ones only when strictly
    # greater: a NaN that comes first sticks, ties keep the earliest.
    for combo in itertools.product(*per_dim):
        osl = tuple(c[0] for c in combo)
        isl = tuple(c[1] for c in combo)
        cur, xv = val[osl], x[isl]
        take = ~seen[osl] | (xv > cur)
        np.copyto(cur, xv, where=take)
        np.copyto(idx[osl], flat[isl], where=take)
        seen[osl] = True
    return val, idx.astype(Targmax.np)


# --------------------------------------------------------------------------- Dilation2D

@op("Dilation2D", inputs=["input", "filter"],
    attrs={"strides": REQUIRED, "rates": REQUIRED, "padding": REQUIRED, "T": REQUIRED})
def dilation2d(input, filter, *, strides, rates, padding, T):
    x = np.asarray(input)
    f = np.asarray(filter)
    if x.ndim != 4 or f.ndim != 3 or f.shape[2] != x.shape[3]:
        raise ExecutionError(f"Dilation2D: input must be 4-D and filter 3-D with matching depth, "
                             f"got {x.shape} and {f.shape}")
    s = _spatial_attr(strides, "NHWC", 2, "strides")
    r = _spatial_attr(rates, "NHWC", 2, "rates")
    outs, pads = _window_geometry(x.shape[1:3], f.shape[:2], s, r, padding, None)
    xw, fw = _work(x), _work(f)
    _guard_size(x.shape[0] * math.prod(outs) * x.shape[3], xw.itemsize, "Dilation2D output")
    acc = np.full((x.shape[0], *outs, x.shape[3]), _lowest(xw.dtype), xw.dtype)
    if acc.size == 0:
        return _finish(acc, x.dtype, T)
    rows = _tap_slices(x.shape[1], outs[0], f.shape[0], s[0], r[0], pads[0][0])
    cols = _tap_slices(x.shape[2], outs[1], f.shape[1], s[1], r[1], pads[1][0])
    for (orow, irow), (ocol, icol) in itertools.product(rows, cols):
        t = (irow.start - orow.start * s[0] + pads[0][0]) // r[0]
        u = (icol.start - ocol.start * s[1] + pads[1][0]) // r[1]
        sub = acc[:, orow, ocol]
        np.maximum(sub, xw[:, irow, icol] + fw[t, u], out=sub)
    return _finish(acc, x.dtype, T)


# --------------------------------------------------------------------------- normalization

def _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor, data_format,
                is_training, T, n_outputs):
    x = _float_arg(x, "FusedBatchNorm x")
    if x.ndim not in (4, 5):
        raise ExecutionError(f"FusedBatchNorm: x must be 4-D or 5-D, got shape {x.shape}")
    axis = _channel_axis(x.ndim, data_format)
    C = x.shape[axis]
    u_dtype = np.asarray(scale).dtype
    params = []
    for name, p in (("scale", scale), ("offset", offset), ("mean", mean), ("variance", variance)):
        p = np.asarray(p)
        if p.ndim != 1 or (p.shape[0] != C and not (is_training and name in ("mean", "variance") and p.size == 0)):
            raise ExecutionError(f"FusedBatchNorm: {name} must be 1-D of length {C}, got shape {p.shape}")
        params.append(p.astype(np.float32) if p.dtype == np.float16 else p)
    scale, offset, mean, variance = params
    work = np.float64 if x.dtype == np.float64 else np.float32
    xw = x.astype(work, copy=False)
    shape = [1] * x.ndim
    shape[axis] = C
    reduce_axes = tuple(i for i in range(x.ndim) if i != axis)
    if is_training:
        n = x.size // C if C else 0
        with np.errstate(invalid="ignore", divide="ignore"):
            bmean = np.mean(xw, axis=reduce_axes) if n else np.full(C, np.nan, work)
            bvar = np.mean(np.square(xw - bmean.reshape(shape)), axis=reduce_axes) if n else np.full(C, np.nan, work)
            unbiased = bvar * (n / (n - 1)) if n > 1 else (bvar if n == 1 else bvar)
        use_mean, use_var = bmean, bvar
        f = exponential_avg_factor
        if f == 1.0 or mean.size == 0:
            out_mean, out_var = bmean, unbiased
        else:
            out_mean = (1 - f) * mean.astype(work) + f * bmean
            out_var = (1 - f) * variance.astype(work) + f * unbiased
        r1, r2 = bmean, bvar
    else:
        use_mean, use_var = mean.astype(work), variance.astype(work)
        out_mean, out_var, r1, r2 = use_mean, use_var, use_mean, use_var
    factor = (scale.astype(work) / np.sqrt(use_var + work(epsilon))).reshape(shape)
    y = (xw - use_mean.reshape(shape)) * factor + offset.astype(work).reshape(shape)
    y = _finish(y, x.dtype, T)
    outs = [y] + [np.asarray(v).astype(u_dtype) for v in (out_mean, out_var, r1, r2)]
    if n_outputs == 6:
        outs.append(np.zeros((), u_dtype))
    return tuple(outs)


_BN_ATTRS = {"epsilon": 0.0001, "exponential_avg_factor": 1.0, "data_format": "NHWC", "is_training": True,
             "T": REQUIRED}


@op("FusedBatchNorm", "FusedBatchNormV2", inputs=["x", "scale", "offset", "mean", "variance"],
    attrs=dict(_BN_ATTRS))
def fused_batch_norm(x, scale, offset, mean, variance, *, epsilon, exponential_avg_factor, data_format,
                     is_training, T):
    return _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor, data_format,
                       is_training, T, 5)


@op("FusedBatchNormV3", inputs=["x", "scale", "offset", "mean", "variance"], attrs=dict(_BN_ATTRS))
def fused_batch_norm_v3(x, scale, offset, mean, variance, *, epsilon, exponential_avg_factor, data_format,
                        is_training, T):
    return _batch_norm(x, scale, offset, mean, variance, epsilon, exponential_avg_factor, data_format,
                       is_training, T, 6)


@op("LRN", inputs=["input"],
    attrs={"depth_radius": 5, "bias": 1.0, "alpha": 1.0, "beta": 0.5, "T": dtypes.float32})
def lrn(input, *, depth_radius, bias, alpha, beta, T):
    x = _float_arg(input, "LRN input")
    if x.ndim != 4:
        raise ExecutionError(f"LRN: input must be 4-D, got shape {x.shape}")
    xw = _work(x)
    C = x.shape[3]
    sq = np.square(xw)
    # Window sums over the depth axis via a cumulative sum of squares, padded by one zero in front.
    cs = np.concatenate([np.zeros(x.shape[:3] + (1,), sq.dtype), np.cumsum(sq, axis=3)], axis=3)
    hi = np.minimum(np.arange(C) + depth_radius + 1, C)
    lo = np.maximum(np.arange(C) - depth_radius, 0)
    sqr_sum = cs[..., hi] - cs[..., lo] if C else sq
    y = xw / (xw.dtype.type(bias) + xw.dtype.type(alpha) * sqr_sum) ** xw.dtype.type(beta)
    return _finish(y, x.dtype, T)


@op("L2Loss", inputs=["t"], attrs={"T": REQUIRED})
def l2_loss(t, *, T):
    x = _float_arg(t, "L2Loss input")
    xw = _work(x)
    return _finish(np.asarray(np.sum(np.square(xw)) / 2), x.dtype, T)


# --------------------------------------------------------------------------- losses, top-k

@op("SoftmaxCrossEntropyWithLogits", inputs=["features", "labels"], attrs={"T": REQUIRED})
def softmax_cross_entropy_with_logits(features, labels, *, T):
    f = _float_arg(features, "features")
    try:
        shape = np.broadcast_shapes(f.shape, np.shape(labels))
    except ValueError:
        raise ExecutionError(f"logits {f.shape} and labels {np.shape(labels)} do not broadcast") from None
    if len(shape) != 2:
        raise ExecutionError(f"logits and labels must be 2-D (after broadcasting), got {shape}")
    fw = np.broadcast_to(_work(f), shape)
    lw = np.broadcast_to(_work(np.asarray(labels)).astype(fw.dtype), shape)
    if shape[1] == 0:
        return _finish(np.zeros(shape[0], fw.dtype), f.dtype, T), _finish(np.zeros(shape, fw.dtype), f.dtype, T)
    shifted, e, s = _softmax_parts(fw)
    loss = np.sum(lw * (np.log(s) - shifted), axis=1)
    backprop = e / s - lw
    return _finish(loss, f.dtype, T), _finish(backprop, f.dtype, T)


@op("SparseSoftmaxCrossEntropyWithLogits", inputs=["features", "labels"], attrs={"T": REQUIRED})
def sparse_softmax_cross_entropy_with_logits(features, labels, *, T):
    f = _float_arg(features, "features")
    labels = np.asarray(labels)
    if f.ndim != 2 or labels.ndim != 1 or labels.shape[0] != f.shape[0]:
        raise ExecutionError(f"logits must be 2-D and labels 1-D with the same batch size, got "
                             f"{f.shape} and {labels.shape}")
    B, K = f.shape
    bad = (labels < 0) | (labels >= K)
    if bad.any():
        v = int(labels[bad][0])
        raise ExecutionError(f"received a label value of {v} which is outside the valid range of [0, {K})")
    if B == 0:
        return np.zeros(0, f.dtype), np.zeros((0, K), f.dtype)
    fw = _work(f)
    shifted, e, s = _softmax_parts(fw)
    rows = np.arange(B)
    loss = np.log(s[:, 0]) - shifted[rows, labels]
    backprop = e / s
    backprop[rows, labels] -= 1
    return _finish(loss, f.dtype, T), _finish(backprop, f.dtype, T)


def _in_top_k(predictions, targets, k):
    p = np.asarray(predictions)
    t = np.asarray(targets)
    if p.ndim != 2 or t.ndim != 1 or t.shape[0] != p.shape[0]:
        raise ExecutionError(f"InTopK: predictions must be 2-D and targets 1-D with the same batch size, "
                             f"got {p.shape} and {t.shape}")
    B, K = p.shape
    valid = (t >= 0) & (t < K)
    tp = p[np.arange(B), np.where(valid, t, 0)] if K else np.zeros(B, p.dtype)
    finite = np.all(np.isfinite(p), axis=1) & np.isfinite(tp)
    more = np.sum(p > tp[:, None], axis=1)
    return valid & finite & (more < int(k))


@op("InTopKV2", inputs=["predictions", "targets", "k"], attrs={"T": dtypes.int32})
def in_top_k_v2(predictions, targets, k, *, T):
    return _in_top_k(predictions, targets, np.asarray(k))


@op("InTopK", inputs=["predictions", "targets"], attrs={"k": REQUIRED, "T": dtypes.int32})
def in_top_k(predictions, targets, *, k, T):
    return _in_top_k(predictions, targets, k)


# --------------------------------------------------------------------------- fake quantization

def _nudge(qmin: int, qmax: int, lo, hi):
    """TF's nudged quantization range in float32 (zero must land exactly on a quantized value):
    (nudged_min, nudged_max, scale, zero_point)."""
    lo = np.float32(lo)
    hi = np.float32(hi)
    qmin_f, qmax_f = np.float32(qmin), np.float32(qmax)
    scale = (hi - lo) / (qmax_f - qmin_f)
    zp_from_min = qmin_f - lo / scale
    if zp_from_min < qmin_f:
        zp = qmin
    elif zp_from_min > qmax_f:
        zp = qmax
    else:
        zp = int(math.floor(float(zp_from_min) + 0.5))  # std::round: halves away from zero (zp >= 0)
    nmin = (qmin_f - np.float32(zp)) * scale
    nmax = (qmax_f - np.float32(zp)) * scale
    return np.float32(nmin), np.float32(nmax), np.float32(scale), zp


def _fake_quant(x, lo, hi, num_bits, narrow_range, use_inverse):
    if not 2 <= num_bits <= 16:
        raise ExecutionError(f"num_bits must be between 2 and 16, got {num_bits}")
    qmin = 1 if narrow_range else 0
    qmax = (1 << num_bits) - 1
    nmin, nmax, scale, _ = _nudge(qmin, qmax, lo, hi)
    xs = np.asarray(x, np.float32)
    shifted = np.maximum(np.minimum(xs, nmax), nmin) - nmin
    # TF 2.21's order of float32 operations (it decides ties): Nudge's inverse scale is recomputed from the
    # range, not 1 / scale; Args and PerChannel multiply by it, Vars divides by the scale.
    inverse = np.float32((np.float32(qmax) - np.float32(qmin)) / (np.float32(hi) - np.float32(lo)))
    quant_zero = np.floor(np.float32(-nmin * inverse) + np.float32(0.5))
    steps = shifted * inverse if use_inverse else shifted / scale
    return (np.floor(steps - quant_zero + np.float32(0.5)) * scale).astype(np.float32)


@op("FakeQuantWithMinMaxArgs", inputs=["inputs"],
    attrs={"min": -6.0, "max": 6.0, "num_bits": 8, "narrow_range": False})
def fake_quant_with_min_max_args(inputs, *, min, max, num_bits, narrow_range):
    if not min < max:
        raise ExecutionError(f"FakeQuantWithMinMaxArgs: min {min} must be less than max {max}")
    return _fake_quant(inputs, min, max, num_bits, narrow_range, use_inverse=True)


@op("FakeQuantWithMinMaxVars", inputs=["inputs", "min", "max"], attrs={"num_bits": 8, "narrow_range": False})
def fake_quant_with_min_max_vars(inputs, min, max, *, num_bits, narrow_range):
    if np.size(min) != 1 or np.size(max) != 1:
        raise ExecutionError("FakeQuantWithMinMaxVars: min and max must be scalars")
    return _fake_quant(inputs, np.asarray(min).reshape(()), np.asarray(max).reshape(()), num_bits,
                       narrow_range, use_inverse=False)


@op("FakeQuantWithMinMaxVarsPerChannel", inputs=["inputs", "min", "max"],
    attrs={"num_bits": 8, "narrow_range": False})
def fake_quant_with_min_max_vars_per_channel(inputs, min, max, *, num_bits, narrow_range):
    x = np.asarray(inputs, np.float32)
    lo, hi = np.asarray(min).reshape(-1), np.asarray(max).reshape(-1)
    if x.ndim < 1 or lo.shape != (x.shape[-1],) or hi.shape != lo.shape:
        raise ExecutionError(f"FakeQuantWithMinMaxVarsPerChannel: min/max must be 1-D of the last "
                             f"dimension of inputs {x.shape}, got {lo.shape} and {hi.shape}")
    out = np.empty_like(x)
    for c in range(x.shape[-1]):
        if lo[c] == 0 and hi[c] == 0:   # TF: a channel with min = max = 0 gives zeros
            out[..., c] = 0
            continue
        out[..., c] = _fake_quant(x[..., c], lo[c], hi[c], num_bits, narrow_range, use_inverse=True)
    return out


def _quantize_dequantize(x: np.ndarray, lo, hi, signed: bool, bits: int, range_given: bool, round_mode: str,
                         narrow: bool) -> np.ndarray:
    """TF's QuantizeAndDequantizeOneScaleImpl in the input's precision: the scale that maps [lo, hi] into the
    integer range while keeping 0 exact, taken from the side that limits it; values rounded (half to even or
    half up) on that grid."""
    T = x.dtype.type
    if signed:
        qmin = -(1 << (bits - 1)) + (1 if narrow else 0)
        qmax = (1 << (bits - 1)) - 1
    else:
        qmin, qmax = 0, (1 << bits) - 1
    lo, hi = T(lo), T(hi)
    if not range_given:
        lo, hi = (T(x.min()), T(x.max())) if x.size else (T(0), T(0))
    big = np.finfo(x.dtype).max
    with np.errstate(all="ignore"):
        from_min = T(qmin) / lo if qmin * lo > 0 else big
        from_max = T(qmax) / hi if qmax * hi > 0 else big
        if from_min < from_max:
            scale, inverse = T(from_min), T(lo / T(qmin))
            hi = T(T(qmax) * inverse)
        else:
            scale, inverse = T(from_max), T(hi / T(qmax)) if qmax else T(0)
            lo = T(T(qmin) * inverse)
        y = np.clip(x, lo, hi) if range_given else x
        y = y * scale
        y = np.floor(y + T(0.5)) if round_mode == "HALF_UP" else np.rint(y)
        return (y * inverse).astype(x.dtype)


def _qdq(name: str, input, input_min, input_max, bits: int, signed: bool, range_given: bool, round_mode: str,
         narrow: bool, axis: int) -> np.ndarray:
    x = np.asarray(input)
    if x.dtype.kind != "f":
        raise ExecutionError(f"{name}: input must be floating point, got {x.dtype}")
    if not 0 < bits <= (62 if signed else 63):
        raise ExecutionError(f"{name}: num_bits is out of range: {bits} with signed_input={signed}")
    if round_mode not in ("HALF_TO_EVEN", "HALF_UP"):
        raise ExecutionError(f"{name}: round_mode must be HALF_TO_EVEN or HALF_UP, got {round_mode!r}")
    lo, hi = np.asarray(input_min, x.dtype), np.asarray(input_max, x.dtype)
    if range_given and name != "QuantizeAndDequantizeV3" and (lo.ndim or hi.ndim):
        # TF 2.21's V2/V4 kernels take a given range as scalars only, even with an axis
        raise ExecutionError(f"{name}: input_{'min' if lo.ndim else 'max'} must be a scalar.")
    if axis == -1:
        if lo.size != 1 or hi.size != 1:
            raise ExecutionError(f"{name}: input_min and input_max must be scalars")
        if range_given and lo.reshape(()) > hi.reshape(()):
            raise ExecutionError(f"{name}: Invalid range: input_min {lo.reshape(())} > input_max {hi.reshape(())}")
        return _quantize_dequantize(x, lo.reshape(()), hi.reshape(()), signed, bits, range_given, round_mode, narrow)
    if not 0 <= axis < x.ndim:
        raise ExecutionError(f"{name}: axis {axis} is out of range for input of rank {x.ndim}")
    depth = x.shape[axis]
    lo, hi = lo.reshape(-1), hi.reshape(-1)
    if range_given and (lo.size != depth or hi.size != depth):
        raise ExecutionError(f"{name}: input_min and input_max must have {depth} elements")
    moved = np.moveaxis(x, axis, 0)
    out = np.empty_like(moved)
    for c in range(depth):
        out[c] = _quantize_dequantize(moved[c], lo[c] if lo.size > c else 0, hi[c] if hi.size > c else 0, signed,
                                      bits, range_given, round_mode, narrow)
    return np.moveaxis(out, 0, axis)


_QDQ_ATTRS = {"signed_input": True, "num_bits": 8, "range_given": False, "round_mode": "HALF_TO_EVEN",
              "narrow_range": False, "axis": -1}


@op("QuantizeAndDequantizeV2", "QuantizeAndDequantizeV4", inputs=["input", "input_min", "input_max"],
    attrs=dict(_QDQ_ATTRS))
def quantize_and_dequantize_v2(input, input_min, input_max, *, signed_input, num_bits, range_given, round_mode,
                               narrow_range, axis):
    return _qdq("QuantizeAndDequantizeV2", input, input_min, input_max, num_bits, signed_input, range_given,
                round_mode, narrow_range, axis)


@op("QuantizeAndDequantizeV3", inputs=["input", "input_min", "input_max", "num_bits"],
    attrs={"signed_input": True, "range_given": True, "narrow_range": False, "axis": -1})
def quantize_and_dequantize_v3(input, input_min, input_max, num_bits, *, signed_input, range_given, narrow_range,
                               axis):
    return _qdq("QuantizeAndDequantizeV3", input, input_min, input_max, int(np.asarray(num_bits).reshape(())),
                signed_input, range_given, "HALF_TO_EVEN", narrow_range, axis)
