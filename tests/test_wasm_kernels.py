"""The wasm backend's kernels against the NumPy reference kernels, on random shapes and attrs.

Tier 1 (CPython) runs the committed module under wasmtime (arrays copied into its memory); tier 2
(pyodide) runs it inside Pyodide's own memory, registered by tests/pyodide/run.mjs the way web/worker.js
registers it in the page. Results agree with the reference to float32 rounding (summation order differs).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from smlens import dtypes
from smlens.backends.base import StepSpec
from smlens.backends.wasm import WasmBackend
from smlens.kernels import KERNELS
from smlens.kernels.registry import bind_attrs
from helpers.kernels import run

IN_PYODIDE = sys.platform == "emscripten"
MODULE = Path(__file__).resolve().parents[1] / "web" / "kernels" / "wasm" / "smlens_kernels.wasm"
F32 = np.float32


@pytest.fixture(scope="module")
def backend() -> WasmBackend:
    if IN_PYODIDE:
        be = WasmBackend.in_pyodide()
        if be is None:
            pytest.skip("the kernel module is not registered in this Pyodide (run.mjs registers it)")
        return be
    pytest.importorskip("wasmtime", reason="wasmtime (requirements-dev.txt) runs the module natively")
    from smlens.backends.wasm_runtime import WasmtimeKernels
    return WasmBackend(WasmtimeKernels(MODULE))


def spec_for(op: str, inputs: list, consts: dict, **attrs) -> StepSpec:
    attrs = with_t(op, attrs)
    bound = bind_attrs(KERNELS[op], dict(attrs))
    return StepSpec(op, {**attrs, **bound}, tuple(np.asarray(a).dtype for a in inputs),
                    tuple(np.asarray(a).shape for a in inputs), {i: inputs[i] for i in consts}, op)


def call(backend: WasmBackend, op: str, inputs: list, consts=(1,), **attrs):
    """(wasm result, reference result) for one step; fails if the backend declines."""
    spec = spec_for(op, inputs, set(consts), **attrs)
    pk = backend.kernel(spec)
    assert pk is not None, f"wasm backend declined {op} {attrs}"
    got = pk.fn(*[a for i, a in enumerate(inputs) if i not in pk.captured])
    return got, run(op, *inputs, **with_t(op, attrs))


def _f32t():
    return dtypes.from_numpy(np.dtype(F32))


def with_t(op: str, attrs: dict) -> dict:
    """attrs with the float32 type attr(s) the op declares."""
    extra = {t: _f32t() for t in ("T", "Tout") if t in KERNELS[op].attrs and t not in attrs}
    return {**attrs, **extra}


def close(got, want, rtol=2e-5, atol=2e-5):
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape and got.dtype == want.dtype == F32
    scale = max(1.0, float(np.max(np.abs(want)))) if want.size else 1.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale)


def rnd(rng, *shape):
    return rng.standard_normal(shape).astype(F32)


CONV_CASES = [
    # (N, H, W, C, KH, KW, O, strides, dilations, padding, data_format)
    (1, 9, 9, 16, 1, 1, 24, 1, 1, "VALID", "NHWC"),
    (2, 7, 5, 13, 1, 1, 9, 1, 1, "SAME", "NHWC"),
    (1, 8, 8, 3, 3, 3, 32, 2, 1, "SAME", "NHWC"),
    (2, 11, 10, 5, 3, 2, 7, 1, 2, "SAME", "NHWC"),
    (1, 10, 9, 4, 3, 3, 17, 2, 1, "VALID", "NHWC"),
    (3, 6, 7, 6, 1, 1, 5, 2, 1, "VALID", "NHWC"),
    (1, 12, 12, 8, 5, 5, 3, 3, 1, "EXPLICIT", "NHWC"),
    (2, 6, 8, 5, 3, 3, 11, 1, 1, "SAME", "NCHW"),
]


@pytest.mark.pyodide
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c[:7])) + f"-s{c[7]}d{c[8]}{c[9]}{c[10]}")
def test_conv2d(backend, case):
    N, H, W, C, KH, KW, O, s, d, padding, fmt = case
    rng = np.random.default_rng(sum(case[:7]))
    x = rnd(rng, N, H, W, C) if fmt == "NHWC" else rnd(rng, N, C, H, W)
    w = rnd(rng, KH, KW, C, O)
    full = [1, s, s, 1] if fmt == "NHWC" else [1, 1, s, s]
    dil = [1, d, d, 1] if fmt == "NHWC" else [1, 1, d, d]
    attrs = dict(strides=full, padding=padding, data_format=fmt, dilations=dil)
    if padding == "EXPLICIT":
        attrs["explicit_paddings"] = [0, 0, 1, 2, 2, 0, 0, 0]
    close(*call(backend, "Conv2D", [x, w], **attrs))


FUSED = [
    ["BiasAdd"], ["BiasAdd", "Relu"], ["BiasAdd", "Relu6"], ["FusedBatchNorm", "Relu6"],
    ["BiasAdd", "Add", "Relu"], ["BiasAdd", "Relu", "Add"], ["BiasAdd", "LeakyRelu"], ["FusedBatchNorm"],
    ["BiasAdd", "Elu"], ["BiasAdd", "Add"], ["Relu"],
]


def fused_args(rng, ops, channels, out_shape):
    args = []
    for name in ops:
        if name == "BiasAdd":
            args.append(rnd(rng, channels))
        elif name == "FusedBatchNorm":
            args += [rnd(rng, channels), rnd(rng, channels), rnd(rng, channels),
                     np.abs(rnd(rng, channels)) + F32(0.1)]
        elif name == "Add":
            args.append(rnd(rng, *out_shape))
    return args


@pytest.mark.pyodide
@pytest.mark.parametrize("ops", FUSED, ids="-".join)
@pytest.mark.parametrize("kind", ["conv1x1", "conv3x3", "depthwise", "matmul"])
def test_fused_epilogues(backend, kind, ops):
    rng = np.random.default_rng(len(ops) * 7 + len(kind))
    if kind == "matmul":
        a, b = rnd(rng, 13, 21), rnd(rng, 21, 19)
        args = fused_args(rng, ops, 19, (13, 19))
        op, attrs, inputs = "_FusedMatMul", {}, [a, b, *args]
    else:
        x = rnd(rng, 2, 9, 7, 12)
        k = 1 if kind == "conv1x1" else 3
        w = rnd(rng, k, k, 12, 1 if kind == "depthwise" else 10)
        out_c = 12 if kind == "depthwise" else 10
        stride = 1 if kind == "conv1x1" else 2
        out_shape = (2, 9, 7, out_c) if stride == 1 else (2, 5, 4, out_c)
        args = fused_args(rng, ops, out_c, out_shape)
        op = "_FusedDepthwiseConv2dNative" if kind == "depthwise" else "_FusedConv2D"
        attrs, inputs = dict(strides=[1, stride, stride, 1], padding="SAME"), [x, w, *args]
    consts = {1} | {i for i, a in enumerate(inputs) if i >= 2 and a.ndim == 1}
    close(*call(backend, op, inputs, consts, fused_ops=ops, num_args=len(args), epsilon=1e-3,
                leakyrelu_alpha=0.3, **attrs))


DW_CASES = [
    # (N, H, W, C, KH, KW, strides, dilations, padding, data_format)
    (1, 12, 12, 32, 3, 3, 1, 1, "SAME", "NHWC"),
    (2, 9, 11, 13, 3, 3, 2, 1, "SAME", "NHWC"),
    (1, 8, 8, 7, 5, 5, 1, 2, "VALID", "NHWC"),
    (1, 10, 7, 16, 3, 2, 2, 1, "VALID", "NHWC"),
    (2, 6, 6, 9, 3, 3, 1, 1, "EXPLICIT", "NHWC"),
    (1, 7, 9, 6, 3, 3, 2, 1, "SAME", "NCHW"),
]


@pytest.mark.pyodide
@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: "x".join(map(str, c[:6])) + f"-s{c[6]}d{c[7]}{c[8]}{c[9]}")
def test_depthwise(backend, case):
    N, H, W, C, KH, KW, s, d, padding, fmt = case
    rng = np.random.default_rng(sum(case[:6]))
    x = rnd(rng, N, H, W, C) if fmt == "NHWC" else rnd(rng, N, C, H, W)
    w = rnd(rng, KH, KW, C, 1)
    full = [1, s, s, 1] if fmt == "NHWC" else [1, 1, s, s]
    dil = [1, d, d, 1] if fmt == "NHWC" else [1, 1, d, d]
    attrs = dict(strides=full, padding=padding, data_format=fmt, dilations=dil)
    if padding == "EXPLICIT":
        attrs["explicit_paddings"] = [0, 0, 2, 1, 0, 1, 0, 0]
    close(*call(backend, "DepthwiseConv2dNative", [x, w], **attrs))


@pytest.mark.pyodide
def test_fused_depthwise_with_explicit_padding(backend):
    """What the fold_pad pass makes of ZeroPadding2D + DepthwiseConv2D (VALID)."""
    rng = np.random.default_rng(3)
    x, w, b = rnd(rng, 1, 9, 9, 24), rnd(rng, 3, 3, 24, 1), rnd(rng, 24)
    close(*call(backend, "_FusedDepthwiseConv2dNative", [x, w, b], (1, 2), strides=[1, 2, 2, 1],
                padding="EXPLICIT", explicit_paddings=[0, 0, 0, 1, 0, 1, 0, 0], fused_ops=["BiasAdd", "Relu6"],
                num_args=1))


@pytest.mark.pyodide
@pytest.mark.parametrize("M,K,N,ta,tb,const_b", [
    (1, 1280, 1000, False, False, True), (17, 33, 9, False, True, True), (5, 7, 3, True, False, False),
    (64, 96, 40, True, True, False), (3, 1, 1, False, False, True), (0, 4, 5, False, False, True),
])
def test_matmul(backend, M, K, N, ta, tb, const_b):
    rng = np.random.default_rng(M + K + N)
    a = rnd(rng, *((K, M) if ta else (M, K)))
    b = rnd(rng, *((N, K) if tb else (K, N)))
    close(*call(backend, "MatMul", [a, b], (1,) if const_b else (), transpose_a=ta, transpose_b=tb),
          rtol=1e-4, atol=1e-5)


@pytest.mark.pyodide
@pytest.mark.parametrize("op,xs,ys,adj", [
    ("BatchMatMulV2", (2, 3, 5, 7), (2, 3, 7, 4), (False, False)),
    ("BatchMatMulV2", (4, 6, 5), (5, 9), (False, False)),
    ("BatchMatMulV2", (1, 5, 6), (3, 4, 6), (False, True)),
    ("BatchMatMul", (3, 7, 5), (3, 7, 2), (True, False)),
])
def test_batch_matmul(backend, op, xs, ys, adj):
    rng = np.random.default_rng(len(xs) + sum(ys))
    x, y = rnd(rng, *xs), rnd(rng, *ys)
    close(*call(backend, op, [x, y], (), adj_x=adj[0], adj_y=adj[1]))


@pytest.mark.pyodide
@pytest.mark.parametrize("op,shape,k,s,padding,fmt", [
    ("MaxPool", (1, 9, 9, 5), 3, 2, "VALID", "NHWC"),
    ("MaxPool", (2, 8, 7, 12), 2, 2, "SAME", "NHWC"),
    ("AvgPool", (1, 9, 10, 6), 3, 1, "SAME", "NHWC"),
    ("AvgPool", (2, 7, 7, 3), 2, 2, "VALID", "NHWC"),
    ("MaxPool", (1, 4, 8, 8), 3, 2, "SAME", "NCHW"),
    ("AvgPool", (2, 3, 6, 5), 2, 1, "SAME", "NCHW"),
])
def test_pool(backend, op, shape, k, s, padding, fmt):
    rng = np.random.default_rng(sum(shape))
    x = rnd(rng, *shape)
    if fmt == "NHWC":
        ks, st = [1, k, k, 1], [1, s, s, 1]
    else:
        ks, st = [1, 1, k, k], [1, 1, s, s]
    close(*call(backend, op, [x], (), ksize=ks, strides=st, padding=padding, data_format=fmt))


@pytest.mark.pyodide
@pytest.mark.parametrize("op", ["AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum"])
@pytest.mark.parametrize("xs,ys", [((4, 5, 33), (4, 5, 33)), ((2, 7, 7, 24), (24,)), ((5,), (3, 4, 5)),
                                   ((6, 70), ()), ((), (3, 50)), ((3, 1, 40), (2, 40))])
def test_binary(backend, op, xs, ys):
    rng = np.random.default_rng(len(xs) * 10 + len(ys))
    x, y = rnd(rng, *xs), rnd(rng, *ys)
    if op == "RealDiv":
        y = np.where(np.abs(y) < 0.1, F32(0.5), y).astype(F32)
    got, want = call(backend, op, [x, y], ())
    close(got, want, rtol=1e-6, atol=0)


@pytest.mark.pyodide
@pytest.mark.parametrize("op,shape,pads,value", [
    ("Pad", (1, 7, 6, 5), [[0, 0], [0, 1], [0, 1], [0, 0]], None),
    ("Pad", (2, 3, 4, 9), [[0, 0], [2, 1], [3, 0], [0, 0]], None),
    ("PadV2", (1, 5, 5, 3), [[0, 0], [1, 1], [2, 2], [0, 0]], -1.5),
    ("Pad", (1, 4, 4, 3), [[0, 0], [0, 0], [0, 0], [0, 0]], None),
])
def test_pad(backend, op, shape, pads, value):
    x = rnd(np.random.default_rng(len(shape)), *shape)
    inputs = [x, np.array(pads, np.int32)] + ([np.array(value, F32)] if op == "PadV2" else [])
    got, want = call(backend, op, inputs, tuple(range(1, len(inputs))))
    np.testing.assert_array_equal(got, want)  # a copy


@pytest.mark.pyodide
def test_pad_declines_channel_padding(backend):
    x = np.zeros((1, 4, 4, 3), F32)
    pads = np.array([[0, 0], [1, 1], [1, 1], [0, 2]], np.int32)
    assert backend.kernel(spec_for("Pad", [x, pads], {1})) is None


@pytest.mark.pyodide
def test_bias_add(backend):
    rng = np.random.default_rng(4)
    x, b = rnd(rng, 2, 5, 5, 24), rnd(rng, 24)
    got, want = call(backend, "BiasAdd", [x, b], ())
    close(got, want, rtol=1e-6, atol=0)
    assert backend.kernel(spec_for("BiasAdd", [x, b], set(), data_format="NCHW")) is None


@pytest.mark.pyodide
@pytest.mark.parametrize("op", ["Relu", "Relu6"])
def test_clamp(backend, op):
    x = (np.random.default_rng(1).standard_normal(1001) * 8).astype(F32)
    x[3] = np.nan
    got, want = call(backend, op, [x], ())
    np.testing.assert_array_equal(got, want)  # max/min are exact


@pytest.mark.pyodide
@pytest.mark.parametrize("shape,axes,keep", [((2, 7, 7, 1280), [1, 2], False), ((3, 5, 6), [1], True),
                                             ((4, 9), [-1], False), ((2, 3, 4), [0, 2], False),
                                             ((6, 10), [0], True)])
def test_mean(backend, shape, axes, keep):
    x = rnd(np.random.default_rng(len(shape)), *shape)
    got, want = call(backend, "Mean", [x, np.array(axes, np.int32)], (1,), keep_dims=keep)
    close(got, want)


@pytest.mark.pyodide
def test_declines_what_it_does_not_implement(backend):
    x, w = np.zeros((1, 4, 4, 4), np.float64), np.zeros((1, 1, 4, 4), np.float64)
    assert backend.kernel(spec_for("Conv2D", [x, w], {1}, strides=[1, 1, 1, 1], padding="SAME")) is None
    x32, w32 = x.astype(F32), w.astype(F32)
    # filter not a plan constant; grouped convolution; channel multiplier 2
    assert backend.kernel(spec_for("Conv2D", [x32, w32], set(), strides=[1, 1, 1, 1], padding="SAME")) is None
    wg = np.zeros((1, 1, 2, 4), F32)
    assert backend.kernel(spec_for("Conv2D", [x32, wg], {1}, strides=[1, 1, 1, 1], padding="SAME")) is None
    wd = np.zeros((3, 3, 4, 2), F32)
    assert backend.kernel(spec_for("DepthwiseConv2dNative", [x32, wd], {1}, strides=[1, 1, 1, 1],
                                   padding="SAME")) is None
    assert backend.kernel(spec_for("Softplus", [x32], set())) is None
    assert backend.kernel(spec_for("MaxPool", [x32], set(), ksize=[1, 0, 2, 1], strides=[1, 1, 1, 1],
                                   padding="VALID")) is None


@pytest.mark.pyodide
def test_packed_weights_are_reused_across_runs(backend):
    rng = np.random.default_rng(5)
    x, w = rnd(rng, 1, 6, 6, 8), rnd(rng, 1, 1, 8, 16)
    spec = spec_for("Conv2D", [x, w], {1}, strides=[1, 1, 1, 1], padding="VALID")
    pk = backend.kernel(spec)
    assert pk.captured == frozenset({1})
    first = pk.fn(x)
    x2 = rnd(rng, 1, 6, 6, 8)
    close(pk.fn(x2), run("Conv2D", x2, w, strides=[1, 1, 1, 1], padding="VALID", T=_f32t()))
    close(pk.fn(x), first)


@pytest.mark.pyodide
def test_bad_shapes_get_a_clear_error(backend):
    from smlens.errors import ExecutionError
    rng = np.random.default_rng(2)
    x, w = rnd(rng, 1, 6, 6, 8), rnd(rng, 1, 1, 8, 16)
    pk = backend.kernel(spec_for("Conv2D", [x, w], {1}, strides=[1, 1, 1, 1], padding="VALID"))
    with pytest.raises(ExecutionError, match="depth"):
        pk.fn(rnd(rng, 1, 6, 6, 5))
    with pytest.raises(ExecutionError, match="4-D"):
        pk.fn(rnd(rng, 6, 6, 8))


@pytest.mark.pyodide
def test_dtype_unknown_at_plan_time(backend):
    """Shape inference may leave an input's dtype unknown: float32 at run time runs on wasm, anything else on
    the reference kernel."""
    rng = np.random.default_rng(9)
    a, b = rnd(rng, 3, 5), rnd(rng, 5, 4)
    spec = spec_for("MatMul", [a, b], {1})
    spec = StepSpec(spec.op, spec.attrs, (None, spec.in_dtypes[1]), (None, b.shape), spec.consts, spec.node)
    pk = backend.kernel(spec)
    assert pk is not None
    close(pk.fn(a), a @ b)
    a64 = a.astype(np.float64)
    got = pk.fn(a64)
    assert got.dtype == np.float64
    np.testing.assert_allclose(got, a64 @ b.astype(np.float64), rtol=1e-6)
    add = backend.kernel(StepSpec("AddV2", {"T": _f32t()}, (None, None), (None, None), {}, "add"))
    i = np.arange(100, dtype=np.int32)
    np.testing.assert_array_equal(add.fn(i, i), 2 * i)
