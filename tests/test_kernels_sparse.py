"""Sparse kernels against values checked with TensorFlow 2.21."""
from __future__ import annotations

import numpy as np
import pytest

from helpers.floats import assert_ulp_close

from smlens.errors import ExecutionError
from smlens.kernels import KERNELS
from smlens.kernels.registry import bind_attrs

pytestmark = pytest.mark.pyodide


def run(op_type: str, *inputs, **attrs):
    spec = KERNELS[op_type]
    return spec.fn(*inputs, **bind_attrs(spec, attrs))


def i64(x) -> np.ndarray:
    return np.array(x, dtype=np.int64)


def f32(x) -> np.ndarray:
    return np.array(x, dtype=np.float32)


def test_fill_empty_rows():
    idx, vals, empty, reverse = run("SparseFillEmptyRows", i64([[3, 1], [1, 0], [1, 2], [3, 0]]), f32([1, 2, 3, 4]),
                                    i64([5, 4]), np.float32(-1))
    assert idx.tolist() == [[0, 0], [1, 0], [1, 2], [2, 0], [3, 1], [3, 0], [4, 0]]
    assert vals.tolist() == [-1, 2, 3, -1, 1, 4, -1]
    assert empty.dtype == np.bool_ and empty.tolist() == [True, False, True, False, True]
    assert reverse.dtype == np.int64 and reverse.tolist() == [4, 1, 2, 5]


def test_fill_empty_rows_edges():
    idx, vals, empty, reverse = run("SparseFillEmptyRows", np.zeros((0, 2), np.int64), f32([]), i64([2, 4]),
                                    np.float32(-1))
    assert idx.tolist() == [[0, 0], [1, 0]] and vals.tolist() == [-1, -1] and reverse.shape == (0,)
    idx, vals, empty, reverse = run("SparseFillEmptyRows", np.zeros((0, 2), np.int64), f32([]), i64([0, 4]),
                                    np.float32(-1))
    assert idx.shape == (0, 2) and vals.shape == (0,) and empty.shape == (0,)
    strings = np.array([b"a", b"b"], dtype=object)
    _, vals, _, _ = run("SparseFillEmptyRows", i64([[3, 1], [1, 0]]), strings, i64([4, 4]), np.array(b"", object))
    assert vals.tolist() == [b"", b"b", b"", b"a"]
    with pytest.raises(ExecutionError, match=r"indices\(0, 0\) is invalid: 7 >= 5"):
        run("SparseFillEmptyRows", i64([[7, 1]]), f32([1]), i64([5, 4]), np.float32(-1))


@pytest.mark.parametrize("new_shape,indices,shape", [
    ([3, -1], [[0, 1], [2, 1], [1, 1]], [3, 2]),
    ([6], [[1], [5], [3]], [6]),
    ([1, 2, 3], [[0, 0, 1], [0, 1, 2], [0, 1, 0]], [1, 2, 3]),
    ([3, 2, -1], [[0, 1, 0], [2, 1, 0], [1, 1, 0]], [3, 2, 1]),
])
def test_sparse_reshape(new_shape, indices, shape):
    idx, out_shape = run("SparseReshape", i64([[0, 1], [1, 2], [1, 0]]), i64([2, 3]), i64(new_shape))
    assert idx.tolist() == indices and out_shape.tolist() == shape


def test_sparse_reshape_errors():
    with pytest.raises(ExecutionError, match="requires a multiple of 4"):
        run("SparseReshape", i64([[0, 1]]), i64([2, 3]), i64([4, -1]))
    with pytest.raises(ExecutionError, match="only one output dimension may be -1"):
        run("SparseReshape", i64([[0, 1]]), i64([2, 3]), i64([-1, -1]))
    with pytest.raises(ExecutionError, match="cannot infer the missing input size"):
        run("SparseReshape", np.zeros((0, 2), np.int64), i64([0, 3]), i64([0, -1]))
    idx, shape = run("SparseReshape", np.zeros((0, 2), np.int64), i64([0, 3]), i64([-1, 5]))
    assert idx.shape == (0, 2) and shape.tolist() == [0, 5]


DATA = f32([[1, 2], [3, 4], [5, 6]])


def test_segment_reductions():
    ind, seg = np.array([0, 2, 1], np.int32), np.array([0, 0, 2], np.int32)
    assert run("SparseSegmentSum", DATA, ind, seg).tolist() == [[6, 8], [0, 0], [3, 4]]
    assert run("SparseSegmentMean", DATA, ind, seg).tolist() == [[3, 4], [0, 0], [3, 4]]
    sqrtn = run("SparseSegmentSqrtN", DATA, ind, seg)
    # TF multiplies by the float32 reciprocal of sqrt(n): 4.2426405, not 4.242641
    assert sqrtn.dtype == np.float32 and sqrtn.tolist()[0] == [4.242640495300293, 5.656854152679443]
    mean = run("SparseSegmentMean", DATA, np.array([2, 2, 2, 0], np.int32), np.array([0, 1, 1, 1], np.int32))
    assert mean.tolist() == [[5.0, 6.0], [3.6666667461395264, 4.6666669845581055]]
    with_n = run("SparseSegmentSumWithNumSegments", DATA, ind, seg, np.int32(4))
    assert with_n.tolist() == [[6, 8], [0, 0], [3, 4], [0, 0]]
    assert run("SparseSegmentSum", np.array([1, 2, 3], np.int32), ind, seg).tolist() == [4, 0, 2]
    empty = run("SparseSegmentMean", DATA, np.zeros(0, np.int32), np.zeros(0, np.int32))
    assert empty.shape == (0, 2)


def test_segment_errors():
    with pytest.raises(ExecutionError, match="segment ids are not increasing"):
        run("SparseSegmentSum", DATA, np.array([0, 2, 1], np.int32), np.array([1, 0, 2], np.int32))
    with pytest.raises(ExecutionError, match=r"Bad: indices\[1\] == 3 out of range \[0, 3\)"):
        run("SparseSegmentSum", DATA, np.array([0, 3, 1], np.int32), np.array([0, 0, 2], np.int32))
    with pytest.raises(ExecutionError, match="Segment id -1 out of range"):
        run("SparseSegmentMean", DATA, np.array([0, 2, 1], np.int32), np.array([-1, 1, 2], np.int32))
    with pytest.raises(ExecutionError, match="segment ids must be < num_segments"):
        run("SparseSegmentSqrtNWithNumSegments", DATA, np.array([0, 2, 1], np.int32), np.array([0, 0, 2], np.int32),
            np.int32(2))


SP = (i64([[1, 1, 0], [0, 1, 2], [1, 2, 1], [0, 0, 0], [1, 1, 1], [2, 0, 2]]), f32([1, -2, 3, 4, -5, 6]),
      i64([3, 3, 3]))


def test_sparse_reduce_sum_and_max():
    out = run("SparseReduceSum", *SP, np.array([1], np.int32))
    assert out.shape == (3, 3) and out.tolist() == [[4, 0, -2], [1, -2, 0], [0, 0, 6]]
    assert run("SparseReduceSum", *SP, np.array([0, 2], np.int32), keep_dims=True).tolist() == [[[10], [-6], [3]]]
    assert run("SparseReduceSum", *SP, np.array([0, 1, 2], np.int32)).tolist() == 7.0
    assert run("SparseReduceMax", *SP, np.array([-1], np.int32)).tolist() == [[4, -2, 0], [0, 1, 3], [6, 0, 0]]
    # NaN is forgotten when a later value arrives (TF's accumulator), kept when it comes last
    nan = run("SparseReduceMax", i64([[1, 1], [1, 2], [0, 0], [0, 1]]), f32([np.nan, 1, 1, np.nan]), i64([3, 3]),
              np.array([1], np.int32))
    assert nan[1] == 1 and np.isnan(nan[0]) and nan[2] == 0
    dense = run("SparseReduceSum", i64([[0, 1], [1, 0]]), f32([1, 2]), i64([2, 3]), np.array([], np.int32))
    assert dense.tolist() == [[0, 1, 0], [2, 0, 0]]


def test_sparse_reduce_sparse_outputs():
    idx, vals, shape = run("SparseReduceSumSparse", i64([[1, 1], [0, 1], [1, 2]]), f32([1, 2, 3]), i64([3, 3]),
                           np.array([1], np.int32), keep_dims=True)
    assert idx.tolist() == [[0, 0], [1, 0]] and vals.tolist() == [2, 4] and shape.tolist() == [3, 1]
    idx, vals, shape = run("SparseReduceSumSparse", i64([[1, 1], [0, 1], [1, 2]]), f32([1, -1, 3]), i64([3, 3]),
                           np.array([0], np.int32))
    assert idx.tolist() == [[1], [2]] and vals.tolist() == [0, 3] and shape.tolist() == [3]


def test_sparse_dense_matmul():
    a = (i64([[0, 1], [1, 0], [0, 1], [2, 2]]), f32([1, 2, 3, -1]), i64([3, 3]))
    b = np.arange(12, dtype=np.float32).reshape(3, 4)
    out = run("SparseTensorDenseMatMul", *a, b)
    assert out.tolist() == [[16, 20, 24, 28], [0, 2, 4, 6], [-8, -9, -10, -11]]
    out = run("SparseTensorDenseMatMul", *a, b.T.copy(), adjoint_a=True, adjoint_b=True)
    assert out.tolist() == [[8, 10, 12, 14], [0, 4, 8, 12], [-8, -9, -10, -11]]
    with pytest.raises(ExecutionError, match=r"k \(5\) from index\[0,1\] out of bounds \(>=2\)"):
        run("SparseTensorDenseMatMul", i64([[0, 5]]), f32([1]), i64([2, 2]), f32([[1, 2], [3, 4]]))
    with pytest.raises(ExecutionError, match="inner dimension does not match: 3 vs. 2"):
        run("SparseTensorDenseMatMul", i64([[0, 0]]), f32([1]), i64([2, 3]), f32([[1, 2], [3, 4]]))


def test_sparse_add_concat_slice():
    idx, vals, shape = run("SparseAdd", i64([[0, 0], [1, 1]]), f32([1, 2]), i64([2, 2]),
                           i64([[0, 0], [0, 1], [1, 0], [1, 1]]), f32([-1, 0.01, 4, 5]), i64([2, 2]), np.float32(0.1))
    assert idx.tolist() == [[0, 1], [1, 0], [1, 1]] and vals.tolist() == [np.float32(0.01), 4, 7]
    assert shape.tolist() == [2, 2]
    idx, vals, shape = run("SparseConcat", [i64([[1, 0], [0, 1]]), i64([[0, 0], [1, 2]])], [f32([1, 2]), f32([3, 4])],
                           [i64([2, 3]), i64([2, 3])], concat_dim=1, N=2)
    assert idx.tolist() == [[0, 1], [0, 3], [1, 0], [1, 5]] and vals.tolist() == [2, 3, 1, 4]
    assert shape.tolist() == [2, 6]
    with pytest.raises(ExecutionError, match="Input shapes must match"):
        run("SparseConcat", [i64([[0, 1]]), i64([[0, 0]])], [f32([1]), f32([3])], [i64([2, 3]), i64([3, 4])],
            concat_dim=1, N=2)
    idx, vals, shape = run("SparseSlice", i64([[0, 0], [1, 2], [2, 1], [3, 3]]), np.array([1, 2, 3, 4], np.int32),
                           i64([4, 4]), i64([1, 1]), i64([2, 5]))
    assert idx.tolist() == [[0, 1], [1, 0]] and vals.tolist() == [2, 3] and shape.tolist() == [2, 3]
    idx, vals, shape = run("SparseSlice", i64([[0, 0]]), np.array([1], np.int32), i64([4, 4]), i64([5, 1]),
                           i64([2, 5]))
    assert idx.shape == (0, 2) and shape.tolist() == [0, 3]


def test_sparse_softmax_to_dense_and_others():
    out = run("SparseSoftmax", i64([[0, 0], [0, 2], [1, 1], [1, 0]]), np.array([1, 2, 3, 4], np.float64), i64([2, 3]))
    assert_ulp_close(out, [0.26894142136999516, 0.7310585786300049, 0.7310585786300049, 0.26894142136999516],
                     max_ulp=4, dtype=np.float64)   # exp(): ULPs, not bits
    dense = run("SparseToDense", i64([[0, 0], [1, 1]]), i64([2, 3]), f32([1, 2]), np.float32(9))
    assert dense.tolist() == [[1, 9, 9], [9, 2, 9]]
    assert run("SparseToDense", i64([1, 3]), i64([5]), np.float32(5), np.float32(0)).tolist() == [0, 5, 0, 5, 0]
    with pytest.raises(ExecutionError, match="is out of order"):
        run("SparseToDense", i64([[1, 1], [0, 0]]), i64([2, 3]), f32([1, 2]), np.float32(9))
    with pytest.raises(ExecutionError, match="is repeated"):
        run("SparseToDense", i64([[1, 1], [1, 1]]), i64([2, 3]), f32([1, 2]), np.float32(9))
    unsorted = run("SparseToDense", i64([[1, 1], [0, 0]]), i64([2, 3]), f32([1, 2]), np.float32(9),
                   validate_indices=False)
    assert unsorted.tolist() == [[2, 9, 9], [9, 1, 9]]
    added = run("SparseTensorDenseAdd", i64([[0, 0], [0, 0], [1, 1]]), f32([1, 2, 3]), i64([2, 2]),
                f32([[1, 2], [3, 4]]))
    assert added.tolist() == [[4, 2], [3, 7]]
    idx, vals = run("SparseReorder", i64([[1, 1], [0, 2], [0, 1]]), np.array([1, 2, 3], np.int32), i64([2, 3]))
    assert idx.tolist() == [[0, 1], [0, 2], [1, 1]] and vals.tolist() == [3, 2, 1]
    mul = run("SparseDenseCwiseMul", i64([[1, 1], [0, 2]]), f32([2, 3]), i64([2, 3]), f32([1, 2, 3]))
    assert mul.tolist() == [4, 9]
    with pytest.raises(ExecutionError, match="cannot divide by zero"):
        run("SparseDenseCwiseDiv", i64([[1, 1]]), f32([2]), i64([2, 3]), f32([1, 0, 3]))
    idx, vals = run("SparseSparseMaximum", i64([[0, 0], [1, 1]]), f32([1, -2]), i64([2, 2]), i64([[0, 0], [0, 1]]),
                    f32([-1, -3]), i64([2, 2]))
    assert idx.tolist() == [[0, 0], [0, 1], [1, 1]] and vals.tolist() == [1, 0, 0]


def _strs(*xs) -> np.ndarray:
    out = np.empty(len(xs), dtype=object)
    out[:] = [x.encode() for x in xs]
    return out


def _cross_inputs():
    # a: [2, 2] strings {(0,0): a, (1,0): b, (1,1): c}; b: [2, 3] int64 {(0,0): 5, (1,0): 6, (1,1): 7};
    # d: dense [[f, h], [g, i]]
    idx = i64([[0, 0], [1, 0], [1, 1]])
    dense = np.array([[b"f", b"h"], [b"g", b"i"]], dtype=object)
    return [idx, idx], [_strs("a", "b", "c"), i64([5, 6, 7])], [i64([2, 2]), i64([2, 3])], [dense]


def test_sparse_cross_v2_strings_tf_literals():
    from smlens import dtypes
    indices, values, shapes, dense = _cross_inputs()
    types = dict(N=2, sparse_types=[dtypes.string, dtypes.int64], dense_types=[dtypes.string])
    idx, vals, shape = run("SparseCrossV2", indices, values, shapes, dense, np.array(b"+", dtype=object), **types)
    assert idx.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [1, 3], [1, 4], [1, 5], [1, 6], [1, 7]]
    assert [v.decode() for v in vals] == ["a+5+f", "a+5+h", "b+6+g", "b+6+i", "b+7+g", "b+7+i", "c+6+g", "c+6+i",
                                          "c+7+g", "c+7+i"]
    assert shape.tolist() == [2, 8]
    # a row with no feature in one column has no crosses
    empty = run("SparseCrossV2", [indices[0], np.zeros((0, 2), np.int64)], [values[0], _strs()],
                [i64([2, 2]), i64([2, 1])], [], np.array(b"_X_", dtype=object), N=2,
                sparse_types=[dtypes.string, dtypes.string], dense_types=[])
    assert empty[0].shape == (0, 2) and empty[2].tolist() == [2, 0]
    with pytest.raises(ExecutionError, match="batch size"):
        run("SparseCrossV2", indices, values, [i64([2, 2]), i64([3, 3])], [], np.array(b"_", dtype=object),
            N=2, sparse_types=[dtypes.string, dtypes.int64], dense_types=[])


def test_sparse_cross_hashed_tf_literals():
    from smlens import dtypes
    indices, values, shapes, dense = _cross_inputs()
    types = dict(N=2, sparse_types=[dtypes.string, dtypes.int64], dense_types=[dtypes.string],
                 out_type=dtypes.int64, internal_type=dtypes.int64, hashed_output=True)
    _, vals, _ = run("SparseCross", indices, values, shapes, dense, num_buckets=0, hash_key=0xDECAFCAFFE, **types)
    assert vals.tolist()[:3] == [5164596742385291161, 3320769132321692192, 5994245650285209583]
    _, vals, _ = run("SparseCross", indices, values, shapes, dense, num_buckets=1000, hash_key=123, **types)
    assert vals.tolist() == [519, 48, 605, 511, 63, 444, 148, 991, 684, 114]
    strings = dict(types, out_type=dtypes.string, internal_type=dtypes.int64, hashed_output=False)
    _, vals, _ = run("SparseCross", indices, values, shapes, dense, num_buckets=0, hash_key=0, **strings)
    assert vals[0] == b"a_X_5_X_f"
    with pytest.raises(ExecutionError, match="internal type"):
        run("SparseCross", indices, values, shapes, dense, num_buckets=0, hash_key=0,
            **dict(strings, internal_type=dtypes.string))
    # SparseCrossHashed (Keras 2 HashedCrossing): starts from the first feature; farmhash or keyed SipHash
    hashed = dict(N=1, sparse_types=[dtypes.string], dense_types=[dtypes.string])
    for strong, want in ((False, [53, 52, 97, 48, 76, 81]), (True, [18, 18, 82, 61, 34, 37])):
        _, vals, shape = run("SparseCrossHashed", indices[:1], values[:1], shapes[:1], dense, i64(100),
                             np.array(strong), i64([1, 2]), **hashed)
        assert vals.tolist() == want and shape.tolist() == [2, 4]


def test_sparse_cross_hashed_int64_features_tf_literals():
    from smlens import dtypes
    from smlens.errors import UnsupportedError
    # sparse int64 features hash only their low 4 bytes (TF's sizeof(DataType)); dense ones enter raw
    args = ([i64([[0, 0], [1, 0], [1, 1]])], [i64([5, 6, 2 ** 40 + 7])], [i64([2, 3])], [i64([[3], [-4]])],
            i64(0))
    types = dict(N=1, sparse_types=[dtypes.int64], dense_types=[dtypes.int64])
    _, vals, _ = run("SparseCrossHashed", *args, np.array(False), i64([7, 9]), **types)
    assert vals.tolist() == [4183382383267647691, 962338157690090624, 7099087084912989808]
    with pytest.raises(UnsupportedError):  # TF itself crashes here (segmentation fault)
        run("SparseCrossHashed", *args, np.array(True), i64([7, 9]), **types)


# --------------------------------------------------------------------------- edit distance, sets (TF 2.21 literals)

def test_edit_distance():
    args = (np.array([[0, 0], [0, 1], [1, 0]]), np.array([1, 2, 3]), np.array([3, 2]),
            np.array([[0, 0], [1, 0], [1, 1]]), np.array([1, 3, 4]), np.array([2, 2]))
    out = run("EditDistance", *args)
    assert out.dtype == np.float32 and out.tolist() == [1.0, 0.5, 0.0]   # shape: max of both, minus the last dim
    assert run("EditDistance", *args, normalize=False).tolist() == [1.0, 1.0, 0.0]
    empty_truth = run("EditDistance", np.array([[0, 0]]), np.array([7]), np.array([1, 1]),
                      np.zeros((0, 2), np.int64), np.zeros(0, np.int64), np.array([1, 1]))
    assert empty_truth.tolist() == [np.inf]


def test_set_operations_and_size():
    idx, vals, shape = run("DenseToDenseSetOperation", np.array([[5, 1, 5, 3], [2, 2, 2, 2]]),
                           np.array([[1, 9, 9, 9], [3, 3, 3, 3]]), set_operation="a-b")
    assert idx.tolist() == [[0, 0], [0, 1], [1, 0]] and vals.tolist() == [3, 5, 2] and shape.tolist() == [2, 2]
    words = np.array([b"red", b"x", b"a"], dtype=object)
    idx, vals, shape = run("DenseToSparseSetOperation", np.array([[b"x", b"red"], [b"b", b"a"]], dtype=object),
                           np.array([[0, 0], [0, 1], [1, 0]]), words, np.array([2, 2]), set_operation="union")
    assert vals.tolist() == [b"red", b"x", b"a", b"b"] and shape.tolist() == [2, 2]
    idx, vals, shape = run("SparseToSparseSetOperation", np.array([[0, 0], [0, 1]]), np.array([1, 2]),
                           np.array([1, 3]), np.array([[0, 1]]), np.array([2]), np.array([1, 3]),
                           set_operation="intersection")
    assert idx.tolist() == [[0, 0]] and vals.tolist() == [2] and shape.tolist() == [1, 1]
    sizes = run("SetSize", np.array([[0, 0], [0, 1], [1, 0]]), np.array([4, 4, 7]), np.array([3, 2]))
    assert sizes.dtype == np.int32 and sizes.tolist() == [1, 1, 0]
    with pytest.raises(ExecutionError, match="invalid set_operation"):
        run("DenseToDenseSetOperation", np.array([[1]]), np.array([[1]]), set_operation="xor")
