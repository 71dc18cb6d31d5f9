"""The `wasm` backend: float32 kernels in WebAssembly SIMD128 (web/kernels/wasm/kernels.c).

In Pyodide the kernel module shares Pyodide's memory and works on numpy buffers in place (see
wasm_runtime.py); natively it runs under wasmtime for tests only. A host backend: tensors are numpy
arrays. Each step's kernel is prepared once per plan: weights are packed into GEMM panels, bias and
batch-norm arguments folded into one per-channel scale and shift. Anything that is not float32, has
attrs the kernels do not implement, or lacks a constant filter is declined (the step runs on NumPy).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from ..errors import ExecutionError
from ..kernels import nn_ops
from .base import PreparedKernel, StepSpec
from .wasm_runtime import PyodideKernels, WasmtimeKernels, pyodide_kernels

F32 = np.dtype(np.float32)
NR = 8  # packed panel width (kernels.c NR)
_SCRATCH_FLOATS = 1 << 18  # im2col block: 1 MiB of patches at a time
HAS_SCALE, HAS_SHIFT, HAS_RES, RES_AFTER_ACT = 1, 2, 4, 8
ACT_NONE, ACT_CLAMP, ACT_LEAKY = 0, 1, 2
_BINARY = {"AddV2": 0, "Add": 0, "BiasAdd": 0, "BiasAddV1": 0, "Sub": 1, "Mul": 2, "RealDiv": 3, "Maximum": 4, "Minimum": 5}
_COMMUTATIVE = {0, 2, 4, 5}
_SWAPPED = {1: 6, 3: 7}  # b - a, b / a


class WasmBackend:
    """Backend protocol implementation over a kernel module (Pyodide's shared memory or wasmtime)."""
    name = "wasm"
    host = True

    def __init__(self, kernels: PyodideKernels | WasmtimeKernels):
        self.k = kernels

    @classmethod
    def in_pyodide(cls) -> "WasmBackend | None":
        kernels = pyodide_kernels()
        return cls(kernels) if kernels is not None else None

    def kernel(self, spec: StepSpec) -> PreparedKernel | None:
        make = _MAKERS.get(spec.op)
        # The data input's dtype may be unknown at plan time (the kernel checks it per run).
        if make is None or not spec.in_dtypes or (spec.in_dtypes[0] is not None
                                                  and np.dtype(spec.in_dtypes[0]) != F32):
            return None
        try:
            return make(self, spec)
        except _Decline:
            return None

    def upload(self, array: np.ndarray) -> np.ndarray:
        return array

    def download(self, tensor: np.ndarray) -> np.ndarray:
        return tensor

    def free(self, tensor) -> None:
        pass


class _Decline(Exception):
    pass


def _require(cond: bool) -> None:
    if not cond:
        raise _Decline()


def _f32_inputs(spec: StepSpec, positions) -> None:
    """float32 where the dtype is known at plan time (unknown ones are checked per run: `_prepared`)."""
    for i in positions:
        _require(i < len(spec.in_dtypes) and (spec.in_dtypes[i] is None or np.dtype(spec.in_dtypes[i]) == F32))


def _const(spec: StepSpec, i: int) -> np.ndarray:
    c = spec.consts.get(i)
    _require(c is not None)
    c = np.asarray(c)
    _require(c.dtype == F32)
    return c


def _as_f32(x, what: str) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype != F32:
        raise ExecutionError(f"wasm kernel for {what}: expected float32, got {x.dtype}")
    return x


# --------------------------------------------------------------------------- epilogue

class _Epilogue:
    """The part of a fused op list the kernels apply in their epilogue, and what is left for NumPy.

    Kernel epilogue: y*scale + shift (BiasAdd and FusedBatchNorm folded, consts only), then a residual
    `Add` before or after one clamp/leaky activation. Ops after that run as NumPy post-ops."""

    def __init__(self, be: WasmBackend, spec: StepSpec, channels: int, first_arg: int):
        attrs = spec.attrs
        ops = [o.decode() if isinstance(o, bytes) else str(o) for o in attrs.get("fused_ops", [])]
        num_args = int(attrs.get("num_args", 0))
        _require(len(spec.in_dtypes) == first_arg + num_args)
        _f32_inputs(spec, range(first_arg, first_arg + num_args))
        eps = float(attrs.get("epsilon", 1e-4))
        scale = np.ones(channels, np.float64)
        shift = np.zeros(channels, np.float64)
        flags, act, lo, hi, alpha = 0, ACT_NONE, 0.0, 0.0, 0.0
        pos = first_arg
        self.captured: set[int] = set()
        self.res_pos: int | None = None
        i = 0

        def vec(p: int) -> np.ndarray:
            v = _const(spec, p).astype(np.float64).reshape(-1)
            _require(v.size == channels)
            self.captured.add(p)
            return v

        while i < len(ops) and ops[i] in ("BiasAdd", "FusedBatchNorm"):
            if ops[i] == "BiasAdd":
                shift = shift + vec(pos)
                flags |= HAS_SHIFT
                pos += 1
            else:
                s, o, m, v = (vec(pos + j) for j in range(4))
                factor = s / np.sqrt(v + eps)
                scale, shift = scale * factor, (shift - m) * factor + o
                flags |= HAS_SCALE | HAS_SHIFT
                pos += 4
            i += 1
        if i < len(ops) and ops[i] == "Add":
            self.res_pos, flags, pos, i = pos, flags | HAS_RES, pos + 1, i + 1
        if i < len(ops) and ops[i] in ("Relu", "Relu6", "LeakyRelu"):
            act = ACT_LEAKY if ops[i] == "LeakyRelu" else ACT_CLAMP
            lo, hi = 0.0, (6.0 if ops[i] == "Relu6" else math.inf)
            alpha = float(attrs.get("leakyrelu_alpha", 0.2))
            i += 1
            if self.res_pos is None and i < len(ops) and ops[i] == "Add":
                self.res_pos, flags, pos, i = pos, flags | HAS_RES | RES_AFTER_ACT, pos + 1, i + 1
        self.rest_ops = ops[i:]
        self.rest_args = list(range(pos, first_arg + num_args))
        self.eps, self.alpha = eps, float(attrs.get("leakyrelu_alpha", 0.2))
        block = np.zeros(8, np.int32)
        block[0], block[1] = flags, act
        block[2:5] = np.array([lo, hi, alpha], F32).view(np.int32)
        if flags & (HAS_SCALE | HAS_SHIFT):
            padded = -(-channels // NR) * NR + NR
            sv, tv = np.zeros(padded, F32), np.zeros(padded, F32)
            sv[:channels], tv[:channels] = scale, shift
            self._scale, self._shift = be.k.keep(sv), be.k.keep(tv)
            block[5], block[6] = self._scale.addr, self._shift.addr
        self.block = block
        self.channels = channels
        self._be, self._kept = be, be.k.keep(block)  # kept outside any frame (wasmtime bump allocation)

    def block_for(self, frame, inputs, out_shape) -> int:
        """Address of the epilogue block for this call (kept per kernel; the residual pointer changes)."""
        if self.res_pos is None:
            return self._kept.addr
        res = _as_f32(inputs[self.res_pos], "residual Add")
        if res.shape != tuple(out_shape):
            res = np.broadcast_to(res, out_shape)
        self.block[7] = frame.arg(res)
        self._be.k.rewrite(self._kept, self.block)
        return self._kept.addr

    def post(self, y: np.ndarray, inputs, channel_axis: int) -> np.ndarray:
        if not self.rest_ops:
            return y
        args = [inputs[p] for p in self.rest_args]
        return nn_ops._apply_fused(y, self.rest_ops, args, self.eps, self.alpha, channel_axis)


def _no_epilogue(be: WasmBackend, spec: StepSpec, channels: int, first_arg: int) -> _Epilogue:
    return _Epilogue(be, StepSpec(spec.op, {}, spec.in_dtypes[:first_arg], spec.in_shapes[:first_arg],
                                  {}, spec.node), channels, first_arg)


def _conv_epilogue(be: WasmBackend, spec: StepSpec, channels: int) -> _Epilogue:
    """A fused convolution's epilogue (its fused_ops on the inputs after input and filter); the plain
    convolution has exactly those two inputs."""
    if spec.op.startswith("_Fused"):
        return _Epilogue(be, spec, channels, 2)
    _require(len(spec.in_dtypes) == 2)
    return _no_epilogue(be, spec, channels, 2)


def _runtime_inputs(captured: set[int]) -> Callable:
    """fn(*runtime_inputs) receives the step's inputs without the captured positions; rebuild the
    full positional list (captured entries None) so kernels index inputs by their position."""
    cap = sorted(captured)

    def expand(args: tuple) -> list:
        full = list(args)
        for p in cap:
            full.insert(p, None)
        return full
    return expand


def _prepared(fn_full: Callable, captured: set[int], spec: StepSpec) -> PreparedKernel:
    expand = _runtime_inputs(captured)
    unknown = [i for i, d in enumerate(spec.in_dtypes) if d is None and i not in captured]

    def fn(*args):
        inputs = expand(args)
        for i in unknown:  # dtype unknown at plan time and not float32 now: the reference kernel
            if getattr(inputs[i], "dtype", None) != F32:
                return _numpy_reference(spec, inputs)
        return fn_full(inputs)
    return PreparedKernel(fn=fn, captured=frozenset(captured))


# --------------------------------------------------------------------------- GEMM

def pack_b(be: WasmBackend, b: np.ndarray):
    """Kept packed panels of a constant 2-D (K, N) float32 matrix (once per plan)."""
    K, N = b.shape
    panels = -(-N // NR)
    # The layout kernels.c pack_b writes: out[p][k][j] = b[k, p*NR + j], zero beyond N.
    padded = np.zeros((K, panels * NR), F32)
    padded[:, :N] = b
    return be.k.keep(padded.reshape(K, panels, NR).transpose(1, 0, 2).reshape(-1))


def pack_b_now(be: WasmBackend, frame, b: np.ndarray) -> int:
    """Pack a run-time (K, N) matrix into frame scratch with the kernel's pack_b; its address."""
    K, N = b.shape
    addr = frame.scratch(-(-N // NR) * NR * max(K, 1) * 4)
    be.k.fn("pack_b")(frame.arg(np.ascontiguousarray(b)), K, N, N, 1, addr)
    return addr


def _gemm(be: WasmBackend, frame, a: np.ndarray, packed_addr: int, N: int, epi_addr: int, out_shape) -> np.ndarray:
    M, K = a.shape
    out = frame.out(out_shape)
    if M and N:
        be.k.fn("gemm")(M, N, K, frame.arg(a), K, packed_addr, out.addr, N, epi_addr)
    return out


def _make_matmul(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    ta, tb = bool(spec.attrs.get("transpose_a")), bool(spec.attrs.get("transpose_b"))
    _f32_inputs(spec, (0, 1))
    const_b = spec.consts.get(1)
    b_shape = np.shape(const_b) if const_b is not None else spec.in_shapes[1]
    _require(b_shape is None or len(b_shape) == 2)
    N = (b_shape[0] if tb else b_shape[1]) if b_shape is not None else -1
    fused = spec.op == "_FusedMatMul"
    if fused:
        if N < 0:  # output width from the first per-channel argument
            args = [spec.consts.get(i) for i in range(2, len(spec.in_dtypes))]
            N = next((np.size(a) for a in args if a is not None and np.ndim(a) == 1), -1)
        _require(N >= 0)
        epi = _Epilogue(be, spec, N, 2)
    else:
        _require(len(spec.in_dtypes) == 2)
        epi = _no_epilogue(be, spec, 0, 2)
    captured = set(epi.captured)
    packed = None
    if const_b is not None and np.asarray(const_b).dtype == F32 and np.asarray(const_b).ndim == 2:
        bm = np.asarray(const_b)
        packed = pack_b(be, bm.T if tb else bm)
        kdim = bm.shape[1] if tb else bm.shape[0]
        captured.add(1)

    def run(inputs: list):
        a = _as_f32(inputs[0], spec.op)
        if a.ndim != 2:
            raise ExecutionError(f"{spec.op} needs 2-D inputs, got shape {a.shape}")
        a = np.ascontiguousarray(a.T if ta else a)
        b = None
        if packed is not None:
            n_cols, k_rows = N, kdim
        else:
            b = _as_f32(inputs[1], spec.op)
            if b.ndim != 2:
                raise ExecutionError(f"{spec.op} needs 2-D inputs, got shape {b.shape}")
            b = b.T if tb else b
            (k_rows, n_cols) = b.shape
            if fused and n_cols != N:
                raise ExecutionError(f"{spec.op}: b has {n_cols} columns, the plan expected {N}")
        if a.shape[1] != k_rows:
            raise ExecutionError(f"{spec.op}: inner dimensions differ: {a.shape} x ({k_rows}, {n_cols})")
        out_shape = (a.shape[0], n_cols)
        with be.k.frame() as f:
            pk = packed.addr if b is None else pack_b_now(be, f, b)
            out = _gemm(be, f, a, pk, n_cols, epi.block_for(f, inputs, out_shape), out_shape)
        return epi.post(out.array, inputs, 1)
    return _prepared(run, captured, spec)


def _make_batch_matmul(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _f32_inputs(spec, (0, 1))
    _require(len(spec.in_dtypes) == 2)
    if spec.op == "BatchMatMulV3":
        _require(spec.attrs.get("Tout") is None or np.dtype(_np_dtype(spec.attrs["Tout"])) == F32)
    adj_x, adj_y = bool(spec.attrs.get("adj_x")), bool(spec.attrs.get("adj_y"))
    broadcast = spec.op != "BatchMatMul"
    empty = _no_epilogue(be, spec, 0, 2)

    def run(inputs: list):
        x, y = _as_f32(inputs[0], spec.op), _as_f32(inputs[1], spec.op)
        if x.ndim < 2 or y.ndim < 2:
            raise ExecutionError(f"{spec.op}: inputs must be at least 2-D, got {x.shape} and {y.shape}")
        if adj_x:
            x = np.swapaxes(x, -1, -2)
        if adj_y:
            y = np.swapaxes(y, -1, -2)
        if x.shape[-1] != y.shape[-2]:
            raise ExecutionError(f"{spec.op}: inner dimensions differ: {x.shape} x {y.shape}")
        if broadcast:
            try:
                batch = np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
            except ValueError:
                raise ExecutionError(f"{spec.op}: batch dimensions do not broadcast: {x.shape} x {y.shape}")
        else:
            if x.shape[:-2] != y.shape[:-2]:
                raise ExecutionError(f"{spec.op}: batch dimensions differ: {x.shape} x {y.shape}")
            batch = x.shape[:-2]
        M, K, N = x.shape[-2], x.shape[-1], y.shape[-1]
        xb = np.broadcast_to(x, batch + (M, K)).reshape(-1, M, K)
        yb = np.broadcast_to(y, batch + (K, N)).reshape(-1, K, N)
        result = np.empty((xb.shape[0], M, N), F32)
        for i in range(xb.shape[0]):
            with be.k.frame() as f:
                pk = pack_b_now(be, f, yb[i])
                out = _gemm(be, f, np.ascontiguousarray(xb[i]), pk, N, empty.block_for(f, [], (M, N)), (M, N))
            result[i] = out.array
        return result.reshape(batch + (M, N))
    return _prepared(run, set(), spec)


def _np_dtype(t):
    try:
        return np.dtype(t)
    except TypeError:
        return getattr(t, "np", None) or getattr(t, "numpy", None)


# --------------------------------------------------------------------------- convolutions

class _Geometry:
    """Channels-last view of one 2-D window op's input and its output geometry (`cache`: the kernel's own,
    by input shape: a step sees the same shape run after run)."""

    def __init__(self, spec: StepSpec, x: np.ndarray, kh: int, kw: int, cache: dict):
        if x.ndim != 4:
            raise ExecutionError(f"{spec.op}: input must be 4-D, got shape {x.shape}")
        fmt = _str(spec.attrs.get("data_format", "NHWC"))
        self.nchw = fmt == "NCHW"
        self.x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)) if self.nchw else x
        key = self.x.shape[1:3]
        hit = cache.get(key)
        if hit is None:
            attrs = spec.attrs
            padding = _str(attrs["padding"])
            strides = nn_ops._spatial_attr(attrs["strides"], fmt, 2, "strides")
            dil = nn_ops._spatial_attr(attrs.get("dilations", [1, 1, 1, 1]), fmt, 2, "dilations")
            explicit = nn_ops._explicit_pairs(attrs.get("explicit_paddings", []), fmt, 2) \
                if padding == "EXPLICIT" else None
            outs, pads = nn_ops._window_geometry(self.x.shape[1:3], (kh, kw), strides, dil, padding, explicit)
            if len(cache) > 64:
                cache.clear()
            hit = cache[key] = (strides, dil, outs, pads[0][0], pads[1][0])
        self.strides, self.dil, self.outs, self.pt, self.pl = hit

    def restore(self, y: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(y.transpose(0, 3, 1, 2)) if self.nchw else y


def _str(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)


def _check_window_attrs(spec: StepSpec, allow_explicit: bool) -> None:
    fmt = _str(spec.attrs.get("data_format", "NHWC"))
    _require(fmt in ("NHWC", "NCHW"))
    padding = _str(spec.attrs.get("padding", ""))
    _require(padding in ("SAME", "VALID") or (allow_explicit and padding == "EXPLICIT"))


def _make_conv2d(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _check_window_attrs(spec, True)
    w = _const(spec, 1)
    _require(w.ndim == 4)
    KH, KW, Cin, O = w.shape
    x_shape = spec.in_shapes[0]
    _require(x_shape is None or len(x_shape) == 4)
    fmt = _str(spec.attrs.get("data_format", "NHWC"))
    C = (x_shape[1] if fmt == "NCHW" else x_shape[3]) if x_shape is not None else -1
    _require(C in (-1, Cin) and Cin > 0)  # grouped convolutions stay on NumPy (also checked per run)
    epi = _conv_epilogue(be, spec, O)
    packed = pack_b(be, w.reshape(KH * KW * Cin, O))
    captured = {1} | epi.captured
    geo: dict = {}

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        g = _Geometry(spec, x, KH, KW, geo)
        N, H, W, Cx = g.x.shape
        if Cx != Cin:
            if Cx > Cin and Cx % Cin == 0:  # grouped: the reference kernel implements it
                return _numpy_reference(spec, inputs)
            raise ExecutionError(f"{spec.op}: input depth {Cx} does not match the filter's {Cin}")
        OH, OW = g.outs
        out_shape = (N, OH, OW, O)
        with be.k.frame() as f:
            if N * OH * OW == 0 or O == 0:
                y = np.zeros(out_shape, F32)
            elif KH == KW == 1 and g.strides == [1, 1] and g.pt == g.pl == 0 and (OH, OW) == (H, W):
                a = np.ascontiguousarray(g.x).reshape(-1, Cin)
                epi_addr = epi.block_for(f, _nhwc_inputs(inputs, epi, g), out_shape)
                y = _gemm(be, f, a, packed.addr, O, epi_addr, out_shape)
            else:
                K = KH * KW * Cin
                rows = max(4, min(N * OH * OW, _SCRATCH_FLOATS // K))
                y = f.out(out_shape)
                epi_addr = epi.block_for(f, _nhwc_inputs(inputs, epi, g), out_shape)
                be.k.fn("conv2d")(f.arg(np.ascontiguousarray(g.x)), N, H, W, Cin, packed.addr, O, KH, KW,
                                  g.strides[0], g.strides[1], g.dil[0], g.dil[1], g.pt, g.pl, OH, OW,
                                  y.addr, f.scratch(rows * K * 4), rows, epi_addr)
        y = y if isinstance(y, np.ndarray) else y.array
        return g.restore(epi.post(y, _nhwc_inputs(inputs, epi, g), 3))
    return _prepared(run, captured, spec)


def _numpy_reference(spec: StepSpec, inputs: list):
    """The NumPy reference kernel for a case found only at run time (captured consts restored)."""
    from ..kernels import KERNELS

    k = KERNELS[spec.op]
    full = [spec.consts[i] if a is None and i in spec.consts else a for i, a in enumerate(inputs)]
    attrs = {n: spec.attrs[n] for n in k.attrs if n in spec.attrs}
    return k.fn(*k.split_inputs(full, spec.attrs), **attrs)


def _nhwc_inputs(inputs: list, epi: _Epilogue, g: _Geometry) -> list:
    """Residual / post-op tensor arguments in the kernels' channels-last layout."""
    if not g.nchw:
        return inputs
    out = list(inputs)
    for p in ([epi.res_pos] if epi.res_pos is not None else []) + epi.rest_args:
        a = np.asarray(out[p])
        if a.ndim == 4:
            out[p] = np.ascontiguousarray(a.transpose(0, 2, 3, 1))
    return out


def _make_depthwise(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _check_window_attrs(spec, True)
    w = _const(spec, 1)
    _require(w.ndim == 4 and w.shape[3] == 1)  # channel multiplier > 1 stays on NumPy
    KH, KW, C, _ = w.shape
    epi = _conv_epilogue(be, spec, C)
    wk = be.k.keep(np.ascontiguousarray(w.reshape(KH, KW, C)))
    captured = {1} | epi.captured
    geo: dict = {}

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        g = _Geometry(spec, x, KH, KW, geo)
        N, H, W, Cx = g.x.shape
        if Cx != C:
            raise ExecutionError(f"{spec.op}: depthwise filter depth {C} does not match input depth {Cx}")
        OH, OW = g.outs
        out_shape = (N, OH, OW, C)
        nhwc = _nhwc_inputs(inputs, epi, g)
        with be.k.frame() as f:
            y = f.out(out_shape)
            if N * OH * OW * C:
                be.k.fn("depthwise2d")(f.arg(np.ascontiguousarray(g.x)), N, H, W, C, wk.addr, KH, KW,
                                       g.strides[0], g.strides[1], g.dil[0], g.dil[1], g.pt, g.pl, OH, OW,
                                       y.addr, epi.block_for(f, nhwc, out_shape))
        return g.restore(epi.post(y.array, nhwc, 3))
    return _prepared(run, captured, spec)


# --------------------------------------------------------------------------- pooling

def _make_pool(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _check_window_attrs(spec, spec.op == "MaxPool")
    _require(len(spec.in_dtypes) == 1)
    fmt = _str(spec.attrs.get("data_format", "NHWC"))
    KH, KW = nn_ops._spatial_attr(spec.attrs["ksize"], fmt, 2, "ksize")
    _require(KH >= 1 and KW >= 1)  # the reference kernel reports bad windows
    kind = 0 if spec.op == "MaxPool" else 1
    pool_spec = StepSpec(spec.op, {**spec.attrs, "dilations": [1, 1, 1, 1]}, spec.in_dtypes, spec.in_shapes,
                         spec.consts, spec.node)
    geo: dict = {}

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        g = _Geometry(pool_spec, x, KH, KW, geo)
        N, H, W, C = g.x.shape
        OH, OW = g.outs
        with be.k.frame() as f:
            y = f.out((N, OH, OW, C))
            if y.array.size:
                be.k.fn("pool2d")(kind, f.arg(np.ascontiguousarray(g.x)), N, H, W, C, KH, KW,
                                  g.strides[0], g.strides[1], g.pt, g.pl, OH, OW, y.addr)
        return g.restore(y.array)
    return _prepared(run, set(), spec)


# --------------------------------------------------------------------------- elementwise, Mean

def _make_binary(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _f32_inputs(spec, (0, 1))
    _require(len(spec.in_dtypes) == 2)
    if spec.op in ("BiasAdd", "BiasAddV1"):  # channels-last: the bias repeats over the last axis
        _require(_str(spec.attrs.get("data_format", "NHWC")) in ("NHWC", "NDHWC", "NWC"))
        _require(spec.in_shapes[1] is None or len(spec.in_shapes[1]) == 1)
    code = _BINARY[spec.op]
    fn = be.k.fn("binary")
    np_fn = {0: np.add, 1: np.subtract, 2: np.multiply, 3: np.divide, 4: np.maximum, 5: np.minimum}[code]

    def run(inputs: list):
        a, b = np.asarray(inputs[0]), np.asarray(inputs[1])
        if a.dtype != F32 or b.dtype != F32:
            return np_fn(a, b)
        op, big, small = code, a, b
        if _suffix_period(b.shape, a.shape) is None and _suffix_period(a.shape, b.shape) is not None:
            op, big, small = (code if code in _COMMUTATIVE else _SWAPPED[code]), b, a
        m = _suffix_period(small.shape, big.shape)
        if spec.op.startswith("BiasAdd") and (b.ndim != 1 or a.ndim < 2 or a.shape[-1] != b.shape[0]):
            return _numpy_reference(spec, inputs)  # its error message
        if m is None or big.size < 64:
            with np.errstate(all="ignore"):
                return np_fn(a, b)
        with be.k.frame() as f:
            out = f.out(big.shape)
            if big.size:
                fn(op, f.arg(big), f.arg(small), big.size, m, out.addr)
        return out.array
    return _prepared(run, set(), spec)


def _suffix_period(small: tuple, big: tuple) -> int | None:
    """The period with which `small` repeats over `big` when it broadcasts as a suffix of it
    (leading 1s dropped), else None; small's shape must not widen big's."""
    if len(small) > len(big):
        if any(d != 1 for d in small[:len(small) - len(big)]):
            return None
        small = small[len(small) - len(big):]
    s = list(small)
    while s and s[0] == 1:
        s.pop(0)
    if not s:
        return 1
    if tuple(s) != tuple(big[len(big) - len(s):]):
        return None
    m = math.prod(s)
    return m if m > 0 else None


def _make_clamp(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_dtypes) == 1)
    hi = 6.0 if spec.op == "Relu6" else math.inf
    fn = be.k.fn("clamp")

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        with be.k.frame() as f:
            out = f.out(x.shape)
            if x.size:
                fn(f.arg(x), x.size, 0.0, hi, out.addr)
        return out.array
    return _prepared(run, set(), spec)


def _make_mean(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_dtypes) == 2)
    axes_c = spec.consts.get(1)
    _require(axes_c is not None)
    axes_c = np.asarray(axes_c)
    _require(axes_c.dtype.kind == "i" and axes_c.ndim <= 1)
    keep = bool(spec.attrs.get("keep_dims", False))
    fn = be.k.fn("mean_middle")

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        axes = sorted({int(a) + x.ndim if int(a) < 0 else int(a) for a in axes_c.reshape(-1)})
        if any(a < 0 or a >= x.ndim for a in axes):
            raise ExecutionError(f"Mean: reduction axes {axes_c.tolist()} out of range for shape {x.shape}")
        out_shape = tuple(1 if i in axes else d for i, d in enumerate(x.shape)) if keep else \
            tuple(d for i, d in enumerate(x.shape) if i not in axes)
        if not axes or axes != list(range(axes[0], axes[-1] + 1)) or x.size == 0:
            with np.errstate(all="ignore"):
                return np.mean(x, axis=tuple(axes), keepdims=keep).astype(F32)
        R = math.prod(x.shape[:axes[0]])
        S = math.prod(x.shape[axes[0]:axes[-1] + 1])
        C = math.prod(x.shape[axes[-1] + 1:])
        with be.k.frame() as f:
            out = f.out(out_shape)
            fn(f.arg(np.ascontiguousarray(x)), R, S, C, out.addr)
        return out.array
    return _prepared(run, {1}, spec)


def _make_pad(be: WasmBackend, spec: StepSpec) -> PreparedKernel:
    """Pad / PadV2 of the spatial dims of a 4-D float32 tensor (MobileNet's ZeroPadding2D)."""
    _require(len(spec.in_dtypes) == (3 if spec.op == "PadV2" else 2))
    pads = spec.consts.get(1)
    _require(pads is not None and np.shape(pads) == (4, 2) and np.asarray(pads).dtype.kind == "i")
    pads = np.asarray(pads).astype(np.int64)
    _require(not pads[0].any() and not pads[3].any() and (pads >= 0).all())
    value = 0.0
    captured = {1}
    if spec.op == "PadV2":
        cv = spec.consts.get(2)
        _require(cv is not None and np.size(cv) == 1 and np.asarray(cv).dtype == F32)
        value, captured = float(np.asarray(cv).reshape(())), {1, 2}
    (pt, pb), (pl, pr) = (int(v) for v in pads[1]), (int(v) for v in pads[2])
    fn = be.k.fn("pad_hw")

    def run(inputs: list):
        x = _as_f32(inputs[0], spec.op)
        if x.ndim != 4:
            return _numpy_reference(spec, inputs)  # its error message
        N, H, W, C = x.shape
        with be.k.frame() as f:
            out = f.out((N, H + pt + pb, W + pl + pr, C))
            if out.array.size:
                fn(f.arg(x), N, H, W, C, pt, pl, H + pt + pb, W + pl + pr, value, out.addr)
        return out.array
    return _prepared(run, captured, spec)


_MAKERS = {
    "MatMul": _make_matmul, "_FusedMatMul": _make_matmul,
    "BatchMatMul": _make_batch_matmul, "BatchMatMulV2": _make_batch_matmul, "BatchMatMulV3": _make_batch_matmul,
    "Conv2D": _make_conv2d, "_FusedConv2D": _make_conv2d,
    "DepthwiseConv2dNative": _make_depthwise, "_FusedDepthwiseConv2dNative": _make_depthwise,
    "MaxPool": _make_pool, "AvgPool": _make_pool,
    "Relu": _make_clamp, "Relu6": _make_clamp,
    "Mean": _make_mean,
    "Pad": _make_pad, "PadV2": _make_pad,
    **{name: _make_binary for name in _BINARY},
}
SUPPORTED_OPS = frozenset(_MAKERS)


def register_in_pyodide(prefer: bool = True) -> bool:
    """Register the backend when the page registered the kernel module (web/worker.js); with `prefer`,
    plans try it before NumPy. False where there is no module (or no backend registry)."""
    be = WasmBackend.in_pyodide()
    if be is None:
        return False
    try:
        from . import registry
    except ImportError:
        return False
    registry.register(be)
    if prefer:
        registry.set_preference([be.name, "numpy"])
    return True
