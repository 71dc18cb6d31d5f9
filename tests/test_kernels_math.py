"""Elementwise math, comparison, logical, Cast and reduction kernels.

Expected values are hand-computed or were checked against TensorFlow 2.21 on CPU (eager raw ops).
"""
import math

import numpy as np
import pytest

from helpers.floats import assert_ulp_close

from smlens import dtypes
from smlens.errors import ExecutionError
from smlens.kernels import KERNELS
from smlens.kernels.registry import bind_attrs

pytestmark = pytest.mark.pyodide

NAN, INF = float("nan"), float("inf")
bf16 = dtypes.bfloat16


def run(op_type, *inputs, **attrs):
    """Call a kernel like the executor does: attrs with defaults, T taken from the first input."""
    spec = KERNELS[op_type]
    if "T" in spec.attrs and "T" not in attrs:
        first = inputs[0][0] if isinstance(inputs[0], list) else inputs[0]
        attrs["T"] = dtypes.from_numpy(np.asarray(first).dtype)
    if "N" in spec.attrs and "N" not in attrs:
        attrs["N"] = len(inputs[0])
    bound = bind_attrs(spec, attrs)
    flat = []
    for x in inputs:
        flat.extend(x if isinstance(x, list) else [x])
    return spec.fn(*spec.split_inputs(flat, bound), **bound)


def arr(values, dtype):
    return np.array(values, dtype=dtype)


def check(result, expected, dtype=None, rtol=0.0):
    assert isinstance(result, np.ndarray)
    expected = np.asarray(expected, dtype=dtype if dtype is not None else result.dtype)
    assert result.dtype == expected.dtype
    assert result.shape == expected.shape
    if rtol:
        np.testing.assert_allclose(result, expected, rtol=rtol)
    else:
        np.testing.assert_array_equal(result, expected)


def bf(values):
    return dtypes.round_to_bfloat16(np.array(values, np.float32))


# ---------------------------------------------------------------- binary arithmetic

def test_add_broadcasts_and_keeps_dtype():
    check(run("AddV2", arr([[1], [2]], np.int32), arr([10, 20, 30], np.int32)),
          [[11, 21, 31], [12, 22, 32]], np.int32)
    check(run("Add", arr([127, -128], np.int8), arr([1, -1], np.int8)), [-128, 127], np.int8)
    check(run("Sub", arr([0], np.uint8), arr([1], np.uint8)), [255], np.uint8)
    check(run("Mul", arr([0.5], np.float16), arr([3], np.float16)), [1.5], np.float16)


def test_scalar_inputs_give_0d_arrays():
    r = run("AddV2", np.array(1.5, np.float32), np.array(2.0, np.float32))
    check(r, 3.5, np.float32)
    assert r.ndim == 0


def test_add_concatenates_strings():
    r = run("Add", np.array([b"a", b"b"], dtype=object), np.array(b"z", dtype=object), T=dtypes.string)
    assert r.tolist() == [b"az", b"bz"]


def test_incompatible_shapes_raise():
    with pytest.raises(ExecutionError, match=r"Incompatible shapes: \[2\] vs. \[3\]"):
        run("AddV2", arr([1, 2], np.int32), arr([1, 2, 3], np.int32))


def test_bfloat16_results_are_rounded():
    one = bf([1.0])
    check(run("AddV2", one, bf([2 ** -8]), T=bf16), [1.0], np.float32)          # tie -> even
    check(run("AddV2", one, bf([2 ** -8 + 2 ** -12]), T=bf16), [1.0078125], np.float32)
    # TF rounds the bfloat16 quotient before flooring
    check(run("FloorDiv", bf([6.03125]), bf([2.015625]), T=bf16), [3.0], np.float32)
    check(run("SquaredDifference", bf([3.0]), bf([1.0078125]), T=bf16), [3.96875], np.float32)


def test_integer_division_family():
    x = arr([7, -7, 7, -7, 0, 5], np.int32)
    y = arr([2, 2, -2, -2, 3, 3], np.int32)
    check(run("Div", x, y), [3, -3, -3, 3, 0, 1])            # C division: toward zero
    check(run("TruncateDiv", x, y), [3, -3, -3, 3, 0, 1])
    check(run("FloorDiv", x, y), [3, -4, -4, 3, 0, 1])
    check(run("FloorMod", x, y), [1, 1, -1, -1, 0, 2])       # sign of the divisor
    check(run("Mod", x, y), [1, -1, 1, -1, 0, 2])            # sign of the dividend
    check(run("TruncateMod", x, y), [1, -1, 1, -1, 0, 2])
    check(run("FloorDiv", arr([-128, -7], np.int8), arr([-1, 2], np.int8)), [-128, -4], np.int8)
    int_min, minus_one = arr([-2 ** 31], np.int32), arr([-1], np.int32)
    check(run("Div", int_min, minus_one), [-2 ** 31])
    check(run("FloorMod", int_min, minus_one), [0])
    check(run("FloorDiv", arr([200], np.uint8), arr([7], np.uint8)), [28], np.uint8)


@pytest.mark.parametrize("op_type", ["Div", "FloorDiv", "TruncateDiv", "FloorMod", "Mod", "TruncateMod"])
@pytest.mark.parametrize("dtype", [np.int32, np.int64, np.uint8])
def test_integer_division_by_zero_raises(op_type, dtype):
    with pytest.raises(ExecutionError, match="Integer division by zero"):
        run(op_type, arr([7, 1], dtype), arr([2, 0], dtype))


def test_float_division_family():
    x = arr([7, -7, 7, -7, 0, 5.5, 1, -1, 0, INF, 5], np.float32)
    y = arr([2, 2, -2, -2, 3, 0, 0, 0, 0, 2, INF], np.float32)
    check(run("RealDiv", x, y), [3.5, -3.5, -3.5, 3.5, 0, INF, INF, -INF, NAN, INF, 0])
    check(run("FloorDiv", x, y), [3, -4, -4, 3, 0, INF, INF, -INF, NAN, INF, 0])
    check(run("TruncateDiv", x, y), [3, -3, -3, 3, 0, INF, INF, -INF, NAN, INF, 0])
    check(run("FloorMod", x, y), [1, 1, -1, -1, 0, NAN, NAN, NAN, NAN, NAN, 5])
    check(run("Mod", x, y), [1, -1, 1, -1, 0, NAN, NAN, NAN, NAN, NAN, 5])
    check(run("DivNoNan", x, y), [3.5, -3.5, -3.5, 3.5, 0, 0, 0, 0, 0, INF, 0])
    check(run("FloorDiv", arr([1.0, -1.0], np.float64), arr([0.1, 0.1], np.float64)), [10.0, -10.0])
    check(run("FloorMod", arr([-5.0, 5.0], np.float32), arr([INF, -INF], np.float32)), [INF, -INF])
    check(run("FloorMod", arr([-1e-8], np.float32), arr([3.0], np.float32)), [3.0])
    r = run("FloorMod", arr([-0.0, 0.0, -4.0], np.float32), arr([2.0, -2.0, 2.0], np.float32))
    assert np.signbit(r).tolist() == [True, False, True]
    check(run("FloorDiv", arr([7, -7], np.float16), arr([2, 2], np.float16)), [3, -4], np.float16)


def test_complex_floor_div_has_no_kernel():
    with pytest.raises(ExecutionError):
        run("FloorDiv", arr([1 + 1j], np.complex64), arr([1 + 1j], np.complex64))


def test_no_nan_variants():
    check(run("MulNoNan", arr([INF, NAN, 2, INF], np.float32), arr([0, 0, 3, NAN], np.float32)),
          [0, 0, 6, NAN])
    check(run("DivNoNan", arr([1 + 1j], np.complex64), arr([0j], np.complex64)), [0j])
    check(run("Xlogy", arr([0, 0, 0, 1, 2, NAN], np.float32), arr([0, NAN, INF, 0, 3, 0], np.float32)),
          [0, 0, 0, -INF, 2 * math.log(3), NAN], rtol=1e-7)
    check(run("Xlog1py", arr([0, 0, 1, 2], np.float64), arr([-1, NAN, -1, 1e-8], np.float64)),
          [0, 0, -INF, 2 * math.log1p(1e-8)], rtol=1e-15)
    check(run("Xdivy", arr([0, 0, 1, NAN], np.float32), arr([0, NAN, 0, 0], np.float32)), [0, 0, INF, NAN])


def test_pow():
    check(run("Pow", arr([2, 3, 0, 0], np.int32), arr([31, 40, 0, 1], np.int32)),
          [-2 ** 31, 689956897, 1, 0])                     # wraps; 0**0 = 1
    check(run("Pow", arr([2, -3], np.int8), arr([7, 3], np.int8)), [-128, -27], np.int8)
    with pytest.raises(ExecutionError, match="negative integer powers"):
        run("Pow", arr([1, 2], np.int32), arr([-1, 2], np.int32))
    check(run("Pow", arr([-8, 0, 0, -1, NAN, 1, 2], np.float32), arr([1 / 3, 0, -1, INF, 0, NAN, -INF], np.float32)),
          [NAN, 1, INF, 1, 1, 1, 0])
    r = run("Pow", arr([1 + 1j, 0j], np.complex64), arr([2, 0], np.complex64))
    np.testing.assert_allclose(r[0], 2j, atol=1e-6)
    assert np.isnan(r[1])                                   # TF: exp(0 * log 0)


def test_maximum_minimum_propagate_nan():
    x, y = arr([NAN, 1, NAN, 3], np.float32), arr([1, NAN, NAN, 2], np.float32)
    check(run("Maximum", x, y), [NAN, NAN, NAN, 3])
    check(run("Minimum", x, y), [NAN, NAN, NAN, 2])
    check(run("Maximum", arr([-5, 7], np.int64), arr(0, np.int64)), [0, 7])


def test_squared_difference():
    check(run("SquaredDifference", arr([1, -2], np.int32), arr([4, 5], np.int32)), [9, 49])
    r = run("SquaredDifference", arr([1 + 2j], np.complex64), arr([0j], np.complex64))
    check(r, [5 + 0j])
    assert r.imag[0] == 0


def test_atan2_argument_order():
    check(run("Atan2", arr([1.0, -1.0], np.float64), arr([0.0, 0.0], np.float64)), [math.pi / 2, -math.pi / 2])


def test_add_n():
    check(run("AddN", [arr([1, 2], np.int32), arr([3, 4], np.int32), arr([5, 6], np.int32)]), [9, 12])
    check(run("AddN", [arr([2048], np.float16), arr([1], np.float16), arr([1], np.float16)]), [2048], np.float16)
    check(run("AddN", [bf([256]), bf([1]), bf([1])], T=bf16), [256], np.float32)  # rounds every step
    with pytest.raises(ExecutionError, match="same size and shape"):
        run("AddN", [arr([1, 2], np.int32), arr(3, np.int32)])


def test_unary_gradients():
    y, dy = arr([0.25, 0.5, 2.0, 0.0], np.float32), arr([2.0, -1.0, 0.0, 3.0], np.float32)
    check(run("SigmoidGrad", y, dy), [0.375, -0.25, -0.0, 0.0])
    check(run("TanhGrad", y, dy), [1.875, -0.75, -0.0, 3.0])
    check(run("SqrtGrad", y, dy), [4.0, -1.0, 0.0, INF])             # dy == 0 gives 0
    check(run("RsqrtGrad", y, dy), [-0.015625, 0.0625, 0.0, -0.0])
    check(run("ReciprocalGrad", y, dy), [-0.125, 0.25, 0.0, -0.0])
    check(run("InvGrad", y, dy), [-0.125, 0.25, 0.0, -0.0])
    z, dz = arr([1 + 2j], np.complex128), arr([2 - 1j], np.complex128)
    check(run("SqrtGrad", z, dz), [0.4 + 0.3j], rtol=1e-15)             # conjugates y
    check(run("SigmoidGrad", z, dz), [6 - 8j], rtol=1e-15)              # does not


def test_accumulate_n_v2_and_population_count():
    check(run("AccumulateNV2", [arr([1, 2], np.float32), arr([3, 4], np.float32)], shape=(2,)), [4, 6])
    check(run("PopulationCount", arr([-1, 0, 5, -128], np.int8)), [8, 0, 2, 1], np.uint8)
    check(run("PopulationCount", arr([-1, 2 ** 40 + 3], np.int64)), [64, 3], np.uint8)


# ---------------------------------------------------------------- unary

def test_abs_neg_sign():
    check(run("Abs", arr([-2 ** 31, -3], np.int32)), [-2 ** 31, 3])
    check(run("Neg", arr([-128, 5], np.int8)), [-128, -5], np.int8)
    check(run("Sign", arr([NAN, -0.0, 0.0, -3, 3, INF, -INF], np.float32)), [NAN, 0, 0, -1, 1, 1, -1])
    check(run("Sign", arr([-5, 0, 5], np.int8)), [-1, 0, 1], np.int8)
    check(run("Sign", arr([3 + 4j, 0j], np.complex64)), [0.6 + 0.8j, 0j], rtol=1e-6)


def test_round_is_half_to_even():
    x = arr([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, NAN, INF], np.float32)
    check(run("Round", x), [0, 2, 2, -0.0, -2, -2, 2, NAN, INF])
    check(run("Rint", x), [0, 2, 2, -0.0, -2, -2, 2, NAN, INF])
    check(run("Round", arr([0.5, 1.5, 2.5], np.float16)), [0, 2, 2], np.float16)
    check(run("Round", arr([3, -3], np.int32)), [3, -3])
    check(run("Floor", arr([-1.5, 1.5], np.float64)), [-2, 1])
    check(run("Ceil", arr([-1.5, 1.5], np.float64)), [-1, 2])


def test_roots_logs_reciprocals():
    check(run("Sqrt", arr([-0.0, -1, 4], np.float32)), [-0.0, NAN, 2])
    check(run("Rsqrt", arr([0, -1, 4], np.float32)), [INF, NAN, 0.5])
    check(run("Reciprocal", arr([0.0, -0.0, 2], np.float32)), [INF, -INF, 0.5])
    check(run("Inv", arr([4], np.float64)), [0.25])
    check(run("Log", arr([-0.0, -1, 1], np.float32)), [-INF, NAN, 0])
    check(run("Log1p", arr([1e-10], np.float64)), [math.log1p(1e-10)], rtol=1e-15)
    check(run("Expm1", arr([1e-10], np.float64)), [math.expm1(1e-10)], rtol=1e-15)
    check(run("Log1p", arr([1e-10 + 1e-10j], np.complex128)), [1e-10 + 9.999999999e-11j], rtol=1e-15)
    check(run("Expm1", arr([1e-10 + 1j], np.complex128)),
          [complex(math.cos(1) - 1, math.sin(1))], rtol=1e-9)


def test_transcendental_dtypes():
    for name, fn in [("Exp", math.exp), ("Sin", math.sin), ("Tanh", math.tanh), ("Asinh", math.asinh),
                     ("Atan", math.atan), ("Cosh", math.cosh)]:
        check(run(name, arr([0.25, -0.5], np.float64)), [fn(0.25), fn(-0.5)], rtol=1e-15)
        check(run(name, arr([0.25, -0.5], np.float32)), [fn(0.25), fn(-0.5)], np.float32, rtol=1e-6)
        check(run(name, arr([0.25, -0.5], np.float16)), [fn(0.25), fn(-0.5)], np.float16, rtol=1e-3)
        r = run(name, bf([0.25, -0.5]), T=bf16)
        check(r, dtypes.round_to_bfloat16(np.array([fn(0.25), fn(-0.5)], np.float32)))


def test_sigmoid_is_stable():
    check(run("Sigmoid", arr([-1000, -20, 0, 20, 1000, NAN], np.float32)),
          [0, 2.0611537e-09, 0.5, 1, 1, NAN], rtol=1e-6)
    check(run("Sigmoid", arr([-100, -20], np.float64)), [3.7200759760208356e-44, 2.0611536181902033e-09],
          rtol=1e-14)
    r = run("Sigmoid", arr([1 + 1j, -1000 + 1j], np.complex64))
    np.testing.assert_allclose(r, [0.7820415 + 0.2019482j, 0], atol=1e-6)
    # float64 as Eigen computes it, exp(x) / (1 + exp(x)): TF's exact bits (1 / (1 + exp(-x)) is an ulp off
    # at 30, which ill-conditioned consumers such as ndtri turn into a 2e-5 relative difference)
    assert_ulp_close(run("Sigmoid", arr([30.0, 800.0], np.float64)), [0.9999999999999064, 1.0], max_ulp=1)


def test_softplus_thresholds():
    x = arr([-1000, -20, -15, 0, 10, 15, 20, 1000, NAN], np.float32)
    check(run("Softplus", x), [0, 2.0611537e-09, 3.0590232e-07, 0.6931472, 10.000046, 15, 20, 1000, NAN],
          rtol=1e-6)
    check(run("Softplus", arr([-35, 35, 40], np.float64)), [6.305116760146989e-16, 35, 40], rtol=1e-14)
    # bfloat16 uses bfloat16's epsilon: above ~2.85 the result is x itself
    check(run("Softplus", bf([-3.0, 3.0, 4.0]), T=bf16), [0.0498046875, 3.0, 4.0])
    check(run("Softsign", arr([-INF, -1, 0, 3, NAN], np.float32)), [NAN, -0.5, 0, 0.75, NAN])


def test_is_nan_inf_finite():
    x = arr([0, NAN, INF, -INF], np.float16)
    check(run("IsNan", x), [False, True, False, False])
    check(run("IsInf", x), [False, False, True, True])
    check(run("IsFinite", x), [True, False, False, False])


# ---------------------------------------------------------------- erf, erfc, lgamma

def test_erf_erfc_values():
    x = arr([0.5, 1, 2, -0.3, 0, INF, -INF, NAN], np.float64)
    check(run("Erf", x), [0.5204998778130465, 0.8427007929497149, 0.9953222650189527, -0.3286267594591274,
                          0, 1, -1, NAN], rtol=1e-15)
    x = arr([3, 10, -2, 0.5, 26.5, 27.5, INF, -INF], np.float64)
    check(run("Erfc", x), [2.209049699858544e-05, 2.088487583762545e-45, 1.9953222650189528,
                           0.4795001221869535, 2.210907664263734e-307, 0, 0, 2], rtol=1e-14)
    check(run("Erf", arr([0.5, 3], np.float32)), [0.52049988, 0.99997791], np.float32, rtol=1e-7)
    check(run("Erfc", arr([9.0], np.float32)), [4.137031708073991e-37], np.float32, rtol=1e-6)


def test_erf_identities_hold_across_the_range():
    x = np.linspace(-6, 6, 2001)
    e, c = run("Erf", x), run("Erfc", x)
    np.testing.assert_allclose(e + c, 1, rtol=0, atol=4e-16)
    np.testing.assert_array_equal(e, -run("Erf", -x))
    assert np.all(np.diff(e) >= 0)


def test_lgamma_values():
    x = arr([0.5, 100, 3, 1e-300, -2.5, 1 + 1e-10, 2.5, 7.9, 1, 2], np.float64)
    check(run("Lgamma", x), [0.5723649429247001, 359.1342053695754, math.log(2), 690.7755278982137,
                             -0.056243716497674054, -5.772157125783244e-11, 0.2846828704729192,
                             8.32426586800881, 0, 0], rtol=2e-15)
    check(run("Lgamma", arr([0, -0.0, -1, -1e20, INF, -INF, NAN], np.float64)), [INF, INF, INF, INF, INF, INF, NAN])
    check(run("Lgamma", arr([0.5, 3], np.float32)), [0.5723649, 0.6931472], np.float32, rtol=1e-7)


def test_lgamma_recurrence():
    x = np.linspace(0.05, 30, 1500)
    np.testing.assert_allclose(run("Lgamma", x + 1) - run("Lgamma", x), np.log(x), rtol=1e-13, atol=1e-14)


# ---------------------------------------------------------------- clip and complex parts

def test_clip_by_value():
    t = arr([[1, 5], [9, 3]], np.int32)
    check(run("ClipByValue", t, arr(2, np.int32), arr(4, np.int32)), [[2, 4], [4, 3]])
    check(run("ClipByValue", t, arr([[2, 3], [0, 0]], np.int32), arr(4, np.int32)), [[2, 4], [4, 3]])
    f = arr([NAN, 1, 3, 5], np.float32)
    check(run("ClipByValue", f, arr(2, np.float32), arr(4, np.float32)), [NAN, 2, 3, 4])
    check(run("ClipByValue", f, arr(4, np.float32), arr(2, np.float32)), [NAN, 4, 4, 4])   # min > max
    check(run("ClipByValue", f, arr(NAN, np.float32), arr(4, np.float32)), [NAN, 1, 3, 4])
    with pytest.raises(ExecutionError, match="same shape as input, or a scalar"):
        run("ClipByValue", t, arr([2, 3], np.int32), arr(4, np.int32))


def test_complex_parts():
    c = run("Complex", arr([1, 2], np.float32), arr(3, np.float32), Tout=dtypes.complex64)
    check(c, [1 + 3j, 2 + 3j], np.complex64)
    check(run("Complex", arr([1], np.float64), arr([INF], np.float64), T=dtypes.float64, Tout=dtypes.complex128),
          [complex(1, INF)])
    z = arr([3 + 4j, -1 + 0j], np.complex64)
    check(run("ComplexAbs", z, Tout=dtypes.float32), [5, 1], np.float32)
    check(run("Real", z, Tout=dtypes.float32), [3, -1], np.float32)
    check(run("Imag", z, Tout=dtypes.float32), [4, 0], np.float32)
    check(run("Angle", z, Tout=dtypes.float32), [math.atan2(4, 3), math.pi], np.float32, rtol=1e-7)
    check(run("Conj", z), [3 - 4j, -1 - 0j], np.complex64)


# ---------------------------------------------------------------- Cast

def cast(x, src, dst, truncate=False):
    return run("Cast", x, SrcT=src, DstT=dst, Truncate=truncate)


def test_cast_float_to_int():
    f = arr([NAN, INF, -INF, 3e9, -3e9, 2.7, -2.7, 1e20, -1e20, 300.5, -129.5, 65536, 1e-3], np.float32)
    m = -2 ** 31
    check(cast(f, dtypes.float32, dtypes.int32), [m, m, m, m, m, 2, -2, m, m, 300, -129, 65536, 0], np.int32)
    m = -2 ** 63
    check(cast(f, dtypes.float32, dtypes.int64),
          [m, m, m, 3000000000, -3000000000, 2, -2, m, m, 300, -129, 65536, 0], np.int64)
    # 8/16-bit: TF's vectorised path saturates; NaN / inf / |x| >= 2^31 give the minimum
    check(cast(f, dtypes.float32, dtypes.int8), [-128, -128, -128, -128, -128, 2, -2, -128, -128, 127, -128, 127, 0],
          np.int8)
    check(cast(f, dtypes.float32, dtypes.uint8), [0, 0, 0, 0, 0, 2, 0, 0, 0, 255, 0, 255, 0], np.uint8)
    check(cast(arr([-1e20, 3e9, -2.7, NAN], np.float32), dtypes.float32, dtypes.uint32),
          [2 ** 31, 3000000000, 4294967294, 2 ** 31], np.uint32)
    check(cast(arr([NAN, -3e9, -2.7, 2e19], np.float64), dtypes.float64, dtypes.uint64),
          [2 ** 63, 2 ** 64 - 3000000000, 2 ** 64 - 2, 2 ** 63], np.uint64)
    check(cast(arr([2.9, -2.9, 65504], np.float16), dtypes.float16, dtypes.int16), [2, -2, 32767], np.int16)


def test_cast_int_and_bool():
    i = arr([-1, 256, 300, -129, 2 ** 31 - 1, 16777217], np.int64)
    check(cast(i, dtypes.int64, dtypes.int8), [-1, 0, 44, 127, -1, 1], np.int8)
    check(cast(i, dtypes.int64, dtypes.uint32), [4294967295, 256, 300, 4294967167, 2147483647, 16777217], np.uint32)
    check(cast(i, dtypes.int64, dtypes.float32), [-1, 256, 300, -129, 2147483648.0, 16777216], np.float32)
    check(cast(i, dtypes.int64, dtypes.float16), [-1, 256, 300, -129, INF, INF], np.float16)
    check(cast(i, dtypes.int64, dtypes.bool_), [True] * 6, np.bool_)
    check(cast(arr([NAN, 0.0, -0.0, 0.1], np.float32), dtypes.float32, dtypes.bool_), [True, False, False, True])
    check(cast(arr([True, False], np.bool_), dtypes.bool_, dtypes.float16), [1, 0], np.float16)


def test_cast_complex_takes_real_part():
    z = arr([1 + 2j, -3.7 + 1j, 2j], np.complex64)
    check(cast(z, dtypes.complex64, dtypes.float32), [1, -3.7, 0], np.float32)
    check(cast(z, dtypes.complex64, dtypes.int32), [1, -3, 0], np.int32)
    check(cast(z, dtypes.complex64, dtypes.bool_), [True, True, False])
    check(cast(arr([1.5], np.float32), dtypes.float32, dtypes.complex128), [1.5 + 0j], np.complex128)
    check(cast(arr([1e300 + 1j], np.complex128), dtypes.complex128, dtypes.complex64), [complex(INF, 1)], np.complex64)


def test_cast_to_bfloat16_and_float16():
    f = arr([2.7, -2.7, 3e9, 1.0 + 2 ** -8 + 2 ** -10], np.float32)
    check(cast(f, dtypes.float32, bf16), [2.703125, -2.703125, 3003121664.0, 1.0078125], np.float32)
    check(cast(f, dtypes.float32, bf16, truncate=True), [2.6875, -2.6875, 2986344448.0, 1.0], np.float32)
    # double -> bfloat16/half goes through float32 (double rounding), as Eigen does
    check(cast(arr([1 + 2 ** -8 + 2 ** -30], np.float64), dtypes.float64, bf16), [1.0], np.float32)
    check(cast(arr([1 + 2 ** -11 + 2 ** -40, 65520.0], np.float64), dtypes.float64, dtypes.float16), [1.0, INF],
          np.float16)
    check(cast(arr([259], np.int32), dtypes.int32, bf16, truncate=True), [260], np.float32)  # ints round
    check(cast(arr([1e-3], np.float32), dtypes.float32, dtypes.float16, truncate=True), [0.00099945068359375],
          np.float16)
    check(cast(arr([1 + 2 ** -24 + 2 ** -40], np.float64), dtypes.float64, dtypes.float32, truncate=True), [1.0],
          np.float32)
    check(cast(bf([2.5]), bf16, dtypes.float32), [2.5], np.float32)


def test_cast_string_is_an_error():
    with pytest.raises(ExecutionError, match="Cast string to float32 is not supported"):
        cast(np.array([b"1"], dtype=object), dtypes.string, dtypes.float32)
    x = np.array([b"1"], dtype=object)
    assert cast(x, dtypes.string, dtypes.string) is x


# ---------------------------------------------------------------- comparison, logical, select, bitwise

def test_comparisons():
    x, y = arr([[1, 2, 3]], np.float32), arr([[2], [NAN]], np.float32)
    check(run("Less", x, y), [[True, False, False], [False, False, False]])
    check(run("GreaterEqual", x, y), [[False, True, True], [False, False, False]])
    check(run("Equal", arr([NAN, 1], np.float32), arr([NAN, 1], np.float32)), [False, True])
    check(run("NotEqual", arr([NAN, 1], np.float32), arr([NAN, 1], np.float32)), [True, False])
    s = run("Equal", np.array([b"a", b"b"], dtype=object), np.array(b"a", dtype=object), T=dtypes.string)
    check(s, [True, False])


def test_equal_with_incompatible_shapes():
    a, b = arr([1, 2, 3], np.int32), arr([1, 2], np.int32)
    check(run("Equal", a, b, incompatible_shape_error=False), False, np.bool_)
    check(run("NotEqual", a, b, incompatible_shape_error=False), True, np.bool_)
    with pytest.raises(ExecutionError, match="Incompatible shapes"):
        run("Equal", a, b)


def test_approximate_equal():
    check(run("ApproximateEqual", arr([1.0, 1.0, NAN], np.float32), arr([1.000001, 1.1, NAN], np.float32)),
          [True, False, False])
    with pytest.raises(ExecutionError, match="same shape"):
        run("ApproximateEqual", arr([1.0, 2.0], np.float32), arr(1.0, np.float32))


def test_logical_ops():
    t, f = True, False
    check(run("LogicalAnd", arr([[t], [f]], np.bool_), arr([t, f], np.bool_)), [[t, f], [f, f]])
    check(run("LogicalOr", arr([t, f], np.bool_), arr(f, np.bool_)), [t, f])
    check(run("LogicalNot", arr([t, f], np.bool_)), [f, t])


def test_select_v1():
    t, e = arr([[1, 2], [3, 4]], np.int32), arr([[5, 6], [7, 8]], np.int32)
    check(run("Select", arr([True, False], np.bool_), t, e), [[1, 2], [7, 8]])           # picks rows
    check(run("Select", arr(True, np.bool_), t, e), [[1, 2], [3, 4]])
    check(run("Select", arr([[True, False], [False, True]], np.bool_), t, e), [[1, 6], [7, 4]])
    check(run("Select", arr([True, False], np.bool_), arr([1, 2], np.int32), arr([5, 6], np.int32)), [1, 6])
    with pytest.raises(ExecutionError, match="must match size of 'cond'"):
        run("Select", arr([True, False, True], np.bool_), t, e)
    with pytest.raises(ExecutionError, match="same size and shape"):
        run("Select", arr([[True], [False]], np.bool_), t, e)
    with pytest.raises(ExecutionError, match="at least a vector"):
        run("Select", arr([True, False], np.bool_), arr(1, np.int32), arr(2, np.int32))


def test_select_v2_broadcasts():
    check(run("SelectV2", arr([True, False], np.bool_), arr([[1, 2], [3, 4]], np.int32), arr(9, np.int32)),
          [[1, 9], [3, 9]])
    r = run("SelectV2", arr([True, False], np.bool_), np.array([b"a", b"b"], dtype=object),
            np.array(b"z", dtype=object), T=dtypes.string)
    assert r.tolist() == [b"a", b"z"]
    with pytest.raises(ExecutionError, match="Incompatible shapes"):
        run("SelectV2", arr([True] * 4, np.bool_), arr([[1, 2]], np.int32), arr(9, np.int32))


def test_bitwise():
    check(run("BitwiseAnd", arr([12, -1], np.int16), arr([10, 7], np.int16)), [8, 7], np.int16)
    check(run("BitwiseOr", arr([12], np.uint8), arr([3], np.uint8)), [15], np.uint8)
    check(run("BitwiseXor", arr([12], np.int64), arr([10], np.int64)), [6])
    check(run("Invert", arr([0, -1, 5], np.int8)), [-1, 0, -6], np.int8)
    check(run("Invert", arr([0, 1], np.uint8)), [255, 254], np.uint8)
    # the shift amount is clamped to [0, bits - 1]
    check(run("LeftShift", arr([1, 1, 1, 1, -1], np.int8), arr([7, 8, 9, -1, 3], np.int8)), [-128, -128, -128, 1, -8],
          np.int8)
    check(run("RightShift", arr([-128, -128, 64, 64, -1], np.int8), arr([7, 8, 9, -1, 3], np.int8)),
          [-1, -1, 0, 64, -1], np.int8)
    check(run("RightShift", arr([255, 255], np.uint8), arr([8, 200], np.uint8)), [1, 1], np.uint8)
    check(run("LeftShift", arr([1, 3], np.int32), arr([32, 33], np.int32)), [-2 ** 31, -2 ** 31])


# ---------------------------------------------------------------- reductions

def reduce(op_type, x, axes, keep_dims=False, tidx=np.int32, **attrs):
    return run(op_type, x, np.array(axes, tidx), keep_dims=keep_dims, **attrs)


def test_sum_axes_forms():
    x = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    check(reduce("Sum", x, [-1, 0], keep_dims=True), x.sum(axis=(0, 2), keepdims=True))
    check(reduce("Sum", x, 1), x.sum(axis=1))
    check(reduce("Sum", x, 1, tidx=np.int64), x.sum(axis=1))
    check(reduce("Sum", x, []), x)
    check(reduce("Sum", x, [[0]]), x.sum(axis=0))
    check(reduce("Sum", np.array(3.0, np.float32), []), 3.0)
    with pytest.raises(ExecutionError, match="Invalid reduction dimension"):
        reduce("Sum", x, 3)
    with pytest.raises(ExecutionError, match="duplicate dimension"):
        reduce("Sum", x, [1, -2])
    with pytest.raises(ExecutionError, match="Invalid reduction dimension"):
        reduce("Sum", np.array(3.0, np.float32), 0)


def test_empty_reductions_give_identities():
    e = np.zeros((0, 3), np.float32)
    check(reduce("Sum", e, 0), [0, 0, 0])
    check(reduce("Prod", e, 0), [1, 1, 1])
    check(reduce("Max", e, 0), [-INF] * 3)
    check(reduce("Min", e, 0), [INF] * 3)
    check(reduce("Mean", e, 0), [NAN] * 3)
    check(reduce("Max", np.zeros((0, 2), np.int32), 0), [-2 ** 31] * 2)
    check(reduce("Min", np.zeros((0, 2), np.uint8), 0), [255, 255], np.uint8)
    check(reduce("Mean", np.zeros((0, 2), np.int32), 0), [0, 0])
    check(reduce("Mean", np.zeros((0, 2), np.complex64), 0), [0j, 0j])
    check(reduce("EuclideanNorm", e, 0), [0, 0, 0])
    check(reduce("All", np.zeros(0, np.bool_), 0), True)
    check(reduce("Any", np.zeros(0, np.bool_), 0), False)
    check(reduce("Sum", e, 1), np.zeros(0, np.float32))


def test_integer_sum_and_mean():
    check(reduce("Sum", arr([200, 200, 201], np.uint8), 0), 89, np.uint8)                 # wraps
    check(reduce("Mean", arr([200, 200, 201], np.uint8), 0), 200, np.uint8)               # wide sum
    check(reduce("Mean", arr([100, 100, 101], np.int8), 0), 100, np.int8)
    check(reduce("Mean", arr([[-1, -2], [4, 4]], np.int32), 1), [-1, 4])                  # truncates
    check(reduce("Mean", arr([-7, 0, 0], np.int8), 0), -2, np.int8)
    check(reduce("Mean", arr([2 ** 31 - 1] * 2, np.int32), 0), 2 ** 31 - 1)
    check(reduce("Mean", arr([2 ** 63 - 1] * 2, np.int64), 0), -1)                        # int64 sum wraps
    check(reduce("Prod", arr([100, 3], np.int8), 0), 44, np.int8)


def test_half_and_bfloat16_reductions():
    check(reduce("Sum", np.ones(3000, np.float16), 0), 3000, np.float16)
    check(reduce("Sum", np.full(3000, 30, np.float16), 0), INF, np.float16)
    check(reduce("Mean", np.full(3000, 30, np.float16), 0), INF, np.float16)             # half sum overflows
    check(reduce("Mean", arr([1, 2, 3, 6], np.float16), 0), 3, np.float16)
    check(reduce("Prod", arr([300, 300], np.float16), 0), INF, np.float16)
    check(reduce("EuclideanNorm", arr([300, 300], np.float16), 0), INF, np.float16)
    check(reduce("Sum", bf(np.ones(3000)), 0, T=bf16), 3008, np.float32)
    check(reduce("Mean", bf([1, 1, 1, 2 ** -7]), 0, T=bf16), 0.75, np.float32)


def test_max_min_and_norms():
    x = arr([[1, NAN, 3], [4, 5, 6]], np.float32)
    check(reduce("Max", x, 1), [NAN, 6])
    check(reduce("Min", x, 0, keep_dims=True), [[1, NAN, 3]])
    check(reduce("EuclideanNorm", arr([3, 4], np.float32), 0), 5)
    check(reduce("EuclideanNorm", arr([3 + 4j, 1j], np.complex64), 0), math.sqrt(26), rtol=1e-7)
    check(reduce("EuclideanNorm", arr([3, 4, 1], np.int32), 0), 5)
    check(reduce("EuclideanNorm", arr([2, 2], np.int32), 0), 2)                          # sqrt(8) truncated
    check(reduce("EuclideanNorm", arr([100, 100], np.int8), 0), 5, np.int8)               # squares wrap
    check(reduce("Mean", arr([3 + 4j, 1j], np.complex64), 0), 1.5 + 2.5j)
    check(reduce("All", arr([[True, False], [True, True]], np.bool_), 1, keep_dims=True), [[False], [True]])
    check(reduce("Any", arr([[True, False], [False, False]], np.bool_), -1), [True, False])


def test_argmax_argmin():
    def arg(op_type, x, dim, out=dtypes.int64):
        return run(op_type, x, np.array(dim, np.int32), output_type=out)

    check(arg("ArgMax", arr([[1, 5], [7, 2]], np.int32), -1), [1, 0], np.int64)
    check(arg("ArgMax", arr([1, 3, 3], np.int32), 0, dtypes.int32), 1, np.int32)          # first of ties
    check(arg("ArgMax", arr([False, True, True], np.bool_), 0, dtypes.int16), 1, np.int16)
    # comparisons skip NaN
    check(arg("ArgMax", arr([1, NAN, 3, NAN], np.float32), 0), 2)
    check(arg("ArgMax", arr([NAN, NAN], np.float32), 0), 0)
    check(arg("ArgMin", arr([1, NAN, -3], np.float32), 0), 2)
    check(arg("ArgMax", arr([[NAN, 1, 3], [2, NAN, 1], [1, 0, 5]], np.float32), 0), [1, 0, 2])
    check(arg("ArgMax", np.zeros((0, 3), np.float32), 1), np.zeros(0, np.int64))
    with pytest.raises(ExecutionError, match="Reduction axis 0 is empty"):
        arg("ArgMax", np.zeros((0, 3), np.float32), 0)
    with pytest.raises(ExecutionError, match="must be a scalar"):
        arg("ArgMax", arr([1, 3], np.float32), [0])
    with pytest.raises(ExecutionError, match="range"):
        arg("ArgMin", arr(3.0, np.float32), 0)


def test_cumsum_cumprod():
    x = arr([[1, 2, 3], [4, 5, 6]], np.int32)

    def scan(op_type, x, axis, **kw):
        return run(op_type, x, np.array(axis, np.int32), **kw)

    check(scan("Cumsum", x, 1), [[1, 3, 6], [4, 9, 15]])
    check(scan("Cumsum", x, 1, exclusive=True), [[0, 1, 3], [0, 4, 9]])
    check(scan("Cumsum", x, -1, reverse=True), [[6, 5, 3], [15, 11, 6]])
    check(scan("Cumsum", x, 0, reverse=True, exclusive=True), [[4, 5, 6], [0, 0, 0]])
    check(scan("Cumprod", x, 1, reverse=True, exclusive=True), [[6, 3, 1], [30, 6, 1]])
    check(scan("Cumsum", arr([200, 100], np.uint8), 0), [200, 44], np.uint8)
    check(scan("Cumsum", arr([2048, 1, 1], np.float16), 0), [2048, 2048, 2048], np.float16)
    check(scan("Cumsum", bf([256, 1, 1]), 0, T=bf16), [256, 256, 256], np.float32)
    check(scan("Cumsum", np.zeros((0, 3), np.float32), 0, exclusive=True), np.zeros((0, 3), np.float32))
    with pytest.raises(ExecutionError, match="axis must be a scalar"):
        scan("Cumsum", arr([1, 2], np.int32), [0])
    with pytest.raises(ExecutionError, match="scan axis"):
        scan("Cumsum", arr([1, 2], np.int32), 1)


def test_cumulative_logsumexp():
    def scan(x, axis, **kw):
        return run("CumulativeLogsumexp", x, np.array(axis, np.int32), **kw)

    check(scan(arr([0, 0, math.log(2), 1000], np.float64), 0), [0, math.log(2), math.log(4), 1000], rtol=1e-15)
    check(scan(arr([[0, 0, math.log(2)]], np.float64), 1, exclusive=True, reverse=True),
          [[math.log(3), math.log(2), -INF]], rtol=1e-15)
    # TF's min/max step skips a NaN and counts the running value twice
    check(scan(arr([1, NAN, 2], np.float64), 0), [1, 1 + math.log(2), 2.5514447139320513], rtol=1e-15)


def test_bincount():
    size, f32, i32 = np.array(5, np.int32), dtypes.float32, dtypes.int32
    check(run("Bincount", arr([1, 1, 3, 7], np.int32), size, arr([0.5, 1, 2, 3], np.float32), T=f32),
          [0, 1.5, 0, 2, 0], np.float32)
    check(run("Bincount", arr([[1, 1], [3, 4]], np.int32), size, np.zeros(0, np.int32), T=i32), [0, 2, 0, 1, 1],
          np.int32)
    check(run("Bincount", arr([1, 1, 3], np.int32), size, arr([2 ** 60 + 1, 2 ** 60 + 1, 7], np.int64),
              T=dtypes.int64), [0, 2 ** 61 + 2, 0, 7, 0], np.int64)                       # exact integer sums
    with pytest.raises(ExecutionError, match="non-negative"):
        run("Bincount", arr([1, -1], np.int32), size, np.zeros(0, np.float32), T=f32)
    with pytest.raises(ExecutionError, match="size"):
        run("Bincount", arr([1], np.int32), np.array(-1, np.int32), np.zeros(0, np.int32), T=i32)
    with pytest.raises(ExecutionError, match="same size"):
        run("Bincount", arr([1, 2], np.int32), size, arr([1, 2, 3], np.float32), T=f32)


def test_dense_bincount():
    def dense(values, weights, binary=False, tidx=np.int32):
        return run("DenseBincount", np.array(values, tidx), np.array(5, tidx), weights,
                   T=dtypes.from_numpy(weights.dtype), Tidx=dtypes.from_numpy(tidx), binary_output=binary)

    check(dense([1, 1, 3, 7], np.zeros(0, np.float32)), [0, 2, 0, 1, 0], np.float32)
    check(dense([1, 1, 3, 7], arr([2, 3, 4, 5], np.float32), binary=True), [0, 1, 0, 1, 0], np.float32)
    check(dense([[1, 1, 3], [0, 4, 4]], arr([[1, 2, 3], [4, 5, 6]], np.int64), tidx=np.int64),
          [[0, 3, 0, 3, 0], [4, 0, 0, 0, 11]], np.int64)
    check(dense([[1, 1, 3], [0, 4, 4]], np.zeros(0, np.float64), binary=True),
          [[0, 1, 0, 1, 0], [1, 0, 0, 0, 1]], np.float64)
    check(dense(2, np.zeros(0, np.int64)), [0, 0, 1, 0, 0], np.int64)
    # empty batches (a Keras IntegerLookup(output_mode="count") served 0 rows): TF gives [rows, size] zeros
    for shape in ((0, 4), (3, 0), (0, 0)):
        for binary in (False, True):
            check(dense(np.zeros(shape, np.int32), np.zeros(0, np.float32), binary=binary),
                  np.zeros((shape[0], 5)), np.float32)
    with pytest.raises(ExecutionError, match="at most rank 2"):
        dense(np.zeros((2, 2, 2), np.int32), np.zeros(0, np.int64))
    with pytest.raises(ExecutionError, match="same shape as `arr`"):
        dense([1, 2], arr([1, 2, 3], np.float32))


def test_ragged_bincount():
    # TF 2.21: rows [1, 1, 4], [], [0, 2, 2] with size 4 (4 is out of range and dropped)
    def ragged(splits, values, weights, binary=False, size=4):
        return run("RaggedBincount", np.array(splits, np.int64), np.array(values, np.int32), np.array(size, np.int32),
                   weights, T=dtypes.from_numpy(weights.dtype), Tidx=dtypes.int32, binary_output=binary)

    splits, values = [0, 3, 3, 6], [1, 1, 4, 0, 2, 2]
    check(ragged(splits, values, np.zeros(0, np.float32)), [[0, 2, 0, 0], [0, 0, 0, 0], [1, 0, 2, 0]], np.float32)
    check(ragged(splits, values, arr([0.5, 1, 2, 3, 4, 5], np.float32)),
          [[0, 1.5, 0, 0], [0, 0, 0, 0], [3, 0, 9, 0]], np.float32)
    check(ragged(splits, values, arr([0.5, 1, 2, 3, 4, 5], np.float64), binary=True),
          [[0, 1, 0, 0], [0, 0, 0, 0], [1, 0, 1, 0]], np.float64)
    check(ragged([0], [], np.zeros(0, np.int64), size=3), np.zeros((0, 3)), np.int64)
    for bad, match in (([1, 3, 3, 6], "start with 0"), ([0, 3, 3, 5], "end with the number"),
                       ([0, 4, 3, 6], "non-decreasing")):
        with pytest.raises(ExecutionError, match=match):
            ragged(bad, values, np.zeros(0, np.float32))
    with pytest.raises(ExecutionError, match="non-negative"):
        ragged(splits, [1, -1, 4, 0, 2, 2], np.zeros(0, np.float32))
    with pytest.raises(ExecutionError, match="non-negative"):
        ragged(splits, values, np.zeros(0, np.float32), size=-1)


def test_bucketize():
    def buckets(x, boundaries):
        return run("Bucketize", x, boundaries=boundaries)

    check(buckets(arr([-5, 10000, 150, 10, 5, 100], np.int32), [0.0, 10.0, 100.0]), [0, 3, 3, 2, 1, 3], np.int32)
    check(buckets(arr([[-5, NAN, 10, 9.99]], np.float32), [0.0, 10.0, 100.0]), [[0, 3, 2, 1]], np.int32)
    check(buckets(arr([3.0], np.float64), []), [0], np.int32)
    check(buckets(arr([2 ** 40], np.int64), [0.0, 1e12]), [2], np.int32)
    with pytest.raises(ExecutionError, match="sorted"):
        buckets(arr([3.0], np.float32), [5.0, 1.0])


def test_every_listed_op_has_a_kernel():
    ops = ("Add AddV2 AddN Sub Mul MulNoNan RealDiv Div DivNoNan FloorDiv TruncateDiv FloorMod Mod TruncateMod "
           "Maximum Minimum Pow SquaredDifference Xdivy Xlogy Xlog1py Atan2 Abs Neg Sign Square Sqrt Rsqrt "
           "Reciprocal Inv Exp Expm1 Log Log1p Sin Cos Tan Asin Acos Atan Sinh Cosh Tanh Asinh Acosh Atanh "
           "Sigmoid Softplus Softsign Erf Erfc Lgamma Ceil Floor Round Rint IsNan IsInf IsFinite ClipByValue "
           "Complex ComplexAbs Conj Real Imag Angle Cast Equal NotEqual Greater GreaterEqual Less LessEqual "
           "ApproximateEqual LogicalAnd LogicalOr LogicalNot Select SelectV2 BitwiseAnd BitwiseOr BitwiseXor "
           "Invert LeftShift RightShift Sum Mean Max Min Prod All Any ArgMax ArgMin EuclideanNorm Cumsum Cumprod "
           "Bincount DenseBincount Bucketize").split()
    missing = [o for o in ops if o not in KERNELS]
    assert not missing


# ---------------------------------------------------------------- special functions (special_ops), TF 2.21 float64

SPECIAL_X = np.array([0.3, 1.7, 4.5, 11.0, 13.5, 31.0, 60.0])   # both sides of each method's switch point
SPECIAL_TF = {
    "BesselI0": [1.0226268793515971, 1.8639649620738397, 17.481171855609276, 7288.489339821247, 79965.36811945889,
                 2089962966491.9038, 5.8940770556098e+24],
    "BesselI1e": [0.11237756063983881, 0.21855280659849335, 0.17095882229749204, 0.1160577581698902,
                  0.10548737529075769, 0.07077639283438568, 0.05117963018902871],
    "BesselJ0": [0.9776262465382962, 0.39798485944610945, -0.32054250898512143, -0.17119030040719624,
                 0.21498916588040085, 0.05120814530454214, -0.09147180408906201],
    "BesselJ1": [0.148318816273104, 0.5777652315290233, -0.2310604319233706, -0.17678529895672165,
                 0.038049292086001635, -0.13302431666631417, 0.04659838375816622],
    "BesselY0": [-0.8072735778045196, 0.45202700018163466, -0.19470500862950416, -0.16884732389207938,
                 0.03007700904678541, -0.13383266050364437, 0.04735895220944916],
    "BesselY1": [-2.2931051383885293, -0.2847262450640684, 0.300997323069655, 0.16370553741494268,
                 -0.21402293034002887, -0.053372826957321734, 0.09186960936986693],
    "BesselK0": [1.3724600605442978, 0.16549631805699652, 0.0063998572432339765, 6.243020547653678e-06,
                 4.6348416714082176e-07, 7.718382655527616e-15, 1.4138978405591074e-27],
    "BesselK1e": [4.12515776224447, 1.1460392462302547, 0.6371497987781356, 0.3904309361349165,
                  0.35037773048777254, 0.22779816259459248, 0.16280823094404423],
    "Dawsn": [0.28263166502131193, 0.37255934897407883, 0.11408861022682497, 0.04564475216411602,
              0.03713949556232874, 0.016137437186981757, 0.00833449122332905],
    "Expint": [-0.30266853926582604, 3.9209632013549047, 27.933696697939578, 6071.406374098611, 58826.95908327882,
               969455575968.3939, 1.9361822139292765e+24],
    "FresnelCos": [0.2994009760520472, 0.32382687600390025, 0.5260259150535386, 0.5289366617557965,
                   0.4910150221176157, 0.510268057465068, 0.4999995309204995],
    "FresnelSin": [0.014116998006576587, 0.5491959403215687, 0.4342729750487035, 0.4999238837937511,
                   0.521799262187777, 0.49999659893870957, 0.4946948353546973],
    "Spence": [0.8893776242860388, -0.6051584023377057, -2.1620967990779754, -4.198277886858104,
               -4.7561322061053914, -7.395946286130682, -9.941212000072792],
    "Digamma": [-3.502524222200133, 0.20854787487349347, 1.388870926359529, 2.3517525890667215, 2.565195651274912,
                3.4177714660188583, 4.085988081383538],
}


@pytest.mark.parametrize("name", sorted(SPECIAL_TF))
def test_special_functions_match_tensorflow(name):
    out = run(name, SPECIAL_X)
    assert out.dtype == np.float64
    check(out, SPECIAL_TF[name], rtol=1e-11 if name.startswith(("BesselJ", "BesselY")) else 1e-14)
    assert run(name, SPECIAL_X.astype(np.float32)).dtype == np.float32


def test_special_function_edge_values_as_tensorflow():
    x = arr([-3.0, -0.5, 0.0, np.inf, -np.inf, NAN], np.float64)
    check(run("Digamma", x), [NAN, 0.03648997397857645, NAN, np.inf, NAN, NAN], rtol=1e-13)
    check(run("BesselI0", x), [4.880792585865024, 1.0634833707413238, 1.0, NAN, NAN, NAN], rtol=1e-15)
    check(run("BesselI1e", x), [-0.19682671329730084, -0.15642080318487162, 0.0, 0.0, -0.0, NAN], rtol=1e-15)
    check(run("BesselY0", x), [-np.inf, -np.inf, -np.inf, NAN, -np.inf, NAN])
    check(run("BesselK1", x), [np.inf, np.inf, np.inf, 0.0, np.inf, NAN])
    check(run("Expint", x), [NAN, NAN, -np.inf, NAN, NAN, NAN])
    check(run("FresnelSin", x), [-0.49631299896737496, -0.06473243285999929, 0.0, 0.5, -0.5, NAN], rtol=1e-15)
    check(run("Spence", x), [NAN, NAN, 1.6449340668482264, NAN, NAN, NAN], rtol=1e-15)
    check(run("Dawsn", x), [-0.17827103061055835, -0.4244363835020223, 0.0, 0.0, 0.0, NAN], rtol=1e-15)


def test_ndtri_and_erfinv_as_tensorflow():
    check(run("Ndtri", arr([1e-20, 0.01, 0.3, 0.5, 0.999999, 0.0, 1.0, 1.5], np.float64)),
          [-9.262340089798409, -2.3263478740408408, -0.5244005127080409, 0.0, 4.753424308817087, -np.inf, np.inf,
           NAN], rtol=1e-14)
    # TF computes erfinv(x) as ndtri((x + 1) / 2) / sqrt(2): tiny inputs lose their relative precision
    check(run("Erfinv", arr([-0.999999999, -0.3, 1e-12, 0.99999, 1.0, -1.0, 2.0], np.float64)),
          [-4.320005388105363, -0.27246271472675443, 8.863057115425172e-13, 3.1234132743398733, np.inf, -np.inf,
           NAN], rtol=1e-14)
    np.testing.assert_allclose(run("Erfinv", arr([1e-6, 0.7], np.float32)), [8.451718258584151e-07, 0.732869029045105],
                               rtol=3e-7)


def test_incomplete_gamma_beta_zeta_polygamma_as_tensorflow():
    a, x = arr([0.5, 3.0, 50.0, 2.0], np.float64), arr([0.2, 2.5, 60.0, 30.0], np.float64)
    check(run("Igamma", a, x), [0.47291074313446185, 0.4561868841166704, 0.9155933189063081, 0.9999999999970991],
          rtol=1e-14)
    check(run("Igammac", a, x), [0.5270892568655381, 0.5438131158833296, 0.0844066810936919,
                                 2.9008631203404573e-12], rtol=1e-13)
    check(run("Igamma", arr([-1.0, 0.0, 0.5, 1.0, 2.0, np.inf], np.float64),
              arr([1.0, 1.0, 0.0, -1.0, np.inf, 1.0], np.float64)), [NAN, NAN, 0.0, NAN, 1.0, 0.0])
    check(run("Zeta", arr([2.0, 3.5, 1.5, 1.0, 0.5, 2.0, 3.0, 3.0, 2.5], np.float64),
              arr([0.5, 2.0, 10.0, 1.0, 1.0, -1.0, 0.0, -1.5, -1.5], np.float64)),
          [4.93480220054468, 0.12673386731705663, 0.6486616319415703, np.inf, NAN, np.inf, NAN,
           0.11810202582086413, NAN], rtol=1e-13)
    check(run("Polygamma", arr([1.0, 2.0, 3.0, 1.5, 0.0], np.float64), arr([0.5, -1.5, 7.0, 2.0, 2.0], np.float64)),
          [4.93480220054468, -0.23620405164172825, 0.007198198563125444, NAN, 0.42278433509846713], rtol=1e-14)
    check(run("Betainc", arr([0.5, 2.0, 30.0, 0.0, 2.0], np.float64), arr([0.5, 5.0, 20.0, 1.0, 3.0], np.float64),
              arr([0.1, 0.3, 0.6, 0.5, 1.1], np.float64)),
          [0.2048327646991335, 0.579825, 0.49229980034234355, NAN, NAN], rtol=1e-13)
    assert run("NextAfter", arr([1.0, 0.0], np.float32), arr([2.0, -1.0], np.float32)).tolist() == [
        1.0000001192092896, -1.401298464324817e-45]


def test_histogram_fixed_width_as_tensorflow():
    # bin = int((max(v, lo) - lo) / step), capped at nbins - 1: values outside go to the end bins
    out = run("HistogramFixedWidth", arr([-1.0, 0.0, 1.5, 2.0, 5.0, 15.0], np.float32), arr([0, 5], np.float32),
              np.int32(5))
    check(out, [2, 1, 1, 0, 2], np.int32)
    check(run("HistogramFixedWidth", arr([1, 3, 7, 9, 10, -4], np.int64), arr([0, 10], np.int64), np.int32(3),
              dtype=dtypes.int64), [3, 0, 3], np.int64)
    # float32 bounds: 0.3 / (0.9f / 3) lands exactly on bin 1, as in TF
    check(run("HistogramFixedWidth", arr([0.3, 0.6, 0.9], np.float32), arr([0, 0.9], np.float32), np.int32(3)),
          [0, 1, 2], np.int32)
    with pytest.raises(ExecutionError, match="value_range"):
        run("HistogramFixedWidth", arr([1.0], np.float32), arr([1, 1], np.float32), np.int32(3))
