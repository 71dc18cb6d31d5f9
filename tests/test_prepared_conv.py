"""Prepared float32 NHWC convolutions (backends/numpy_conv.py, and the native backend when it is built)
against the registered reference kernels (kernels/nn_ops.py).

Every backend test runs on the NumPy backend (`NUMPY.kernel`, which prepares these steps with
`prepare_conv`) and on `smlens.backends.native.BACKEND` when that module imports and its library is
available (otherwise those parametrizations skip, saying why). The reference is
`prepare(KERNELS[op], attrs, n_inputs)` called with all inputs; prepared kernels are called with the inputs
they did not capture (`PreparedKernel.captured`).

Covered: Conv2D / _FusedConv2D and DepthwiseConv2dNative / _FusedDepthwiseConv2dNative geometries (1x1,
3x3, 5x5; strides 1, 2, (2,1), (1,2); SAME, VALID, EXPLICIT; odd sizes; batch 0-3; 1-96 channels), every
prepared epilogue (none, BiasAdd, + residual Add, + Relu/Relu6), declines, TF's denormal flushing
(FTZ on results, DAZ on inputs, filter, bias and residual), NaN/inf through the activations, buffer reuse
between calls, and wrong inputs at run time.
"""
from __future__ import annotations

import importlib
import itertools
import random

import numpy as np
import pytest

import smlens  # noqa: F401 - package first (the kernels register on import)
from smlens import dtypes
from smlens.backends.base import PreparedKernel, StepSpec
from smlens.backends.numpy_backend import NUMPY
from smlens.backends.numpy_conv import prepare_conv
from smlens.errors import SmlensError
from smlens.kernels import KERNELS
from smlens.kernels.registry import prepare

pytestmark = pytest.mark.pyodide  # the NumPy path runs in Pyodide too (the native cases skip there)

F32 = np.dtype(np.float32)
TINY = np.float32(np.finfo(np.float32).tiny)      # smallest normal float32, ~1.1755e-38
RTOL = ATOL = 1e-5

FUSED = {"conv": "_FusedConv2D", "depthwise": "_FusedDepthwiseConv2dNative"}
PLAIN = {"conv": "Conv2D", "depthwise": "DepthwiseConv2dNative"}
# (op kind, fused_ops) epilogues prepare_conv handles; None = the plain (unfused) op
EPILOGUES = [None, (), ("BiasAdd",), ("BiasAdd", "Relu"), ("BiasAdd", "Relu6"), ("BiasAdd", "Add"),
             ("BiasAdd", "Add", "Relu"), ("BiasAdd", "Add", "Relu6"), ("Relu",), ("Relu6",)]


def _epi_id(e) -> str:
    return "plain" if e is None else ("+".join(e) or "fused-none")


# --------------------------------------------------------------------------- backends

def _native_backend():
    """smlens.backends.native.BACKEND, or a skip saying why it cannot be tested here (importorskip-style)."""
    try:
        native = importlib.import_module("smlens.backends.native")
    except ImportError as e:
        pytest.skip(f"smlens.backends.native does not import ({type(e).__name__}: {e})")
    if not native.available():
        pytest.skip("smlens.backends.native imports but available() is False (its C library is not built "
                    "or does not load here)")
    return native.BACKEND


def _backend(name: str):
    return NUMPY if name == "numpy" else _native_backend()


BACKENDS = ["numpy", "native"]
# the denormal / NaN tests also check the reference kernel itself
IMPLS = ["numpy", "native", "reference"]


# --------------------------------------------------------------------------- cases

def out_sizes(n: int, k: int, s: int, padding: str, pads: tuple) -> int:
    """TF's output size, computed independently of nn_ops._window_geometry."""
    if padding == "SAME":
        return -(-n // s)
    if padding == "VALID":
        return max(0, -(-(n - k + 1) // s))
    return max(0, (n + pads[0] + pads[1] - k) // s + 1)


class Case:
    """One convolution step: its StepSpec, its inputs (all of them, in order) and the reference kernel."""

    def __init__(self, kind: str, epilogue, x: np.ndarray, filt: np.ndarray, *, strides=(1, 1),
                 padding="SAME", explicit=None, bias=None, residual=None, data_format="NHWC",
                 dilations=(1, 1, 1, 1), const_filter=True, const_bias=True, in_dtypes=None):
        ops = tuple(epilogue) if epilogue is not None else None
        self.op = PLAIN[kind] if ops is None else FUSED[kind]
        self.kind = kind
        self.ops = ops or ()
        n_args = self.ops.count("BiasAdd") + self.ops.count("Add") + 4 * self.ops.count("FusedBatchNorm")
        attrs = {"strides": [1, *strides, 1] if data_format == "NHWC" else [1, 1, *strides],
                 "padding": padding, "explicit_paddings": list(explicit or []), "data_format": data_format,
                 "dilations": list(dilations), "T": dtypes.from_numpy(x.dtype)}
        if ops is not None:
            attrs.update(num_args=n_args, fused_ops=list(ops), epsilon=0.0001, leakyrelu_alpha=0.2)
        self.attrs = attrs
        self.inputs = [x, filt]
        if "BiasAdd" in self.ops:
            self.inputs.append(bias)
        if "FusedBatchNorm" in self.ops:
            self.inputs.extend(bias)  # scale, offset, mean, variance
        if "Add" in self.ops:
            self.inputs.append(residual)
        consts = {}
        if const_filter:
            consts[1] = filt
        if "BiasAdd" in self.ops and const_bias:
            consts[2] = bias
        self.spec = StepSpec(self.op, attrs,
                             in_dtypes=tuple(in_dtypes or (np.asarray(a).dtype for a in self.inputs)),
                             in_shapes=tuple(tuple(np.shape(a)) for a in self.inputs), consts=consts,
                             node="test")
        self.reference = prepare(KERNELS[self.op], attrs, len(self.inputs))

    def expected(self, *inputs):
        return self.reference(*(inputs or self.inputs))

    def __repr__(self) -> str:
        return f"{self.op}{list(self.ops)} x{self.inputs[0].shape} w{self.inputs[1].shape} {self.attrs}"


def make_case(kind: str, epilogue, N, H, W, C, O, kh, kw, strides, padding, explicit=None, seed=0) -> Case:
    """A case with random data: outputs of order 1-10 (so Relu6 clamps some), some negative."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, (N, H, W, C)).astype(F32)
    fan_in = kh * kw * (1 if kind == "depthwise" else C)
    filt = (rng.uniform(-1, 1, (kh, kw, C, 1 if kind == "depthwise" else O)) * np.sqrt(3 / fan_in) * 2)
    filt = filt.astype(F32)
    out_c = C if kind == "depthwise" else O
    bias = rng.uniform(-3, 6, out_c).astype(F32)
    ops = epilogue or ()
    residual = None
    if "Add" in ops:
        pads = [(explicit[2], explicit[3]), (explicit[4], explicit[5])] if padding == "EXPLICIT" else [(0, 0)] * 2
        shape = (N, out_sizes(H, kh, strides[0], padding, pads[0]), out_sizes(W, kw, strides[1], padding, pads[1]),
                 out_c)
        residual = rng.uniform(-3, 3, shape).astype(F32)
    return Case(kind, epilogue, x, filt, strides=strides, padding=padding, explicit=explicit, bias=bias,
                residual=residual)


def expected_shape(case: Case) -> tuple:
    x, filt = case.inputs[0], case.inputs[1]
    N, H, W, _ = x.shape
    kh, kw = filt.shape[:2]
    s = case.attrs["strides"]
    e = case.attrs["explicit_paddings"]
    pads = [(e[2], e[3]), (e[4], e[5])] if case.attrs["padding"] == "EXPLICIT" else [(0, 0)] * 2
    oc = filt.shape[2] if case.kind == "depthwise" else filt.shape[3]
    return (N, out_sizes(H, kh, s[1], case.attrs["padding"], pads[0]),
            out_sizes(W, kw, s[2], case.attrs["padding"], pads[1]), oc)


def get_kernel(backend_name: str, case: Case) -> PreparedKernel:
    backend = _backend(backend_name)
    pk = backend.kernel(case.spec)
    assert pk is not None, f"{backend_name} declined a step it should prepare: {case!r}"
    assert isinstance(pk, PreparedKernel)
    assert set(pk.captured) <= set(case.spec.consts), f"captured {set(pk.captured)} are not all constants"
    if backend_name == "numpy":  # the prepared kernel, not the reference fallback (which captures nothing)
        assert 1 in pk.captured, f"NUMPY did not prepare {case!r}"
    return pk


def run(pk: PreparedKernel, inputs: list):
    out = pk.fn(*[v for i, v in enumerate(inputs) if i not in pk.captured])
    assert isinstance(out, np.ndarray), f"kernel returned {type(out).__name__}, not an ndarray"
    return out


def check(got: np.ndarray, want: np.ndarray, case: Case | None = None):
    want = np.asarray(want)
    assert got.dtype == F32, f"dtype {got.dtype}, want float32 ({case!r})"
    assert got.shape == want.shape, f"shape {got.shape}, want {want.shape} ({case!r})"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=repr(case))


# conv geometries: (kh, kw, strides, padding, explicit_paddings, N, H, W, Cin, Cout)
CONV_GEOMS = [
    (1, 1, (1, 1), "VALID", None, 1, 8, 8, 3, 16),
    (1, 1, (1, 1), "SAME", None, 3, 7, 9, 33, 5),
    (1, 1, (2, 2), "SAME", None, 3, 7, 9, 16, 5),
    (1, 1, (2, 2), "VALID", None, 1, 8, 8, 33, 3),
    (1, 1, (1, 1), "EXPLICIT", [0, 0, 1, 0, 0, 1, 0, 0], 1, 5, 6, 16, 5),
    (3, 3, (1, 1), "SAME", None, 1, 7, 9, 3, 16),
    (3, 3, (1, 1), "VALID", None, 3, 7, 9, 5, 33),
    (3, 3, (2, 2), "SAME", None, 3, 7, 9, 16, 16),
    (3, 3, (2, 2), "VALID", None, 1, 8, 8, 33, 5),
    (3, 3, (2, 2), "EXPLICIT", [0, 0, 1, 0, 0, 1, 0, 0], 1, 8, 8, 3, 16),
    (3, 3, (1, 1), "EXPLICIT", [0, 0, 1, 1, 1, 1, 0, 0], 3, 7, 9, 5, 3),
    (1, 3, (2, 1), "SAME", None, 1, 7, 9, 5, 8),
    (5, 5, (1, 2), "VALID", None, 1, 9, 13, 3, 4),
]


def _conv_params():
    for gi, g in enumerate(CONV_GEOMS):
        kh, kw, s, pad, ex, N, H, W, C, O = g
        for ei, e in enumerate(EPILOGUES):
            yield pytest.param(g, e, gi * 100 + ei,
                               id=f"k{kh}x{kw}-s{s[0]}{s[1]}-{pad}-n{N}-{H}x{W}-c{C}-o{O}-{_epi_id(e)}")


DW_PADDINGS = [("SAME", None), ("VALID", None), ("EXPLICIT", [0, 0, 0, 1, 0, 1, 0, 0]),
               ("EXPLICIT", [0, 0, 1, 1, 1, 1, 0, 0])]
DW_STRIDES = [(1, 1), (2, 2), (2, 1), (1, 2)]


def _dw_params():
    """Every (kernel, strides, padding, width) combination; batch, channels, height and the epilogue
    picked per case by a seeded generator (deterministic), so each appears across the geometries."""
    pick = random.Random(20240611)
    for i, (k, s, (pad, ex), W) in enumerate(itertools.product((3, 5), DW_STRIDES, DW_PADDINGS, (13, 14, 15))):
        N, C, H = pick.choice((1, 2)), pick.choice((1, 8, 17, 96)), pick.choice((7, 9, 10))
        e = EPILOGUES[i % len(EPILOGUES)]
        g = (k, k, s, pad, ex, N, H, W, C)
        exid = "" if ex is None else "".join(map(str, ex[2:6]))
        yield pytest.param(g, e, i, id=f"k{k}-s{s[0]}{s[1]}-{pad}{exid}-n{N}-{H}x{W}-c{C}-{_epi_id(e)}")
    # every epilogue on a few geometries (stride-1 merged rows; stride-2 width split into column parities)
    for j, g in enumerate([(3, 3, (1, 1), "SAME", None, 2, 9, 14, 17), (3, 3, (2, 2), "SAME", None, 1, 10, 15, 96),
                           (5, 5, (2, 2), "EXPLICIT", [0, 0, 1, 1, 1, 1, 0, 0], 2, 9, 13, 8),
                           (3, 3, (1, 2), "VALID", None, 1, 7, 14, 1)]):
        for ei, e in enumerate(EPILOGUES):
            k, _, s, pad, _, N, H, W, C = g
            yield pytest.param(g, e, 1000 + j * 100 + ei,
                               id=f"all-k{k}-s{s[0]}{s[1]}-{pad}-n{N}-{H}x{W}-c{C}-{_epi_id(e)}")


# small and degenerate sizes: (kind, kh, kw, strides, padding, explicit, N, H, W, C, O)
EDGE_CASES = [
    ("depthwise", 3, 3, (2, 2), "SAME", None, 1, 1, 1, 8, 0),
    ("depthwise", 5, 5, (2, 2), "SAME", None, 2, 2, 2, 3, 0),
    ("depthwise", 3, 3, (2, 2), "VALID", None, 1, 3, 3, 5, 0),
    ("depthwise", 5, 5, (1, 1), "VALID", None, 1, 4, 9, 4, 0),   # no output rows
    ("depthwise", 3, 3, (2, 2), "SAME", None, 0, 6, 7, 4, 0),    # empty batch
    ("depthwise", 3, 3, (1, 1), "SAME", None, 0, 6, 7, 4, 0),
    ("depthwise", 1, 1, (2, 2), "SAME", None, 1, 5, 7, 6, 0),
    ("depthwise", 3, 3, (2, 2), "EXPLICIT", [0, 0, 2, 0, 0, 3, 0, 0], 1, 6, 7, 3, 0),
    ("conv", 3, 3, (1, 1), "VALID", None, 1, 2, 2, 3, 4),         # no output
    ("conv", 3, 3, (2, 2), "SAME", None, 0, 5, 5, 3, 4),          # empty batch
    ("conv", 1, 1, (1, 1), "SAME", None, 1, 1, 1, 7, 2),
    ("conv", 3, 3, (2, 2), "SAME", None, 1, 1, 1, 2, 3),
    # windows wholly in the padding, strides beyond the window, a window wider than the input
    ("depthwise", 3, 3, (1, 1), "EXPLICIT", [0, 0, 4, 4, 5, 3, 0, 0], 1, 3, 4, 9, 0),
    ("depthwise", 3, 3, (3, 3), "SAME", None, 2, 10, 11, 12, 0),
    ("depthwise", 2, 4, (3, 1), "EXPLICIT", [0, 0, 0, 2, 3, 0, 0, 0], 1, 5, 3, 16, 0),
    ("depthwise", 5, 5, (1, 1), "SAME", None, 1, 2, 3, 24, 0),
    ("conv", 3, 3, (1, 1), "EXPLICIT", [0, 0, 4, 4, 5, 3, 0, 0], 1, 3, 4, 5, 7),
    ("conv", 2, 3, (3, 4), "SAME", None, 2, 10, 11, 3, 9),
    ("conv", 5, 5, (1, 1), "SAME", None, 1, 2, 3, 4, 6),
]


# --------------------------------------------------------------------------- correctness

@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("geom, epilogue, seed", list(_conv_params()))
def test_conv_matches_reference(backend, geom, epilogue, seed):
    kh, kw, s, pad, ex, N, H, W, C, O = geom
    case = make_case("conv", epilogue, N, H, W, C, O, kh, kw, s, pad, ex, seed=seed)
    got = run(get_kernel(backend, case), case.inputs)
    assert got.shape == expected_shape(case)
    check(got, case.expected(), case)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("geom, epilogue, seed", list(_dw_params()))
def test_depthwise_matches_reference(backend, geom, epilogue, seed):
    kh, kw, s, pad, ex, N, H, W, C = geom
    case = make_case("depthwise", epilogue, N, H, W, C, 1, kh, kw, s, pad, ex, seed=seed)
    got = run(get_kernel(backend, case), case.inputs)
    assert got.shape == expected_shape(case)
    check(got, case.expected(), case)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("epilogue", [None, ("BiasAdd", "Add", "Relu6")], ids=_epi_id)
@pytest.mark.parametrize("edge", EDGE_CASES,
                         ids=lambda e: f"{e[0]}-k{e[1]}-s{e[3][0]}{e[3][1]}-{e[4]}-n{e[6]}-{e[7]}x{e[8]}")
def test_small_and_empty_sizes(backend, edge, epilogue):
    kind, kh, kw, s, pad, ex, N, H, W, C, O = edge
    case = make_case(kind, epilogue, N, H, W, C, O, kh, kw, s, pad, ex, seed=7)
    got = run(get_kernel(backend, case), case.inputs)
    assert got.shape == expected_shape(case)
    check(got, case.expected(), case)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, s", [("conv", (1, 1)), ("conv", (2, 2)), ("depthwise", (1, 1)),
                                     ("depthwise", (2, 2))])
def test_non_contiguous_inputs(backend, kind, s):
    """x and the residual as strided views (a channel slice, a transposed array) give the same result."""
    case = make_case(kind, ("BiasAdd", "Add", "Relu"), 2, 9, 11, 8, 6, 3, 3, s, "SAME", seed=3)
    pk = get_kernel(backend, case)
    x, res = case.inputs[0], case.inputs[3]
    wide = np.zeros(x.shape[:3] + (2 * x.shape[3],), F32)
    wide[..., ::2] = x
    xt = np.ascontiguousarray(res.transpose(0, 2, 1, 3)).transpose(0, 2, 1, 3)  # same values, not C-contiguous
    assert not wide[..., ::2].flags.c_contiguous and not xt.flags.c_contiguous
    inputs = [wide[..., ::2], case.inputs[1], case.inputs[2], xt]
    check(run(pk, inputs), case.expected(), case)


# --------------------------------------------------------------------------- declines

def _decline_cases():
    rng = np.random.default_rng(5)
    x = rng.uniform(-1, 1, (1, 6, 7, 4)).astype(F32)
    w_dw2 = rng.uniform(-1, 1, (3, 3, 4, 2)).astype(F32)
    w_dw = rng.uniform(-1, 1, (3, 3, 4, 1)).astype(F32)
    w_cv = rng.uniform(-1, 1, (3, 3, 4, 5)).astype(F32)
    b4, b5, b8 = (rng.uniform(-1, 1, n).astype(F32) for n in (4, 5, 8))
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    bn5 = [rng.uniform(0.5, 1.5, 5).astype(F32) for _ in range(4)]
    yield "depthwise-multiplier-2", lambda: Case("depthwise", None, x, w_dw2)
    yield "fused-depthwise-multiplier-2", lambda: Case("depthwise", ("BiasAdd",), x, w_dw2, bias=b8)
    yield "conv-NCHW", lambda: Case("conv", ("BiasAdd",), x_nchw, w_cv, bias=b5, data_format="NCHW")
    yield "depthwise-NCHW", lambda: Case("depthwise", None, x_nchw, w_dw, data_format="NCHW")
    yield "conv-dilations-2", lambda: Case("conv", None, x, w_cv, dilations=(1, 2, 2, 1))
    yield "depthwise-dilations-2", lambda: Case("depthwise", ("BiasAdd", "Relu"), x, w_dw, bias=b4,
                                                dilations=(1, 2, 2, 1))
    yield "conv-float64", lambda: Case("conv", None, x.astype(np.float64), w_cv.astype(np.float64))
    yield "depthwise-float64", lambda: Case("depthwise", ("BiasAdd",), x.astype(np.float64),
                                            w_dw.astype(np.float64), bias=b4.astype(np.float64))
    yield "conv-float64-input-float32-filter", lambda: Case("conv", None, x.astype(np.float64), w_cv)
    yield "conv-filter-not-constant", lambda: Case("conv", ("BiasAdd", "Relu"), x, w_cv, bias=b5,
                                                   const_filter=False)
    yield "depthwise-filter-not-constant", lambda: Case("depthwise", None, x, w_dw, const_filter=False)
    yield "conv-elu", lambda: Case("conv", ("BiasAdd", "Elu"), x, w_cv, bias=b5)
    yield "depthwise-elu", lambda: Case("depthwise", ("BiasAdd", "Elu"), x, w_dw, bias=b4)
    yield "conv-fused-batchnorm", lambda: Case("conv", ("FusedBatchNorm",), x, w_cv, bias=bn5)
    yield "conv-fused-batchnorm-relu", lambda: Case("conv", ("FusedBatchNorm", "Relu"), x, w_cv, bias=bn5)


DECLINES = list(_decline_cases())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("make", [m for _, m in DECLINES], ids=[n for n, _ in DECLINES])
def test_declines(backend, make):
    case = make()
    if backend == "numpy":
        assert prepare_conv(case.spec) is None, f"prepare_conv prepared {case!r}"
        # the NumPy backend still runs it, on the reference kernel (nothing captured)
        pk = NUMPY.kernel(case.spec)
        assert isinstance(pk, PreparedKernel) and not pk.captured
        got, want = pk.fn(*case.inputs), case.expected()
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)
    else:
        assert _native_backend().kernel(case.spec) is None, f"native prepared {case!r}"


def test_numpy_declines_non_constant_bias():
    rng = np.random.default_rng(6)
    x = rng.uniform(-1, 1, (1, 5, 5, 3)).astype(F32)
    case = Case("conv", ("BiasAdd", "Relu"), x, rng.uniform(-1, 1, (3, 3, 3, 4)).astype(F32),
                bias=rng.uniform(-1, 1, 4).astype(F32), const_bias=False)
    assert prepare_conv(case.spec) is None


# --------------------------------------------------------------------------- denormals, NaN, inf

def _runner(impl: str, case: Case):
    if impl == "reference":
        return lambda inputs: case.reference(*inputs)
    pk = get_kernel(impl, case)
    return lambda inputs: run(pk, inputs)


def _center_filter(kind: str, k: int, value: float, channels: int) -> np.ndarray:
    """A k x k filter that is zero except at its center tap (per channel: identity for conv)."""
    if kind == "depthwise":
        w = np.zeros((k, k, channels, 1), F32)
        w[k // 2, k // 2, :, 0] = value
    else:
        w = np.zeros((k, k, channels, channels), F32)
        w[k // 2, k // 2] = np.eye(channels, dtype=F32) * np.float32(value)
    return w


# (kind, kernel size, strides): 1x1 and center-only 3x3 so every output is exactly x * w (+ bias)
DENORMAL_GEOMS = [("conv", 1, (1, 1)), ("conv", 3, (2, 2)), ("depthwise", 3, (1, 1)), ("depthwise", 3, (2, 2))]
ACTIVATIONS = [None, "Relu", "Relu6"]


def _denormal_case(kind, k, s, activation, x_value, w_value, bias_value=None, residual_value=None,
                   C=5, H=6, W=7):
    x = np.full((1, H, W, C), x_value, F32)
    w = _center_filter(kind, k, w_value, C)
    ops = ("BiasAdd",) if bias_value is not None or residual_value is not None else ()
    ops += ("Add",) if residual_value is not None else ()
    ops += (activation,) if activation else ()
    bias = np.full(C, 0 if bias_value is None else bias_value, F32)
    OH, OW = -(-H // s[0]), -(-W // s[1])
    residual = None if residual_value is None else np.full((1, OH, OW, C), residual_value, F32)
    return Case(kind, ops if ops else None, x, w, strides=s, padding="SAME", bias=bias, residual=residual)


def _ids(v):
    return str(v) if not isinstance(v, tuple) else f"{v[0]}{v[1]}"


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a or "linear")
@pytest.mark.parametrize("kind, k, s", DENORMAL_GEOMS, ids=lambda v: _ids(v))
@pytest.mark.parametrize("sign", [1, -1], ids=["pos", "neg"])
def test_subnormal_product_is_flushed(impl, kind, k, s, activation, sign):
    """x * w = +-1e-40 (a subnormal result of normal inputs) comes out as a zero of its sign (FTZ)."""
    for bias in (None, 0.0):  # the plain op and a fused BiasAdd of zeros
        case = _denormal_case(kind, k, s, activation, 1e-20, sign * 1e-20, bias_value=bias)
        got = _runner(impl, case)(case.inputs)
        assert got.dtype == F32 and got.shape == expected_shape(case)
        assert np.all(got == 0), f"{impl}: {np.unique(got)} where TF gives 0 ({case!r})"
        if activation is None:
            assert np.all(np.signbit(got) == (sign < 0)), f"{impl}: the flushed zero lost the sign of {sign}e-40"


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a or "linear")
@pytest.mark.parametrize("kind, k, s", DENORMAL_GEOMS, ids=lambda v: _ids(v))
@pytest.mark.parametrize("sign", [1, -1], ids=["pos", "neg"])
def test_subnormal_after_bias_or_residual_is_flushed(impl, kind, k, s, activation, sign):
    """Normal conv result and bias/residual whose sum is subnormal (+-0.5 * tiny) -> a zero of that sign."""
    # conv result -1.5 tiny, bias +2 tiny (all normal), sum 0.5 tiny (exact)
    case = _denormal_case(kind, k, s, activation, 1.0, -sign * 1.5 * TINY, bias_value=sign * 2 * TINY)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == 0), f"{impl}: {np.unique(got)} where TF gives 0 ({case!r})"
    if activation is None:
        assert np.all(np.signbit(got) == (sign < 0))
    # conv result 1.5 tiny, bias 0, residual -tiny: sum 0.5 tiny
    case = _denormal_case(kind, k, s, activation, 1.0, sign * 1.5 * TINY, bias_value=0.0,
                          residual_value=-sign * TINY)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == 0), f"{impl}: {np.unique(got)} where TF gives 0 ({case!r})"
    if activation is None:
        assert np.all(np.signbit(got) == (sign < 0))


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a or "linear")
@pytest.mark.parametrize("kind, k, s", DENORMAL_GEOMS, ids=lambda v: _ids(v))
def test_subnormal_inputs_read_as_zero(impl, kind, k, s, activation):
    """DAZ: a subnormal in x, the filter, the bias or the residual counts as zero."""
    # x 1e-39 (subnormal) * w 1e30: TF gives 0, not 1e-9
    case = _denormal_case(kind, k, s, activation, 1e-39, 1e30)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == 0), f"{impl}: subnormal x not read as zero: {np.unique(got)} ({case!r})"
    # the same with a fused BiasAdd of zeros
    case = _denormal_case(kind, k, s, activation, 1e-39, 1e30, bias_value=0.0)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == 0), f"{impl}: subnormal x not read as zero: {np.unique(got)} ({case!r})"
    # a subnormal filter tap: x 1e30 * w 1e-39 -> 0
    case = _denormal_case(kind, k, s, activation, 1e30, 1e-39, bias_value=0.0)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == 0), f"{impl}: subnormal filter not read as zero: {np.unique(got)} ({case!r})"
    # conv result 2 tiny + bias -1e-39 (subnormal, read as 0) -> exactly 2 tiny
    two_tiny = np.float32(2 * TINY)
    case = _denormal_case(kind, k, s, activation, 1.0, two_tiny, bias_value=-1e-39)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == two_tiny), f"{impl}: subnormal bias not read as zero: {np.unique(got)} ({case!r})"
    # conv result 2 tiny + residual -1e-39 (subnormal, read as 0) -> exactly 2 tiny
    case = _denormal_case(kind, k, s, activation, 1.0, two_tiny, bias_value=0.0, residual_value=-1e-39)
    got = _runner(impl, case)(case.inputs)
    assert np.all(got == two_tiny), f"{impl}: subnormal residual not read as zero: {np.unique(got)} ({case!r})"


@pytest.mark.parametrize("impl", IMPLS)
@pytest.mark.parametrize("activation", ACTIVATIONS, ids=lambda a: a or "linear")
@pytest.mark.parametrize("kind, s", [("conv", (1, 1)), ("conv", (2, 2)), ("depthwise", (1, 1)),
                                     ("depthwise", (2, 2))], ids=lambda v: _ids(v))
@pytest.mark.parametrize("fused_bias", [False, True], ids=["nobias", "bias"])
def test_nan_and_inf(impl, kind, s, activation, fused_bias):
    """NaN propagates through Relu/Relu6 (and the linear case); Relu6 clamps +inf to 6 and -inf to 0."""
    special = np.array([np.nan, np.inf, -np.inf, 1.0, -1.0, 7.0, 0.5, -3.0], F32)
    H, W = 5, 8
    w_vals = np.array([1.0, 0.5, 2.0], F32)  # all positive and no zero taps: no 0 * inf, inf keeps its sign
    # depthwise: 3 channels, one weight each; conv: 1 input channel to 3 output channels (no zero weight)
    C = 3 if kind == "depthwise" else 1
    x = np.zeros((2, H, W, C), F32)
    # the special values at the even (strided-in) rows and columns, one per position and channel
    positions = [(n, h, w, c) for n in range(2) for h in range(0, H, 2) for w in range(0, W, 2) for c in range(C)]
    for i, p in enumerate(positions):
        x[p] = special[i % len(special)]
    w = w_vals.reshape(1, 1, 3, 1) if kind == "depthwise" else w_vals.reshape(1, 1, 1, 3)
    bias = np.array([0.0, 0.25, -0.5], F32) if fused_bias else np.zeros(3, F32)
    ops = (("BiasAdd",) if fused_bias else ()) + ((activation,) if activation else ())
    case = Case(kind, ops if ops else None, x, w, strides=s, padding="SAME", bias=bias)
    got = _runner(impl, case)(case.inputs)
    xs = x[:, ::s[0], ::s[1], :]
    with np.errstate(invalid="ignore"):
        want = xs * w_vals + bias
        if activation:
            want = np.maximum(want, np.float32(0))          # NaN propagating
        if activation == "Relu6":
            want = np.minimum(want, np.float32(6))
    assert got.dtype == F32 and got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{impl}: NaN positions differ"
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)  # equal_nan; inf must match exactly
    if activation == "Relu6":
        pos, neg = np.isposinf(xs * w_vals), np.isneginf(xs * w_vals)
        assert pos.any() and neg.any()
        assert np.all(got[pos] == 6) and np.all(got[neg] == 0)
        assert np.nanmax(got) <= 6 and np.nanmin(got) >= 0
    if activation:
        assert np.isnan(got[np.isnan(xs * w_vals)]).all() and np.isnan(want).any()


# --------------------------------------------------------------------------- repeated calls, buffer reuse

REUSE_CASES = [("conv", ("BiasAdd", "Add", "Relu"), 3, (1, 1)), ("conv", None, 1, (2, 2)),
               ("conv", ("BiasAdd", "Relu6"), 3, (2, 2)), ("depthwise", ("BiasAdd", "Relu6"), 3, (1, 1)),
               ("depthwise", None, 5, (2, 2)), ("depthwise", ("BiasAdd", "Add"), 3, (2, 2))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind, epilogue, k, s", REUSE_CASES,
                         ids=[f"{c[0]}-{_epi_id(c[1])}-k{c[2]}-s{c[3][0]}" for c in REUSE_CASES])
def test_repeated_calls_keep_live_results(backend, kind, epilogue, k, s):
    case = make_case(kind, epilogue, 2, 9, 11, 8, 6, k, k, s, "SAME", seed=11)
    pk = get_kernel(backend, case)
    rng = np.random.default_rng(12)

    def fresh_inputs():
        inputs = list(case.inputs)
        inputs[0] = rng.uniform(-2, 2, inputs[0].shape).astype(F32)
        if "Add" in case.ops:
            inputs[-1] = rng.uniform(-3, 3, inputs[-1].shape).astype(F32)
        return inputs

    in1, in2, in3 = fresh_inputs(), fresh_inputs(), fresh_inputs()
    r1 = run(pk, in1)
    kept1 = r1.copy()
    check(r1, case.expected(*in1), case)
    r2 = run(pk, in2)
    assert np.array_equal(r1, kept1), "a result still referenced was overwritten by the next call"
    check(r2, case.expected(*in2), case)
    # a view of the result keeps it alive too
    view = r2[1]
    kept2 = view.copy()
    del r2
    r3 = run(pk, in3)
    assert np.array_equal(view, kept2), "a result referenced only through a view was overwritten"
    check(r3, case.expected(*in3), case)
    assert np.array_equal(r1, kept1)
    # results dropped: buffers may be reused, the values must still be right
    del r1, r3, view
    for inputs in (in2, in1, in2):
        check(run(pk, inputs), case.expected(*inputs), case)
    # another input size (another geometry), then the first again
    other = make_case(kind, epilogue, 1, 7, 6, 8, 6, k, k, s, "SAME", seed=13)
    other_inputs = [other.inputs[0], *case.inputs[1:3]] if case.ops[:1] == ("BiasAdd",) else \
        [other.inputs[0], case.inputs[1]]
    if "Add" in case.ops:
        other_inputs.append(other.inputs[-1])
    check(run(pk, other_inputs), case.expected(*other_inputs), case)
    check(run(pk, in1), case.expected(*in1), case)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_in_place_modified_input(backend, kind):
    """The same input array, changed in place between calls (to hold a subnormal, then NaN), is read anew."""
    case = make_case(kind, ("BiasAdd", "Relu"), 1, 6, 7, 4, 4, 3, 3, (1, 1), "SAME", seed=14)
    pk = get_kernel(backend, case)
    x = case.inputs[0].copy()
    inputs = [x, *case.inputs[1:]]
    check(run(pk, inputs), case.expected(*inputs), case)
    x[0, 2, 3, 1] = 1e-39
    x[0, 4, 4, 2] = 1e30
    check(run(pk, inputs), case.expected(*inputs), case)
    x[0, 1, 1, 0] = np.nan
    got, want = run(pk, inputs), case.expected(*inputs)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    check(got, want, case)


# --------------------------------------------------------------------------- wrong inputs at run time

def _wrong_inputs(case: Case):
    x = case.inputs[0]
    N, H, W, C = x.shape
    rng = np.random.default_rng(15)
    yield "channels+1", rng.uniform(-1, 1, (N, H, W, C + 1)).astype(F32)
    yield "channels-x2", rng.uniform(-1, 1, (N, H, W, 2 * C)).astype(F32)
    yield "float64", x.astype(np.float64)
    yield "rank-3", x[0]
    yield "other-size", rng.uniform(-1, 1, (N + 1, H + 2, W - 1, C)).astype(F32)


WRONG_CASES = [("conv", None), ("conv", ("BiasAdd", "Relu6")), ("depthwise", None),
               ("depthwise", ("BiasAdd", "Relu")), ("depthwise-s2", ("BiasAdd",))]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("what", ["channels+1", "channels-x2", "float64", "rank-3", "other-size"])
@pytest.mark.parametrize("kind, epilogue", WRONG_CASES, ids=[f"{k}-{_epi_id(e)}" for k, e in WRONG_CASES])
def test_wrong_input_does_not_crash(backend, kind, epilogue, what):
    """A wrong x at run time gives the reference kernel's result or an SmlensError, nothing else."""
    s = (2, 2) if kind.endswith("-s2") else (1, 1)
    kind = kind.removesuffix("-s2")
    case = make_case(kind, epilogue, 1, 6, 7, 4, 4, 3, 3, s, "SAME", seed=16)
    pk = get_kernel(backend, case)
    x = dict(_wrong_inputs(case))[what]
    inputs = [x, *case.inputs[1:]]
    try:
        want = case.expected(*inputs)
    except SmlensError:
        want = None
    try:
        got = pk.fn(*[v for i, v in enumerate(inputs) if i not in pk.captured])
    except SmlensError:
        return  # a clean error (the executor names the node)
    assert want is not None, f"{backend} returned a result where the reference kernel raises"
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape, (got.dtype, got.shape, want.dtype, want.shape)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("what", ["float64", "wrong-shape", "broadcastable"])
@pytest.mark.parametrize("kind", ["conv", "depthwise"])
def test_wrong_residual_does_not_crash(backend, kind, what):
    """A wrong residual gives the reference kernel's result or an SmlensError. Where the reference kernel
    itself raises something else (a residual that does not broadcast: NumPy's ValueError from
    nn_ops._add_into, which the executor reports as an ExecutionError), the same exception type is
    accepted too: the prepared kernel then defers to the reference."""
    case = make_case(kind, ("BiasAdd", "Add", "Relu"), 1, 6, 7, 4, 4, 3, 3, (1, 1), "SAME", seed=17)
    pk = get_kernel(backend, case)
    res = case.inputs[3]
    bad = {"float64": res.astype(np.float64), "wrong-shape": res[:, :-1],
           "broadcastable": res[:, :1].copy()}[what]
    inputs = [*case.inputs[:3], bad]
    want = ref_error = None
    try:
        want = case.expected(*inputs)
    except Exception as e:  # noqa: BLE001 - compared with what the prepared kernel raises
        ref_error = e
    try:
        got = pk.fn(*[v for i, v in enumerate(inputs) if i not in pk.captured])
    except SmlensError:
        return
    except Exception as e:  # noqa: BLE001
        assert ref_error is not None and type(e) is type(ref_error), \
            f"{backend} raised {type(e).__name__}: {e} (the reference kernel: {ref_error!r})"
        return
    assert ref_error is None, f"{backend} returned a result where the reference kernel raises {ref_error!r}"
    got = np.asarray(got)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL)


def _random_geometry(rng: random.Random):
    """A random (often degenerate) convolution: windows larger than the input, strides beyond the window,
    paddings larger than the window, empty batches and sizes."""
    kind = rng.choice(("conv", "depthwise"))
    kh, kw = rng.randint(1, 6), rng.randint(1, 6)
    s = (rng.randint(1, 4), rng.randint(1, 4))
    pad = rng.choice(("SAME", "VALID", "EXPLICIT"))
    ex = [0, 0, rng.randint(0, 6), rng.randint(0, 6), rng.randint(0, 6), rng.randint(0, 6), 0, 0] \
        if pad == "EXPLICIT" else None
    N, H, W = rng.choice((0, 1, 1, 2)), rng.randint(0, 12), rng.randint(0, 12)
    C = rng.randint(1, 40 if kind == "depthwise" else 20)
    return kind, kh, kw, s, pad, ex, N, H, W, C, rng.randint(1, 12), rng.choice(EPILOGUES)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("seed", range(4))
def test_random_geometries(backend, seed):
    """300 random geometries per seed: the prepared kernel gives the reference's result, or both raise an
    SmlensError (an impossible geometry). Nothing else: no crash, no other exception."""
    rng = random.Random(seed)
    for i in range(300):
        kind, kh, kw, s, pad, ex, N, H, W, C, O, epilogue = _random_geometry(rng)
        pads = [(ex[2], ex[3]), (ex[4], ex[5])] if ex else [(0, 0)] * 2
        if "Add" in (epilogue or ()) and min(out_sizes(H, kh, s[0], pad, pads[0]),
                                             out_sizes(W, kw, s[1], pad, pads[1])) <= 0:
            epilogue = ("BiasAdd", "Relu6")  # (no residual of a shape that does not exist)
        case = make_case(kind, epilogue, N, H, W, C, O, kh, kw, s, pad, ex, seed=i)
        try:
            want = case.expected()
        except SmlensError:
            want = None
        pk = get_kernel(backend, case)
        try:
            got = run(pk, case.inputs)
        except SmlensError:
            assert want is None, f"{backend} raised where the reference did not: {case!r}"
            continue
        assert want is not None, f"{backend} returned a result where the reference raises: {case!r}"
        check(got, want, case)
