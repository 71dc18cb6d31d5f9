"""Array kernels: constants and identities, shapes, reshaping, concat/split, slicing (StridedSlice),
padding, transposes and reversals, tiling and broadcasting, fill/range, bitcast, space/batch/depth.

Every kernel works for every dtype TensorFlow allows, strings (object arrays of bytes) included.
Results are views of the input where NumPy can express them (Reshape, Squeeze, Slice, StridedSlice,
Transpose, Reverse, BroadcastTo, Split); kernels never write into their inputs.
The small helpers at the top are shared with gather_ops, segment_ops, matrix_diag_ops and ragged_ops.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from .. import dtypes, limits
from ..errors import ExecutionError, UnsupportedError
from .registry import REQUIRED, op

# --------------------------------------------------------------------------- shared helpers


def shape_str(shape: Sequence[int] | None) -> str:
    """A shape as TensorFlow prints it: [2,3], [?,3] for unknown dims, <unknown> for unknown rank."""
    if shape is None:
        return "<unknown>"
    return "[" + ",".join("?" if d is None or d < 0 else str(int(d)) for d in shape) + "]"


def int_list(x: np.ndarray, what: str) -> list[int]:
    """An integer vector as Python ints."""
    a = np.asarray(x)
    if a.ndim != 1:
        raise ExecutionError(f"{what} must be a vector, got shape {shape_str(a.shape)}")
    if a.dtype.kind not in "iu":
        raise ExecutionError(f"{what} must be an integer tensor, got {a.dtype}")
    return [int(v) for v in a.reshape(-1).tolist()]


def scalar_int(x: np.ndarray, what: str) -> int:
    """An integer scalar as a Python int."""
    a = np.asarray(x)
    if a.ndim != 0:
        raise ExecutionError(f"{what} must be a scalar, not shape {shape_str(a.shape)}")
    if a.dtype.kind not in "iu":
        raise ExecutionError(f"{what} must be an integer tensor, got {a.dtype}")
    return int(a.reshape(-1)[0])


def index_array(x: np.ndarray, what: str) -> np.ndarray:
    """Integer index tensor as int64."""
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise ExecutionError(f"{what} must be an integer tensor, got {a.dtype}")
    return a.astype(np.int64, copy=False)


def intp(a: np.ndarray) -> np.ndarray:
    """Validated int64 indices/counts as np.intp: under Pyodide (wasm32) intp is int32, and take,
    bincount, repeat, ufunc.at and (un)ravel_index refuse int64 there."""
    return np.asarray(a).astype(np.intp, copy=False)


def check_elements(shape: Sequence[int], what: str, itemsize: int = 8) -> None:
    """Refuse to build a tensor of negative dims, or one larger than the allocation budget
    (limits.max_memory; itemsize: bytes per element, 8 when the caller does not say)."""
    n = 1
    for d in shape:
        if d < 0:
            raise ExecutionError(f"Dimension {d} must be >= 0")
        n *= d
    limits.check_alloc(n * max(int(itemsize), 1), f"{what}: shape {shape_str(shape)}")


def zero_of(dtype: np.dtype):
    """TensorFlow's zero for a dtype: b'' for strings, 0/False otherwise."""
    return b"" if np.dtype(dtype) == object else np.zeros((), dtype)[()]


def zeros(shape: Sequence[int], dtype: np.dtype) -> np.ndarray:
    shape = tuple(int(d) for d in shape)
    if np.dtype(dtype) == object:
        out = np.empty(shape, dtype=object)
        out.fill(b"")
        return out
    return np.zeros(shape, dtype)


def full(shape: Sequence[int], value, dtype: np.dtype) -> np.ndarray:
    out = np.empty(tuple(int(d) for d in shape), dtype=dtype)
    out.fill(value)
    return out


def as_array(x, dtype: np.dtype) -> np.ndarray:
    """Wrap a NumPy scalar / Python object produced by indexing into a 0-d array of `dtype`."""
    if isinstance(x, np.ndarray):
        return x
    out = np.empty((), dtype=dtype)
    out[()] = x
    return out


def round_like(x: np.ndarray, T) -> np.ndarray:
    """Round float32 results of a bfloat16 op to bfloat16 (T: the op's dtype attr)."""
    if isinstance(T, dtypes.DType) and T.name == "bfloat16":
        return dtypes.round_to_bfloat16(x)
    return x


def _err(msg: str) -> ExecutionError:
    return ExecutionError(msg)


# --------------------------------------------------------------------------- constants and identities


@op("Const", inputs=[], attrs={"value": REQUIRED, "dtype": REQUIRED})
def const(*, value, dtype):
    if not isinstance(value, np.ndarray):
        raise _err("Const: value attr is not a tensor")
    return value


@op("HostConst", inputs=[], attrs={"value": REQUIRED, "dtype": REQUIRED})
def host_const(*, value, dtype):
    return const(value=value, dtype=dtype)


@op("Identity", "StopGradient", "GuaranteeConst", "_HostIdentity", inputs=["input"])
def identity(input):
    return input


@op("PreventGradient", inputs=["input"], attrs={"message": ""})
def prevent_gradient(input, *, message):
    return input


@op("Snapshot", "DeepCopy", inputs=["input"])
def snapshot(input):
    return np.array(input, copy=True)


@op("IdentityN", inputs=["*input:T"], attrs={"T": REQUIRED})
def identity_n(input, *, T):
    return list(input)


@op("PlaceholderWithDefault", inputs=["input"], attrs={"dtype": REQUIRED, "shape": REQUIRED})
def placeholder_with_default(input, *, dtype, shape):
    return input


@op("CheckNumerics", inputs=["tensor"], attrs={"message": REQUIRED})
def check_numerics(tensor, *, message):
    return _check_numerics(tensor, message, signed_inf=False)


@op("CheckNumericsV2", inputs=["tensor"], attrs={"message": REQUIRED})
def check_numerics_v2(tensor, *, message):
    return _check_numerics(tensor, message, signed_inf=True)


def _check_numerics(x: np.ndarray, message: str, *, signed_inf: bool) -> np.ndarray:
    if x.dtype.kind not in "fc":
        raise _err(f"CheckNumerics: expected a floating point tensor, got {x.dtype}")
    if x.size and not np.isfinite(x).all():
        has_nan = bool(np.isnan(x).any())
        parts = []
        if signed_inf:
            if bool(np.isneginf(x).any()):
                parts.append("-Inf")
            if bool(np.isposinf(x).any()):
                parts.append("+Inf")
        elif bool(np.isinf(x).any()):
            parts.append("Inf")
        if has_nan:
            parts.append("NaN")
        raise _err(f"{message} : Tensor had {' and '.join(parts)} values")
    return x


@op("EnsureShape", inputs=["input"], attrs={"shape": REQUIRED})
def ensure_shape(input, *, shape):
    if shape is not None:
        ok = len(shape) == input.ndim and all(d < 0 or d == s for d, s in zip(shape, input.shape))
        if not ok:
            raise _err(f"Shape of tensor input {shape_str(input.shape)} is not compatible with expected "
                       f"shape {shape_str(shape)}.")
    return input


# --------------------------------------------------------------------------- shapes


_INT32_MAX = 2**31 - 1


@op("Shape", inputs=["input"], attrs={"out_type": dtypes.int32})
def shape(input, *, out_type):
    return _shape_vector(input.shape, out_type)


@op("ShapeN", inputs=["*input:N"], attrs={"N": REQUIRED, "out_type": dtypes.int32})
def shape_n(input, *, N, out_type):
    return [_shape_vector(x.shape, out_type) for x in input]


def _shape_vector(dims: tuple, out_type) -> np.ndarray:
    if out_type.name == "int32":
        for i, d in enumerate(dims):
            if d > _INT32_MAX:
                raise _err(f"Shape output type is 32-bit but dim {i} is {d}")
    return np.array(dims, dtype=out_type.np).reshape(len(dims))


@op("Size", inputs=["input"], attrs={"out_type": dtypes.int32})
def size(input, *, out_type):
    if out_type.name == "int32" and input.size > _INT32_MAX:
        raise _err("Number of elements was larger than representable by 32-bit output type")
    return np.array(input.size, dtype=out_type.np)


@op("Rank", inputs=["input"])
def rank(input):
    return np.array(input.ndim, dtype=np.int32)


@op("Reshape", inputs=["tensor", "shape"])
def reshape(tensor, shape):
    s = np.asarray(shape)
    if s.ndim != 1:
        raise _err(f"sizes input must be 1-D, not {shape_str(s.shape)}")
    sizes = int_list(s, "shape")
    return tensor.reshape(_reshape_target(tensor.shape, sizes))


def _reshape_target(in_shape: tuple, sizes: list[int]) -> tuple:
    """TensorFlow's resolution of a Reshape target: one -1 is inferred (zero dims are left out of
    the inference on both sides, so [0,3] -> [-1,0] gives [3,0])."""
    unknown = -1
    product = 1
    has_zero = False
    out = []
    for i, d in enumerate(sizes):
        if d == -1:
            if unknown != -1:
                raise _err(f"Only one input size may be -1, not both {unknown} and {i}")
            unknown = i
            out.append(1)
        elif d < 0:
            raise _err(f"Size {i} must be non-negative, not {d}")
        else:
            if d == 0:
                has_zero = True
            else:
                product *= d
            out.append(d)
    n_in = int(np.prod(in_shape, dtype=np.int64)) if in_shape else 1
    if unknown != -1:
        known_in = 1
        in_has_zero = False
        for d in in_shape:
            if d > 0 or not has_zero:
                known_in *= d
            else:
                in_has_zero = True
        missing = known_in // product
        if not in_has_zero and product * missing != known_in:
            raise _err(f"Input to reshape is a tensor with {n_in} values, but the requested shape "
                       f"requires a multiple of {product}")
        out[unknown] = missing
    n_out = 1
    for d in out:
        n_out *= d
    if n_out != n_in:
        raise _err(f"Input to reshape is a tensor with {n_in} values, but the requested shape has {n_out}")
    return tuple(out)


@op("Squeeze", inputs=["input"], attrs={"squeeze_dims": []})
def squeeze(input, *, squeeze_dims):
    r = input.ndim
    if not squeeze_dims:
        return input.reshape(tuple(d for d in input.shape if d != 1))
    axes = set()
    for d in squeeze_dims:
        if not -r <= d < r:
            raise _err(f"Tried to squeeze dim index {d} for tensor with {r} dimensions.")
        a = d + r if d < 0 else d
        if input.shape[a] != 1:
            raise _err(f"Can not squeeze dim[{a}], expected a dimension of 1, got {input.shape[a]}")
        axes.add(a)
    return np.squeeze(input, axis=tuple(sorted(axes)))


@op("ExpandDims", inputs=["input", "dim"])
def expand_dims(input, dim):
    d = np.asarray(dim)
    if d.size != 1:
        raise _err("'dim' must be a tensor with a single value")
    a = int(d.reshape(-1)[0])
    r = input.ndim
    if not -r - 1 <= a <= r:
        raise _err(f"Tried to expand dim index {a} for tensor with {r} dimensions.")
    if a < 0:
        a += r + 1
    return np.expand_dims(input, a)


# --------------------------------------------------------------------------- concat / stack / split


@op("ConcatV2", inputs=["*values:N", "axis"], attrs={"N": REQUIRED})
def concat_v2(values, axis, *, N):
    return _concat(values, scalar_int(axis, "axis"))


@op("Concat", inputs=["concat_dim", "*values:N"], attrs={"N": REQUIRED})
def concat(concat_dim, values, *, N):
    return _concat(values, scalar_int(concat_dim, "concat_dim"))


def _concat(values: list[np.ndarray], axis: int) -> np.ndarray:
    first = values[0]
    r = first.ndim
    if r == 0:
        raise _err("ConcatOp : Can't concatenate scalars (use tf.stack instead)")
    if not -r <= axis < r:
        raise _err(f"ConcatOp : Expected concatenating dimensions in the range [{-r}, {r}), but got {axis}")
    a = axis + r if axis < 0 else axis
    for i, v in enumerate(values[1:], 1):
        if v.ndim != r:
            raise _err(f"ConcatOp : Ranks of all input tensors should match: shape[0] = {shape_str(first.shape)} "
                       f"vs. shape[{i}] = {shape_str(v.shape)}")
        for j in range(r):
            if j != a and v.shape[j] != first.shape[j]:
                raise _err(f"ConcatOp : Dimension {j} in both shapes must be equal: shape[0] = "
                           f"{shape_str(first.shape)} vs. shape[{i}] = {shape_str(v.shape)}")
    if len(values) == 1:
        return first
    return np.concatenate(values, axis=a)


@op("ConcatOffset", inputs=["concat_dim", "*shape:N"], attrs={"N": REQUIRED})
def concat_offset(concat_dim, shape, *, N):
    axis = scalar_int(concat_dim, "concat_dim")
    dims0 = int_list(shape[0], "shape")
    r = len(dims0)
    if not -r <= axis < r:
        raise _err(f"Concat dim is out of range: {axis} vs. {r}")
    a = axis + r if axis < 0 else axis
    out, offset = [], 0
    for i, s in enumerate(shape):
        dims = int_list(s, "shape")
        if len(dims) != r:
            raise _err(f"input {i} should contain {r} elements, but got {len(dims)}")
        for j in range(r):
            if j != a and dims[j] != dims0[j]:
                raise _err(f"All dimensions except {a} must match. Input {i} has shape "
                           f"{shape_str(dims)} and doesn't match input 0 with shape {shape_str(dims0)}.")
        o = np.zeros(r, dtype=s.dtype)
        o[a] = offset
        offset += dims[a]
        out.append(o)
    return out


@op("Pack", inputs=["*values:N"], attrs={"N": REQUIRED, "axis": 0})
def pack(values, *, N, axis):
    first = values[0]
    r = first.ndim + 1
    if not -r <= axis < r:
        raise _err(f"axis = {axis} not in [{-r}, {r})")
    for i, v in enumerate(values[1:], 1):
        if v.shape != first.shape:
            raise _err(f"Shapes of all inputs must match: values[0].shape = {shape_str(first.shape)} != "
                       f"values[{i}].shape = {shape_str(v.shape)}")
    return np.stack(values, axis=axis + r if axis < 0 else axis)


@op("Unpack", inputs=["value"], attrs={"num": REQUIRED, "axis": 0})
def unpack(value, *, num, axis):
    r = value.ndim
    if not -r <= axis < r:
        raise _err(f"axis = {axis} not in [{-r}, {r})")
    a = axis + r if axis < 0 else axis
    if value.shape[a] != num:
        raise _err(f"Input shape axis {a} must equal {num}, got shape {shape_str(value.shape)}")
    moved = np.moveaxis(value, a, 0)
    return [moved[i, ...] for i in range(num)]


@op("Split", inputs=["split_dim", "value"], attrs={"num_split": REQUIRED})
def split(split_dim, value, *, num_split):
    r = value.ndim
    axis = scalar_int(split_dim, "split_dim")
    if not -r <= axis < r:
        raise _err(f"-input rank(-{r}) <= split_dim < input rank ({r}), but got {axis}")
    a = axis + r if axis < 0 else axis
    n = value.shape[a]
    if num_split <= 0 or n % num_split:
        raise _err(f"Number of ways to split should evenly divide the split dimension, but got split_dim "
                   f"{a} (size = {n}) and num_split {num_split}")
    return np.split(value, num_split, axis=a)


@op("SplitV", inputs=["value", "size_splits", "split_dim"], attrs={"num_split": REQUIRED})
def split_v(value, size_splits, split_dim, *, num_split):
    r = value.ndim
    axis = scalar_int(split_dim, "split_dim")
    if not -r <= axis < r:
        raise _err(f"-input rank(-{r}) <= split_dim < input rank ({r}), but got {axis}")
    a = axis + r if axis < 0 else axis
    sizes = int_list(np.asarray(size_splits).reshape(-1), "size_splits")
    if len(sizes) != num_split:
        raise _err(f"Number of split sizes ({len(sizes)}) must match num_split ({num_split})")
    n = value.shape[a]
    unknown = -1
    total = 0
    for i, s in enumerate(sizes):
        if s == -1:
            if unknown != -1:
                raise _err("There can only be one -1 in the input.")
            unknown = i
        else:
            total += s
    if (unknown == -1 and total != n) or (unknown != -1 and total > n):
        raise _err("Determined shape must either match input shape along split_dim exactly if fully "
                   "specified, or be less than the size of the input along split_dim if not fully "
                   f"specified.  Got: {total}")
    for i, s in enumerate(sizes):
        if s < -1 or (s == -1 and i != unknown):
            raise _err(f"Split size at index {i} must be >= 0. Got: {s}")
    if unknown != -1:
        sizes[unknown] = n - total
    bounds = np.cumsum(sizes)[:-1].tolist()
    return np.split(value, bounds, axis=a)


# --------------------------------------------------------------------------- slicing


@op("Slice", inputs=["input", "begin", "size"])
def slice_(input, begin, size):
    b = np.asarray(begin)
    s = np.asarray(size)
    r = input.ndim
    if b.ndim != 1 or s.ndim != 1 or b.size != r or s.size != r:
        raise _err(f"Expected begin and size arguments to be 1-D tensors of size {r}, but got shapes "
                   f"{shape_str(b.shape)} and {shape_str(s.shape)} instead.")
    index = []
    for i, (bi, si) in enumerate(zip(int_list(b, "begin"), int_list(s, "size"))):
        dim = input.shape[i]
        if not 0 <= bi <= dim:
            raise _err(f"Expected begin[{i}] in [0, {dim}], but got {bi}")
        if si == -1:
            si = dim - bi
        if not 0 <= si <= dim - bi:
            raise _err(f"Expected size[{i}] in [0, {dim - bi}], but got {si}")
        index.append(slice(bi, bi + si))
    return input[tuple(index) + (Ellipsis,)]


def strided_slice_index(shape: Sequence[int], begin: Sequence[int], end: Sequence[int],
                        strides: Sequence[int], begin_mask: int = 0, end_mask: int = 0,
                        ellipsis_mask: int = 0, new_axis_mask: int = 0,
                        shrink_axis_mask: int = 0) -> tuple[tuple, tuple[int, ...]]:
    """TensorFlow's StridedSlice spec resolved against `shape`: a NumPy basic index (ints, slices,
    None; end with `...` when applying it) and the final output shape. Out-of-range begin/end are
    clamped exactly as TF does; shrink indices out of range are errors."""
    n = len(begin)
    if len(end) != n or len(strides) != n:
        raise _err(f"Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
                   f"[{n}], [{len(end)}], and [{len(strides)}] instead.")
    if ellipsis_mask & (ellipsis_mask - 1):
        raise _err("Multiple ellipses in slice spec not allowed")
    seen = False
    new_after_ellipsis = 0
    for i in range(n):
        if seen and new_axis_mask >> i & 1:
            new_after_ellipsis += 1
        if ellipsis_mask >> i & 1:
            seen = True
    if not seen:
        ellipsis_mask |= 1 << n
        n += 1
    rank = len(shape)
    # Pass 1: expand the ellipsis into dense dimensions (TF reports spec errors before range errors).
    entries: list = []        # None (new axis) or (dense dim, begin, end, stride, begin/end masked, shrink)
    full = 0
    for i in range(n):
        if ellipsis_mask >> i & 1:
            stop = min(rank - (n - i) + 1 + new_after_ellipsis, rank)
            while full < stop:
                entries.append((full, 0, 0, 1, True, True, False))
                full += 1
        elif new_axis_mask >> i & 1:
            entries.append(None)
        else:
            if full == rank:
                if rank == 0:
                    raise _err("Attempting to slice scalar input.")
                raise _err(f"Index out of range using input dim {full}; input has only {rank} dims")
            entries.append((full, int(begin[i]), int(end[i]), int(strides[i]), bool(begin_mask >> i & 1),
                            bool(end_mask >> i & 1), bool(shrink_axis_mask >> i & 1)))
            full += 1
    # Pass 2: canonicalise every dense dimension.
    index: list = []
    final: list[int] = []
    for entry in entries:
        if entry is None:
            index.append(None)
            final.append(1)
            continue
        k, b, e, s, bm, em, shrink = entry
        dim = int(shape[k])
        if s == 0:
            raise _err(f"strides[{k}] must be non-zero")
        if shrink:
            if s < 0:
                raise _err("only stride 1 allowed on non-range indexing.")
            x = b + dim if b < 0 else b
            if not 0 <= x < dim:
                raise _err(f"slice index {x} of dimension {k} out of bounds.")
            index.append(x)
            continue
        lo, hi = (0, dim) if s > 0 else (-1, dim - 1)
        if bm:
            bb = lo if s > 0 else hi
        else:
            bb = min(max(b + dim if b < 0 else b, lo), hi)
        if em:
            ee = hi if s > 0 else lo
        else:
            ee = min(max(e + dim if e < 0 else e, lo), hi)
        length = ee - bb
        if length == 0 or (length < 0) != (s < 0):
            count = 0
        else:
            count = -(-abs(length) // abs(s))
        if count == 0:
            index.append(slice(0, 0))
        else:
            stop = bb + (count - 1) * s + (1 if s > 0 else -1)
            index.append(slice(bb, stop if stop >= 0 else None, s))
        final.append(count)
    return tuple(index), tuple(final)


_SS_ATTRS = {"begin_mask": 0, "end_mask": 0, "ellipsis_mask": 0, "new_axis_mask": 0, "shrink_axis_mask": 0}


def _ss_spec(shape, begin, end, strides, masks: dict) -> tuple[tuple, tuple[int, ...]]:
    b, e, s = (np.asarray(v) for v in (begin, end, strides))
    if b.ndim != 1 or e.ndim != 1 or s.ndim != 1 or not b.size == e.size == s.size:
        raise _err(f"Expected begin, end, and strides to be 1D equal size tensors, but got shapes "
                   f"{shape_str(b.shape)}, {shape_str(e.shape)}, and {shape_str(s.shape)} instead.")
    return strided_slice_index(shape, int_list(b, "begin"), int_list(e, "end"), int_list(s, "strides"),
                               **masks)


@op("StridedSlice", inputs=["input", "begin", "end", "strides"], attrs=dict(_SS_ATTRS))
def strided_slice(input, begin, end, strides, **masks):
    index, _ = _ss_spec(input.shape, begin, end, strides, masks)
    return input[index + (Ellipsis,)]


@op("StridedSliceGrad", inputs=["shape", "begin", "end", "strides", "dy"], attrs=dict(_SS_ATTRS))
def strided_slice_grad(shape, begin, end, strides, dy, **masks):
    dims = int_list(shape, "shape")
    index, final = _ss_spec(dims, begin, end, strides, masks)
    if tuple(dy.shape) != final:
        raise _err(f"dy shape {shape_str(dy.shape)} does not match the slice shape {shape_str(final)}")
    check_elements(dims, "StridedSliceGrad")
    out = zeros(dims, dy.dtype)
    out[index + (Ellipsis,)] = dy
    return out


@op("TensorStridedSliceUpdate", inputs=["input", "begin", "end", "strides", "value"], attrs=dict(_SS_ATTRS))
def tensor_strided_slice_update(input, begin, end, strides, value, **masks):
    index, final = _ss_spec(input.shape, begin, end, strides, masks)
    try:
        np.broadcast_shapes(value.shape, final)
    except ValueError:
        raise _err(f"Cannot update a slice of shape {shape_str(final)} with a value of shape "
                   f"{shape_str(value.shape)}") from None
    out = np.array(input, copy=True)
    out[index + (Ellipsis,)] = value
    return out


# --------------------------------------------------------------------------- tile / pad


@op("Tile", inputs=["input", "multiples"])
def tile(input, multiples):
    m = np.asarray(multiples)
    reps = int_list(m.reshape(-1), "multiples")
    if m.ndim != 1 or len(reps) != input.ndim:
        raise _err(f"Expected multiples argument to be a vector of length {input.ndim} but got length "
                   f"{len(reps)}")
    for i, k in enumerate(reps):
        if k < 0:
            raise _err(f"Expected multiples[{i}] >= 0, but got {k}")
    if input.ndim == 0:
        return input
    check_elements([d * k for d, k in zip(input.shape, reps)], "Tile", input.dtype.itemsize)
    return np.tile(input, reps)


def _paddings(paddings: np.ndarray, x: np.ndarray) -> list[tuple[int, int]]:
    p = np.asarray(paddings)
    if p.ndim != 2 or p.shape[1] != 2:
        raise _err(f"paddings must be a matrix with 2 columns: {shape_str(p.shape)}")
    if p.shape[0] != x.ndim:
        raise _err(f"The first dimension of paddings must be the rank of inputs{shape_str(p.shape)} "
                   f"{shape_str(x.shape)}")
    pads = [(int(a), int(b)) for a, b in p.astype(np.int64).tolist()]
    for a, b in pads:
        if a < 0 or b < 0:
            raise _err(f"Paddings must be non-negative: {a} {b}")
    return pads


def _pad_constant(x: np.ndarray, pads: list[tuple[int, int]], value) -> np.ndarray:
    out_shape = [d + a + b for d, (a, b) in zip(x.shape, pads)]
    check_elements(out_shape, "Pad")
    if x.dtype == object:
        out = full(out_shape, value, x.dtype)
    else:  # fill only the border: writing the whole output twice costs more than the copy itself
        out = np.empty(out_shape, x.dtype)
        for axis, (a, b) in enumerate(pads):
            lead = (slice(None),) * axis
            if a:
                out[lead + (slice(0, a),)] = value
            if b:
                out[lead + (slice(out_shape[axis] - b, None),)] = value
    out[tuple(slice(a, a + d) for d, (a, _) in zip(x.shape, pads)) + (Ellipsis,)] = x
    return out


@op("Pad", inputs=["input", "paddings"])
def pad(input, paddings):
    return _pad_constant(input, _paddings(paddings, input), zero_of(input.dtype))


@op("PadV2", inputs=["input", "paddings", "constant_values"])
def pad_v2(input, paddings, constant_values):
    if constant_values.ndim != 0:
        raise _err(f"constant_values must be a scalar. Found: {shape_str(constant_values.shape)}")
    return _pad_constant(input, _paddings(paddings, input), constant_values[()])


@op("MirrorPad", inputs=["input", "paddings"], attrs={"mode": REQUIRED})
def mirror_pad(input, paddings, *, mode):
    pads = _paddings(paddings, input)
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise _err(f"mode must be either REFLECT or SYMMETRIC, not {mode!r}")
    for d, (a, b) in zip(input.shape, pads):
        if mode == "REFLECT" and (a >= d or b >= d):
            raise _err(f"paddings must be less than the dimension size: {a}, {b} not less than {d}")
        if mode == "SYMMETRIC" and (a > d or b > d):
            raise _err(f"paddings must be no greater than the dimension size: {a}, {b} greater than {d}")
    if not any(a or b for a, b in pads):
        return input
    check_elements([d + a + b for d, (a, b) in zip(input.shape, pads)], "MirrorPad")
    return np.pad(input, pads, mode="reflect" if mode == "REFLECT" else "symmetric")


# --------------------------------------------------------------------------- transpose / reverse / roll


def _perm(perm: np.ndarray, rank: int) -> list[int]:
    p = np.asarray(perm)
    if p.ndim != 1:
        raise _err(f"perm must be a vector, not {shape_str(p.shape)}")
    vals = int_list(p, "perm")
    if len(vals) != rank:
        raise _err(f"transpose expects a vector of size {rank}. But input(1) is a vector of size {len(vals)}")
    out = []
    for d in vals:
        d = d + rank if d < 0 else d
        if not 0 <= d < rank:
            raise _err(f"{d} is out of range [0 .. {rank})")
        out.append(d)
    for d in range(rank):
        if d not in out:
            raise _err(f"{d} is missing from {{{','.join(str(v) for v in vals)}}}.")
    return out


@op("Transpose", inputs=["x", "perm"])
def transpose(x, perm):
    return np.transpose(x, _perm(perm, x.ndim))


@op("ConjugateTranspose", inputs=["x", "perm"])
def conjugate_transpose(x, perm):
    y = np.transpose(x, _perm(perm, x.ndim))
    return np.conj(y) if y.dtype.kind == "c" else y


@op("InvertPermutation", inputs=["x"])
def invert_permutation(x):
    if x.ndim != 1:
        raise _err("invert_permutation expects a 1D vector.")
    n = x.shape[0]
    v = x.astype(np.int64)
    bad = (v < 0) | (v >= n)
    if bad.any():
        raise _err(f"{int(v[np.argmax(bad)])} is not between 0 and {n}")
    out = np.full(n, -1, dtype=np.int64)
    out[v] = np.arange(n)
    if (out < 0).any():
        counts = np.bincount(intp(v), minlength=n)
        dup = int(v[np.argmax(counts[v] > 1)])
        raise _err(f"{dup} is duplicated in the input.")
    return out.astype(x.dtype)


@op("ReverseV2", inputs=["tensor", "axis"])
def reverse_v2(tensor, axis):
    r = tensor.ndim
    axes = set()
    for i, a in enumerate(int_list(np.asarray(axis).reshape(-1), "axis")):
        if not -r <= a < r:
            raise _err(f"'axis'[{i}] = {a} is out of valid range [0, {r})")
        a = a + r if a < 0 else a
        if a in axes:
            raise _err(f"axis {a} specified more than once.")
        axes.add(a)
    return np.flip(tensor, axis=tuple(sorted(axes))) if axes else tensor


@op("Reverse", inputs=["tensor", "dims"])
def reverse(tensor, dims):
    d = np.asarray(dims).reshape(-1)
    if d.size != tensor.ndim:
        raise _err(f"'dims' must have the same number of values as 'input' has dimensions. 'input' has "
                   f"{tensor.ndim}'dims' has {d.size} values")
    axes = tuple(int(i) for i in np.flatnonzero(d))
    return np.flip(tensor, axis=axes) if axes else tensor


@op("ReverseSequence", inputs=["input", "seq_lengths"], attrs={"seq_dim": REQUIRED, "batch_dim": 0})
def reverse_sequence(input, seq_lengths, *, seq_dim, batch_dim):
    r = input.ndim
    if not 0 <= seq_dim < r:
        raise _err(f"Invalid seq_dim {seq_dim}")
    if not 0 <= batch_dim < r:
        raise _err(f"Invalid batch_dim {batch_dim}")
    if seq_dim == batch_dim:
        raise _err(f"batch_dim == seq_dim == {seq_dim}")
    if seq_lengths.ndim != 1:
        raise _err(f"seq_lengths must be 1-dim, not {seq_lengths.ndim}")
    lens = index_array(seq_lengths, "seq_lengths")
    nb, n = input.shape[batch_dim], input.shape[seq_dim]
    if lens.shape[0] != nb:
        raise _err(f"Length of seq_lengths != input.dims({batch_dim}), ({lens.shape[0]} vs. {nb})")
    for i, v in enumerate(lens.tolist()):
        if v < 0:
            raise _err(f"seq_lens({i}) < 0")
        if v > n:
            raise _err(f"seq_lens({i}) > input.dims({seq_dim})")
    j = np.arange(n)[None, :]
    L = lens[:, None]
    src = np.where(j < L, L - 1 - j, j)
    moved = np.moveaxis(input, (batch_dim, seq_dim), (0, 1))
    out = moved[np.arange(nb)[:, None], src]
    return np.moveaxis(out, (0, 1), (batch_dim, seq_dim))


@op("Roll", inputs=["input", "shift", "axis"])
def roll(input, shift, axis):
    s = np.asarray(shift)
    a = np.asarray(axis)
    if s.ndim > 1:
        raise _err("shift must be a scalar or a 1-D vector. Found: " + shape_str(s.shape))
    if a.ndim > 1:
        raise _err("axis must be a scalar or a 1-D vector. Found: " + shape_str(a.shape))
    if s.shape != a.shape:
        raise _err("shift and axis must have the same size")
    shifts = int_list(s.reshape(-1), "shift")
    axes = int_list(a.reshape(-1), "axis")
    r = input.ndim
    total: dict[int, int] = {}
    for sh, ax in zip(shifts, axes):
        if not -r <= ax < r:
            raise _err(f"axis {ax} is out of range")
        ax = ax + r if ax < 0 else ax
        total[ax] = total.get(ax, 0) + sh
    if not total or input.size == 0:
        return input
    return np.roll(input, list(total.values()), axis=list(total.keys()))


# --------------------------------------------------------------------------- fill / like / range


@op("Fill", inputs=["dims", "value"])
def fill(dims, value):
    d = np.asarray(dims)
    if d.ndim != 1:
        raise _err(f"dims must be a vector, got shape {shape_str(d.shape)}")
    if value.ndim > 1 or value.size != 1:
        raise _err(f"value must represent a scalar, got shape {shape_str(value.shape)}")
    shape = int_list(d, "dims")
    check_elements(shape, "Fill", value.dtype.itemsize)
    return full(shape, value.reshape(())[()], value.dtype)


@op("ZerosLike", inputs=["x"], attrs={"T": REQUIRED})
def zeros_like(x, *, T):
    if T.name == "variant":
        raise UnsupportedError("ZerosLike of a variant tensor is not supported")
    return zeros(x.shape, x.dtype)


@op("OnesLike", inputs=["x"])
def ones_like(x):
    if x.dtype == object:
        raise _err("OnesLike is not defined for string tensors")
    return np.ones(x.shape, x.dtype)


@op("Empty", inputs=["shape"], attrs={"dtype": REQUIRED, "init": False})
def empty(shape, *, dtype, init):
    dims = int_list(shape, "shape")
    check_elements(dims, "Empty", dtype.np.itemsize if dtype.np is not None else 8)
    return zeros(dims, dtype.np)


def _scalar(x: np.ndarray, what: str):
    if x.size != 1 or x.ndim > 1:
        raise _err(f"{what} must be a scalar, not shape {shape_str(x.shape)}")
    return x.reshape(())[()]


def _num(v) -> str:
    f = float(v) if not isinstance(v, (int, np.integer)) else None
    if f is None or f.is_integer():
        return str(int(v))
    return repr(f)


@op("Range", inputs=["start", "limit", "delta"], attrs={"Tidx": dtypes.int32})
def range_(start, limit, delta, *, Tidx):
    s, l, d = _scalar(start, "start"), _scalar(limit, "limit"), _scalar(delta, "delta")
    if d == 0:
        raise _err(f"Requires delta != 0: {_num(d)}")
    if d > 0 and s > l:
        raise _err(f"Requires start <= limit when delta > 0: {_num(s)}/{_num(l)}")
    if d < 0 and s < l:
        raise _err(f"Requires start >= limit when delta < 0: {_num(s)}/{_num(l)}")
    dt = np.dtype(start.dtype)
    bf16 = Tidx.name == "bfloat16"
    if dt.kind in "iu":
        s, l, d = int(s), int(l), int(d)
        n = (abs(l - s) + abs(d) - 1) // abs(d)
        check_elements([n], "Range", 8)
        if dt.kind == "u":
            return (np.uint64(s) + np.arange(n, dtype=np.uint64) * np.uint64(d)).astype(dt)
        return (s + np.arange(n, dtype=np.int64) * d).astype(dt)
    rnd = dtypes.round_to_bfloat16 if bf16 else (lambda v: v)
    s, l, d = dt.type(s), dt.type(l), dt.type(d)
    span = rnd(np.asarray(l - s, dtype=dt))
    nf = float(np.ceil(np.abs(rnd(span / d))))
    if not np.isfinite(nf):
        raise _err("Requires ((limit - start) / delta) <= 2^63")
    n = int(nf)
    check_elements([n], "Range")
    i = rnd(np.arange(n, dtype=dt))
    return rnd(s + rnd(i * d)).astype(dt)


@op("LinSpace", inputs=["start", "stop", "num"], attrs={"T": REQUIRED})
def lin_space(start, stop, num, *, T):
    a, b = _scalar(start, "start"), _scalar(stop, "stop")
    n = scalar_int(num, "num")
    if n <= 0:
        raise _err(f"Requires num > 0: {n}")
    check_elements([n], "LinSpace")
    dt = np.dtype(start.dtype)
    rnd = dtypes.round_to_bfloat16 if T.name == "bfloat16" else (lambda v: v)
    a, b = dt.type(a), dt.type(b)
    if n == 1:
        return np.array([a], dtype=dt)
    step = rnd(np.asarray((b - a) / dt.type(n - 1), dtype=dt))
    out = rnd(a + rnd(rnd(np.arange(n, dtype=dt)) * step)).astype(dt)
    out[-1] = b
    return out


# --------------------------------------------------------------------------- broadcasting


def _broadcast_shape(s0: list[int], s1: list[int]) -> list[int] | None:
    r = max(len(s0), len(s1))
    a = [1] * (r - len(s0)) + s0
    b = [1] * (r - len(s1)) + s1
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return out


@op("BroadcastArgs", inputs=["s0", "s1"])
def broadcast_args(s0, s1):
    a, b = int_list(s0, "s0"), int_list(s1, "s1")
    out = _broadcast_shape(a, b)
    if out is None:
        raise _err(f"Incompatible shapes: {shape_str(a)} vs. {shape_str(b)}")
    return np.array(out, dtype=s0.dtype).reshape(len(out))


@op("BroadcastGradientArgs", inputs=["s0", "s1"])
def broadcast_gradient_args(s0, s1):
    a, b = int_list(s0, "s0"), int_list(s1, "s1")
    if _broadcast_shape(a, b) is None:
        raise _err(f"Incompatible shapes: {shape_str(a)} vs. {shape_str(b)}")
    r0: list[int] = []
    r1: list[int] = []
    if a != b:
        r = max(len(a), len(b))
        pa = [1] * (r - len(a)) + a
        pb = [1] * (r - len(b)) + b
        for i, (x, y) in enumerate(zip(pa, pb)):
            if x == 1 and y == 1:
                r0.append(i)
                r1.append(i)
            elif x == 1:
                r0.append(i)
            elif y == 1:
                r1.append(i)
    return np.array(r0, dtype=s0.dtype), np.array(r1, dtype=s0.dtype)


@op("BroadcastTo", inputs=["input", "shape"])
def broadcast_to(input, shape):
    dims = int_list(shape, "shape")
    for d in dims:
        if d < 0:
            raise _err(f"Dimension {d} must be >= 0")
    if input.ndim > len(dims):
        raise _err(f"Rank of input ({input.ndim}) must be no greater than rank of output shape ({len(dims)}).")
    lead = len(dims) - input.ndim
    for d, o in zip(input.shape, dims[lead:]):
        if d != o and d != 1:
            raise _err(f"Incompatible shapes: {shape_str(input.shape)} vs. {shape_str(dims)}")
    if tuple(dims) == input.shape:
        return input
    check_elements(dims, "BroadcastTo", input.dtype.itemsize)  # a view, but any later op copies it
    return np.broadcast_to(input, tuple(dims))


# --------------------------------------------------------------------------- bitcast


@op("Bitcast", inputs=["input"], attrs={"T": REQUIRED, "type": REQUIRED})
def bitcast(input, *, T, type):
    for d in (T, type):
        if d.name in ("bool", "string", "resource", "variant"):
            raise _err(f"Bitcast does not support {d.name}")
    in_size, out_size = T.itemsize, type.itemsize
    shape = input.shape
    if in_size > out_size:
        if in_size % out_size:
            raise _err(f"Cannot bitcast from {T.enum} to {type.enum}: shape {shape_str(shape)}")
        new_shape = shape + (in_size // out_size,)
    elif in_size < out_size:
        if out_size % in_size or not shape or shape[-1] != out_size // in_size:
            raise _err(f"Cannot bitcast from {T.enum} to {type.enum}: shape {shape_str(shape)}")
        new_shape = shape[:-1]
    else:
        new_shape = shape
    raw = dtypes.bfloat16_to_bits(input) if T.name == "bfloat16" else np.ascontiguousarray(input)
    flat = raw.reshape(-1)
    if type.name == "bfloat16":
        return dtypes.bfloat16_from_bits(flat.view(np.uint16)).reshape(new_shape)
    return flat.view(type.np.newbyteorder("<")).astype(type.np, copy=False).reshape(new_shape)


# --------------------------------------------------------------------------- space / batch / depth


def _block_and_pads(block_shape: np.ndarray, pads: np.ndarray, what: str) -> tuple[list[int], list[tuple[int, int]]]:
    bs = np.asarray(block_shape)
    if bs.ndim != 1:
        raise _err(f"block_shape rank should be 1 instead of {bs.ndim}")
    blocks = int_list(bs, "block_shape")
    p = np.asarray(pads)
    if p.ndim != 2 or p.shape != (len(blocks), 2):
        raise _err(f"{what} should have shape [{len(blocks)}, 2] instead of {shape_str(p.shape)}")
    pairs = [(int(a), int(b)) for a, b in p.astype(np.int64).tolist()]
    for i, b in enumerate(blocks):
        if b < 1:
            raise _err(f"All values in block_shape must be positive, got value, {b} at index {i}.")
    return blocks, pairs


def _check_space_batch_args(x: np.ndarray, m: int, pairs: list[tuple[int, int]], what: str) -> None:
    if x.ndim < 1 + m:
        raise _err(f"input rank should be >= {1 + m} instead of {x.ndim}")
    if any(a < 0 or b < 0 for a, b in pairs):
        raise _err(f"{what} must be non-negative")


def _space_to_batch(x: np.ndarray, blocks: list[int], pads: list[tuple[int, int]]) -> np.ndarray:
    m = len(blocks)
    _check_space_batch_args(x, m, pads, "Paddings")
    padded = []
    for i, (d, (a, b), k) in enumerate(zip(x.shape[1:1 + m], pads, blocks)):
        n = d + a + b
        if n % k:
            raise _err(f"padded_shape[{i}]={n} is not divisible by block_shape[{i}]={k}")
        padded.append(n)
    if any(a or b for a, b in pads):
        x = _pad_constant(x, [(0, 0)] + pads + [(0, 0)] * (x.ndim - 1 - m), zero_of(x.dtype))
    batch = x.shape[0]
    rest = x.shape[1 + m:]
    split = [batch]
    for n, k in zip(padded, blocks):
        split += [n // k, k]
    y = x.reshape(split + list(rest))
    perm = [2 + 2 * i for i in range(m)] + [0] + [1 + 2 * i for i in range(m)]
    perm += list(range(1 + 2 * m, y.ndim))
    y = np.transpose(y, perm)
    return y.reshape([batch * int(np.prod(blocks))] + [n // k for n, k in zip(padded, blocks)] + list(rest))


def _batch_to_space(x: np.ndarray, blocks: list[int], crops: list[tuple[int, int]]) -> np.ndarray:
    m = len(blocks)
    _check_space_batch_args(x, m, crops, "Crops")
    prod = int(np.prod(blocks))
    batch = x.shape[0]
    if batch % prod:
        raise _err(f"Input batch dimension ({batch}) is not divisible by product of block sizes ({prod})")
    spatial = x.shape[1:1 + m]
    rest = x.shape[1 + m:]
    for i, (d, k, (a, b)) in enumerate(zip(spatial, blocks, crops)):
        if d * k - a - b < 0:
            raise _err(f"cropped_shape[{i}]={d * k - a - b} must be non-negative")
    out_batch = batch // prod
    y = x.reshape(list(blocks) + [out_batch] + list(spatial) + list(rest))
    perm = [m]
    for i in range(m):
        perm += [m + 1 + i, i]
    perm += list(range(2 * m + 1, y.ndim))
    y = np.transpose(y, perm).reshape([out_batch] + [d * k for d, k in zip(spatial, blocks)] + list(rest))
    index = (slice(None),) + tuple(slice(a, d * k - b) for d, k, (a, b) in zip(spatial, blocks, crops))
    return y[index + (Ellipsis,)]


@op("SpaceToBatchND", inputs=["input", "block_shape", "paddings"])
def space_to_batch_nd(input, block_shape, paddings):
    blocks, pads = _block_and_pads(block_shape, paddings, "paddings")
    return _space_to_batch(input, blocks, pads)


@op("BatchToSpaceND", inputs=["input", "block_shape", "crops"])
def batch_to_space_nd(input, block_shape, crops):
    blocks, pairs = _block_and_pads(block_shape, crops, "crops")
    return _batch_to_space(input, blocks, pairs)


def _check_rank4(input: np.ndarray) -> None:
    if input.ndim != 4:
        raise _err(f"Input rank should be: 4 instead of: {input.ndim}")


def _square_block_shape(input: np.ndarray, block_size: int) -> np.ndarray:
    """SpaceToBatch/BatchToSpace are their ND forms on a 4-D input with block_shape [block_size] * 2."""
    _check_rank4(input)
    if block_size <= 1:
        raise _err(f"Attribute block_size has to be > 1, got {block_size}")
    return np.array([block_size, block_size])


@op("SpaceToBatch", inputs=["input", "paddings"], attrs={"block_size": REQUIRED})
def space_to_batch(input, paddings, *, block_size):
    blocks, pads = _block_and_pads(_square_block_shape(input, block_size), paddings, "paddings")
    return _space_to_batch(input, blocks, pads)


@op("BatchToSpace", inputs=["input", "crops"], attrs={"block_size": REQUIRED})
def batch_to_space(input, crops, *, block_size):
    blocks, pairs = _block_and_pads(_square_block_shape(input, block_size), crops, "crops")
    return _batch_to_space(input, blocks, pairs)


def _to_nhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    if data_format == "NHWC":
        return x
    if data_format == "NCHW":
        return np.transpose(x, (0, 2, 3, 1))
    raise UnsupportedError(f"data_format {data_format!r} is not supported")


def _from_nhwc(x: np.ndarray, data_format: str) -> np.ndarray:
    return x if data_format == "NHWC" else np.transpose(x, (0, 3, 1, 2))


def _check_depth_block(input: np.ndarray, block_size: int) -> None:
    _check_rank4(input)
    if block_size < 2:
        raise _err(f"Value for attr 'block_size' of {block_size} must be at least minimum 2")


@op("SpaceToDepth", inputs=["input"], attrs={"block_size": REQUIRED, "data_format": "NHWC"})
def space_to_depth(input, *, block_size, data_format):
    _check_depth_block(input, block_size)
    x = _to_nhwc(input, data_format)
    n, h, w, c = x.shape
    b = block_size
    if h % b or w % b:
        raise _err(f"Image width {w} and height {h} should be divisible by block_size: {b}")
    y = x.reshape(n, h // b, b, w // b, b, c).transpose(0, 1, 3, 2, 4, 5).reshape(n, h // b, w // b, b * b * c)
    return _from_nhwc(y, data_format)


@op("DepthToSpace", inputs=["input"], attrs={"block_size": REQUIRED, "data_format": "NHWC"})
def depth_to_space(input, *, block_size, data_format):
    _check_depth_block(input, block_size)
    x = _to_nhwc(input, data_format)
    n, h, w, c = x.shape
    b = block_size
    if c % (b * b):
        raise _err(f"Input depth dimension {c} should be divisible by: {b * b}")
    oc = c // (b * b)
    y = x.reshape(n, h, w, b, b, oc).transpose(0, 1, 3, 2, 4, 5).reshape(n, h * b, w * b, oc)
    return _from_nhwc(y, data_format)


# --------------------------------------------------------------------------- data formats, nth element, in-place rows

def _formats(src: str, dst: str, what: str) -> tuple[str, str]:
    if sorted(src) != sorted(dst) or len(set(src)) != len(src):
        raise _err(f"{what}: destination format {dst!r} is not a permutation of source format {src!r}")
    return src, dst


@op("DataFormatDimMap", inputs=["x"], attrs={"src_format": "NHWC", "dst_format": "NCHW"})
def data_format_dim_map(x, *, src_format, dst_format):
    """The index in dst_format of each dimension index x (in [-rank, rank)) of src_format."""
    src, dst = _formats(src_format, dst_format, "DataFormatDimMap")
    a = np.asarray(x)
    n = len(src)
    if a.size and ((a < -n).any() or (a >= n).any()):
        raise _err(f"DataFormatDimMap: dimension indices must be in [{-n}, {n})")
    table = np.array([dst.index(c) for c in src], dtype=np.int64)
    return table[np.mod(a, n).astype(np.int64)].astype(a.dtype) if a.size else a.copy()


@op("DataFormatVecPermute", inputs=["x"], attrs={"src_format": "NHWC", "dst_format": "NCHW"})
def data_format_vec_permute(x, *, src_format, dst_format):
    """A shape-like vector (or [n, 2] paddings) in src_format order, reordered to dst_format; a vector of
    the spatial dimensions only (no N, C) is reordered among them."""
    src, dst = _formats(src_format, dst_format, "DataFormatVecPermute")
    a = np.asarray(x)
    if a.ndim not in (1, 2) or (a.ndim == 2 and a.shape[1] != 2):
        raise _err(f"DataFormatVecPermute: input must be a vector or a 2-column matrix, got shape {list(a.shape)}")
    if a.shape[0] == len(src):
        order = [src.index(c) for c in dst]
    elif a.shape[0] == len(src) - 2:
        s_sp, d_sp = [c for c in src if c not in "NC"], [c for c in dst if c not in "NC"]
        order = [s_sp.index(c) for c in d_sp]
    else:
        raise _err(f"DataFormatVecPermute: input must have {len(src)} or {len(src) - 2} rows, got {a.shape[0]}")
    return a[order]


@op("NthElement", inputs=["input", "n"], attrs={"reverse": False})
def nth_element(input, n, *, reverse):
    """The n-th smallest (largest with reverse) value along the last dimension."""
    a = np.asarray(input)
    k = int(np.asarray(n).reshape(()))
    if a.ndim < 1 or not 0 <= k < a.shape[-1]:
        raise _err(f"NthElement: n must be in [0, {a.shape[-1] if a.ndim else 0}), got {k}")
    s = np.sort(a, axis=-1)
    return s[..., a.shape[-1] - 1 - k if reverse else k].copy()


def _inplace(x, i, v, mode: str, what: str) -> np.ndarray:
    a = np.asarray(x)
    rows = np.asarray(i).reshape(-1).astype(np.int64)
    upd = np.asarray(v)
    if a.ndim < 1 or upd.shape != (rows.size,) + a.shape[1:]:
        raise _err(f"{what}: v must have shape [{rows.size}] + {list(a.shape[1:])}, got {list(upd.shape)}")
    if rows.size and ((rows < 0) | (rows >= a.shape[0])).any():
        raise _err(f"{what}: row index out of range [0, {a.shape[0]})")
    out = np.array(a, copy=True)
    if mode == "update":
        out[rows] = upd
    else:
        (np.add if mode == "add" else np.subtract).at(out, rows, upd.astype(a.dtype, copy=False))
    return out


@op("InplaceUpdate", inputs=["x", "i", "v"])
def inplace_update(x, i, v):
    return _inplace(x, i, v, "update", "InplaceUpdate")


@op("InplaceAdd", inputs=["x", "i", "v"])
def inplace_add(x, i, v):
    return _inplace(x, i, v, "add", "InplaceAdd")


@op("InplaceSub", inputs=["x", "i", "v"])
def inplace_sub(x, i, v):
    return _inplace(x, i, v, "sub", "InplaceSub")
