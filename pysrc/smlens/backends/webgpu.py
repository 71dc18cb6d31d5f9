"""The webgpu backend: heavy float32 ops as WGSL compute shaders on the user's GPU, tensors kept on the
GPU between consecutive GPU steps (host = False: values are `DeviceTensor`s).

It runs only inside Pyodide, where JavaScript created the device layer (web/js/webgpu.js) and handed
it over with `install(runtime)`. Plan time (`kernel`) checks the op, its attrs and dtypes and uploads
constant inputs once (weights, packed fused-op arguments); run time specialises a shader to the
actual shapes (cached per op, attrs and shapes), allocates the output from the runtime's pool and
records the dispatch. Nothing waits on the GPU until `download`, which blocks on the read-back with
`pyodide.ffi.run_sync` (JSPI): the plan must be entered through Pyodide's async entry
(`runPythonAsync` / `run_async`). WGSL comes from `webgpu_wgsl`.
"""
from __future__ import annotations

import math
import weakref
from typing import Any, Callable

import numpy as np

from ..errors import ExecutionError
from ..kernels.array_ops import _reshape_target
from ..kernels.nn_ops import _window_geometry
from . import webgpu_wgsl as wgsl
from .base import DeviceTensor, PreparedKernel, StepSpec

F32 = np.dtype(np.float32)
_RUNTIME: Any = None


def install(runtime: Any) -> None:
    """Called from JavaScript with the object `createWebGPURuntime` returned (or None to remove it).
    Registers the backend with the plan compiler's backend registry where there is one."""
    global _RUNTIME, _BACKEND
    _RUNTIME = runtime
    _BACKEND = None
    reg = _registry()
    if reg is not None:
        if runtime is None:
            reg.unregister(WebGPUBackend.name)
        else:
            reg.register(backend())


def _registry():
    try:
        from . import registry
    except ImportError:  # the plan compiler's registry (backends/registry.py) is not in this build
        return None
    return registry


CHOICES = ("webgpu", "wasm", "numpy")


def select(choice: str | None = None) -> dict:
    """Pick the backends plans use: `choice` forces one (NumPy stays the fallback for what it does not
    run); None/"auto" takes webgpu only on a real GPU adapter — a fallback/software adapter (SwiftShader)
    is slower than wasm/NumPy, so then wasm (where registered) and NumPy. Returns what was chosen and why."""
    info = adapter_info()
    choice = (choice or "auto").lower()
    if choice in CHOICES:
        pref, reason = [choice], f"forced ({choice})"
    elif choice != "auto":
        raise ValueError(f"unknown backend {choice!r}: expected auto, {', '.join(CHOICES)}")
    elif info is not None and not info["isFallbackAdapter"]:
        pref, reason = ["webgpu", "wasm"], "GPU adapter found"
    else:
        pref = ["wasm"]
        reason = "software WebGPU adapter (slower than the CPU)" if info is not None else "no WebGPU adapter"
    reg = _registry()
    if reg is not None:
        reg.set_preference(pref + ["numpy"])
        active = [b.name for b in reg.resolve()]
    else:
        active = ["numpy"]
    return {"choice": choice, "backends": active, "reason": reason, "adapter": info}


def adapter_info() -> dict | None:
    if _RUNTIME is None:
        return None
    info = _RUNTIME.info
    out = {k: str(getattr(info, k, "") or "") for k in ("vendor", "architecture", "device", "description")}
    out["isFallbackAdapter"] = bool(getattr(info, "isFallbackAdapter", False))
    return out


_BACKEND: "WebGPUBackend | None" = None


def backend() -> "WebGPUBackend | None":
    """The backend over the installed runtime, or None where no WebGPU runtime was installed."""
    global _BACKEND
    if _BACKEND is None and _RUNTIME is not None:
        _BACKEND = WebGPUBackend(_RUNTIME)
    return _BACKEND


class WebGPUBackend:
    name = "webgpu"
    host = False

    def __init__(self, runtime: Any):
        from pyodide.ffi import to_js  # only inside Pyodide
        self._to_js = to_js
        self.rt = runtime
        self._pipelines: dict[str, int] = {}
        self.counts = {"uploads": 0, "downloads": 0, "dispatches": 0}
        self.declined: dict[str, int] = {}  # op -> steps this backend left to others (for profiles)
        self._plan_uploads: list | None = None  # constants uploaded while a kernel is being prepared

    # ------------------------------------------------------------------ Backend protocol
    def kernel(self, spec: StepSpec) -> PreparedKernel | None:
        k = self._kernel(spec)
        if k is None:
            self.declined[spec.op] = self.declined.get(spec.op, 0) + 1
        return k

    def _kernel(self, spec: StepSpec) -> PreparedKernel | None:
        build = _BUILDERS.get(spec.op)
        if build is None:
            return None
        for i, dt in enumerate(spec.in_dtypes):
            if i in spec.consts and np.asarray(spec.consts[i]).dtype.kind in "iu":
                continue  # shapes, axes, perms: read at plan time
            if dt is None:  # unknown producer dtype: the op's own type attr says what its inputs are
                t = spec.attrs.get("T")
                if getattr(t, "name", None) != "float32":
                    return None
            elif np.dtype(dt) != F32:
                return None
        self._plan_uploads = []
        try:
            k = build(self, spec)
        except _Decline:
            k = None
        finally:
            handles, self._plan_uploads = [t.handle for t in self._plan_uploads], None
        if k is None:
            self._free_handles(handles)
        elif handles:  # weights uploaded for this kernel live as long as the kernel (the plan) does
            weakref.finalize(k.fn, self._free_handles, handles)
        return k

    def _free_handles(self, handles: list) -> None:
        for h in handles:
            self.rt.free(h)

    def upload(self, array: np.ndarray) -> DeviceTensor:
        if np.asarray(array).dtype != F32:
            raise ExecutionError(f"webgpu holds float32 tensors only, not {np.asarray(array).dtype}")
        a = np.ascontiguousarray(array, dtype=F32)
        h = self.rt.upload(self._to_js(a.reshape(-1).view(np.uint8)))
        self.counts["uploads"] += 1
        t = DeviceTensor(self, int(h), a.shape, F32)
        if self._plan_uploads is not None:
            self._plan_uploads.append(t)
        return t

    def download(self, tensor: DeviceTensor) -> np.ndarray:
        from pyodide.ffi import run_sync
        data = run_sync(self.rt.download(tensor.handle))
        out = np.empty(tensor.shape, F32)
        if out.size:
            if data.length != out.size:
                raise ExecutionError(f"webgpu: read back {data.length} values for a tensor of {out.size}")
            data.assign_to(out.reshape(-1))
        self.counts["downloads"] += 1
        return out

    def free(self, tensor: DeviceTensor) -> None:
        self.rt.free(tensor.handle)

    # ------------------------------------------------------------------ helpers for op builders
    def alloc(self, shape: tuple) -> DeviceTensor:
        return DeviceTensor(self, int(self.rt.alloc(max(1, math.prod(shape)))), shape, F32)

    def alias(self, t: DeviceTensor, shape: tuple) -> DeviceTensor:
        """The same device buffer seen with another shape (Reshape, Squeeze, Identity)."""
        self.rt.retain(t.handle)
        return DeviceTensor(self, t.handle, shape, F32)

    def dispatch(self, shader: wgsl.Shader, inputs: list, out: DeviceTensor) -> DeviceTensor:
        pid = self._pipelines.get(shader.wgsl)
        if pid is None:
            pid = self._pipelines[shader.wgsl] = int(self.rt.compile(shader.wgsl))
        handles = [t.handle for t in inputs] + [out.handle]
        self.rt.run(pid, self._to_js(handles), self._to_js(list(shader.groups)), shader.label)
        self.counts["dispatches"] += 1
        return out

    def stats(self) -> dict:
        return dict(self.counts)


class _Decline(Exception):
    """Raised by a builder: this step stays on another backend."""


def _require(cond: bool) -> None:
    if not cond:
        raise _Decline()


def _cache(fn: Callable) -> Callable:
    """Memoise a shader generator on its (hashable) arguments."""
    memo: dict = {}

    def wrapped(*args):
        s = memo.get(args)
        if s is None:
            s = memo[args] = fn(*args)
        return s
    return wrapped


_BUILDERS: dict[str, Callable[[WebGPUBackend, StepSpec], PreparedKernel]] = {}


def builder(*ops: str):
    def register(fn):
        for o in ops:
            _BUILDERS[o] = fn
        return fn
    return register


def _const_or_input(be: WebGPUBackend, spec: StepSpec, pos: int):
    """A captured device copy of a constant input, or None (the input then arrives at run time)."""
    if pos in spec.consts:
        return be.upload(np.asarray(spec.consts[pos], F32))
    return None


def _inputs(args: list, captured: dict, n: int) -> list:
    """Merge run-time args (positions not captured) with captured device tensors, in input order."""
    it = iter(args)
    return [captured[i] if i in captured else next(it) for i in range(n)]


def _check_device(t, what: str, node: str) -> None:
    if not isinstance(t, DeviceTensor):
        raise ExecutionError(f"{node}: webgpu expected a device tensor for {what}, got {type(t).__name__}")


# --------------------------------------------------------------------------- fused epilogue

class _Fused:
    """The fused_ops of a _Fused* step. Per-channel arguments (bias, BatchNorm's four vectors) are packed
    into one `params` buffer: at plan time when they are all plan constants (uploaded once), else at run
    time on the GPU from the device tensors the step receives (a few tiny copy dispatches per run)."""

    def __init__(self, be: WebGPUBackend, spec: StepSpec, first_arg: int):
        a = spec.attrs
        n_args = int(a.get("num_args", 0))
        _require(len(spec.in_shapes) == first_arg + n_args)
        pos = first_arg
        self.steps, self.chunk_pos, self.residual = [], [], None
        for name in list(a.get("fused_ops") or []):
            if name in ("BiasAdd", "FusedBatchNorm"):
                k = 1 if name == "BiasAdd" else 4
                idx = list(range(len(self.chunk_pos), len(self.chunk_pos) + k))
                self.chunk_pos += list(range(pos, pos + k))
                self.steps.append(("bias" if k == 1 else "bn", *idx))
                pos += k
            elif name == "Add":
                _require(self.residual is None)
                self.residual = pos
                self.steps.append(("add",))
                pos += 1
            elif name in wgsl.UNARY_OPS and name != "Identity":
                self.steps.append(("act", name))
            else:
                raise _Decline()
        _require(pos == first_arg + n_args)
        self.epsilon = float(a.get("epsilon", 1e-4))
        self.alpha = float(a.get("leakyrelu_alpha", 0.2))
        self.params, self.channels = None, None
        self.const = all(p in spec.consts for p in self.chunk_pos)
        if self.chunk_pos and self.const:
            chunks = [np.asarray(spec.consts[p], F32).reshape(-1) for p in self.chunk_pos]
            _require(all(len(x) == len(chunks[0]) for x in chunks))
            self.channels = len(chunks[0])
            self.params = be.upload(np.concatenate(chunks))
        self.captured = frozenset(self.chunk_pos) if self.const else frozenset()
        self._eps: dict = {}
        self._copy = _cache(wgsl.copy_into)

    def epilogue(self, c: int) -> wgsl.Epilogue:
        """The shader epilogue for c channels: chunk i lives at element offset i*c of params."""
        ep = self._eps.get(c)
        if ep is None:
            steps = tuple((s[0], *[i * c for i in s[1:]]) if s[0] in ("bias", "bn") else s for s in self.steps)
            ep = self._eps[c] = wgsl.Epilogue(steps, self.epsilon, self.alpha)
        return ep

    def bind(self, be: WebGPUBackend, ins: list, c: int, out_shape: tuple, node: str) -> tuple[list, list]:
        """(extra buffers for the dispatch, temporaries to free after it)."""
        bufs, temps = [], []
        if self.chunk_pos:
            if self.const:
                if self.channels != c:
                    raise ExecutionError(f"{node}: fused arguments have {self.channels} channels, the result has {c}")
                bufs.append(self.params)
            else:
                params = be.alloc((len(self.chunk_pos) * c,))
                for i, p in enumerate(self.chunk_pos):
                    t = ins[p]
                    if math.prod(t.shape) != c:
                        raise ExecutionError(f"{node}: fused argument {t.shape} does not have {c} channels")
                    be.dispatch(self._copy(1, c, len(self.chunk_pos) * c, i * c), [t], params)
                bufs.append(params)
                temps.append(params)
        if self.residual is not None:
            r = ins[self.residual]
            if tuple(r.shape) != tuple(out_shape):
                raise ExecutionError(f"{node}: fused Add argument {r.shape} differs from the result {out_shape}")
            bufs.append(r)
        return bufs, temps


def _conv_geometry(spec: StepSpec, xs: tuple, ks: tuple) -> tuple:
    a = spec.attrs
    strides = list(a.get("strides", [1, 1, 1, 1]))
    dil = list(a.get("dilations", [1, 1, 1, 1]))
    padding = a.get("padding")
    explicit = list(a.get("explicit_paddings") or [])
    pairs = [(explicit[2], explicit[3]), (explicit[4], explicit[5])] if padding == "EXPLICIT" else None
    outs, pads = _window_geometry(xs[1:3], ks, strides[1:3], dil[1:3], padding, pairs)
    return (strides[1], strides[2]), (dil[1], dil[2]), outs, (pads[0][0], pads[1][0])


def _conv_attrs_ok(spec: StepSpec) -> None:
    a = spec.attrs
    _require(a.get("data_format", "NHWC") == "NHWC")
    s, d = list(a.get("strides", [1] * 4)), list(a.get("dilations", [1] * 4))
    _require(len(s) == 4 and s[0] == s[3] == 1 and len(d) == 4 and d[0] == d[3] == 1)
    _require(a.get("padding") in ("SAME", "VALID", "EXPLICIT"))
    if a.get("padding") == "EXPLICIT":
        e = list(a.get("explicit_paddings") or [])
        _require(len(e) == 8 and e[0] == e[1] == e[6] == e[7] == 0)
    for sh in spec.in_shapes[:2]:
        _require(sh is None or len(sh) == 4)


@builder("Conv2D", "_FusedConv2D", "DepthwiseConv2dNative", "_FusedDepthwiseConv2dNative")
def _conv(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _conv_attrs_ok(spec)
    depthwise = "Depthwise" in spec.op
    if spec.op.startswith("_Fused"):
        fused = _Fused(be, spec, 2)
    else:
        _require(len(spec.in_shapes) == 2)
        fused = None
    gen = _cache(wgsl.depthwise2d if depthwise else wgsl.conv2d)
    mm = _cache(lambda m, k, n, ep: wgsl.matmul((), (), (), m, k, n, False, False, ep))
    captured = {i: None for i in (fused.captured if fused else ())}
    wt = _const_or_input(be, spec, 1)
    if wt is not None:
        captured[1] = wt
    node = spec.node
    n_in = len(spec.in_shapes)

    def fn(*args):
        ins = _inputs(list(args), captured, n_in)
        x, w = ins[0], ins[1]
        for t, what in ((x, "input"), (w, "filter")):
            _check_device(t, what, node)
        if len(x.shape) != 4 or len(w.shape) != 4 or w.shape[2] != x.shape[3]:
            raise ExecutionError(f"{node}: input {x.shape} and filter {w.shape} do not match")
        strides, dil, (oh, ow), pads = _conv_geometry(spec, x.shape, w.shape[:2])
        o = w.shape[2] * w.shape[3] if depthwise else w.shape[3]
        out_shape = (x.shape[0], oh, ow, o)
        if math.prod(out_shape) == 0:
            return be.alloc(out_shape)
        extra, temps = fused.bind(be, ins, o, out_shape, node) if fused else ([], [])
        ep = fused.epilogue(o) if fused else wgsl.NO_EPILOGUE
        if not depthwise and w.shape[:2] == (1, 1) and strides == (1, 1) and pads == (0, 0):
            # a pointwise conv is a matmul [n*h*w, c] x [c, o] on the same NHWC/HWIO buffers; the matmul
            # kernel's 4x4 tiles reuse loads better than the direct conv's 1 pixel x 4 channels
            shader = mm(x.shape[0] * oh * ow, x.shape[3], o, ep)
        else:
            shader = gen(x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], w.shape[1], w.shape[3],
                         oh, ow, strides, dil, pads, ep)
        out = be.dispatch(shader, [x, w, *extra], be.alloc(out_shape))
        for t in temps:
            be.free(t)
        return out

    return PreparedKernel(fn, frozenset(captured))


@builder("MatMul", "_FusedMatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _matmul(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    a = spec.attrs
    batched = spec.op.startswith("Batch")
    ta = bool(a.get("adj_x" if batched else "transpose_a", False))
    tb = bool(a.get("adj_y" if batched else "transpose_b", False))
    if spec.op == "BatchMatMulV3":
        _require(getattr(a.get("Tout"), "name", "float32") == "float32")
    if spec.op == "_FusedMatMul":
        fused = _Fused(be, spec, 2)
    else:
        _require(len(spec.in_shapes) == 2)
        fused = None
    captured = {i: None for i in (fused.captured if fused else ())}
    for pos in (0, 1):
        t = _const_or_input(be, spec, pos)
        if t is not None:
            captured[pos] = t
    gen = _cache(wgsl.matmul)
    node = spec.node
    n_in = len(spec.in_shapes)

    def fn(*args):
        ins = _inputs(list(args), captured, n_in)
        x, y = ins[0], ins[1]
        if len(x.shape) < 2 or len(y.shape) < 2 or (not batched and (len(x.shape) != 2 or len(y.shape) != 2)):
            raise ExecutionError(f"{node}: matmul operands must be matrices, got {x.shape} and {y.shape}")
        m, k = (x.shape[-1], x.shape[-2]) if ta else (x.shape[-2], x.shape[-1])
        k2, n = (y.shape[-1], y.shape[-2]) if tb else (y.shape[-2], y.shape[-1])
        if k != k2:
            raise ExecutionError(f"{node}: inner dimensions differ: {x.shape} x {y.shape}")
        try:
            batch = tuple(np.broadcast_shapes(tuple(x.shape[:-2]), tuple(y.shape[:-2])))
        except ValueError:
            raise ExecutionError(f"{node}: batch dimensions {x.shape[:-2]} and {y.shape[:-2]} do not broadcast")
        out_shape = batch + (m, n)
        if math.prod(out_shape) == 0:
            return be.alloc(out_shape)
        if k == 0:
            raise _Unsupported(node, "matmul with an empty inner dimension")
        extra, temps = fused.bind(be, ins, n, out_shape, node) if fused else ([], [])
        ep = fused.epilogue(n) if fused else wgsl.NO_EPILOGUE
        shader = gen(batch, tuple(x.shape[:-2]), tuple(y.shape[:-2]), m, k, n, ta, tb, ep)
        out = be.dispatch(shader, [x, y, *extra], be.alloc(out_shape))
        for t in temps:
            be.free(t)
        return out

    return PreparedKernel(fn, frozenset(captured))


def _Unsupported(node: str, what: str) -> ExecutionError:
    return ExecutionError(f"{node}: webgpu: {what}")


@builder("MaxPool", "AvgPool")
def _pool(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    a = spec.attrs
    _require(a.get("data_format", "NHWC") == "NHWC" and a.get("padding") in ("SAME", "VALID"))
    ks, st = list(a.get("ksize")), list(a.get("strides"))
    _require(len(ks) == 4 and len(st) == 4 and ks[0] == ks[3] == st[0] == st[3] == 1)
    _require(len(spec.in_shapes) == 1)
    kind = "max" if spec.op == "MaxPool" else "avg"
    gen = _cache(wgsl.pool2d)
    node = spec.node

    def fn(x):
        if len(x.shape) != 4:
            raise ExecutionError(f"{node}: pooling needs a 4-D input, got {x.shape}")
        outs, pads = _window_geometry(x.shape[1:3], ks[1:3], st[1:3], [1, 1], a["padding"], None)
        out_shape = (x.shape[0], outs[0], outs[1], x.shape[3])
        if math.prod(out_shape) == 0:
            return be.alloc(out_shape)
        shader = gen(kind, *x.shape, ks[1], ks[2], outs[0], outs[1], (st[1], st[2]), (pads[0][0], pads[1][0]))
        return be.dispatch(shader, [x], be.alloc(out_shape))

    return PreparedKernel(fn)


@builder(*sorted(wgsl.BINARY_OPS))
def _binary(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == 2)
    if spec.op == "BiasAdd":
        _require(spec.attrs.get("data_format", "NHWC") == "NHWC")
    captured = {}
    for pos in (0, 1):
        t = _const_or_input(be, spec, pos)
        if t is not None:
            captured[pos] = t
    gen = _cache(wgsl.binary)
    node, op = spec.node, spec.op

    def fn(*args):
        x, y = _inputs(list(args), captured, 2)
        if op == "BiasAdd" and (len(y.shape) != 1 or not x.shape or x.shape[-1] != y.shape[0]):
            raise ExecutionError(f"{node}: bias {y.shape} does not match the last dimension of {x.shape}")
        try:
            out_shape = tuple(np.broadcast_shapes(tuple(x.shape), tuple(y.shape)))
        except ValueError:
            raise ExecutionError(f"{node}: shapes {x.shape} and {y.shape} are incompatible")
        if math.prod(out_shape) == 0:
            return be.alloc(out_shape)
        return be.dispatch(gen(op, out_shape, tuple(x.shape), tuple(y.shape)), [x, y], be.alloc(out_shape))

    return PreparedKernel(fn, frozenset(captured))


@builder(*sorted(wgsl.UNARY_OPS - {"Identity"}))
def _unary(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == 1)
    alpha = float(spec.attrs.get("alpha", 0.2))
    gen = _cache(wgsl.unary)
    names = (spec.op,)

    def fn(x):
        total = math.prod(x.shape)
        if total == 0:
            return be.alloc(x.shape)
        return be.dispatch(gen(names, total, alpha), [x], be.alloc(x.shape))

    return PreparedKernel(fn)


def _const_ints(spec: StepSpec, pos: int) -> list[int]:
    _require(pos in spec.consts)
    return [int(v) for v in np.asarray(spec.consts[pos]).reshape(-1)]


@builder("Sum", "Mean", "Max", "Min", "Prod")
def _reduce(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == 2)
    axes = _const_ints(spec, 1)
    keep = bool(spec.attrs.get("keep_dims", False))
    kind = spec.op.lower()
    gen = _cache(wgsl.reduce)
    node = spec.node

    def fn(x):
        r = len(x.shape)
        for ax in axes:
            if not -max(r, 1) <= ax < max(r, 1):
                raise ExecutionError(f"{node}: invalid reduction axis {ax} for a tensor of rank {r}")
        norm = tuple(sorted({ax % r for ax in axes})) if r else ()
        shape = tuple((1 if d in norm else s) for d, s in enumerate(x.shape)) if keep else \
            tuple(s for d, s in enumerate(x.shape) if d not in norm)
        count = math.prod(x.shape[d] for d in norm)
        if math.prod(shape) == 0 or count == 0:
            raise _Unsupported(node, "reduction of an empty tensor")
        return be.dispatch(gen(kind, tuple(x.shape), norm), [x], be.alloc(shape))

    return PreparedKernel(fn, frozenset({1}))


@builder("Softmax", "LogSoftmax")
def _softmax(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == 1)
    gen = _cache(wgsl.softmax)
    log = spec.op == "LogSoftmax"
    node = spec.node

    def fn(x):
        if len(x.shape) < 1 or math.prod(x.shape) == 0:
            raise ExecutionError(f"{node}: softmax needs a non-empty tensor of rank >= 1, got {x.shape}")
        return be.dispatch(gen(math.prod(x.shape[:-1]), x.shape[-1], log), [x], be.alloc(x.shape))

    return PreparedKernel(fn)


# --------------------------------------------------------------------------- shapes and data movement

@builder("Identity", "Snapshot", "StopGradient")
def _identity(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == 1)
    return PreparedKernel(lambda x: be.alias(x, x.shape))


@builder("Reshape")
def _reshape(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    sizes = _const_ints(spec, 1)

    def fn(x):
        try:
            return be.alias(x, _reshape_target(tuple(x.shape), sizes))
        except Exception as e:  # the reference's own message (InvalidArgument-style)
            raise ExecutionError(f"{spec.node}: {e}") from None

    return PreparedKernel(fn, frozenset({1}))


@builder("Squeeze")
def _squeeze(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    dims = [int(d) for d in spec.attrs.get("squeeze_dims") or []]

    def fn(x):
        r = len(x.shape)
        if not dims:
            return be.alias(x, tuple(d for d in x.shape if d != 1))
        axes = set()
        for d in dims:
            if not -r <= d < r or x.shape[d % r] != 1:
                raise ExecutionError(f"{spec.node}: can not squeeze dim {d} of shape {x.shape}")
            axes.add(d % r)
        return be.alias(x, tuple(s for i, s in enumerate(x.shape) if i not in axes))

    return PreparedKernel(fn)


@builder("ExpandDims")
def _expand_dims(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    dim = _const_ints(spec, 1)
    _require(len(dim) == 1)

    def fn(x):
        r = len(x.shape)
        d = dim[0]
        if not -r - 1 <= d <= r:
            raise ExecutionError(f"{spec.node}: ExpandDims dim {d} out of range for rank {r}")
        d = d + r + 1 if d < 0 else d
        return be.alias(x, tuple(x.shape[:d]) + (1,) + tuple(x.shape[d:]))

    return PreparedKernel(fn, frozenset({1}))


@builder("Transpose")
def _transpose(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    perm = tuple(_const_ints(spec, 1))
    gen = _cache(wgsl.transpose)

    def fn(x):
        if sorted(perm) != list(range(len(x.shape))):
            raise ExecutionError(f"{spec.node}: perm {list(perm)} is not a permutation of rank {len(x.shape)}")
        out_shape = tuple(x.shape[p] for p in perm)
        if math.prod(out_shape) == 0:
            return be.alloc(out_shape)
        return be.dispatch(gen(tuple(x.shape), perm), [x], be.alloc(out_shape))

    return PreparedKernel(fn, frozenset({1}))


@builder("ConcatV2")
def _concat(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    n = len(spec.in_shapes) - 1
    axis_l = _const_ints(spec, n)
    _require(len(axis_l) == 1 and n >= 1)
    captured = {}
    for pos in range(n):
        t = _const_or_input(be, spec, pos)
        if t is not None:
            captured[pos] = t
    gen = _cache(wgsl.copy_into)

    def fn(*args):
        xs = _inputs(list(args), captured, n)
        r = len(xs[0].shape)
        ax = axis_l[0]
        if not -r <= ax < r:
            raise ExecutionError(f"{spec.node}: ConcatV2 axis {ax} out of range for rank {r}")
        ax %= r
        for t in xs:
            if len(t.shape) != r or any(t.shape[d] != xs[0].shape[d] for d in range(r) if d != ax):
                raise ExecutionError(f"{spec.node}: ConcatV2 inputs {[t.shape for t in xs]} do not match")
        out_shape = tuple(xs[0].shape[:ax]) + (sum(t.shape[ax] for t in xs),) + tuple(xs[0].shape[ax + 1:])
        out = be.alloc(out_shape)
        outer = math.prod(out_shape[:ax])
        inner_out = math.prod(out_shape[ax:])
        off = 0
        for t in xs:
            inner = math.prod(t.shape[ax:])
            if inner and outer:
                be.dispatch(gen(outer, inner, inner_out, off), [t], out)
            off += inner
        return out

    return PreparedKernel(fn, frozenset(captured) | {n})


@builder("Pad", "PadV2")
def _pad(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    _require(len(spec.in_shapes) == (3 if spec.op == "PadV2" else 2))
    _require(1 in spec.consts)
    paddings = np.asarray(spec.consts[1])
    _require(paddings.ndim == 2 and paddings.shape[1] == 2 and paddings.dtype.kind in "iu")
    pads = tuple((int(a), int(b)) for a, b in paddings)
    _require(all(a >= 0 and b >= 0 for a, b in pads))
    value = 0.0
    captured = {1}
    if spec.op == "PadV2":
        _require(2 in spec.consts and np.asarray(spec.consts[2]).ndim == 0)
        value = float(np.asarray(spec.consts[2], F32))
        captured.add(2)
    gen = _cache(wgsl.pad)

    def fn(x):
        if len(x.shape) != len(pads):
            raise ExecutionError(f"{spec.node}: paddings {paddings.shape} do not match an input of rank {len(x.shape)}")
        out_shape = tuple(d + a + b for d, (a, b) in zip(x.shape, pads))
        if math.prod(out_shape) == 0 or math.prod(x.shape) == 0 and any(out_shape):
            if math.prod(out_shape) == 0:
                return be.alloc(out_shape)
            raise _Unsupported(spec.node, "padding an empty tensor")
        return be.dispatch(gen(tuple(x.shape), pads, value), [x], be.alloc(out_shape))

    return PreparedKernel(fn, frozenset(captured))


def _einsum_plan(equation: str) -> tuple | None:
    """A two-operand einsum as transpose -> batched matmul -> transpose: (a letters, b letters, out letters,
    batch, left-free, contracted, right-free), or None for what does not lower that way (ellipsis,
    repeated letters, a letter summed away inside one operand)."""
    eq = equation.replace(" ", "")
    if "..." in eq or "->" not in eq:
        return None
    ins, out = eq.split("->")
    ops = ins.split(",")
    if len(ops) != 2 or any(len(set(o)) != len(o) for o in (*ops, out)):
        return None
    a, b = ops
    if any(ch not in a and ch not in b for ch in out):
        return None
    batch = [ch for ch in a if ch in b and ch in out]
    contract = [ch for ch in a if ch in b and ch not in out]
    left = [ch for ch in a if ch not in b]
    right = [ch for ch in b if ch not in a]
    if any(ch not in out for ch in left + right):
        return None
    return a, b, out, batch, left, contract, right


@builder("Einsum")
def _einsum(be: WebGPUBackend, spec: StepSpec) -> PreparedKernel:
    plan = _einsum_plan(str(spec.attrs.get("equation", "")))
    _require(plan is not None and len(spec.in_shapes) == 2)
    a_l, b_l, out_l, batch, left, contract, right = plan
    a_perm = tuple(a_l.index(ch) for ch in batch + left + contract)
    b_perm = tuple(b_l.index(ch) for ch in batch + contract + right)
    mid = batch + left + right
    o_perm = tuple(mid.index(ch) for ch in out_l)
    captured = {}
    for pos in (0, 1):
        t = _const_or_input(be, spec, pos)
        if t is not None:
            captured[pos] = t
    tr, mm = _cache(wgsl.transpose), _cache(wgsl.matmul)
    node = spec.node

    def permuted(t: DeviceTensor, perm: tuple, temps: list) -> DeviceTensor:
        if perm == tuple(range(len(perm))):
            return t
        out = be.dispatch(tr(tuple(t.shape), perm), [t], be.alloc(tuple(t.shape[p] for p in perm)))
        temps.append(out)
        return out

    def fn(*args):
        x, y = _inputs(list(args), captured, 2)
        if len(x.shape) != len(a_l) or len(y.shape) != len(b_l):
            raise ExecutionError(f"{node}: Einsum operands {x.shape}, {y.shape} do not match {spec.attrs['equation']!r}")
        size = {}
        for letters, shape in ((a_l, x.shape), (b_l, y.shape)):
            for ch, d in zip(letters, shape):
                if size.setdefault(ch, d) != d:
                    raise ExecutionError(f"{node}: Einsum dimension {ch!r} is {size[ch]} and {d}")
        prod = lambda letters: math.prod(size[ch] for ch in letters)  # noqa: E731
        bt, m, k, n = prod(batch), prod(left), prod(contract), prod(right)
        mid_shape = tuple(size[ch] for ch in mid)
        out_shape = tuple(size[ch] for ch in out_l)
        if math.prod(out_shape) == 0 or k == 0:
            raise _Unsupported(node, "Einsum with an empty dimension")
        temps: list = []
        xa = permuted(x, a_perm, temps)
        yb = permuted(y, b_perm, temps)
        z = be.dispatch(mm((bt,), (bt,), (bt,), m, k, n, False, False, wgsl.NO_EPILOGUE), [xa, yb],
                        be.alloc(mid_shape))
        if o_perm != tuple(range(len(o_perm))):
            temps.append(z)
            z = be.dispatch(tr(mid_shape, o_perm), [z], be.alloc(out_shape))
        for t in temps:
            be.free(t)
        return z

    return PreparedKernel(fn, frozenset(captured))
