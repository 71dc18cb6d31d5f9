"""Random (Philox streams), spectral and linear-algebra kernels, against values checked with TensorFlow 2.21."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.floats import assert_ulp_close

from smlens import dtypes
from smlens.errors import ExecutionError, UnsupportedError
from smlens.kernels import KERNELS
from smlens.kernels.random_ops import philox_blocks
from smlens.kernels.registry import OpContext, bind_attrs

pytestmark = pytest.mark.pyodide


def run(op_type: str, *inputs, **attrs):
    spec = KERNELS[op_type]
    bound = bind_attrs(spec, attrs)
    if spec.needs_ctx:
        return spec.fn(OpContext("node", op_type, bound, None, np.random.default_rng(0)), *inputs, **bound)
    return spec.fn(*inputs, **bound)


SEED = np.array([1, 2], np.int64)
SHAPE = np.array([5], np.int32)


def test_philox_known_answers():
    # Random123's Philox-4x32-10 known-answer vectors
    assert philox_blocks((0, 0), 0, np.zeros(1, np.uint64))[0].tolist() == [
        0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8]
    counter = 0x243F6A88 | (0x85A308D3 << 32) | (0x13198A2E << 64) | (0x03707344 << 96)
    assert philox_blocks((0xA4093822, 0x299F31D0), counter, np.zeros(1, np.uint64))[0].tolist() == [
        0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1]


def test_stateless_uniform_is_bit_exact():
    out = run("StatelessRandomUniform", SHAPE, SEED)
    assert out.dtype == np.float32 and out.tolist() == [
        0.8440604209899902, 0.19204533100128174, 0.9962232112884521, 0.16038739681243896, 0.27199018001556396]
    assert run("StatelessRandomUniform", SHAPE, SEED, dtype=dtypes.float64).tolist() == [
        0.7524837538451801, 0.9697857725627486, 0.17592233912897481, 0.8555556648693279, 0.514811871731222]
    half = run("StatelessRandomUniform", SHAPE, SEED, dtype=dtypes.float16)
    assert half.dtype == np.float16 and half.tolist() == [0.54296875, 0.2353515625, 0.060546875, 0.8935546875,
                                                          0.1435546875]
    assert run("StatelessRandomUniform", SHAPE, SEED, dtype=dtypes.bfloat16).tolist() == [
        0.34375, 0.8828125, 0.484375, 0.1484375, 0.1484375]
    int32_seed = run("StatelessRandomUniform", np.array([5], np.int64), np.array([-1, 7], np.int32))
    assert int32_seed.tolist() == [0.9835540056228638, 0.7610461711883545, 0.32639455795288086,
                                   0.26121485233306885, 0.7875277996063232]
    assert run("StatelessRandomUniform", np.array([2, 0, 3], np.int32), SEED).shape == (2, 0, 3)


def test_stateless_normal_and_truncated():
    # Box-Muller goes through libm log/sin/cos: bit-exact with glibc, within an ulp elsewhere (Pyodide)
    np.testing.assert_allclose(run("StatelessRandomNormal", SHAPE, SEED, dtype=dtypes.float64),
                               [-0.1423118100189212, 0.7406072461585091, -1.469047669443883, 1.147747453689489,
                                -0.7218813856153005], rtol=1e-15)
    # values beyond two standard deviations are redrawn
    np.testing.assert_allclose(run("StatelessTruncatedNormal", SHAPE, SEED, dtype=dtypes.float64),
                               [-0.1423118100189212, 0.7406072461585091, -0.552387756244845, -0.734450092480207,
                                -0.39842023956588357], rtol=1e-15)
    # float32 goes through float32 libm calls in TF: equal within an ulp
    np.testing.assert_allclose(run("StatelessRandomNormal", SHAPE, SEED),
                               [0.544110119342804, 0.20738030970096588, 0.0735643208026886, 0.04643455147743225,
                                -1.301589846611023], rtol=2e-7)
    big = run("StatelessTruncatedNormal", np.array([999], np.int32), np.array([5, 6], np.int64),
              dtype=dtypes.float64)
    np.testing.assert_allclose(big[:6], [1.9110135209673957, -1.016761244746766, 0.975443728726583,
                                         0.6950469727316188, -0.14501917315967533, 1.0290623639435035], rtol=1e-15)
    assert np.abs(big).max() < 2.0


def test_stateless_integers_key_counter_and_multinomial():
    assert run("StatelessRandomUniformInt", SHAPE, SEED, np.int32(0), np.int32(10)).tolist() == [0, 9, 4, 9, 7]
    wide = run("StatelessRandomUniformInt", SHAPE, SEED, np.int64(-5), np.int64(2 ** 40))
    assert wide.dtype == np.int64 and wide.tolist() == [1036159160131, 635312348566, 846040150269, 267342743203,
                                                        753202267753]
    full = run("StatelessRandomUniformFullInt", SHAPE, SEED, dtype=dtypes.uint64)
    assert full.tolist() == [7464880146280614444, 1591045637757961278, 17389275318164050067, 2524363516007002203,
                             6884554327646026923]
    assert run("StatelessRandomUniformFullInt", SHAPE, np.array([-1, 7]), dtype=dtypes.int32).tolist() == [
        654173465, 325151222, 1252640588, -1314820227, -563819082]
    with pytest.raises(ExecutionError, match="Need minval < maxval: 5 >= 5"):
        run("StatelessRandomUniformInt", SHAPE, SEED, np.int32(5), np.int32(5))
    key, counter = run("StatelessRandomGetKeyCounter", SEED)
    assert key.dtype == np.uint64 and key.tolist() == [10413732777507651514]
    assert counter.tolist() == [0, 17830669156045600267]
    logits = np.array([[0, 1, 2], [-1, np.log(5), 0], [-np.inf, 0, 0]], np.float32)
    draws = run("StatelessMultinomial", logits, np.int32(7), SEED, output_dtype=dtypes.int32)
    assert draws.dtype == np.int32 and draws.tolist() == [[2, 2, 1, 2, 2, 2, 2], [1, 1, 1, 1, 1, 1, 1],
                                                          [2, 1, 2, 1, 2, 1, 1]]


def test_stateless_v2_ops():
    key, counter = np.array([12345678901234], np.uint64), np.array([5, 0], np.uint64)
    out = run("StatelessRandomUniformV2", np.array([3, 5], np.int32), key, counter, np.int32(1))
    assert out[0].tolist() == [0.9285956621170044, 0.8302148580551147, 0.5247931480407715, 0.3883943557739258,
                               0.9968780279159546]
    out = run("StatelessTruncatedNormalV2", np.array([3, 5], np.int32), np.array([1], np.uint64),
              np.array([2, 3], np.uint64), np.int32(3), dtype=dtypes.float64)
    assert_ulp_close(out[0], [-1.2944838094594744, -0.5642746288097572, -0.11731619260979495,   # log/sin: ULPs
                              -0.29209403387995364, 0.8530332781671011], max_ulp=8, dtype=np.float64)
    ints = run("StatelessRandomUniformIntV2", np.array([3, 5], np.int32), np.array([1], np.uint64),
               np.array([2, 3], np.uint64), np.int32(1), np.int64(-3), np.int64(1000))
    assert ints[0].tolist() == [408, 192, 965, 723, 91]
    with pytest.raises(UnsupportedError, match="ThreeFry"):
        run("StatelessRandomUniformV2", SHAPE, key, counter, np.int32(2))


def test_stateful_ops_with_seeds_match_tensorflow_first_run():
    assert run("RandomUniform", SHAPE, dtype=dtypes.float32, seed=101, seed2=707).tolist() == [
        0.059834957122802734, 0.3276371955871582, 0.2829000949859619, 0.808587908744812, 0.3705575466156006]
    np.testing.assert_allclose(run("RandomStandardNormal", SHAPE, dtype=dtypes.float64, seed=105, seed2=0),
                               [-0.1355935608862456, 0.6008993094744923, 1.030775092408378, 1.4278222946085006,
                                -1.7170197796112994], rtol=1e-15)
    np.testing.assert_allclose(run("TruncatedNormal", SHAPE, dtype=dtypes.float64, seed=0, seed2=106),
                               [0.5266866664569052, 0.8139697481169313, 1.3117908886699388, -0.09831278694003114,
                                0.48361979256961146], rtol=1e-15)
    assert run("RandomUniformInt", SHAPE, np.int32(-4), np.int32(9), seed=110, seed2=3).tolist() == [5, 1, -1, 5, 6]
    logits = np.array([[0, 1, 2], [-1, 0, 0]], np.float32)
    assert run("Multinomial", logits, np.int32(5), seed=134, seed2=1).tolist() == [[2, 1, 2, 2, 2], [1, 1, 2, 1, 2]]
    assert run("RandomShuffle", np.arange(10, dtype=np.int32), seed=136, seed2=1).tolist() == [
        4, 0, 3, 5, 2, 6, 8, 9, 7, 1]


def test_seeded_stateful_ops_continue_their_stream_on_later_calls():
    # TF's GuardedPhiloxRandom: each call skips 256 samples per output (Multinomial: per element of a
    # rows x 2*ceil4(num_samples) grid; RandomShuffle: ceil((n-1)/4)), so a second call gives new values
    def ctx(op_type):
        return OpContext("node", op_type, {}, None, None)
    calls = {op_type: ctx(op_type) for op_type in ("RandomUniform", "Multinomial", "RandomShuffle")}
    logits = np.array([[0, 1, 2], [-1, 0, 0]], np.float32)

    def uniform():
        return KERNELS["RandomUniform"].fn(calls["RandomUniform"], SHAPE, dtype=dtypes.float32, seed=101, seed2=707)

    def multinomial():
        return KERNELS["Multinomial"].fn(calls["Multinomial"], logits, np.int32(5), seed=134, seed2=1,
                                         output_dtype=dtypes.int64)

    def shuffle():
        return KERNELS["RandomShuffle"].fn(calls["RandomShuffle"], np.arange(10, dtype=np.int32), seed=136, seed2=1)
    assert uniform()[0] == np.float32(0.059834957122802734)
    assert uniform().tolist() == [0.698073148727417, 0.9731543064117432, 0.15454697608947754, 0.29539310932159424,
                                  0.838093638420105]
    assert multinomial().tolist() == [[2, 1, 2, 2, 2], [1, 1, 2, 1, 2]]
    assert multinomial().tolist() == [[2, 1, 2, 0, 0], [0, 0, 2, 1, 1]]
    assert shuffle().tolist() == [4, 0, 3, 5, 2, 6, 8, 9, 7, 1]
    assert shuffle().tolist() == [0, 3, 7, 6, 4, 1, 8, 2, 5, 9]


def test_generator_state_ops():
    # tf.random.Generator: int64 state [counter_lo, counter_hi, key]; a draw of n outputs moves the
    # 128-bit counter by n * 256 (RngReadAndSkip returns the state before the skip)
    from smlens.runtime.resources import Variable, handle
    var = Variable("state", dtypes.int64, (3,), None, None)
    var.assign(np.array([-5, 3, 77], np.int64))
    h = handle(var)
    assert run("RngReadAndSkip", h, np.int32(1), np.uint64(2)).tolist() == [-5, 3, 77]
    assert var.read().tolist() == [507, 4, 77]          # -5 as uint64 + 512 carries into the high word
    assert run("StatefulUniform", h, np.int64(1), np.array([3], np.int32)).tolist() == [
        0.08794641494750977, 0.41568756103515625, 0.24706315994262695]
    assert var.read().tolist() == [1275, 4, 77]
    ints = run("StatefulUniformInt", h, np.int64(1), np.array([4], np.int32), np.int32(-3), np.int32(20),
               dtype=dtypes.int32)
    assert ints.dtype == np.int32 and ints.tolist() == [6, 16, 15, 9] and var.read().tolist() == [2299, 4, 77]
    run("RngSkip", h, np.int64(1), np.int64(1))
    assert var.read().tolist() == [2555, 4, 77]
    with pytest.raises(UnsupportedError, match="ThreeFry"):
        run("RngReadAndSkip", h, np.int32(2), np.uint64(1))


def test_unseeded_stateful_ops_use_ctx_rng():
    a = run("RandomUniform", np.array([4, 3], np.int32), dtype=dtypes.float32)
    b = run("RandomUniform", np.array([4, 3], np.int32), dtype=dtypes.float32)
    assert a.shape == (4, 3) and a.dtype == np.float32 and a.tolist() == b.tolist()   # same ctx.rng seed
    assert ((a >= 0) & (a < 1)).all()
    gamma = run("RandomGamma", np.array([1000], np.int32), np.array([2.0, 5.0], np.float32))
    assert gamma.shape == (1000, 2) and gamma.dtype == np.float32 and abs(gamma[:, 1].mean() - 5) < 0.5
    poisson = run("RandomPoissonV2", np.array([3], np.int32), np.array([1.0, 4.0], np.float32), dtype=dtypes.int32)
    assert poisson.shape == (3, 2) and poisson.dtype == np.int32
    shuffled = run("RandomShuffle", np.arange(20).reshape(10, 2))
    assert sorted(shuffled[:, 0].tolist()) == list(range(0, 20, 2))


def test_fft_family():
    x = np.array([1, 2, 3, 4], np.complex64)
    out = run("FFT", x)
    assert out.dtype == np.complex64 and out.tolist() == [10, -2 + 2j, -2, -2 - 2j]
    assert run("IFFT", out).tolist() == x.tolist()
    grid = np.arange(6, dtype=np.complex128).reshape(2, 3)
    np.testing.assert_allclose(run("FFT2D", grid), np.fft.fft2(grid))
    real = np.array([1, 2, 3, 4, 5], np.float32)
    spec = run("RFFT", real, np.array([4], np.int32))       # fft_length crops the input
    assert spec.dtype == np.complex64 and spec.tolist() == [10, -2 + 2j, -2]
    with pytest.raises(ExecutionError, match="must have length of at least 9 but got: 5"):
        run("RFFT", real, np.array([9], np.int32))
    back = run("IRFFT", spec, np.array([4], np.int32))
    assert back.dtype == np.float32 and back.tolist() == [1, 2, 3, 4]
    assert run("RFFT2D", np.zeros((0, 4), np.float32), np.array([4, 4], np.int32)).shape == (4, 3)
    cube = np.ones((2, 2, 2, 2), np.float64)
    assert run("RFFT3D", cube, np.array([2, 2, 2], np.int32), Tcomplex=dtypes.complex128)[0, 0, 0, 0] == 8


def test_matrix_inverse_determinant_solve():
    a = np.array([[4, 1], [2, 3]], np.float64)
    assert np.allclose(run("MatrixInverse", a), [[0.3, -0.1], [-0.2, 0.4]])
    assert np.allclose(run("MatrixInverse", a, adjoint=True), [[0.3, -0.2], [-0.1, 0.4]])
    assert np.isclose(run("MatrixDeterminant", a), 10)
    assert run("MatrixDeterminant", np.zeros((2, 0, 0), np.float32)).tolist() == [1, 1]
    sign, logdet = run("LogMatrixDeterminant", np.array([[1, 2], [3, 4]], np.float32))
    assert sign.tolist() == -1 and np.isclose(logdet, np.log(2))
    sign, logdet = run("LogMatrixDeterminant", np.array([[1, 2], [2, 4]], np.float32))
    assert sign == 0 and logdet == -np.inf
    with pytest.raises(ExecutionError, match="Input is not invertible."):
        run("MatrixInverse", np.array([[1, 2], [2, 4]], np.float32))
    with pytest.raises(ExecutionError, match="Input matrix must be square."):
        run("MatrixInverse", np.ones((2, 3), np.float32))
    x = run("MatrixSolve", a, np.array([[5], [5]], np.float64))
    assert np.allclose(x, [[1], [1]])
    with pytest.raises(ExecutionError, match="same outer dimensions"):
        run("MatrixSolve", np.eye(2, dtype=np.float32)[None], np.ones((3, 2, 1), np.float32))
    with pytest.raises(ExecutionError, match="Input matrix is not invertible."):
        run("MatrixSolve", np.array([[1, 2], [2, 4]], np.float32), np.ones((2, 1), np.float32))


def test_triangular_solve():
    lower = np.array([[[2, 0], [1, 4]]], np.float32)
    out = run("MatrixTriangularSolve", lower, np.ones((3, 2, 1), np.float32))   # batch dims broadcast
    assert out.shape == (3, 2, 1) and out[0].tolist() == [[0.5], [0.125]]
    upper_adj = run("MatrixTriangularSolve", np.array([[2, 5], [1, 4]], np.float32), np.array([[1], [2]], np.float32),
                    lower=False, adjoint=True)
    assert upper_adj.tolist() == [[0.5], [-0.125]]
    singular = run("MatrixTriangularSolve", np.array([[0, 0], [1, 4]], np.float32), np.ones((2, 1), np.float32))
    assert singular.tolist() == [[np.inf], [-np.inf]]


def test_decompositions():
    spd = np.array([[4, 100], [2, 3]], np.float32)      # only the lower triangle is read
    assert np.allclose(run("Cholesky", spd), [[2, 0], [1, 1.4142135381698608]])
    assert np.isnan(run("Cholesky", np.array([[1, 2], [2, 1]], np.float32))).any()
    q, r = run("Qr", np.array([[1, 2], [3, 4], [5, 6]], np.float32))
    np.testing.assert_allclose(q, [[-0.1690307855606079, 0.8970850110054016], [-0.5070924758911133, 0.2760266959667206],
                                   [-0.8451542258262634, -0.34503304958343506]], atol=1e-6)
    np.testing.assert_allclose(r, [[-5.916079998016357, -7.437356948852539], [0, 0.8280784487724304]], atol=1e-5)
    q, r = run("Qr", np.array([[1, 2], [3, 4], [5, 6]], np.float32), full_matrices=True)
    assert q.shape == (3, 3) and r.shape == (3, 2)
    m = np.array([[1, 2, 3], [4, 5, 6]], np.float32)
    s, u, v = run("Svd", m)
    np.testing.assert_allclose(s, [9.508033752441406, 0.772869348526001], rtol=1e-6)
    assert u.shape == (2, 2) and v.shape == (3, 2)    # TF returns v, not v^H
    np.testing.assert_allclose(u @ np.diag(s) @ v.T, m, atol=1e-5)
    s, u, v = run("Svd", np.array([[4, 1], [2, 3]], np.float32), compute_uv=False)
    np.testing.assert_allclose(s, [5.116672992706299, 1.954395055770874], rtol=1e-6)
    assert u.shape == () and v.shape == ()
    e, v = run("SelfAdjointEigV2", np.array([[2, 100], [1, 3]], np.float32))
    np.testing.assert_allclose(e, [1.3819658756256104, 3.6180334091186523], rtol=1e-6)
    np.testing.assert_allclose(np.abs(v), [[0.8506507277488708, 0.5257311463356018],
                                           [0.5257311463356018, 0.8506507277488708]], rtol=1e-6)
    lu, perm = run("Lu", np.array([[1, 2], [3, 4]], np.float32))
    assert lu.tolist() == [[3, 4], [0.3333333432674408, 0.6666666269302368]] and perm.tolist() == [1, 0]
    x = run("MatrixSolveLs", np.array([[1, 0], [0, 1], [1, 1]], np.float32), np.array([[1], [2], [3]], np.float32),
            np.float64(0))
    np.testing.assert_allclose(x, [[1], [2]], rtol=1e-5)


def test_cross():
    out = run("Cross", np.array([[1, 0, 0], [1, 2, 3]], np.float32), np.array([[0, 1, 0], [4, 5, 6]], np.float32))
    assert out.tolist() == [[0, 0, 1], [-3, 6, -3]]
    with pytest.raises(ExecutionError, match="only defined for 3-element vectors"):
        run("Cross", np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))


def test_matrix_square_root():
    spd = np.array([[4.0, 1, 0], [1, 3, 1], [0, 1, 2]])
    np.testing.assert_allclose(run("MatrixSquareRoot", spd), [
        [1.9807091316411691, 0.27578188529998926, -0.02712356122769774],
        [0.27578188529998926, 1.677803685113482, 0.3300290077553838],
        [-0.027123561227697546, 0.3300290077553838, 1.3748982385857955]], rtol=1e-13, atol=1e-15)
    # a defective matrix (eigenvectors do not span): Denman-Beavers iteration
    np.testing.assert_allclose(run("MatrixSquareRoot", np.array([[1.0, 1], [0, 1]])), [[1, 0.5], [0, 1]], atol=1e-12)
    # complex eigenvalues of a real matrix give a real root; a negative eigenvalue gives NaN (TF)
    rot = run("MatrixSquareRoot", np.array([[0.0, -1], [1, 0]], np.float32))
    assert rot.dtype == np.float32
    np.testing.assert_allclose(rot, np.array([[1, -1], [1, 1]]) / np.sqrt(2), rtol=1e-6)
    assert np.isnan(run("MatrixSquareRoot", np.array([[-4.0, 0], [0, 9]]))).all()
    c = run("MatrixSquareRoot", np.array([[1 + 1j, 0.5], [0, 2j]]))
    np.testing.assert_allclose(c, [[1.09868411346781 + 0.45508986056222733j, 0.16089856322639567 - 0.11155650649249069j],
                                   [0, 1 + 1j]], rtol=1e-13)


def test_tridiagonal_solve_compact():
    diags = np.array([[2.0, 1.0, 0.0], [4.0, 5.0, 6.0], [0.0, 1.0, 3.0]], np.float32)   # super, main, sub
    rhs = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], np.float32)
    want = [[0.010416671633720398, 0.1875], [0.4791666567325592, 0.625], [0.5937499403953552, 0.6874999403953552]]
    for pivoting in (True, False):
        out = run("TridiagonalSolve", diags, rhs, partial_pivoting=pivoting)
        assert out.dtype == np.float32
        np.testing.assert_allclose(out, want, rtol=1e-6)
    # a zero leading pivot: fine with partial pivoting, NaN for the Thomas algorithm (as TF)
    zero = np.array([[1.0, 1, 0], [1, 1, 1], [0, 1, 1]])
    b = np.array([[1.0], [2], [3]])
    np.testing.assert_allclose(run("TridiagonalSolve", zero, b)[:, 0], [-1, 2, 1], atol=1e-12)
    assert np.isnan(run("TridiagonalSolve", zero, b, partial_pivoting=False)).all()


def test_stateless_parameterized_truncated_normal_three_samplers():
    def ptn(shape, seed, *params, dt=np.float32):
        return run("StatelessParameterizedTruncatedNormal", np.array(shape, np.int32), np.array(seed, np.int32),
                   *(np.array(p, dt) for p in params), dtype=dtypes.from_numpy(np.dtype(dt)))
    # uniform rejection (narrow bounds), normal rejection (wide bounds), exponential (one-sided tail)
    assert ptn([5], [1, 2], 0.5, 1.5, -1.0, 2.0).tolist() == [
        1.5321812629699707, -0.4238640069961548, 1.9886696338653564, -0.5188378095626831, 0.31805431842803955]
    np.testing.assert_allclose(ptn([6], [3, 4], 0.0, 1.0, -3.0, 3.0), [
        -0.17393383383750916, 1.6723546981811523, 0.3481701612472534, -1.7038906812667847, -0.6153246164321899,
        0.36620965600013733], rtol=2e-7)   # Box-Muller: libm-dependent last bit
    np.testing.assert_allclose(ptn([5], [3, 4], 0.0, 1.0, 2.0, np.inf), [
        2.585495710372925, 2.626387357711792, 2.1061906814575195, 2.0079739093780518, 2.2937474250793457], rtol=2e-7)
    # parameters broadcast over the trailing dimension, samples fill the leading ones
    out = ptn([3, 2], [7, 8], [0.0, 10.0], [1.0, 2.0], [-0.5, 9.0], [0.5, 15.0])
    np.testing.assert_allclose(out, [[-0.21727728843688965, 11.8373384475708], [-0.08299291133880615, 12.576637268066406],
                                     [-0.19376099109649658, 10.770746231079102]], rtol=2e-7)
    np.testing.assert_allclose(ptn([4], [5, 6], 0.0, 1.0, 2.5, np.inf, dt=np.float64),
                               [3.321840753213453, 2.989410901587518, 3.0257908044752737, 2.74468243465223], rtol=1e-14)
    with pytest.raises(ExecutionError, match="Invalid parameters"):
        ptn([2], [1, 2], 0.0, -1.0, -1.0, 1.0)


def test_parameterized_truncated_normal_continues_its_stream():
    ctx = OpContext("node", "ParameterizedTruncatedNormal", {}, None, None)

    def draw():
        return KERNELS["ParameterizedTruncatedNormal"].fn(
            ctx, np.array([2, 3]), np.array([0.0, 5.0], np.float32), np.float32(1), np.float32(-1),
            np.array([1.0, 9.0], np.float32), seed=3, seed2=9, dtype=dtypes.float32)
    np.testing.assert_allclose(draw(), [[0.6210446357727051, -0.8334360122680664, -0.37052226066589355],
                                        [5.029995441436768, 4.483936309814453, 5.358403205871582]], rtol=2e-7)
    np.testing.assert_allclose(draw(), [[-0.6485848426818848, 0.25565671920776367, 0.8110060691833496],
                                        [5.226962566375732, 5.464498996734619, 4.787484169006348]], rtol=2e-7)


def test_device_index_picks_the_cpu_branch():
    assert run("DeviceIndex", device_names=["GPU", "CPU"]).tolist() == 1
    assert run("DeviceIndex", device_names=["GPU", "TPU"]).tolist() == 2   # not listed: the default branch
