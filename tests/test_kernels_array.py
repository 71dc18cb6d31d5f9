"""Array, gather/scatter, segment and matrix-diagonal kernels.

Expected values are hand-computed and were checked against TensorFlow 2.21 (CPU) while developing,
including TensorFlow's error messages where they are asserted.
"""
from __future__ import annotations

import numpy as np
import pytest

from smlens import dtypes
from smlens.kernels.array_ops import strided_slice_index

from helpers.kernels import f32, i32, i64, raises, run

pytestmark = pytest.mark.pyodide


def s(*v: str) -> np.ndarray:
    return np.array([x.encode() for x in v], dtype=object)


X = np.arange(24, dtype=np.int32).reshape(2, 3, 4)


# --------------------------------------------------------------------------- identities, shapes


def test_const_identity_snapshot():
    v = f32([1, 2])
    assert run("Const", value=v, dtype=dtypes.float32) is v
    assert run("Identity", v) is v and run("StopGradient", v) is v
    snap = run("Snapshot", v)
    assert snap is not v and snap.tolist() == [1, 2]
    a, b = run("IdentityN", v, s("x"), T=[dtypes.float32, dtypes.string])
    assert a is v and b.tolist() == [b"x"]
    assert run("PlaceholderWithDefault", v, dtype=dtypes.float32, shape=(2,)) is v


def test_check_numerics():
    assert run("CheckNumerics", f32([1, 2]), message="m").tolist() == [1, 2]
    with raises("^msg : Tensor had Inf and NaN values$"):
        run("CheckNumerics", f32([1, np.nan, np.inf]), message="msg")
    with raises("^msg : Tensor had NaN values$"):
        run("CheckNumerics", np.array([np.nan], np.float16), message="msg")
    with raises(r"^m : Tensor had -Inf and \+Inf values$"):
        run("CheckNumericsV2", f32([-np.inf, np.inf]), message="m")


def test_ensure_shape():
    x = np.zeros((2, 3), np.float32)
    assert run("EnsureShape", x, shape=(-1, 3)) is x
    assert run("EnsureShape", x, shape=None) is x
    with raises(r"Shape of tensor input \[2,3\] is not compatible with expected shape \[\?,4\]\."):
        run("EnsureShape", x, shape=(-1, 4))


def test_shape_size_rank():
    x = np.zeros((2, 0, 3), np.float32)
    out = run("Shape", x)
    assert out.dtype == np.int32 and out.tolist() == [2, 0, 3]
    assert run("Shape", x, out_type=dtypes.int64).dtype == np.int64
    scalar = run("Shape", np.float32(1).reshape(()))
    assert scalar.shape == (0,) and scalar.dtype == np.int32
    a, b = run("ShapeN", x, s("a"), N=2, out_type=dtypes.int64)
    assert a.tolist() == [2, 0, 3] and b.tolist() == [1] and b.dtype == np.int64
    size = run("Size", np.zeros((2, 5)), out_type=dtypes.int64)
    assert size.shape == () and size.dtype == np.int64 and int(size) == 10
    rank = run("Rank", s("a", "b"))
    assert rank.shape == () and rank.dtype == np.int32 and int(rank) == 1


# --------------------------------------------------------------------------- reshape family


@pytest.mark.parametrize("target,expected", [
    ([2, -1], (2, 3)), ([-1], (6,)), ([1, -1, 1, 2], (1, 3, 1, 2)), ([6], (6,)),
])
def test_reshape(target, expected):
    out = run("Reshape", np.arange(6, dtype=np.float32), i64(target))
    assert out.shape == expected and out.ravel().tolist() == list(range(6))


def test_reshape_zero_dims_follow_tensorflow():
    z = np.zeros((0, 3), np.float32)
    assert run("Reshape", z, i32([-1, 0])).shape == (3, 0)
    assert run("Reshape", z, i32([0, -1])).shape == (0, 3)
    assert run("Reshape", z, i32([-1, 2, 0])).shape == (1, 2, 0)
    assert run("Reshape", f32([5]), i32([])).shape == ()


def test_reshape_errors():
    x = np.arange(6, dtype=np.float32)
    with raises("Input to reshape is a tensor with 6 values, but the requested shape has 4$"):
        run("Reshape", x, i32([4]))
    with raises("requested shape requires a multiple of 4$"):
        run("Reshape", x, i32([-1, 4]))
    with raises("Only one input size may be -1, not both 0 and 1"):
        run("Reshape", x, i32([-1, -1]))
    with raises("Size 0 must be non-negative, not -2"):
        run("Reshape", x, i32([-2, 3]))
    with raises(r"sizes input must be 1-D, not \[1,2\]"):
        run("Reshape", x, i32([[2, 3]]))


def test_reshape_strings_and_views():
    x = np.arange(6, dtype=np.float32)
    assert np.shares_memory(run("Reshape", x, i32([3, 2])), x)
    assert run("Reshape", s("a", "b", "c", "d"), i32([2, 2])).tolist() == [[b"a", b"b"], [b"c", b"d"]]


def test_squeeze_and_expand_dims():
    z = np.zeros((1, 2, 1, 3, 1), np.float32)
    assert run("Squeeze", z).shape == (2, 3)
    assert run("Squeeze", z, squeeze_dims=[0, -1]).shape == (2, 1, 3)
    assert run("Squeeze", z, squeeze_dims=[0, -5]).shape == (2, 1, 3, 1)
    with raises(r"Can not squeeze dim\[1\], expected a dimension of 1, got 2"):
        run("Squeeze", z, squeeze_dims=[1])
    with raises("Tried to squeeze dim index 5 for tensor with 5 dimensions"):
        run("Squeeze", z, squeeze_dims=[5])
    x = np.zeros((2, 3), np.float32)
    assert run("ExpandDims", x, i32(-1)).shape == (2, 3, 1)
    assert run("ExpandDims", x, i64([0])).shape == (1, 2, 3)
    assert run("ExpandDims", x, i32(-3)).shape == (1, 2, 3)
    with raises("Tried to expand dim index 3 for tensor with 2 dimensions"):
        run("ExpandDims", x, i32(3))
    with raises("'dim' must be a tensor with a single value"):
        run("ExpandDims", x, i32([0, 1]))


# --------------------------------------------------------------------------- concat / pack / split


def test_concat():
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    b = np.arange(4, dtype=np.float32).reshape(2, 2)
    out = run("ConcatV2", a, b, i32(-1), N=2)
    assert out.tolist() == [[0, 1, 2, 0, 1], [3, 4, 5, 2, 3]]
    assert run("Concat", i32(1), a, b, N=2).tolist() == out.tolist()
    assert run("ConcatV2", s("a", "b"), s("c"), i64(0), N=2).tolist() == [b"a", b"b", b"c"]
    assert run("ConcatV2", a, np.zeros((2, 0), np.float32), i32(1), N=2).shape == (2, 3)
    with raises(r"ConcatOp : Dimension 1 in both shapes must be equal: shape\[0\] = \[2,3\] vs. shape\[1\] = \[2,2\]"):
        run("ConcatV2", a, b, i32(0), N=2)
    with raises(r"Expected concatenating dimensions in the range \[-2, 2\), but got 2"):
        run("ConcatV2", a, a, i32(2), N=2)
    with raises("Ranks of all input tensors should match"):
        run("ConcatV2", a, f32([1, 2]), i32(0), N=2)
    with raises("Can't concatenate scalars"):
        run("ConcatV2", f32(1), f32(2), i32(0), N=2)


def test_concat_offset():
    offs = run("ConcatOffset", i32(1), i32([2, 3, 5]), i32([2, 7, 5]), i32([2, 1, 5]), N=3)
    assert [o.tolist() for o in offs] == [[0, 0, 0], [0, 3, 0], [0, 10, 0]]


def test_pack_unpack():
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    assert run("Pack", a, a + 10, N=2, axis=-1).shape == (2, 3, 2)
    assert run("Pack", s("a"), s("b"), N=2, axis=1).tolist() == [[b"a", b"b"]]
    with raises(r"axis = 3 not in \[-3, 3\)"):
        run("Pack", a, a, N=2, axis=3)
    with raises(r"Shapes of all inputs must match: values\[0\].shape = \[2,3\] != values\[1\].shape = \[3\]"):
        run("Pack", a, i32([1, 2, 3]), N=2)
    cols = run("Unpack", a, num=3, axis=1)
    assert [c.tolist() for c in cols] == [[0, 3], [1, 4], [2, 5]]
    scalars = run("Unpack", i32([7, 8]), num=2)
    assert all(isinstance(v, np.ndarray) and v.shape == () for v in scalars) and int(scalars[1]) == 8
    with raises(r"Input shape axis 0 must equal 3, got shape \[2,3\]"):
        run("Unpack", a, num=3)


def test_split_and_split_v():
    parts = run("Split", i32(2), X, num_split=2)
    assert [p.shape for p in parts] == [(2, 3, 2), (2, 3, 2)] and parts[1][0, 0].tolist() == [2, 3]
    with raises(r"evenly divide the split dimension, but got split_dim 2 \(size = 4\) and num_split 3"):
        run("Split", i32(2), X, num_split=3)
    with raises(r"-input rank\(-3\) <= split_dim < input rank \(3\), but got 3"):
        run("Split", i32(3), X, num_split=1)
    parts = run("SplitV", X, i64([1, -1, 1]), i32(-1), num_split=3)
    assert [p.shape[2] for p in parts] == [1, 2, 1]
    parts = run("SplitV", s("a", "b", "c"), i32([1, 2]), i32(0), num_split=2)
    assert parts[1].tolist() == [b"b", b"c"]
    with raises("There can only be one -1 in the input."):
        run("SplitV", X, i64([-1, -1, 1]), i32(2), num_split=3)
    with raises("Determined shape must either match.*Got: 5"):
        run("SplitV", X, i64([3, -2, 4]), i32(2), num_split=3)
    with raises("Split size at index 1 must be >= 0. Got: -2"):
        run("SplitV", np.zeros(5), i64([3, -2, 4]), i32(0), num_split=3)


# --------------------------------------------------------------------------- slicing


def test_slice():
    out = run("Slice", X, i32([0, 1, 1]), i32([-1, 2, 2]))
    assert out.tolist() == [[[5, 6], [9, 10]], [[17, 18], [21, 22]]]
    assert np.shares_memory(out, X)
    assert run("Slice", s("a", "b", "c"), i64([1]), i64([-1])).tolist() == [b"b", b"c"]
    scalar = run("Slice", f32(5), i32([]), i32([]))
    assert isinstance(scalar, np.ndarray) and scalar.shape == ()
    with raises(r"Expected size\[0\] in \[0, 2\], but got 4"):
        run("Slice", np.zeros(3), i32([1]), i32([4]))
    with raises(r"Expected begin\[0\] in \[0, 3\], but got -1"):
        run("Slice", np.zeros(3), i32([-1]), i32([1]))
    with raises("Expected begin and size arguments to be 1-D tensors of size 1"):
        run("Slice", np.zeros(3), i32([1, 1]), i32([1, 1]))


def ss(x, begin, end, strides, **masks):
    return run("StridedSlice", x, i32(begin), i32(end), i32(strides), **masks)


def test_strided_slice_basic_and_negative_strides():
    x = np.arange(10, dtype=np.int64)
    assert ss(x, [2], [8], [2]).tolist() == [2, 4, 6]
    assert ss(x, [-1], [0], [-3]).tolist() == [9, 6, 3]
    assert ss(x, [0], [0], [-1], begin_mask=1, end_mask=1).tolist() == list(range(9, -1, -1))
    assert ss(x, [100], [-100], [-4]).tolist() == [9, 5, 1]          # out-of-range bounds are clamped
    assert ss(x, [-100], [100], [3]).tolist() == [0, 3, 6, 9]
    assert ss(x, [5], [2], [1]).tolist() == []
    assert ss(x, [-20], [2], [-1]).tolist() == []


def test_strided_slice_masks():
    # x[1, ..., tf.newaxis, ::-2]
    out = ss(X, [1, 0, 0, 0], [2, 0, 0, 0], [1, 1, 1, -2], end_mask=8, ellipsis_mask=2, new_axis_mask=4,
             shrink_axis_mask=1, begin_mask=8)
    assert out.shape == (3, 1, 2) and out[:, 0].tolist() == [[15, 13], [19, 17], [23, 21]]
    # x[tf.newaxis, :, -1] : shrink of a negative index, implicit ellipsis at the end
    out = ss(X, [0, 0, -1], [0, 0, 0], [1, 1, 1], begin_mask=2, end_mask=2, new_axis_mask=1, shrink_axis_mask=4)
    assert out.shape == (1, 2, 4) and out[0, 1].tolist() == [20, 21, 22, 23]
    # shrink ignores begin_mask and end; a full shrink gives a 0-d array, not a NumPy scalar
    out = ss(X, [1, 2, 3], [0, 0, 0], [1, 1, 1], begin_mask=7, shrink_axis_mask=7)
    assert isinstance(out, np.ndarray) and out.shape == () and int(out) == 23
    strings = ss(s("a", "b", "c"), [1], [2], [1], shrink_axis_mask=1)
    assert isinstance(strings, np.ndarray) and strings.dtype == object and strings[()] == b"b"
    # new axis on a scalar; empty spec is the identity
    assert ss(np.float32(3).reshape(()), [0], [0], [1], new_axis_mask=1).shape == (1,)
    assert ss(X, [], [], []).shape == X.shape


def test_strided_slice_is_a_view():
    big = np.zeros((8, 8, 3), np.float32)
    out = ss(big, [1, -1, 0], [7, 0, 3], [2, -2, 1])
    assert out.shape == (3, 4, 3) and np.shares_memory(out, big)


def test_strided_slice_errors():
    with raises(r"slice index 5 of dimension 0 out of bounds\."):
        ss(np.arange(5), [5], [6], [1], shrink_axis_mask=1)
    with raises(r"slice index -1 of dimension 0 out of bounds\."):
        ss(np.arange(5), [-6], [0], [1], shrink_axis_mask=1)
    with raises("only stride 1 allowed on non-range indexing."):
        ss(np.arange(5), [1], [2], [-1], shrink_axis_mask=1)
    with raises(r"strides\[0\] must be non-zero"):
        ss(np.arange(5), [0], [1], [0])
    with raises("Multiple ellipses in slice spec not allowed"):
        ss(np.arange(5), [0, 0], [1, 1], [1, 1], ellipsis_mask=3)
    with raises("Attempting to slice scalar input."):
        ss(np.float32(1).reshape(()), [0], [1], [1])
    with raises("Index out of range using input dim 1; input has only 1 dims"):
        ss(np.arange(5), [0, 0], [1, 1], [1, 1])
    with raises(r"Expected begin, end, and strides to be 1D equal size tensors, but got shapes \[2\], \[1\]"):
        run("StridedSlice", np.arange(5), i32([0, 0]), i32([1]), i32([1, 1]))


def test_strided_slice_index_helper_and_update():
    index, final = strided_slice_index((4, 5), [1, 0], [3, 0], [1, 2], end_mask=2)
    assert final == (2, 3) and np.arange(20).reshape(4, 5)[index].tolist() == [[5, 7, 9], [10, 12, 14]]
    out = run("TensorStridedSliceUpdate", np.zeros(4, np.float32), i32([1]), i32([3]), i32([1]), f32([5, 6]))
    assert out.tolist() == [0, 5, 6, 0]
    grad = run("StridedSliceGrad", i32([4]), i32([3]), i32([0]), i32([-2]), f32([1, 2]))
    assert grad.tolist() == [0, 2, 0, 1]


# --------------------------------------------------------------------------- tile / pad


def test_tile():
    assert run("Tile", i32([[1, 2]]), i32([2, 2])).tolist() == [[1, 2, 1, 2], [1, 2, 1, 2]]
    assert run("Tile", s("a", "b"), i64([2])).tolist() == [b"a", b"b", b"a", b"b"]
    assert run("Tile", i32(5), i32([])).shape == ()
    assert run("Tile", X, i32([0, 1, 1])).shape == (0, 3, 4)
    with raises("Expected multiples argument to be a vector of length 3 but got length 2"):
        run("Tile", X, i32([1, 2]))
    with raises(r"Expected multiples\[1\] >= 0, but got -1"):
        run("Tile", X, i32([1, -1, 1]))


def test_pad():
    assert run("Pad", i32([[1, 2]]), i32([[1, 0], [0, 2]])).tolist() == [[0, 0, 0, 0], [1, 2, 0, 0]]
    assert run("PadV2", i32([1, 2]), i64([[1, 2]]), i32(7)).tolist() == [7, 1, 2, 7, 7]
    assert run("Pad", s("a", "b"), i32([[1, 1]])).tolist() == [b"", b"a", b"b", b""]
    assert run("PadV2", s("a"), i32([[0, 1]]), np.array(b"z", object)).tolist() == [b"a", b"z"]
    assert run("Pad", np.array([True]), i32([[1, 0]])).tolist() == [False, True]
    with raises("Paddings must be non-negative: 1 -1"):
        run("Pad", i32([1, 2]), i32([[1, -1]]))
    with raises(r"The first dimension of paddings must be the rank of inputs\[2,2\] \[2\]"):
        run("Pad", i32([1, 2]), i32([[1, 1], [1, 1]]))
    with raises(r"constant_values must be a scalar. Found: \[1\]"):
        run("PadV2", i32([1, 2]), i32([[1, 0]]), i32([3]))


def test_mirror_pad():
    x = i32([1, 2, 3])
    assert run("MirrorPad", x, i32([[2, 1]]), mode="REFLECT").tolist() == [3, 2, 1, 2, 3, 2]
    assert run("MirrorPad", x, i32([[3, 2]]), mode="SYMMETRIC").tolist() == [3, 2, 1, 1, 2, 3, 3, 2]
    m = run("MirrorPad", np.array([[b"a", b"b"], [b"c", b"d"]], object), i32([[1, 1], [1, 0]]), mode="REFLECT")
    assert m.tolist() == [[b"d", b"c", b"d"], [b"b", b"a", b"b"], [b"d", b"c", b"d"], [b"b", b"a", b"b"]]
    with raises("paddings must be less than the dimension size: 3, 0 not less than 3"):
        run("MirrorPad", x, i32([[3, 0]]), mode="REFLECT")
    with raises("paddings must be no greater than the dimension size: 4, 0 greater than 3"):
        run("MirrorPad", x, i32([[4, 0]]), mode="SYMMETRIC")


# --------------------------------------------------------------------------- transpose / reverse / roll


def test_transpose():
    out = run("Transpose", X, i32([2, 0, -2]))
    assert out.shape == (4, 2, 3) and out[3, 1, 2] == X[1, 2, 3]
    c = run("ConjugateTranspose", np.array([[1 + 2j, 3 - 1j]], np.complex64), i32([1, 0]))
    assert c.tolist() == [[1 - 2j], [3 + 1j]]
    with raises("transpose expects a vector of size 3. But input.1. is a vector of size 2"):
        run("Transpose", X, i32([0, 1]))
    with raises(r"1 is missing from \{0,0,2\}\."):
        run("Transpose", X, i32([0, 0, 2]))
    with raises(r"3 is out of range \[0 \.\. 3\)"):
        run("Transpose", X, i32([0, 1, 3]))


def test_invert_permutation():
    out = run("InvertPermutation", i64([3, 1, 0, 2]))
    assert out.dtype == np.int64 and out.tolist() == [2, 1, 3, 0]
    with raises("0 is duplicated in the input."):
        run("InvertPermutation", i32([0, 0]))
    with raises("5 is not between 0 and 2"):
        run("InvertPermutation", i32([0, 5]))


def test_reverse():
    assert run("ReverseV2", X, i32([0, -1]))[0, 0].tolist() == [15, 14, 13, 12]
    assert run("ReverseV2", s("a", "b"), i64([0])).tolist() == [b"b", b"a"]
    assert run("Reverse", X, np.array([False, True, False]))[0, 0].tolist() == [8, 9, 10, 11]
    with raises("axis 0 specified more than once."):
        run("ReverseV2", X, i32([0, -3]))
    with raises(r"'axis'\[0\] = 3 is out of valid range"):
        run("ReverseV2", X, i32([3]))


def test_reverse_sequence():
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    out = run("ReverseSequence", x, i64([3, 0]), seq_dim=1)
    assert out.tolist() == [[2, 1, 0, 3, 4], [5, 6, 7, 8, 9]]
    out = run("ReverseSequence", x.T, i32([2, 5]), seq_dim=0, batch_dim=1)
    assert out.T.tolist() == [[1, 0, 2, 3, 4], [9, 8, 7, 6, 5]]
    with raises(r"seq_lens\(1\) > input.dims\(1\)"):
        run("ReverseSequence", x, i64([1, 6]), seq_dim=1)
    with raises(r"Length of seq_lengths != input.dims\(0\), \(3 vs. 2\)"):
        run("ReverseSequence", x, i64([1, 2, 3]), seq_dim=1)


def test_roll():
    assert run("Roll", np.arange(6), i32([1, 2]), i32([0, 0])).tolist() == [3, 4, 5, 0, 1, 2]
    assert run("Roll", X, i32(-1), i64(-1))[0, 0].tolist() == [1, 2, 3, 0]
    assert run("Roll", np.zeros((0, 3)), i32([2]), i32([0])).shape == (0, 3)
    with raises("axis 2 is out of range"):
        run("Roll", np.zeros((2, 3)), i32([1]), i32([2]))


# --------------------------------------------------------------------------- fill / like / range


def test_fill_and_likes():
    out = run("Fill", i32([2, 3]), f32(1.5))
    assert out.shape == (2, 3) and out.dtype == np.float32 and (out == 1.5).all()
    assert run("Fill", i64([2]), np.array(b"x", object)).tolist() == [b"x", b"x"]
    assert run("Fill", i32([2]), f32([4])).tolist() == [4, 4]
    with raises("Dimension -1 must be >= 0"):
        run("Fill", i32([2, -1]), f32(1))
    with raises(r"value must represent a scalar, got shape \[2\]"):
        run("Fill", i32([2]), f32([1, 2]))
    assert run("ZerosLike", s("a", "b"), T=dtypes.string).tolist() == [b"", b""]
    z = run("ZerosLike", np.array([1.5], np.float16), T=dtypes.float16)
    assert z.dtype == np.float16 and z.tolist() == [0]
    assert run("OnesLike", np.array([True, False])).tolist() == [True, True]
    assert run("OnesLike", np.array([3], np.uint16)).dtype == np.uint16
    e = run("Empty", i32([2, 3]), dtype=dtypes.string)
    assert e.shape == (2, 3) and e[1, 2] == b""


def test_range_int():
    assert run("Range", i32(10), i32(-3), i32(-4)).tolist() == [10, 6, 2, -2]
    out = run("Range", i64(-5), i64(5), i64(2), Tidx=dtypes.int64)
    assert out.dtype == np.int64 and out.tolist() == [-5, -3, -1, 1, 3]
    assert run("Range", i32(3), i32(3), i32(1)).shape == (0,)
    with raises("Requires delta != 0: 0"):
        run("Range", i32(0), i32(1), i32(0))
    with raises("Requires start <= limit when delta > 0: 5/1"):
        run("Range", i32(5), i32(1), i32(1))
    with raises("Requires start >= limit when delta < 0: 1/5"):
        run("Range", i32(1), i32(5), i32(-1))


def test_range_float_is_start_plus_i_times_delta():
    out = run("Range", f32(0.1), f32(7.3), f32(0.1), Tidx=dtypes.float32)
    assert out.dtype == np.float32 and out.shape == (72,)
    # bits as TensorFlow produces them (start + i * delta in float32, not an accumulated sum)
    assert out.view(np.uint32)[-3:].tolist() == [1088421888, 1088631603, 1088841318]
    half = run("Range", np.float16(0.1).reshape(()), np.float16(3).reshape(()), np.float16(0.1).reshape(()),
               Tidx=dtypes.float16)
    assert half.dtype == np.float16 and half.shape == (30,)
    assert half.view(np.uint16)[:3].tolist() == [11878, 12902, 13516]
    bf = run("Range", f32(0.1), f32(3), f32(0.1), Tidx=dtypes.bfloat16)
    assert bf.shape == (29,) and bf[2] == np.float32(0.30078125) and bf[-1] == np.float32(2.890625)


def test_lin_space():
    out = run("LinSpace", f32(0.1), f32(7.3), i32(13), T=dtypes.float32)
    assert out.view(np.uint32)[[0, 1, 6, 12]].tolist() == [1036831949, 1060320052, 1080872141, 1089051034]
    assert run("LinSpace", f32(3), f32(1), i64(1), T=dtypes.float32).tolist() == [3]
    assert run("LinSpace", np.float64(1), np.float64(2), i32(3), T=dtypes.float64).tolist() == [1, 1.5, 2]
    with raises("Requires num > 0: 0"):
        run("LinSpace", f32(0), f32(1), i32(0), T=dtypes.float32)


# --------------------------------------------------------------------------- broadcasting


def test_broadcast_args_and_to():
    assert run("BroadcastArgs", i32([2, 1, 3]), i32([4, 1])).tolist() == [2, 4, 3]
    assert run("BroadcastArgs", i64([0]), i64([1])).tolist() == [0]
    with raises(r"Incompatible shapes: \[0\] vs. \[2\]"):
        run("BroadcastArgs", i32([0]), i32([2]))
    out = run("BroadcastTo", i32([1, 2, 3]), i32([2, 3]))
    assert out.tolist() == [[1, 2, 3], [1, 2, 3]]
    assert run("BroadcastTo", s("a"), i64([2])).tolist() == [b"a", b"a"]
    with raises(r"Incompatible shapes: \[3\] vs. \[2,2\]"):
        run("BroadcastTo", i32([1, 2, 3]), i32([2, 2]))
    with raises(r"Rank of input \(2\) must be no greater than rank of output shape \(1\)\."):
        run("BroadcastTo", i32([[1, 2, 3]]), i32([3]))


@pytest.mark.parametrize("s0,s1,r0,r1", [
    ([2, 1, 3], [4, 1], [1], [0, 2]),
    ([1, 1], [1, 1], [], []),               # equal shapes: nothing to reduce
    ([1, 1, 3], [1, 3], [0, 1], [0, 1]),    # both 1: both reduce
    ([0, 1], [1], [1], [0, 1]),
    ([1], [], [0], [0]),
])
def test_broadcast_gradient_args(s0, s1, r0, r1):
    a, b = run("BroadcastGradientArgs", i32(s0), i32(s1))
    assert a.tolist() == r0 and b.tolist() == r1 and a.dtype == np.int32


# --------------------------------------------------------------------------- bitcast


def test_bitcast():
    out = run("Bitcast", f32([1, 2]), T=dtypes.float32, type=dtypes.uint8)
    assert out.shape == (2, 4) and out.tolist() == [[0, 0, 128, 63], [0, 0, 0, 64]]
    back = run("Bitcast", out, T=dtypes.uint8, type=dtypes.float32)
    assert back.tolist() == [1, 2]
    assert run("Bitcast", np.array([[1, 2, 3, 4]], np.uint8), T=dtypes.uint8, type=dtypes.int32).tolist() == [67305985]
    bf = run("Bitcast", f32(1.5), T=dtypes.bfloat16, type=dtypes.int16)
    assert bf.dtype == np.int16 and int(bf) == 16320
    assert run("Bitcast", np.array([16320], np.int16), T=dtypes.int16, type=dtypes.bfloat16).tolist() == [1.5]
    with raises("Cannot bitcast from 4 to 3"):
        run("Bitcast", np.array([1, 2, 3], np.uint8), T=dtypes.uint8, type=dtypes.int32)


# --------------------------------------------------------------------------- space / batch / depth


def test_space_to_batch_and_back():
    x = np.arange(1, 9, dtype=np.int32).reshape(1, 2, 4, 1)
    out = run("SpaceToBatchND", x, i32([2, 2]), i32([[0, 0], [1, 1]]))
    assert out.shape == (4, 1, 3, 1)
    assert out[..., 0].tolist() == [[[0, 2, 4]], [[1, 3, 0]], [[0, 6, 8]], [[5, 7, 0]]]
    back = run("BatchToSpaceND", out, i32([2, 2]), i32([[0, 0], [1, 1]]))
    assert back.tolist() == x.tolist()
    v1 = run("SpaceToBatch", x, i32([[0, 0], [0, 0]]), block_size=2)
    assert v1[..., 0].tolist() == [[[1, 3]], [[2, 4]], [[5, 7]], [[6, 8]]]
    with raises("All values in block_shape must be positive, got value, 0 at index 0."):
        run("SpaceToBatchND", x, i32([0, 3]), i32([[0, 0], [1, 1]]))
    with raises(r"padded_shape\[1\]=6 is not divisible by block_shape\[1\]=4"):
        run("SpaceToBatchND", x, i32([2, 4]), i32([[0, 0], [1, 1]]))
    with raises(r"Input batch dimension \(3\) is not divisible by product of block sizes \(4\)"):
        run("BatchToSpaceND", np.zeros((3, 1, 2, 1)), i32([2, 2]), i32([[0, 0], [0, 0]]))
    with raises(r"cropped_shape\[1\]=-1 must be non-negative"):
        run("BatchToSpaceND", np.zeros((4, 1, 2, 1)), i32([2, 2]), i32([[0, 0], [3, 2]]))


def test_space_to_depth_and_back():
    x = np.arange(16, dtype=np.int32).reshape(1, 4, 4, 1)
    out = run("SpaceToDepth", x, block_size=2)
    assert out.tolist() == [[[[0, 1, 4, 5], [2, 3, 6, 7]], [[8, 9, 12, 13], [10, 11, 14, 15]]]]
    assert run("DepthToSpace", out, block_size=2).tolist() == x.tolist()
    d2s = run("DepthToSpace", np.arange(16, dtype=np.int32).reshape(1, 2, 2, 4), block_size=2)
    assert d2s[0, ..., 0].tolist() == [[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]
    nchw = run("SpaceToDepth", x.transpose(0, 3, 1, 2), block_size=2, data_format="NCHW")
    assert nchw.transpose(0, 2, 3, 1).tolist() == out.tolist()
    with raises("Image width 6 and height 3 should be divisible by block_size: 2"):
        run("SpaceToDepth", np.zeros((1, 3, 6, 1)), block_size=2)
    with raises("Input depth dimension 3 should be divisible by: 4"):
        run("DepthToSpace", np.zeros((1, 2, 2, 3)), block_size=2)


# --------------------------------------------------------------------------- gather


def test_gather_v2():
    p = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert run("GatherV2", p, i64([2, 0]), i32(0)).tolist() == [[8, 9, 10, 11], [0, 1, 2, 3]]
    assert run("GatherV2", p, i32([[3], [0]]), i32(-1)).shape == (3, 2, 1)
    assert run("GatherV2", s("a", "b", "c"), i32([[2, 0], [1, 1]]), i64(0)).tolist() == [[b"c", b"a"], [b"b", b"b"]]
    one = run("GatherV2", s("a", "b"), i32(1), i32(0))
    assert isinstance(one, np.ndarray) and one.shape == () and one[()] == b"b"
    assert run("Gather", p, i32([[1]])).shape == (1, 1, 4)


def test_gather_v2_batch_dims():
    p = np.arange(12, dtype=np.int32).reshape(3, 4)
    out = run("GatherV2", p, i32([[0], [1], [3]]), i32(-1), batch_dims=-1)
    assert out.tolist() == [[0], [5], [11]]
    p3 = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    out = run("GatherV2", p3, i32([[3, 0], [1, 1]]), i32(2), batch_dims=1)
    assert out.shape == (2, 3, 2) and out[1, 2].tolist() == [21, 21] and out[0, 1].tolist() == [7, 4]
    with raises(r"batch_dims \(1\) must be less than or equal to axis \(0\)"):
        run("GatherV2", p, i32([[0], [1], [3]]), i32(0), batch_dims=1)


def test_gather_errors_name_the_index():
    p = np.arange(12).reshape(3, 4)
    with raises(r"^indices\[1,1\] = 5 is not in \[0, 4\)$"):
        run("GatherV2", p, i32([[0, 1], [2, 5]]), i32(1))
    with raises(r"^indices = 5 is not in \[0, 4\)$"):
        run("GatherV2", p, i32(5), i32(1))
    with raises(r"^indices\[0\] = -1 is not in \[0, 3\)$"):
        run("GatherV2", p, i64([-1]), i32(0))
    with raises(r"indices\[2,0\] = 9 is not in \[0, 4\)"):
        run("GatherV2", p, i32([[0], [1], [9]]), i32(1), batch_dims=1)


def test_gather_nd():
    p = np.arange(12, dtype=np.int32).reshape(3, 4)
    assert run("GatherNd", p, i32([[1, 2], [2, 0]])).tolist() == [6, 8]
    assert run("GatherNd", p, i64([[[2]], [[0]]])).shape == (2, 1, 4)
    assert run("GatherNd", p, np.zeros((2, 0), np.int32)).shape == (2, 3, 4)
    strs = np.array([[b"a", b"b"], [b"c", b"d"]], object)
    assert run("GatherNd", strs, i32([[1, 0], [0, 1]])).tolist() == [b"c", b"b"]
    assert run("GatherNd", p, i32([[0, 0], [3, 0]]), bad_indices_policy="IGNORE").tolist() == [0, 0]
    assert run("GatherNd", p, i32([[0, 1], [3, 0]]), bad_indices_policy="IGNORE").tolist() == [1, 0]
    with raises(r"indices\[0,1\] = \[3, 0\] does not index into param shape \[3,4\]"):
        run("GatherNd", p, i32([[[0, 0], [3, 0]]]))
    with raises("index innermost dimension length must be <= params rank; saw: 3 vs. 2"):
        run("GatherNd", p, i32([[0, 0, 0]]))
    with raises("indices must be at least a vector"):
        run("GatherNd", p, i32(1))


# --------------------------------------------------------------------------- scatter


def test_scatter_nd_sums_duplicates():
    out = run("ScatterNd", i32([[1], [1], [3]]), f32([1, 2, 3]), i32([4]), T=dtypes.float32)
    assert out.tolist() == [0, 3, 0, 3]
    rows = run("ScatterNd", i64([[0], [0]]), i32([[1, 2], [3, 4]]), i64([2, 2]), T=dtypes.int32)
    assert rows.tolist() == [[4, 6], [0, 0]]
    assert run("ScatterNd", i32([[1], [1]]), np.array([True, True]), i32([3]), T=dtypes.bool_).tolist() == \
        [False, True, False]
    assert run("ScatterNd", i32([[1], [1]]), s("a", "b"), i32([3]), T=dtypes.string).tolist() == [b"", b"ab", b""]
    ignored = run("ScatterNd", i32([[1], [5]]), f32([1, 2]), i32([4]), T=dtypes.float32, bad_indices_policy="IGNORE")
    assert ignored.tolist() == [0, 1, 0, 0]
    with raises(r"indices\[1\] = \[5, 0\] does not index into shape \[4,2\]"):
        run("ScatterNd", i32([[1, 0], [5, 0]]), f32([1, 2]), i32([4, 2]), T=dtypes.float32)
    with raises(r"Dimensions \[0,1\) of indices\[shape=\[2,1\]\] must match dimensions \[0,1\) of "
                r"updates\[shape=\[3\]\]"):
        run("ScatterNd", i32([[1], [2]]), f32([1, 2, 3]), i32([4]), T=dtypes.float32)


def test_tensor_scatter_family():
    t = i32([1, 2, 3, 4])
    idx = i32([[1], [1], [3]])
    upd = i32([5, 6, -7])
    assert run("TensorScatterUpdate", t, idx, upd, T=dtypes.int32).tolist() == [1, 6, 3, -7]  # last write wins
    assert run("TensorScatterAdd", t, idx, upd, T=dtypes.int32).tolist() == [1, 13, 3, -3]
    assert run("TensorScatterSub", t, idx, upd, T=dtypes.int32).tolist() == [1, -9, 3, 11]
    assert run("TensorScatterMax", t, idx, upd, T=dtypes.int32).tolist() == [1, 6, 3, 4]
    assert run("TensorScatterMin", t, idx, upd, T=dtypes.int32).tolist() == [1, 2, 3, -7]
    assert t.tolist() == [1, 2, 3, 4]                                       # the input is not modified
    assert run("ScatterNdNonAliasingAdd", f32([1, 2, 3]), i32([[1], [1]]), f32([5, 6]), T=dtypes.float32).tolist() \
        == [1, 13, 3]
    strs = run("TensorScatterUpdate", s("a", "b", "c"), i64([[1], [1]]), s("x", "y"), T=dtypes.string)
    assert strs.tolist() == [b"a", b"y", b"c"]
    with raises(r"indices\[1\] = \[3\] does not index into shape \[3\]"):
        run("TensorScatterUpdate", i32([1, 2, 3]), i32([[1], [3]]), i32([5, 6]), T=dtypes.int32)
    with raises(r"Outer dimensions of indices and update must match. Indices shape: \[2,1\], updates shape:\[3\]"):
        run("TensorScatterUpdate", i32([1, 2, 3]), i32([[1], [2]]), i32([5, 6, 7]), T=dtypes.int32)


# --------------------------------------------------------------------------- one-hot, where, unravel


def test_one_hot():
    out = run("OneHot", i32([[0, 2], [-1, 5]]), i32(3), f32(1), f32(0), axis=1)
    assert out.shape == (2, 3, 2) and out[0].tolist() == [[1, 0], [0, 0], [0, 1]] and out[1].sum() == 0
    strs = run("OneHot", i64([0, -1]), i32(2), np.array(b"y", object), np.array(b"n", object), axis=0)
    assert strs.tolist() == [[b"y", b"n"], [b"n", b"n"]]
    assert run("OneHot", np.array([0, 255], np.uint8), i32(3), i32(7), i32(-1)).tolist() == [[7, -1, -1], [-1, -1, -1]]
    assert run("OneHot", i32(1), i32(3), np.array(True), np.array(False)).tolist() == [False, True, False]
    with raises("depth must be non-negative, got: -3"):
        run("OneHot", i32([0]), i32(-3), f32(1), f32(0))
    with raises(r"Expected axis to be -1 or between \[0, 2\).  But received: 2"):
        run("OneHot", i32([0]), i32(3), f32(1), f32(0), axis=2)


def test_where():
    out = run("Where", f32([[0, np.nan], [1, 0]]))
    assert out.dtype == np.int64 and out.tolist() == [[0, 1], [1, 0]]
    assert run("Where", np.zeros((2, 0), bool)).shape == (0, 2)
    assert run("Where", np.array([0, 3, -1], np.int8)).tolist() == [[1], [2]]
    with raises("WhereOp : Unhandled input dimensions: 0"):
        run("Where", np.array(True))


def test_unravel_index():
    assert run("UnravelIndex", i32([5, 1]), i32([2, 3])).tolist() == [[1, 0], [2, 1]]
    assert run("UnravelIndex", i64(4), i64([2, 3])).tolist() == [1, 1]
    with raises("index is out of bound as with dims"):
        run("UnravelIndex", i32([6]), i32([2, 3]))


# --------------------------------------------------------------------------- unique / set difference


def test_unique_first_occurrence_order():
    y, idx = run("Unique", i32([4, 1, 4, 2, 1]))
    assert y.tolist() == [4, 1, 2] and idx.tolist() == [0, 1, 0, 2, 1] and idx.dtype == np.int32
    y, idx, count = run("UniqueWithCounts", s("b", "a", "b", "c", "a"), out_idx=dtypes.int64)
    assert y.tolist() == [b"b", b"a", b"c"] and idx.tolist() == [0, 1, 0, 2, 1] and count.tolist() == [2, 2, 1]
    assert idx.dtype == np.int64 and count.dtype == np.int64
    y, idx = run("Unique", i64([]))
    assert y.shape == (0,) and idx.shape == (0,)
    with raises("unique expects a 1D vector."):
        run("Unique", i32([[1, 2]]))


def test_unique_floats_nan_and_signed_zero():
    y, idx = run("Unique", f32([np.nan, 1, np.nan, -0.0, 0.0]))
    assert np.isnan(y[0]) and np.isnan(y[2]) and y[1] == 1 and np.signbit(y[3])
    assert idx.tolist() == [0, 1, 2, 3, 3]


def test_unique_v2_axis():
    m = i32([[1, 2], [3, 4], [1, 2], [3, 5]])
    y, idx = run("UniqueV2", m, i64([0]))
    assert y.tolist() == [[1, 2], [3, 4], [3, 5]] and idx.tolist() == [0, 1, 0, 2]
    y, idx, count = run("UniqueWithCountsV2", i32([[1, 2, 1], [3, 4, 3]]), i32([-1]))
    assert y.tolist() == [[1, 2], [3, 4]] and idx.tolist() == [0, 1, 0] and count.tolist() == [2, 1]
    y, idx = run("UniqueV2", i32([3, 1, 3]), i64([]))
    assert y.tolist() == [3, 1] and idx.tolist() == [0, 1, 0]
    y, _ = run("UniqueV2", np.array([[b"a"], [b"b"], [b"a"]], object), i64([0]))
    assert y.tolist() == [[b"a"], [b"b"]]
    y, idx = run("UniqueV2", np.zeros((0, 3), np.int32), i64([0]))
    assert y.shape == (0, 3) and idx.shape == (0,)


def test_list_diff():
    out, idx = run("ListDiff", i32([1, 2, 3, 2, 4]), i32([2, 5]), out_idx=dtypes.int64)
    assert out.tolist() == [1, 3, 4] and idx.tolist() == [0, 2, 4] and idx.dtype == np.int64
    out, idx = run("ListDiff", s("a", "b", "a"), s("b"))
    assert out.tolist() == [b"a", b"a"] and idx.tolist() == [0, 2] and idx.dtype == np.int32
    with raises("x should be a 1D vector."):
        run("ListDiff", i32([[1]]), i32([1]))


# --------------------------------------------------------------------------- top-k / bounds


def test_top_k_ties_prefer_lower_index():
    values, indices = run("TopKV2", i32([1, 3, 3, 2, 3]), i32(3))
    assert values.tolist() == [3, 3, 3] and indices.tolist() == [1, 2, 4] and indices.dtype == np.int32
    values, indices = run("TopKV2", np.array([[1, 255, 0]], np.uint8), i64(2), index_type=dtypes.int64)
    assert values.tolist() == [[255, 1]] and indices.tolist() == [[1, 0]] and indices.dtype == np.int64
    values, indices = run("TopKV2", np.zeros((2, 3), np.float32), i32(0))
    assert values.shape == (2, 0) and indices.shape == (2, 0)
    assert run("TopK", f32([0.5, 2, 1]), k=1)[1].tolist() == [1]
    with raises("input must have at least k columns. Had 2, needed 3"):
        run("TopKV2", i32([1, 3]), i32(3))
    with raises("Need k >= 0, got -1"):
        run("TopKV2", i32([1, 3]), i32(-1))


def test_lower_and_upper_bound():
    srt = i32([[1, 2, 2, 3], [0, 0, 5, 9]])
    vals = i32([[2, 0, 5], [0, 9, 10]])
    assert run("LowerBound", srt, vals).tolist() == [[1, 0, 4], [0, 3, 4]]
    up = run("UpperBound", srt, vals, out_type=dtypes.int64)
    assert up.tolist() == [[3, 0, 4], [2, 4, 4]] and up.dtype == np.int64
    assert run("LowerBound", f32([[1, 2, np.nan]]), f32([[np.nan, 2, 5]])).tolist() == [[0, 1, 2]]
    assert run("LowerBound", np.zeros((0, 3), np.int32), np.zeros((0, 2), np.int32)).shape == (0, 2)
    with raises("Leading dim_size of both tensors must match."):
        run("UpperBound", i32([[1, 2]]), i32([[2], [0]]))
    with raises("Shape must be rank 2 but is rank 1 for `sorted_inputs` argument"):
        run("LowerBound", i32([1, 2]), i32([2]))


# --------------------------------------------------------------------------- stitch / partition


def test_dynamic_stitch():
    out = run("DynamicStitch", i32([0, 2]), i32([4]), f32([1, 2]), f32([3]), N=2)
    assert out.tolist() == [1, 0, 2, 0, 3]
    assert run("DynamicStitch", i32([0, 2]), i32([0]), f32([1, 2]), f32([3]), N=2).tolist() == [3, 0, 2]
    rows = run("ParallelDynamicStitch", i32([[1, 0]]), i32(2), i32([[[1, 2], [3, 4]]]), i32([9, 9]), N=2)
    assert rows.tolist() == [[3, 4], [1, 2], [9, 9]]
    assert run("DynamicStitch", i32([0, 2]), s("a", "b"), N=1).tolist() == [b"a", b"", b"b"]
    assert run("DynamicStitch", np.zeros(0, np.int32), np.zeros((0, 3), np.float32), N=1).shape == (0, 3)
    with raises(r"indices\[0\]\[1\] = -2 is out of range"):
        run("DynamicStitch", i32([0, -2]), f32([1, 2]), N=1)


def test_dynamic_partition():
    parts = run("DynamicPartition", i32([1, 2, 3, 4]), i32([1, 0, 1, 0]), num_partitions=3)
    assert [p.tolist() for p in parts] == [[2, 4], [1, 3], []]
    parts = run("DynamicPartition", np.arange(12, dtype=np.float32).reshape(2, 2, 3), i32([[1, 0], [1, 1]]),
                num_partitions=2)
    assert parts[0].tolist() == [[3, 4, 5]] and parts[1].shape == (3, 3)
    assert [p.tolist() for p in run("DynamicPartition", s("a", "b", "c"), i32([1, 1, 0]), num_partitions=2)] == \
        [[b"c"], [b"a", b"b"]]
    with raises(r"partitions\[2\] = 5 is not in \[0, 3\)"):
        run("DynamicPartition", i32([1, 2, 3]), i32([1, 0, 5]), num_partitions=3)


# --------------------------------------------------------------------------- segments


def test_sorted_segments_empty_segments():
    d = f32([1, 2, 3, 4])
    ids = i32([0, 0, 2, 2])
    assert run("SegmentSum", d, ids, T=dtypes.float32).tolist() == [3, 0, 7]
    assert run("SegmentMean", d, ids, T=dtypes.float32).tolist() == [1.5, 0, 3.5]
    assert run("SegmentMax", d, ids, T=dtypes.float32).tolist() == [2, 0, 4]
    assert run("SegmentMin", d, ids, T=dtypes.float32).tolist() == [1, 0, 3]
    assert run("SegmentProd", d, ids, T=dtypes.float32).tolist() == [2, 1, 12]
    # integer mean truncates toward zero, like C++ division
    assert run("SegmentMean", i32([-7, 2, 5, 4]), i64([0, 0, 1, 1]), T=dtypes.int32).tolist() == [-2, 4]
    assert run("SegmentSum", np.zeros((0, 2), np.float32), np.zeros(0, np.int32), T=dtypes.float32).shape == (0, 2)


def test_sorted_segment_errors():
    d = f32([1, 2, 3, 4])
    with raises("segment ids are not increasing"):
        run("SegmentSum", d, i32([0, 2, 1, 2]), T=dtypes.float32)
    with raises(r"Segment id -1 out of range \[0, 3\), possibly because 'segment_ids' input is not sorted."):
        run("SegmentSum", d, i32([-1, 0, 1, 2]), T=dtypes.float32)
    with raises("segment_ids should be the same size as dimension 0 of input."):
        run("SegmentSum", d, i32([0, 0, 1]), T=dtypes.float32)


def test_unsorted_segments():
    d = f32([1, 2, 3, 4])
    ids = i32([0, -1, 2, 2])        # negative ids are dropped
    n = i32(4)
    assert run("UnsortedSegmentSum", d, ids, n, T=dtypes.float32).tolist() == [1, 0, 7, 0]
    assert run("UnsortedSegmentProd", d, ids, n, T=dtypes.float32).tolist() == [1, 1, 12, 1]
    lowest = float(np.finfo(np.float32).min)
    assert run("UnsortedSegmentMax", d, ids, n, T=dtypes.float32).tolist() == [1, lowest, 4, lowest]
    assert run("UnsortedSegmentMin", i32([1, 2, 3, 4]), ids, i64(4), T=dtypes.int32).tolist() == \
        [1, 2**31 - 1, 3, 2**31 - 1]
    # -inf never goes below lowest (TensorFlow starts from lowest), and 2-D ids
    assert run("UnsortedSegmentMax", f32([-np.inf]), i32([0]), i32(1), T=dtypes.float32).tolist() == [lowest]
    two_d = run("UnsortedSegmentSum", i32([[1, 2], [3, 4]]), i32([[0, 1], [1, 3]]), i32(4), T=dtypes.int32)
    assert two_d.tolist() == [1, 5, 0, 4]
    bf = run("UnsortedSegmentMax", f32([1, 2]), i32([0, 0]), i32(2), T=dtypes.bfloat16)
    assert bf.tolist() == [2, -3.3895313892515355e38]
    with raises(r"segment_ids\[1,1\] = 7 is out of range \[0, 4\)"):
        run("UnsortedSegmentSum", i32([[1, 2], [3, 4]]), i32([[0, 1], [1, 7]]), n, T=dtypes.int32)
    with raises(r"data.shape = \[2,2\] does not start with segment_ids.shape = \[3\]"):
        run("UnsortedSegmentSum", i32([[1, 2], [3, 4]]), i32([0, 1, 1]), n, T=dtypes.int32)
    with raises("Input num_segments == -1 must not be negative."):
        run("UnsortedSegmentSum", d, ids, i32(-1), T=dtypes.float32)


def test_segment_max_nan_follows_tensorflow():
    # TensorFlow's loop: a NaN replaces the running value, the next element replaces the NaN.
    d = f32([1, np.nan, np.nan, 4, np.nan, 1, 3])
    out = run("SegmentMax", d, i32([0, 0, 1, 1, 2, 2, 2]), T=dtypes.float32)
    assert np.isnan(out[0]) and out[1:].tolist() == [4, 3]
    out = run("UnsortedSegmentMin", f32([np.nan, 2, 5, np.nan]), i32([0, 0, 1, 1]), i32(2), T=dtypes.float32)
    assert out[0] == 2 and np.isnan(out[1])


# --------------------------------------------------------------------------- diagonals and bands


M = np.arange(1, 13, dtype=np.int32).reshape(3, 4)


def test_matrix_diag_part_alignments():
    k = i32([-1, 2])
    pad = i32(0)
    right_left = run("MatrixDiagPartV3", M, k, pad)
    assert right_left.tolist() == [[0, 3, 8], [2, 7, 12], [1, 6, 11], [5, 10, 0]]
    left_left = run("MatrixDiagPartV2", M, k, pad)
    assert left_left.tolist() == [[3, 8, 0], [2, 7, 12], [1, 6, 11], [5, 10, 0]]
    assert run("MatrixDiagPartV3", M, i32(1), i32(9)).tolist() == [2, 7, 12]
    assert run("MatrixDiagPart", np.arange(24, dtype=np.float32).reshape(2, 3, 4)).tolist() == \
        [[0, 5, 10], [12, 17, 22]]
    with raises("upper_diag_index is out of bound: 4. It must be between -3 and 4"):
        run("MatrixDiagPartV3", M, i32([3, 4]), pad)
    with raises("lower_diag_index must not be larger than upper_diag_index: 2 > 1"):
        run("MatrixDiagPartV3", M, i32([2, 1]), pad)


def test_matrix_diag():
    dg = i32([[1, 2, 3], [4, 5, 6]])
    assert run("MatrixDiagV3", dg, i32([0, 1]), i32(-1), i32(-1), i32(0)).tolist() == \
        [[4, 2, 0], [0, 5, 3], [0, 0, 6]]
    assert run("MatrixDiagV3", dg, i32([-1, 0]), i32(-1), i32(-1), i32(0), align="LEFT_RIGHT").tolist() == \
        [[1, 0, 0], [5, 2, 0], [0, 6, 3]]
    assert run("MatrixDiagV3", dg, i32([0, 1]), i32(3), i32(-1), i32(7)).tolist() == \
        [[4, 2, 7], [7, 5, 3], [7, 7, 6]]
    assert run("MatrixDiagV2", i32([1, 2]), i32(-1), i32(-1), i32(4), i32(7)).tolist() == \
        [[7, 7, 7, 7], [1, 7, 7, 7], [7, 2, 7, 7]]
    assert run("MatrixDiag", dg).shape == (2, 3, 3)
    with raises("The number of rows or columns is not consistent"):
        run("MatrixDiagV3", i32([1, 2]), i32(0), i32(5), i32(5), i32(7))
    with raises("The number of columns is too small."):
        run("MatrixDiagV3", i32([1, 2, 3]), i32(0), i32(3), i32(2), i32(0))
    with raises("The number of diagonals provided in the input does not match"):
        run("MatrixDiagV3", dg, i32([0, 2]), i32(-1), i32(-1), i32(0))


def test_matrix_set_diag():
    base = np.zeros((3, 4), np.int32)
    dg = i32([[1, 2, 3], [4, 5, 0]])
    assert run("MatrixSetDiagV3", base, dg, i32([-1, 0])).tolist() == \
        [[1, 0, 0, 0], [4, 2, 0, 0], [0, 5, 3, 0]]
    assert run("MatrixSetDiagV3", base, dg, i32([-1, 0]), align="RIGHT_RIGHT").tolist() == \
        [[1, 0, 0, 0], [5, 2, 0, 0], [0, 0, 3, 0]]
    assert run("MatrixSetDiag", base, i32([1, 2, 3])).tolist() == [[1, 0, 0, 0], [0, 2, 0, 0], [0, 0, 3, 0]]
    assert base.sum() == 0
    with raises("Either first dimensions of diagonal don't match"):
        run("MatrixSetDiagV3", base, i32([[1, 2, 3, 4], [4, 5, 0, 0]]), i32([-1, 0]))


def test_band_part_diag_and_diag_part():
    band = run("MatrixBandPart", np.ones((4, 4), np.float32), i64(1), i64(-1))
    assert band.tolist() == [[1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1]]
    assert run("MatrixBandPart", np.ones((2, 2), bool), i64(0), i64(0)).tolist() == [[True, False], [False, True]]
    with raises(r"num_lower must be negative or less or equal to number of rows \(4\) got: 5"):
        run("MatrixBandPart", np.ones((4, 4)), i64(5), i64(0))
    d = run("Diag", i32([[1, 2], [3, 4]]))
    assert d.shape == (2, 2, 2, 2) and d[1, 0, 1, 0] == 3 and d[1, 0, 0, 1] == 0
    assert run("DiagPart", d).tolist() == [[1, 2], [3, 4]]
    with raises(r"Invalid shape \[2,3,3,3\]: dimensions 0 and 2 do not match."):
        run("DiagPart", np.zeros((2, 3, 3, 3)))
    with raises("Input must be at least rank 1, got 0"):
        run("Diag", f32(1))


# --------------------------------------------------------------------------- every dtype


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64, np.int8, np.uint8, np.int16, np.uint16,
                                   np.int32, np.uint32, np.int64, np.uint64, np.bool_, np.complex64,
                                   np.complex128, object])
def test_data_movement_keeps_dtype(dtype):
    x = (np.arange(24).reshape(2, 3, 4) % 3).astype(dtype) if dtype is not object else \
        np.array([str(v).encode() for v in range(24)], dtype=object).reshape(2, 3, 4)
    outs = [
        run("Transpose", x, i32([2, 0, 1])),
        run("ConcatV2", x, x, i32(1), N=2),
        run("Pad", x, i32([[1, 0], [0, 0], [0, 1]])),
        run("Tile", x, i32([1, 2, 1])),
        run("GatherV2", x, i32([1, 0]), i32(2)),
        run("GatherNd", x, i32([[1, 2]])),
        run("StridedSlice", x, i32([1, 0]), i32([0, 3]), i32([-1, 2]), end_mask=1),
        run("ReverseV2", x, i32([1])),
        run("OneHot", i32([0, 2]), i32(3), x[0, 0, 0, ...], x[0, 0, 1, ...]),
        run("DynamicPartition", x, i32([1, 0]), num_partitions=2)[0],
        run("MatrixBandPart", x, i64(0), i64(1)),
        run("SpaceToDepth", x.reshape(1, 2, 4, 3), block_size=2),
        run("TensorScatterUpdate", x, i32([[1]]), x[:1], T=dtypes.from_numpy(x.dtype)),
    ]
    assert all(isinstance(o, np.ndarray) and o.dtype == x.dtype for o in outs)
    y, idx = run("Unique", x.reshape(-1))
    assert y.dtype == x.dtype and (y[idx] == x.reshape(-1)).all()


def test_huge_outputs_are_refused_not_allocated():
    with raises("more than the memory budget"):
        run("Fill", i64([1 << 20, 1 << 20]), f32(0))
    with raises("more than the memory budget"):
        run("Range", i64(0), i64(1 << 40), i64(1), Tidx=dtypes.int64)
    with raises("more than the memory budget"):
        run("Tile", f32([1, 2]), i64([1 << 40]))
    with raises("more than the memory budget"):
        run("DynamicStitch", i64([1 << 40]), f32([1]), N=1)
    with raises("more than the memory budget"):
        run("UnsortedSegmentSum", f32([1]), i32([0]), i64(1 << 40), T=dtypes.float32)
    with raises("more than the memory budget"):
        run("MatrixDiagV3", f32([[1], [2]]), i32(0), i32(1), i32(2**31 - 1), f32(0))


# --------------------------------------------------------------------------- data formats, NthElement, in-place rows

def test_data_format_dim_map_and_vec_permute_tf_literals():
    assert run("DataFormatDimMap", i32([-4, -1, 0, 1, 2, 3])).tolist() == [0, 1, 0, 2, 3, 1]   # NHWC -> NCHW
    assert run("DataFormatDimMap", i64([0, 1, 2, 3, 4]), src_format="NDHWC", dst_format="NCDHW").tolist() == [
        0, 2, 3, 4, 1]
    assert run("DataFormatVecPermute", i32([10, 20, 30, 40])).tolist() == [10, 40, 20, 30]
    assert run("DataFormatVecPermute", i32([[1, 2], [3, 4], [5, 6], [7, 8]]), src_format="NCHW",
               dst_format="NHWC").tolist() == [[1, 2], [5, 6], [7, 8], [3, 4]]
    assert run("DataFormatVecPermute", i32([20, 30])).tolist() == [20, 30]   # spatial dimensions only
    with raises("not a permutation"):
        run("DataFormatDimMap", i32([0]), dst_format="NCHX")


def test_nth_element_and_inplace_ops():
    x = f32([[3, 1, 2, 5], [9, 7, 8, 6]])
    assert run("NthElement", x, i32(1)).tolist() == [2, 7]
    assert run("NthElement", x, i32(0), reverse=True).tolist() == [5, 9]
    with raises("n must be in"):
        run("NthElement", x, i32(4))
    base = np.arange(12.0).reshape(4, 3)
    assert run("InplaceUpdate", base, i32([1, 3]), -np.ones((2, 3)))[:, 0].tolist() == [0, -1, 6, -1]
    assert run("InplaceAdd", base, i32([0, 0]), np.ones((2, 3)))[0].tolist() == [2, 3, 4]   # repeated rows add up
    assert run("InplaceSub", base, i32([2]), np.ones((1, 3)))[2].tolist() == [5, 6, 7]
    assert base[0, 0] == 0   # inputs are left alone
