"""Every WGSL kernel of the webgpu backend against smlens' own NumPy kernels (kernels/registry.py), on
random shapes: strides, SAME/VALID/EXPLICIT padding, dilations, odd sizes, batch > 1, broadcasting.

Runs in the webgpu tier (`node tests/webgpu/run.mjs`: Pyodide in Node with WebGPU from Dawn, SwiftShader
without a GPU). Elsewhere (CPython, or Pyodide without an installed runtime) the module is skipped.
"""
from __future__ import annotations

import sys

import numpy as np
import pytest

from smlens import dtypes
from smlens.backends.base import DeviceTensor, StepSpec
from smlens.errors import ExecutionError
from smlens.kernels.registry import KERNELS, bind_attrs

if sys.platform != "emscripten":
    pytest.skip("webgpu kernels run in the webgpu tier (node tests/webgpu/run.mjs: pyodide + Dawn)",
                allow_module_level=True)

from smlens.backends import webgpu  # noqa: E402

BE = webgpu.backend()
if BE is None:
    pytest.skip("no WebGPU runtime installed (run through tests/webgpu/run.mjs)", allow_module_level=True)

F32 = np.float32
_TYPE_ATTRS = {"T": dtypes.from_name("float32"), "Tout": dtypes.from_name("float32"),
               "Tidx": dtypes.from_name("int32"), "Tshape": dtypes.from_name("int32"),
               "Tperm": dtypes.from_name("int32"), "Tdim": dtypes.from_name("int32")}


def _attrs(op: str, attrs: dict, n_inputs: int) -> dict:
    spec = KERNELS[op]
    given = {k: v for k, v in _TYPE_ATTRS.items() if k in spec.attrs}
    if "N" in spec.attrs:
        given["N"] = n_inputs - 1
    given.update(attrs)
    return bind_attrs(spec, given)


def reference(op: str, inputs: list, attrs: dict) -> np.ndarray:
    spec = KERNELS[op]
    full = _attrs(op, attrs, len(inputs))
    return np.asarray(spec.fn(*spec.split_inputs(list(inputs), full), **full))


def on_gpu(op: str, inputs: list, attrs: dict, consts=(), node: str = "test_node") -> np.ndarray:
    full = _attrs(op, attrs, len(inputs))
    spec = StepSpec(op, full, tuple(np.asarray(x).dtype for x in inputs), tuple(np.shape(x) for x in inputs),
                    {i: np.asarray(inputs[i]) for i in consts}, node)
    k = BE.kernel(spec)
    assert k is not None, f"webgpu declined {op} {full}"
    args = [BE.upload(x) for i, x in enumerate(inputs) if i not in k.captured]
    out = k.fn(*args)
    assert isinstance(out, DeviceTensor)
    got = BE.download(out)
    for t in args + [out]:
        BE.free(t)
    return got


def check(op, inputs, attrs, consts=(), rtol=1e-4, atol=1e-5):
    want = reference(op, inputs, attrs)
    got = on_gpu(op, inputs, attrs, consts)
    assert got.shape == want.shape, (got.shape, want.shape)
    assert want.dtype == np.float32
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)


def rnd(rng, *shape, lo=-1.0, hi=1.0):
    return rng.uniform(lo, hi, size=shape).astype(F32)


# --------------------------------------------------------------------------- convolutions

CONV_CASES = [
    # n, h, w, c, kh, kw, o, strides, dilations, padding
    (1, 7, 9, 3, 3, 3, 8, 1, 1, "SAME"),
    (2, 8, 8, 4, 3, 3, 4, 2, 1, "SAME"),      # asymmetric SAME padding
    (1, 11, 10, 8, 3, 3, 5, 2, 1, "VALID"),   # odd output channels: scalar path
    (1, 9, 9, 5, 3, 2, 7, 1, 2, "SAME"),      # dilation 2, rectangular kernel
    (3, 6, 5, 16, 1, 1, 12, 1, 1, "VALID"),   # pointwise
    (1, 10, 10, 3, 5, 5, 6, 3, 1, "VALID"),
]


@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: "x".join(map(str, c)))
def test_conv2d(case):
    n, h, w, c, kh, kw, o, s, d, pad = case
    rng = np.random.default_rng(hash(case) % 2**32)
    x, f = rnd(rng, n, h, w, c), rnd(rng, kh, kw, c, o)
    attrs = {"strides": [1, s, s, 1], "dilations": [1, d, d, 1], "padding": pad}
    check("Conv2D", [x, f], attrs, consts=(1,))
    check("Conv2D", [x, f], attrs, consts=())  # filter as a run-time device tensor


def test_conv2d_explicit_padding():
    rng = np.random.default_rng(1)
    x, f = rnd(rng, 1, 6, 7, 4), rnd(rng, 3, 3, 4, 8)
    check("Conv2D", [x, f], {"strides": [1, 2, 1, 1], "padding": "EXPLICIT",
                             "explicit_paddings": [0, 0, 2, 1, 0, 3, 0, 0]}, consts=(1,))


FUSED = [
    (["BiasAdd"], 1),
    (["BiasAdd", "Relu"], 1),
    (["BiasAdd", "Relu6"], 1),
    (["FusedBatchNorm"], 4),
    (["FusedBatchNorm", "Relu6"], 4),
    (["BiasAdd", "Add", "Relu"], 2),
    (["BiasAdd", "LeakyRelu"], 1),
    (["BiasAdd", "Elu"], 1),
    (["BiasAdd", "Sigmoid"], 1),
    (["BiasAdd", "Tanh"], 1),
    (["BiasAdd", "GeluExact"], 1),
    (["BiasAdd", "GeluApproximate"], 1),
]


def _fused_args(rng, fused_ops, channels, out_shape):
    args = []
    for name in fused_ops:
        if name == "BiasAdd":
            args.append(rnd(rng, channels))
        elif name == "FusedBatchNorm":
            args += [rnd(rng, channels), rnd(rng, channels), rnd(rng, channels), rnd(rng, channels, lo=0.1, hi=2)]
        elif name == "Add":
            args.append(rnd(rng, *out_shape))
    return args


@pytest.mark.parametrize("fused_ops,num_args", FUSED, ids=lambda v: "-".join(v) if isinstance(v, list) else str(v))
@pytest.mark.parametrize("o", [8, 6])
def test_fused_conv2d(fused_ops, num_args, o):
    rng = np.random.default_rng(o * 7 + num_args)
    x, f = rnd(rng, 2, 6, 5, 4), rnd(rng, 3, 3, 4, o)
    out_shape = (2, 3, 3, o)
    args = _fused_args(rng, fused_ops, o, out_shape)
    attrs = {"strides": [1, 2, 2, 1], "padding": "SAME", "fused_ops": fused_ops, "num_args": num_args,
             "epsilon": 0.001, "leakyrelu_alpha": 0.3}
    consts = (1,) + tuple(2 + i for i, a in enumerate(args) if a.ndim == 1)
    check("_FusedConv2D", [x, f, *args], attrs, consts=consts, atol=1e-5)
    if o == 8:  # per-channel arguments as run-time device tensors (variables not folded): packed on the GPU
        check("_FusedConv2D", [x, f, *args], attrs, consts=(), atol=1e-5)


DW_CASES = [
    # n, h, w, c, kh, kw, m, strides, dilations, padding
    (1, 9, 9, 8, 3, 3, 1, 1, 1, "SAME"),     # vec4 path
    (2, 8, 7, 4, 3, 3, 1, 2, 1, "SAME"),
    (1, 10, 11, 3, 3, 3, 2, 2, 1, "VALID"),  # channel multiplier 2
    (1, 9, 9, 5, 3, 3, 1, 1, 2, "SAME"),
    (1, 10, 11, 8, 3, 3, 1, 1, 2, "VALID"),  # vec4 row kernel with dilation, ragged last pixel group
    (2, 13, 6, 4, 5, 5, 1, 2, 1, "SAME"),
]


@pytest.mark.parametrize("case", DW_CASES, ids=lambda c: "x".join(map(str, c)))
def test_depthwise(case):
    n, h, w, c, kh, kw, m, s, d, pad = case
    rng = np.random.default_rng(sum(case[:7]))
    x, f = rnd(rng, n, h, w, c), rnd(rng, kh, kw, c, m)
    check("DepthwiseConv2dNative", [x, f], {"strides": [1, s, s, 1], "dilations": [1, d, d, 1], "padding": pad},
          consts=(1,))


def test_fused_depthwise_residual():
    rng = np.random.default_rng(77)
    x, f = rnd(rng, 1, 7, 6, 8), rnd(rng, 3, 3, 8, 1)
    bias, res = rnd(rng, 8), rnd(rng, 1, 7, 6, 8)
    check("_FusedDepthwiseConv2dNative", [x, f, bias, res],
          {"strides": [1, 1, 1, 1], "padding": "SAME", "fused_ops": ["BiasAdd", "Add", "Relu"], "num_args": 2},
          consts=(1, 2))


@pytest.mark.parametrize("c", [8, 3])
def test_fused_depthwise(c):
    rng = np.random.default_rng(c)
    x, f = rnd(rng, 1, 7, 7, c), rnd(rng, 3, 3, c, 1)
    args = _fused_args(rng, ["FusedBatchNorm"], c, None)
    check("_FusedDepthwiseConv2dNative", [x, f, *args],
          {"strides": [1, 2, 2, 1], "padding": "SAME", "fused_ops": ["FusedBatchNorm", "Relu6"], "num_args": 4,
           "epsilon": 0.001}, consts=(1, 2, 3, 4, 5))


# --------------------------------------------------------------------------- matmul

@pytest.mark.parametrize("ta", [False, True])
@pytest.mark.parametrize("tb", [False, True])
@pytest.mark.parametrize("mkn", [(5, 7, 8), (1, 33, 10), (17, 4, 3), (9, 12, 16)])
def test_matmul(ta, tb, mkn):
    m, k, n = mkn
    rng = np.random.default_rng(m * 100 + k + n)
    a = rnd(rng, *((k, m) if ta else (m, k)))
    b = rnd(rng, *((n, k) if tb else (k, n)))
    check("MatMul", [a, b], {"transpose_a": ta, "transpose_b": tb}, consts=(1,))


@pytest.mark.parametrize("n", [12, 5])
def test_fused_matmul(n):
    rng = np.random.default_rng(n)
    a, b, bias = rnd(rng, 6, 9), rnd(rng, 9, n), rnd(rng, n)
    check("_FusedMatMul", [a, b, bias], {"fused_ops": ["BiasAdd", "Relu"], "num_args": 1}, consts=(1, 2))
    check("_FusedMatMul", [a, b, bias], {"fused_ops": ["BiasAdd", "GeluExact"], "num_args": 1}, consts=(1, 2))
    check("_FusedMatMul", [a, b, bias], {"fused_ops": ["BiasAdd", "Tanh"], "num_args": 1}, consts=())


@pytest.mark.parametrize("shapes,adj", [
    (((2, 3, 5, 4), (2, 3, 4, 8)), (False, False)),
    (((2, 1, 5, 4), (3, 6, 4)), (False, True)),     # broadcast batch dims, b stored [.., n, k]
    (((4, 7, 3),), (True, False)),                   # shared rhs (2-D)
])
def test_batch_matmul(shapes, adj):
    rng = np.random.default_rng(len(shapes[0]) + adj[0] * 2 + adj[1])
    ash = shapes[0]
    if len(shapes) == 2:
        bsh = shapes[1]
    else:
        bsh = (7, 6)
    a, b = rnd(rng, *ash), rnd(rng, *bsh)
    check("BatchMatMulV2", [a, b], {"adj_x": adj[0], "adj_y": adj[1]})


# --------------------------------------------------------------------------- pooling

@pytest.mark.parametrize("op", ["MaxPool", "AvgPool"])
@pytest.mark.parametrize("case", [(1, 9, 9, 8, 3, 2, "VALID"), (2, 8, 7, 3, 3, 2, "SAME"),
                                  (1, 7, 7, 4, 2, 2, "SAME"), (1, 7, 7, 12, 7, 1, "VALID")])
def test_pool(op, case):
    n, h, w, c, k, s, pad = case
    rng = np.random.default_rng(h * w + c)
    x = rnd(rng, n, h, w, c)
    check(op, [x], {"ksize": [1, k, k, 1], "strides": [1, s, s, 1], "padding": pad})


# --------------------------------------------------------------------------- elementwise

BINARY = ["AddV2", "Sub", "Mul", "RealDiv", "Maximum", "Minimum", "SquaredDifference", "Pow", "DivNoNan"]


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("shapes", [((4, 6), (4, 6)), ((3, 5, 7), (7,)), ((2, 1, 5), (3, 1)), ((), (4, 3))])
def test_binary(op, shapes):
    rng = np.random.default_rng(len(op) + len(shapes[0]))
    lo = 0.1 if op in ("Pow",) else -1.0
    a, b = rnd(rng, *shapes[0], lo=lo, hi=2.0), rnd(rng, *shapes[1], lo=0.2 if op != "DivNoNan" else -1, hi=2.0)
    if op == "DivNoNan" and b.size > 1:
        b.reshape(-1)[0] = 0.0
    check(op, [a, b], {}, rtol=2e-5, atol=1e-6)


def test_binary_constant_operand_and_bias_add():
    rng = np.random.default_rng(3)
    x, c = rnd(rng, 2, 3, 4, 6), rnd(rng, 6)
    check("Mul", [x, c], {}, consts=(1,))
    check("BiasAdd", [x, c], {}, consts=(1,))


UNARY = ["Relu", "Relu6", "Elu", "Selu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Rsqrt", "Neg", "Abs",
         "Square", "Reciprocal", "Floor", "Ceil", "Round", "Sign", "Softplus", "Softsign", "Erf",
         "LeakyRelu"]


@pytest.mark.parametrize("op", UNARY)
@pytest.mark.parametrize("shape", [(3, 8), (5, 3)])
def test_unary(op, shape):
    rng = np.random.default_rng(len(op))
    positive = op in ("Log", "Sqrt", "Rsqrt", "Reciprocal")
    x = rnd(rng, *shape, lo=0.05 if positive else -6.0, hi=6.0)
    if op == "Round":
        x.reshape(-1)[:4] = [0.5, 1.5, -2.5, 2.5]  # half to even
    attrs = {"alpha": 0.15} if op == "LeakyRelu" else {}
    check(op, [x], attrs, rtol=2e-5 if op != "Erf" else 1e-5, atol=2e-6)


# --------------------------------------------------------------------------- reductions, softmax

@pytest.mark.parametrize("op", ["Sum", "Mean", "Max", "Min", "Prod"])
@pytest.mark.parametrize("shape,axes,keep", [((3, 4, 5), [2], False), ((3, 4, 5), [0, 2], True),
                                             ((2, 7, 7, 6), [1, 2], False), ((9,), [0], True), ((4, 5), [-1, 0], False)])
def test_reduce(op, shape, axes, keep):
    rng = np.random.default_rng(len(shape) * 10 + len(axes))
    x = rnd(rng, *shape, lo=0.5 if op == "Prod" else -1, hi=1.5 if op == "Prod" else 1)
    check(op, [x, np.array(axes, np.int32)], {"keep_dims": keep}, consts=(1,), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("shape", [(3, 10), (2, 2, 1001), (7,)])
def test_softmax(op, shape):
    rng = np.random.default_rng(shape[-1])
    check(op, [rnd(rng, *shape, lo=-8, hi=8)], {}, rtol=1e-5, atol=1e-6)


# --------------------------------------------------------------------------- shapes, data movement

def test_shape_ops_alias_the_buffer():
    rng = np.random.default_rng(0)
    x = rnd(rng, 2, 1, 3, 4)
    check("Reshape", [x, np.array([-1, 4], np.int32)], {}, consts=(1,))
    check("Squeeze", [x], {"squeeze_dims": [1]})
    check("ExpandDims", [x, np.array([-1], np.int32)], {}, consts=(1,))
    check("Identity", [x], {})


@pytest.mark.parametrize("shape,perm", [((2, 3, 4), [2, 0, 1]), ((2, 3, 4, 5), [0, 2, 1, 3]), ((5, 6), [1, 0])])
def test_transpose(shape, perm):
    rng = np.random.default_rng(len(shape))
    check("Transpose", [rnd(rng, *shape), np.array(perm, np.int32)], {}, consts=(1,), rtol=0, atol=0)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(axis):
    rng = np.random.default_rng(axis + 5)
    shapes = {0: [(2, 3, 4), (1, 3, 4)], 1: [(2, 3, 4), (2, 5, 4), (2, 1, 4)], -1: [(2, 3, 4), (2, 3, 2)]}[axis]
    xs = [rnd(rng, *s) for s in shapes]
    check("ConcatV2", [*xs, np.array(axis, np.int32)], {}, consts=(len(xs),), rtol=0, atol=0)


# --------------------------------------------------------------------------- residency, errors

def test_chain_stays_on_the_gpu():
    """conv -> relu -> pool -> matmul with one upload of the input and one download of the result."""
    rng = np.random.default_rng(9)
    x, f, wm = rnd(rng, 1, 8, 8, 4), rnd(rng, 3, 3, 4, 8), rnd(rng, 8, 5)
    conv_attrs = _attrs("Conv2D", {"strides": [1, 1, 1, 1], "padding": "SAME"}, 2)
    pool_attrs = _attrs("MaxPool", {"ksize": [1, 8, 8, 1], "strides": [1, 8, 8, 1], "padding": "VALID"}, 1)
    k_conv = BE.kernel(StepSpec("Conv2D", conv_attrs, (F32, F32), (x.shape, f.shape), {1: f}))
    k_relu = BE.kernel(StepSpec("Relu", _attrs("Relu", {}, 1), (F32,), ((1, 8, 8, 8),)))
    k_pool = BE.kernel(StepSpec("MaxPool", pool_attrs, (F32,), ((1, 8, 8, 8),)))
    k_sq = BE.kernel(StepSpec("Reshape", {}, (F32, np.int32), ((1, 1, 1, 8), (2,)), {1: np.array([1, 8])}))
    k_mm = BE.kernel(StepSpec("MatMul", _attrs("MatMul", {}, 2), (F32, F32), ((1, 8), wm.shape), {1: wm}))
    before = BE.stats()
    t = BE.upload(x)
    vals = [t]
    for k in (k_conv, k_relu, k_pool, k_sq, k_mm):
        vals.append(k.fn(vals[-1]))
    got = BE.download(vals[-1])
    after = BE.stats()
    for v in vals:
        BE.free(v)
    assert after["uploads"] - before["uploads"] == 1
    assert after["downloads"] - before["downloads"] == 1
    assert after["dispatches"] - before["dispatches"] == 4  # the reshape is an alias
    y = reference("Conv2D", [x, f], {"strides": [1, 1, 1, 1], "padding": "SAME"})
    y = np.maximum(y, 0).max(axis=(1, 2)) @ wm
    np.testing.assert_allclose(got, y, rtol=1e-4, atol=1e-5)


def test_bad_shapes_name_the_node():
    f = np.ones((3, 3, 5, 4), F32)
    k = BE.kernel(StepSpec("Conv2D", _attrs("Conv2D", {"strides": [1, 1, 1, 1], "padding": "SAME"}, 2),
                           (F32, F32), ((1, 4, 4, 5), f.shape), {1: f}, "model/conv_1"))
    x = BE.upload(np.ones((1, 4, 4, 3), F32))
    with pytest.raises(ExecutionError, match="model/conv_1"):
        k.fn(x)
    BE.free(x)


def test_declines_what_it_does_not_run():
    f32 = np.dtype(F32)
    assert BE.kernel(StepSpec("AddV2", {"T": dtypes.from_name("int32")}, (np.dtype(np.int32),) * 2, ((2,), (2,)))) is None
    assert BE.kernel(StepSpec("Conv2D", _attrs("Conv2D", {"strides": [1, 1, 1, 1], "padding": "SAME",
                                                          "data_format": "NCHW"}, 2),
                              (f32, f32), ((1, 3, 4, 4), (3, 3, 3, 4)))) is None
    assert BE.kernel(StepSpec("Reshape", {}, (f32, np.dtype(np.int32)), ((4,), (1,)))) is None  # shape not constant
    assert BE.kernel(StepSpec("Unique", {}, (f32,), ((4,),))) is None


def test_device_tensor_refuses_numpy_conversion():
    t = BE.upload(np.ones(3, F32))
    with pytest.raises(TypeError, match="downloaded"):
        np.asarray(t)
    BE.free(t)


@pytest.mark.parametrize("shape,pads", [((1, 5, 6, 3), [[0, 0], [1, 0], [0, 1], [0, 0]]),
                                        ((2, 3), [[2, 1], [0, 3]])])
def test_pad(shape, pads):
    rng = np.random.default_rng(len(shape))
    x = rnd(rng, *shape)
    check("Pad", [x, np.array(pads, np.int32)], {}, consts=(1,), rtol=0, atol=0)
    check("PadV2", [x, np.array(pads, np.int32), np.array(-2.5, F32)], {}, consts=(1, 2), rtol=0, atol=0)


@pytest.mark.parametrize("equation,shapes", [
    ("BTNH,BSNH->BNTS", [(2, 5, 3, 4), (2, 6, 3, 4)]),   # attention scores (Keras MultiHeadAttention)
    ("BNTS,BSNH->BTNH", [(2, 3, 5, 6), (2, 6, 3, 4)]),   # attention-weighted values
    ("abc,cd->abd", [(2, 3, 5), (5, 7)]),
    ("bij,bjk->bik", [(3, 4, 5), (3, 5, 2)]),
    ("ij,kj->ik", [(4, 6), (3, 6)]),
])
def test_einsum(equation, shapes):
    rng = np.random.default_rng(len(equation))
    xs = [rnd(rng, *s) for s in shapes]
    check("Einsum", xs, {"equation": equation, "N": 2})


def test_einsum_declines_what_does_not_lower_to_matmul():
    f32 = np.dtype(F32)
    for eq in ("ii->i", "ij->", "...ij,...jk->...ik", "ij,jk,kl->il"):
        n = eq.split("->")[0].count(",") + 1
        spec = StepSpec("Einsum", _attrs("Einsum", {"equation": eq, "N": n}, n), (f32,) * n, ((2, 2),) * n)
        assert BE.kernel(spec) is None, eq


@pytest.mark.parametrize("o", [8, 6])
def test_fused_pointwise_conv_runs_as_matmul(o):
    """1x1 stride-1 convs take the matmul kernel: same results, epilogue included (residual Add)."""
    rng = np.random.default_rng(o + 40)
    x, f = rnd(rng, 2, 5, 3, 12), rnd(rng, 1, 1, 12, o)
    args = _fused_args(rng, ["FusedBatchNorm", "Add"], o, (2, 5, 3, o))
    attrs = {"strides": [1, 1, 1, 1], "padding": "VALID", "fused_ops": ["FusedBatchNorm", "Add", "Relu6"],
             "num_args": 5, "epsilon": 0.001}
    check("_FusedConv2D", [x, f, *args], attrs, consts=(1, 2, 3, 4, 5))
    check("Conv2D", [x, f], {"strides": [1, 1, 1, 1], "padding": "SAME"}, consts=(1,))


def test_plan_constants_are_freed_with_their_kernel():
    import gc
    rt = webgpu._RUNTIME
    f = np.ones((3, 3, 4, 8), F32)
    spec = StepSpec("Conv2D", _attrs("Conv2D", {"strides": [1, 1, 1, 1], "padding": "SAME"}, 2), (F32, F32),
                    ((1, 4, 4, 4), f.shape), {1: f})
    live = rt.tensors.size
    k = BE.kernel(spec)
    assert rt.tensors.size == live + 1  # the filter, uploaded once
    del k
    gc.collect()
    assert rt.tensors.size == live
    # a declined kernel leaves nothing on the device
    bad = StepSpec("_FusedConv2D", _attrs("_FusedConv2D", {"strides": [1, 1, 1, 1], "padding": "SAME",
                                                           "fused_ops": ["BiasAdd", "Unknown"], "num_args": 1}, 3),
                   (F32, F32, F32), ((1, 4, 4, 4), f.shape, (8,)), {1: f, 2: np.ones(8, F32)})
    assert BE.kernel(bad) is None
    assert rt.tensors.size == live
