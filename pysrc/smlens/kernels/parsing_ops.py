"""Parsing kernels: tf.Example parsing (ParseExample/V2, ParseSingleExample), DecodeRaw, DecodeCSV,
Serialize/ParseTensor; and `examples_from_dicts`, which builds serialized tf.Examples from plain
Python values (backs `smlens run --input_examples`).
"""
from __future__ import annotations

import numpy as np
from google.protobuf.message import DecodeError

from .. import dtypes, tensors
from ..errors import ExecutionError, FormatError, InputError
from ..proto import example_pb2, types_pb2
from .string_ops import parse_number
from .registry import REQUIRED, op

_KIND_OF = {"float32": "float_list", "int64": "int64_list", "string": "bytes_list"}
_TYPE_NAME = {"float_list": "float", "int64_list": "int64", "bytes_list": "string"}


def example_from_features(features: list[tuple[str, str, list]]) -> bytes:
    """One serialized tf.Example from typed feature lists (name, kind, values), kind float | int64 | bytes
    (str values as UTF-8). The one tf.Example builder: `run --input_examples` (examples_from_dicts) and the
    page's tf.Example form both use it. ValueError/TypeError/OverflowError when a value does not fit."""
    ex = example_pb2.Example()
    for name, kind, values in features:
        feature = ex.features.feature[str(name)]
        if kind == "float":
            feature.float_list.value.extend(float(v) for v in values)
        elif kind == "int64":
            feature.int64_list.value.extend(int(v) for v in values)
        elif kind == "bytes":
            feature.bytes_list.value.extend(v.encode("utf-8") if isinstance(v, str) else bytes(v) for v in values)
        else:
            raise ValueError(f"feature {name!r}: unknown kind {kind!r} (float, int64 or bytes)")
    return ex.SerializeToString()


def _feature_kind(first) -> str | None:
    """As saved_model_cli infers it from a list's first value."""
    if isinstance(first, float):
        return "float"
    if isinstance(first, (str, bytes)):
        return "bytes"
    if isinstance(first, int):
        return "int64"
    return None


def examples_from_dicts(examples: list[dict]) -> list[bytes]:
    """Serialized tf.Examples, one per dict {feature: list of values}. As saved_model_cli does, the
    first value of a list picks the kind: float -> float_list, str/bytes -> bytes_list (str as UTF-8),
    int (and bool) -> int64_list."""
    out = []
    for n, features in enumerate(examples):
        if not isinstance(features, dict):
            raise InputError(f"example {n}: expected a dict of feature lists, got {type(features).__name__}")
        typed = []
        for name, values in features.items():
            if not isinstance(values, list):
                raise InputError(f'feature value must be a list, but {name}: "{values}" is {type(values).__name__}')
            if not values:
                raise InputError(f"example {n}: feature {name!r} has an empty list; its type cannot be inferred")
            kind = _feature_kind(values[0])
            if kind is None:
                raise InputError(f"Type {type(values[0]).__name__} for value {values[0]!r} is not supported "
                                 "for tf.train.Feature.")
            allowed = {"float": (int, float), "bytes": (str, bytes), "int64": (int,)}[kind]
            if not all(isinstance(v, allowed) for v in values):
                raise InputError(f"example {n}: feature {name!r} mixes value types or is out of range: {values!r}")
            typed.append((name, kind, values))
        try:
            out.append(example_from_features(typed))
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"example {n}: a feature mixes value types or is out of range: "
                             f"{features!r}"[:300]) from None
    return out


# ---------------------------------------------------------------- tf.Example parsing

def _as_list(x) -> list[bytes]:
    a = np.asarray(x)
    return [v if isinstance(v, bytes) else str(v).encode() for v in a.reshape(-1)]


def _key(k) -> str:
    return k.decode("utf-8", "replace") if isinstance(k, bytes) else str(k)


class _Batch:
    """Parsed Examples plus what error messages need to name an example."""

    def __init__(self, serialized: np.ndarray, names: list[bytes]):
        a = np.asarray(serialized)
        if a.ndim > 1:
            raise ExecutionError(f"Expected serialized to be a scalar or vector, got shape: "
                                 f"[{','.join(map(str, a.shape))}]")
        self.scalar = a.ndim == 0
        if names and len(names) != a.size or (names and self.scalar):
            raise ExecutionError(f"Expected names have the same shape as serialized: name.shape=[{len(names)}], "
                                 f"serialized.shape=[{','.join(map(str, a.shape))}]")
        self.names = names
        self.features: list = []
        for item in _as_list(a):
            ex = example_pb2.Example()
            try:
                ex.ParseFromString(item)
            except (DecodeError, RuntimeError, ValueError):
                shown = item[:64].decode("latin-1").encode("unicode_escape").decode("ascii")
                raise ExecutionError(f"Could not parse example input, value: '{shown}'") from None
            self.features.append(ex.features.feature)

    def prefix(self, i: int) -> str:
        if self.scalar:
            return ""
        name = self.names[i].decode("utf-8", "replace") if i < len(self.names) and self.names else "<unknown>"
        return f"Name: {name}, "

    def values(self, i: int, key: str, dtype: dtypes.DType, sparse_style: bool) -> list | None:
        """The values of feature `key` in example i (None if absent or of no kind)."""
        feature = self.features[i].get(key)
        if feature is None:
            return None
        kind = feature.WhichOneof("kind")
        if kind is None:
            return None
        want = _KIND_OF[dtype.name]
        if kind != want:
            if sparse_style:
                why = f"Expected type: {_TYPE_NAME[want]}, Actual type: {_TYPE_NAME[kind]}"
            else:
                why = f"Data type: {_TYPE_NAME[kind]} but expected type: {_TYPE_NAME[want]}"
            raise ExecutionError(f"{self.prefix(i)}Key: {key}, Index: {i}.  Data types don't match. {why}")
        return list(getattr(feature, kind).value)


def _check_types(types: list, what: str) -> None:
    for t in types:
        if t.name not in _KIND_OF:
            raise ExecutionError(f"{what}: unsupported feature dtype {t.name} (float32, int64, string)")


def _array(values: list, dtype: dtypes.DType) -> np.ndarray:
    if dtype.name == "string":
        out = np.empty(len(values), dtype=object)
        out[:] = values
        return out
    return np.array(values, dtype=dtype.np).reshape(-1)


def _parse_sparse(batch: _Batch, key: str, dtype: dtypes.DType):
    rows, vals = [], []
    width = 0
    for i in range(len(batch.features)):
        v = batch.values(i, key, dtype, True) or []
        rows.append(len(v))
        width = max(width, len(v))
        vals.extend(v)
    n = len(vals)
    if batch.scalar:
        idx = np.arange(n, dtype=np.int64).reshape(n, 1)
        shape = np.array([width], dtype=np.int64)
    else:
        idx = np.zeros((n, 2), dtype=np.int64)
        idx[:, 0] = np.repeat(np.arange(len(rows)), rows)
        idx[:, 1] = np.concatenate([np.arange(r) for r in rows]) if n else []
        shape = np.array([len(rows), width], dtype=np.int64)
    return idx, _array(vals, dtype), shape


def _parse_dense(batch: _Batch, key: str, dtype: dtypes.DType, shape, default: np.ndarray, index: int):
    if shape is None:
        raise ExecutionError(f"dense_shapes[{index}] must have a known rank")
    shape = tuple(int(d) for d in shape)
    variable = bool(shape) and shape[0] == -1
    inner = shape[1:] if variable else shape
    if any(d < 0 for d in inner):
        raise ExecutionError(f"dense_shapes[{index}] {list(shape)}: only the first dimension may be unknown")
    stride = int(np.prod(inner, dtype=np.int64))
    default = np.asarray(default)
    required = default.size == 0
    if variable:
        if default.size != 1:
            raise ExecutionError(f"dense_shape[{index}] is a variable length shape: [?], therefore "
                                 f"def_value[{index}] must contain a single element (the padding element).")
    elif not required and default.shape != shape:
        raise ExecutionError(f"def_value[{index}].shape() == [{','.join(map(str, default.shape))}] is not "
                             f"compatible with dense_shapes_[{index}] == [{','.join(map(str, shape))}]")
    per_example = []
    for i in range(len(batch.features)):
        v = batch.values(i, key, dtype, False)
        if v is None:
            if required and not variable:
                raise ExecutionError(f"{batch.prefix(i)}Feature: {key} (data type: {_TYPE_NAME[_KIND_OF[dtype.name]]})"
                                     " is required but could not be found.")
            per_example.append(None)
            continue
        if variable:
            if stride == 0 or len(v) % stride:
                raise ExecutionError(f"{batch.prefix(i)}Key: {key}, Index: {i}.  Number of "
                                     f"{_TYPE_NAME[_KIND_OF[dtype.name]]} values is not a multiple of stride length. "
                                     f"Saw {len(v)} values but output shape is: [?,{','.join(map(str, inner))}]")
        elif len(v) != stride:
            raise ExecutionError(f"{batch.prefix(i)}Key: {key}, Index: {i}.  Number of "
                                 f"{_TYPE_NAME[_KIND_OF[dtype.name]]} values != expected.  Values size: {len(v)} "
                                 f"but output shape: [{','.join(map(str, shape))}]")
        per_example.append(_array(v, dtype))
    if variable:
        rows = max([len(v) // stride for v in per_example if v is not None] + [0]) if stride else 0
        example_shape = (rows,) + inner
        pad = default.reshape(-1)[0]
    else:
        example_shape = shape
    out = np.empty((len(per_example),) + example_shape, dtype=dtype.np)
    flat = out.reshape(len(per_example), int(np.prod(example_shape, dtype=np.int64)))
    for i, v in enumerate(per_example):
        if variable:
            flat[i, :] = pad
            if v is not None:
                flat[i, :v.size] = v
        else:
            flat[i] = (default if v is None else v).reshape(-1)
    return out[0] if batch.scalar else out


def _parse_ragged(batch: _Batch, key: str, dtype: dtypes.DType, split_dtype: dtypes.DType):
    vals: list = []
    splits = [0]
    for i in range(len(batch.features)):
        vals.extend(batch.values(i, key, dtype, True) or [])
        splits.append(len(vals))
    out_splits = np.zeros(0, dtype=split_dtype.np) if batch.scalar else np.array(splits, dtype=split_dtype.np)
    return _array(vals, dtype), out_splits


def _parse(serialized, names, sparse_keys, sparse_types, dense_keys, dense_types, dense_shapes,
           dense_defaults, ragged_keys=(), ragged_value_types=(), ragged_split_types=()):
    _check_types(list(sparse_types) + list(dense_types) + list(ragged_value_types), "ParseExample")
    if len(dense_shapes) != len(dense_keys) or len(dense_defaults) != len(dense_keys):
        raise ExecutionError(f"ParseExample: {len(dense_keys)} dense keys but {len(dense_shapes)} dense_shapes "
                             f"and {len(dense_defaults)} dense_defaults")
    if len(sparse_types) != len(sparse_keys) or len(ragged_value_types) != len(ragged_keys):
        raise ExecutionError("ParseExample: the number of keys does not match the number of types")
    batch = _Batch(serialized, names)
    sparse = [_parse_sparse(batch, _key(k), t) for k, t in zip(sparse_keys, sparse_types)]
    dense = [_parse_dense(batch, _key(k), t, s, d, i)
             for i, (k, t, s, d) in enumerate(zip(dense_keys, dense_types, dense_shapes, dense_defaults))]
    ragged = [_parse_ragged(batch, _key(k), t, st)
              for k, t, st in zip(ragged_keys, ragged_value_types, ragged_split_types)]
    return ([s[0] for s in sparse] + [s[1] for s in sparse] + [s[2] for s in sparse] + dense
            + [r[0] for r in ragged] + [r[1] for r in ragged])


def _types(defaults: list, declared) -> list:
    if declared:
        return list(declared)
    return [dtypes.from_numpy(np.asarray(d).dtype) for d in defaults]


@op("ParseExampleV2", inputs=["serialized", "names", "sparse_keys", "dense_keys", "ragged_keys", "*dense_defaults"],
    attrs={"Tdense": [], "num_sparse": REQUIRED, "sparse_types": [], "ragged_value_types": [],
           "ragged_split_types": [], "dense_shapes": []})
def parse_example_v2(serialized, names, sparse_keys, dense_keys, ragged_keys, dense_defaults, *, Tdense,
                     num_sparse, sparse_types, ragged_value_types, ragged_split_types, dense_shapes):
    sparse_k = _as_list(sparse_keys)
    if len(sparse_k) != num_sparse:
        raise ExecutionError(f"Expected len(sparse_keys) == num_sparse: {len(sparse_k)} vs. {num_sparse}")
    ragged_k = _as_list(ragged_keys)
    if len(ragged_split_types) != len(ragged_k):
        raise ExecutionError("ParseExampleV2: ragged_split_types must match ragged_keys")
    return _parse(serialized, _as_list(names), sparse_k, sparse_types, _as_list(dense_keys),
                  _types(dense_defaults, Tdense), dense_shapes, dense_defaults, ragged_k, ragged_value_types,
                  ragged_split_types)


@op("ParseExample", inputs=["serialized", "names", "*sparse_keys:Nsparse", "*dense_keys:Ndense", "*dense_defaults"],
    attrs={"Nsparse": REQUIRED, "Ndense": REQUIRED, "sparse_types": [], "Tdense": [], "dense_shapes": []})
def parse_example(serialized, names, sparse_keys, dense_keys, dense_defaults, *, Nsparse, Ndense, sparse_types,
                  Tdense, dense_shapes):
    if np.asarray(serialized).ndim != 1:
        raise ExecutionError(f"Expected serialized to be a vector, got shape: {list(np.asarray(serialized).shape)}")
    return _parse(serialized, _as_list(names), [_as_list(k)[0] for k in sparse_keys], sparse_types,
                  [_as_list(k)[0] for k in dense_keys], _types(dense_defaults, Tdense), dense_shapes, dense_defaults)


@op("ParseSingleExample", inputs=["serialized", "*dense_defaults"],
    attrs={"num_sparse": REQUIRED, "sparse_keys": [], "dense_keys": [], "sparse_types": [], "Tdense": [],
           "dense_shapes": []})
def parse_single_example(serialized, dense_defaults, *, num_sparse, sparse_keys, dense_keys, sparse_types, Tdense,
                         dense_shapes):
    if np.asarray(serialized).ndim != 0:
        raise ExecutionError(f"Expected serialized to be a scalar, got shape: {list(np.asarray(serialized).shape)}")
    if len(sparse_keys) != num_sparse:
        raise ExecutionError(f"Expected len(sparse_keys) == num_sparse: {len(sparse_keys)} vs. {num_sparse}")
    return _parse(serialized, [], list(sparse_keys), sparse_types, list(dense_keys), _types(dense_defaults, Tdense),
                  dense_shapes, dense_defaults)


# ---------------------------------------------------------------- raw bytes

_RAW_TYPES = {"float16", "float32", "float64", "int32", "uint16", "uint8", "int16", "int8", "int64", "complex64",
              "complex128", "bool", "bfloat16"}


def _decode_raw_items(items: np.ndarray, out_type: dtypes.DType, little_endian: bool, fixed: int | None):
    if out_type.name not in _RAW_TYPES:
        raise ExecutionError(f"DecodeRaw: unsupported out_type {out_type.name}")
    storage = np.dtype(np.uint16) if out_type.name == "bfloat16" else out_type.np
    size = storage.itemsize
    wire = storage.newbyteorder("<" if little_endian else ">")
    flat = [v if isinstance(v, bytes) else bytes(v) for v in items.reshape(-1)]
    if fixed is None:
        length = len(flat[0]) if flat else 0
        for i, v in enumerate(flat):
            if len(v) != length:
                raise ExecutionError(f"DecodeRaw requires input strings to all be the same size, but element {i} "
                                     f"has size {len(v)} != {length}")
        if length % size:
            raise ExecutionError(f"Input to DecodeRaw has length {length} that is not a multiple of {size}, "
                                 f"the size of {out_type.name}")
    else:
        length = fixed
        flat = [v[:length].ljust(length, b"\0") for v in flat]
    count = length // size
    data = np.frombuffer(b"".join(flat), dtype=wire).astype(storage) if flat else np.zeros(0, storage)
    if out_type.name == "bfloat16":
        data = dtypes.bfloat16_from_bits(data)
    return data.reshape(items.shape + (count,))


@op("DecodeRaw", inputs=["bytes"], attrs={"out_type": REQUIRED, "little_endian": True})
def decode_raw(bytes, *, out_type, little_endian):  # noqa: A002 - TF's input name
    return _decode_raw_items(np.asarray(bytes), out_type, little_endian, None)


@op("DecodePaddedRaw", inputs=["input_bytes", "fixed_length"], attrs={"out_type": REQUIRED, "little_endian": True})
def decode_padded_raw(input_bytes, fixed_length, *, out_type, little_endian):
    length = int(np.asarray(fixed_length).reshape(()))
    size = 2 if out_type.name == "bfloat16" else out_type.np.itemsize
    if length < 0 or length % size:
        raise ExecutionError(f"fixed_length ({length}) must be a non-negative multiple of the size of "
                             f"out_type ({size})")
    return _decode_raw_items(np.asarray(input_bytes), out_type, little_endian, length)


# ---------------------------------------------------------------- CSV

def _split_csv(record: bytes, delim: bytes, quoted: bool, index: int) -> list[tuple[bytes, bool]]:
    """Fields of one record as (text, was_quoted)."""
    fields: list[tuple[bytes, bool]] = []
    i, n = 0, len(record)
    while n:
        if quoted and i < n and record[i:i + 1] == b'"':
            buf = bytearray()
            i += 1
            while True:
                if i >= n:
                    raise ExecutionError(f"Quoted field has to end with quote followed by delim or end, "
                                         f"record {index}: {record!r}")
                c = record[i:i + 1]
                if c == b'"':
                    if record[i + 1:i + 2] == b'"':
                        buf += b'"'
                        i += 2
                        continue
                    i += 1
                    break
                buf += c
                i += 1
            if i < n and record[i:i + 1] != delim:
                raise ExecutionError(f"Quote inside a string has to be escaped by another quote, record {index}: "
                                     f"{record!r}")
            fields.append((bytes(buf), True))
        else:
            end = record.find(delim, i)
            end = n if end < 0 else end
            text = record[i:end]
            if quoted and b'"' in text:
                raise ExecutionError(f"Unquoted fields cannot have quotes inside, record {index}: {record!r}")
            fields.append((text, False))
            i = end
        if i >= n:
            return fields
        i += 1   # skip the delimiter
        if i == n:
            fields.append((b"", False))
            return fields
    return fields


def _csv_value(text: bytes, quoted: bool, default: np.ndarray, dtype: np.dtype, na: bytes, field: int, record: int):
    if (not text and not quoted) or text == na:
        if default.size == 0:
            raise ExecutionError(f"Field {field} is required but missing in record {record}!")
        return default.reshape(-1)[0]
    if dtype == object:
        return text
    value = parse_number(text, dtype)
    if value is None:
        name = dtypes.from_numpy(dtype).name.replace("float32", "float").replace("float64", "double")
        raise ExecutionError(f"Field {field} in record {record} is not a valid {name}: "
                             f"{text.decode('utf-8', 'replace')}")
    return value


@op("DecodeCSV", inputs=["records", "*record_defaults"],
    attrs={"OUT_TYPE": [], "field_delim": ",", "use_quote_delim": True, "na_value": "", "select_cols": []})
def decode_csv(records, record_defaults, *, OUT_TYPE, field_delim, use_quote_delim, na_value, select_cols):
    recs = np.asarray(records)
    delim = field_delim.encode("utf-8", "surrogateescape")
    if len(delim) != 1:
        raise ExecutionError("field_delim should be only 1 char")
    na = na_value.encode("utf-8", "surrogateescape")
    defaults = [np.asarray(d) for d in record_defaults]
    types = [d.dtype for d in defaults]
    for i, d in enumerate(defaults):
        if d.size > 1:
            raise ExecutionError(f"record_defaults[{i}] must be a single value or empty")
    ncols = len(defaults)
    if select_cols and len(select_cols) != ncols:
        raise ExecutionError("Length of select_cols and record_defaults do not match.")
    columns = [np.empty(recs.size, dtype=t) for t in types]
    for r, rec in enumerate(recs.reshape(-1)):
        fields = _split_csv(rec if isinstance(rec, bytes) else bytes(rec), delim, use_quote_delim, r)
        if select_cols:
            if max(select_cols) >= len(fields):
                raise ExecutionError(f"Expect {max(select_cols) + 1} fields but have {len(fields)} in record {r}")
            fields = [fields[c] for c in select_cols]
        elif len(fields) != ncols:
            raise ExecutionError(f"Expect {ncols} fields but have {len(fields)} in record {r}")
        for c, (text, quoted) in enumerate(fields):
            columns[c][r] = _csv_value(text, quoted, defaults[c], types[c], na, c, r)
    return [col.reshape(recs.shape) for col in columns]


# ---------------------------------------------------------------- tensor serialization

def _tf_type_name(dt: dtypes.DType) -> str:
    """TensorFlow's DataTypeString: float, double, half, int32, string, ..."""
    return dtypes.ENUM_NAMES.get(dt.enum, dt.name).removeprefix("DT_").lower()


@op("SerializeTensor", inputs=["tensor"], attrs={"T": None})
def serialize_tensor(tensor, *, T):
    a = np.asarray(tensor)
    proto = tensors.from_numpy(a, T if T is not None and T.name != "variant" else None)
    out = np.empty((), dtype=object)
    out[()] = proto.SerializeToString()
    return out


@op("ParseTensor", inputs=["serialized"], attrs={"out_type": REQUIRED})
def parse_tensor(serialized, *, out_type):
    a = np.asarray(serialized)
    if a.shape != ():
        raise ExecutionError(f"ParseTensor: serialized must be a scalar, got shape {list(a.shape)}")
    proto = types_pb2.TensorProto()
    try:
        proto.ParseFromString(a[()])
    except (DecodeError, RuntimeError, ValueError):
        raise ExecutionError("Could not parse `serialized` as TensorProto") from None
    try:
        value = tensors.to_numpy(proto, "ParseTensor")
    except FormatError as e:
        raise ExecutionError(str(e)) from None
    parsed = dtypes.from_enum(proto.dtype)
    if parsed.name != out_type.name:
        raise ExecutionError(f"Type mismatch between parsed tensor ({_tf_type_name(parsed)}) and dtype "
                             f"({_tf_type_name(out_type)})")
    return value
