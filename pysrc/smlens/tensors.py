"""TensorProto <-> NumPy, and TensorShapeProto helpers."""
from __future__ import annotations

import numpy as np

from . import dtypes
from .errors import FormatError
from .proto import types_pb2

# Never materialise a tensor larger than this from a proto's repeated/fill fields.
MAX_FILL_ELEMENTS = 1 << 31


# NumPy arrays have at most 64 dimensions (TensorFlow allows 254, but no real model comes near either).
MAX_RANK = 64


def shape_from_proto(shape: types_pb2.TensorShapeProto) -> tuple[int, ...] | None:
    """Dims as ints (-1 = unknown); None for unknown rank. FormatError for a rank over MAX_RANK or a
    dimension below -1."""
    if shape.unknown_rank:
        return None
    if len(shape.dim) > MAX_RANK:
        raise FormatError(f"shape of rank {len(shape.dim)}: at most {MAX_RANK} dimensions are supported")
    dims = tuple(int(d.size) for d in shape.dim)
    for d in dims:
        if d < -1:
            raise FormatError(f"shape {list(dims)} has a negative dimension")
    return dims


def shape_to_proto(shape) -> types_pb2.TensorShapeProto:
    p = types_pb2.TensorShapeProto()
    if shape is None:
        p.unknown_rank = True
        return p
    for d in shape:
        p.dim.add().size = -1 if d is None else int(d)
    return p


def num_elements(shape: tuple[int, ...], what: str = "tensor") -> int:
    n = 1
    for d in shape:
        if d < 0:
            raise FormatError(f"{what}: negative dimension in shape {list(shape)}")
        n *= d
        if n > 1 << 62:
            raise FormatError(f"{what}: element count of shape {list(shape)} overflows")
    return n


def to_numpy(t: types_pb2.TensorProto, what: str = "tensor") -> np.ndarray:
    """Decode a TensorProto (tensor_content or the typed repeated fields, last value repeated)."""
    dt = dtypes.from_enum(t.dtype)
    shape = shape_from_proto(t.tensor_shape) or ()
    n = num_elements(shape, what)
    if dt.name == "string":
        vals = list(t.string_val)
        return _fill_object(vals, n, shape, b"", what)
    if dt.name == "resource":
        return _fill_object(list(t.resource_handle_val), n, shape, None, what)
    if dt.name == "variant":
        return _fill_object(list(t.variant_val), n, shape, None, what)
    if dt.name in dtypes.FLOAT8:
        raw = t.tensor_content or t.float8_val
        vals = dtypes.float8_from_bits(np.frombuffer(raw, np.uint8), dt.name)
        return vals.reshape(shape) if len(vals) == n else _fill(vals, n, shape, dt, what)
    if t.tensor_content:
        raw = t.tensor_content
        if dt.name == "bfloat16":
            if len(raw) != 2 * n:
                raise FormatError(f"{what}: tensor_content has {len(raw)} bytes, shape {list(shape)} needs {2 * n}")
            return dtypes.bfloat16_from_bits(np.frombuffer(raw, "<u2")).reshape(shape)
        need = n * dt.np.itemsize
        if len(raw) != need:
            raise FormatError(f"{what}: tensor_content has {len(raw)} bytes, shape {list(shape)} needs {need}")
        return np.frombuffer(raw, dt.np.newbyteorder("<")).astype(dt.np).reshape(shape)
    name = dt.name
    if name in ("float16",):
        vals = np.array(t.half_val, dtype=np.int64).astype(np.uint16).view(np.float16)  # the low 16 bits, as TF
    elif name == "bfloat16":
        vals = dtypes.bfloat16_from_bits(np.array(t.half_val, dtype=np.int64).astype(np.uint16))
    elif name == "float32":
        vals = np.array(t.float_val, dtype=np.float32)
    elif name == "float64":
        vals = np.array(t.double_val, dtype=np.float64)
    elif name in ("int32", "int16", "int8", "uint8", "uint16", "qint8", "quint8", "qint16", "quint16", "qint32",
                  "int4", "uint4"):
        vals = np.array(t.int_val, dtype=np.int64).astype(dt.np)
    elif name == "int64":
        vals = np.array(t.int64_val, dtype=np.int64)
    elif name == "uint32":
        vals = np.array(t.uint32_val, dtype=np.uint32)
    elif name == "uint64":
        vals = np.array(t.uint64_val, dtype=np.uint64)
    elif name == "bool":
        vals = np.array(t.bool_val, dtype=np.bool_)
    elif name in ("complex64", "complex128") and len(t.scomplex_val if name == "complex64" else t.dcomplex_val) % 2:
        raise FormatError(f"{what}: complex values come in (real, imag) pairs, found an odd count")
    elif name == "complex64":
        v = np.array(t.scomplex_val, dtype=np.float32)
        vals = v[0::2] + 1j * v[1::2] if len(v) else v
        vals = np.asarray(vals, np.complex64)
    elif name == "complex128":
        v = np.array(t.dcomplex_val, dtype=np.float64)
        vals = np.asarray(v[0::2] + 1j * v[1::2] if len(v) else v, np.complex128)
    else:
        raise FormatError(f"{what}: cannot decode dtype {name}")
    return _fill(vals, n, shape, dt, what)


def _check_budget(n: int, itemsize: int, shape, what: str) -> None:
    from .limits import check_alloc
    check_alloc(n * itemsize, f"{what}: shape {list(shape)}")


def _fill(vals: np.ndarray, n: int, shape, dt, what: str) -> np.ndarray:
    if len(vals) == n:
        return vals.reshape(shape)
    if len(vals) > n:
        raise FormatError(f"{what}: {len(vals)} values for shape {list(shape)}")
    if n > MAX_FILL_ELEMENTS:
        raise FormatError(f"{what}: shape {list(shape)} is too large to materialise")
    _check_budget(n, np.dtype(dt.np).itemsize, shape, what)
    if len(vals) == 0:
        return np.zeros(shape, dtype=dt.np)
    out = np.empty(n, dtype=dt.np)
    out[: len(vals)] = vals
    out[len(vals):] = vals[-1]
    return out.reshape(shape)


def _fill_object(vals: list, n: int, shape, default, what: str) -> np.ndarray:
    if len(vals) > n:
        raise FormatError(f"{what}: {len(vals)} values for shape {list(shape)}")
    if n > MAX_FILL_ELEMENTS:
        raise FormatError(f"{what}: shape {list(shape)} is too large to materialise")
    # a pointer per element, plus the bytes of the values (each distinct value is stored once)
    _check_budget(n, 8, shape, what)
    out = np.empty(n, dtype=object)
    k = len(vals)
    for i in range(k):
        out[i] = vals[i]
    out[k:] = vals[-1] if vals else default   # one C-level fill, not a Python loop over n
    return out.reshape(shape)


def from_numpy(a, dtype: dtypes.DType | None = None) -> types_pb2.TensorProto:
    """Encode an array as a TensorProto (tensor_content for numeric types)."""
    a = np.asarray(a)
    dt = dtype or dtypes.from_numpy(a.dtype)
    t = types_pb2.TensorProto(dtype=dt.enum, tensor_shape=shape_to_proto(a.shape))
    if dt.name == "string":
        t.string_val.extend(x if isinstance(x, bytes) else str(x).encode() for x in a.reshape(-1))
    elif dt.name == "bfloat16":
        t.tensor_content = dtypes.bfloat16_to_bits(a).astype("<u2").tobytes()
    elif dt.name in dtypes.FLOAT8:
        t.tensor_content = dtypes.float8_to_bits(a, dt.name).tobytes()
    else:
        t.tensor_content = np.ascontiguousarray(a, dtype=dt.np.newbyteorder("<")).tobytes()
    return t
