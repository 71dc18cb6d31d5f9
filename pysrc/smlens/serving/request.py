"""TF Serving REST request bodies -> signature feeds.

predict:  {"signature_name": s, "instances": [...]}   row format: one item per batch row; an item is the
          value of the only input, or an object {input: value} naming every input
          {"signature_name": s, "inputs": value | {input: value}}   columnar format
classify / regress: {"signature_name": s, "context": {...}, "examples": [{feature: value | [values]}, ...]}
          -> one serialized tf.Example per item (context merged in), fed to the signature's one input.

The JSON -> tensor rules and the error texts follow tensorflow_serving/util/json_tensor.cc: float and
double take any JSON number that converts without loss (NaN/Infinity too); int8/16/32, uint8, int64, uint32,
uint64 take JSON integers; bool takes true/false; string takes a JSON string (UTF-8) or {"b64": "..."};
other dtypes are refused. Feature values: a decimal number -> float_list, a whole number or a boolean ->
int64_list, a string or {"b64": ...} -> bytes_list.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, NotFoundError
from ..proto import example_pb2
from . import jsonio
from .jsonio import compact, json_type

DEFAULT_SIGNATURE = "serving_default"
METHODS = {"tensorflow/serving/predict": "predict", "tensorflow/serving/classify": "classify",
           "tensorflow/serving/regress": "regress"}

_INT_RANGES = {"int8": (-(1 << 7), (1 << 7) - 1), "uint8": (0, 255), "int16": (-(1 << 15), (1 << 15) - 1),
               "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
               "uint32": (0, (1 << 32) - 1), "uint64": (0, (1 << 64) - 1)}
_FLOAT_LIMITS = {"float32": ((1 << 24) - 1, float(np.finfo(np.float32).max)),
                 "float64": ((1 << 53) - 1, float(np.finfo(np.float64).max))}


@dataclass
class ServingRequest:
    """A parsed request: which signature, how it was written, and the feeds it makes."""
    method: str                     # predict | classify | regress
    format: str                     # row | columnar | examples
    signature_name: str             # the key used ("serving_default" when the body names none)
    signature: Any                  # smlens.model.Signature
    feeds: dict[str, np.ndarray]
    body: dict = field(default_factory=dict)
    num_examples: int = 0           # classify / regress: the batch the results must have


def tf_type_name(dtype) -> str:
    """TensorFlow's DataTypeString (float, double, int32, string, half, ...)."""
    from ..dtypes import ENUM_NAMES
    return ENUM_NAMES.get(dtype.enum, "invalid")[3:].lower() if dtype is not None else "invalid"


def parse_request(body: str | bytes | dict, meta_graph, method: str | None = None) -> ServingRequest:
    """Parse a REST body for `meta_graph`. `method` (predict/classify/regress) is the URL's verb; None picks
    it from the body ("examples" -> the signature's classify/regress method, else predict)."""
    doc = jsonio.loads(body) if not isinstance(body, dict) else body
    if isinstance(body, dict):
        jsonio.check_depth(doc)
    name = doc.get("signature_name", DEFAULT_SIGNATURE)
    if not isinstance(name, str):
        raise InputError(f"JSON Value: {compact(doc)} not formatted correctly. 'signature_name' key must be a "
                         "string value.")
    name = name or DEFAULT_SIGNATURE
    sig = meta_graph.signatures.get(name)
    if sig is None:
        raise NotFoundError(f'Serving signature name: "{name}" not found in signature def')
    if method is None:
        method = _method_for(doc, sig)
    if method == "predict":
        return _predict(doc, name, sig)
    if method in ("classify", "regress"):
        return examples_request(doc, name, sig, method)
    raise InputError(f"unknown method {method!r} (expected predict, classify or regress)")


def _method_for(doc: dict, sig) -> str:
    if "examples" not in doc or "instances" in doc or "inputs" in doc:
        return "predict"
    kind = METHODS.get(sig.method_name)
    if kind in ("classify", "regress"):
        return kind
    raise InputError(f"a body with 'examples' is a classify or regress request, but signature {sig.key!r} has "
                     f"method_name {sig.method_name!r}: name a tensorflow/serving/classify or "
                     "tensorflow/serving/regress signature in 'signature_name'")


# ------------------------------------------------------------------------------------------ predict

def _predict(doc: dict, name: str, sig) -> ServingRequest:
    infos = sig.inputs
    if not infos:
        raise InputError(f"Failed to get input map for signature: {name}")
    has_rows, has_cols = "instances" in doc, "inputs" in doc
    if has_rows and has_cols:
        raise InputError(f"JSON Value: {compact(doc)} Not formatted correctly expecting only one of 'inputs' or "
                         "'instances' keys to exist ")
    if has_rows:
        rows = doc["instances"]
        if not isinstance(rows, list):
            raise InputError(f"JSON Value: {compact(doc)} Excepting 'instances' to be an list/array")
        if not rows:
            raise InputError(f"JSON Value: {compact(doc)} No values in 'instances' array")
        return ServingRequest("predict", "row", name, sig, _from_instances(rows, infos), doc)
    if has_cols:
        return ServingRequest("predict", "columnar", name, sig, _from_inputs(doc["inputs"], infos), doc)
    raise InputError("Missing 'inputs' or 'instances' key")


def _is_named(v: Any) -> bool:
    return isinstance(v, dict) and not jsonio.is_b64_object(v)


def _from_instances(rows: list, infos: dict) -> dict[str, np.ndarray]:
    named = _is_named(rows[0])
    if not named and len(infos) > 1:
        raise InputError("instances is a plain list, but expecting list of objects as multiple input tensors "
                         "required as per tensorinfo_map")
    parts: dict[str, list] = {}
    shapes: dict[str, tuple] = {}
    for i, item in enumerate(rows):
        if named:
            if not _is_named(item):
                raise InputError(f"Expecting object but got list at item {i} of input list")
            for key, value in item.items():
                try:
                    _add_instance(key, value, infos, parts, shapes)
                except InputError as e:
                    raise InputError(f"Failed to process element: {i} key: {key} of 'instances' list. "
                                     f"Error: {e}") from None
            if set(item) != set(infos):
                raise InputError(f"Failed to process element: {i} of 'instances' list. JSON object: "
                                 f"{compact(item)} keys must be equal to: {','.join(sorted(infos))}")
        else:
            if _is_named(item):
                raise InputError(f"Expecting value/list but got object at item {i} of input list")
            try:
                _add_instance(next(iter(infos)), item, infos, parts, shapes)
            except InputError as e:
                raise InputError(f"Failed to process element: {i} of 'instances' list. Error: {e}") from None
    return {k: _stack(v) for k, v in parts.items()}


def _add_instance(key: str, value: Any, infos: dict, parts: dict, shapes: dict) -> None:
    if key not in infos:
        raise InputError(f"JSON object: does not have named input: {key}")
    arr = tensor_from_json(value, infos[key].dtype)
    if key in shapes and shapes[key] != arr.shape:
        if int(np.prod(shapes[key])) != arr.size:
            raise InputError(f"Expecting tensor size: {int(np.prod(shapes[key]))} but got: {arr.size}")
        raise InputError(f"Expecting shape {_shape_text(shapes[key])} but got: {_shape_text(arr.shape)}")
    shapes.setdefault(key, arr.shape)
    parts.setdefault(key, []).append(arr)


def _stack(arrays: list[np.ndarray]) -> np.ndarray:
    return np.stack(arrays)  # object arrays of bytes stay object arrays of bytes


def _shape_text(shape: tuple) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _from_inputs(value: Any, infos: dict) -> dict[str, np.ndarray]:
    if not _is_named(value):
        if len(infos) > 1:
            raise InputError("inputs is a plain value/list, but expecting an object as multiple input tensors "
                             "required as per tensorinfo_map")
        key = next(iter(infos))
        return {key: tensor_from_json(value, infos[key].dtype)}
    out = {}
    for key, info in infos.items():
        if key not in value:
            raise InputError(f"Missing named input: {key} in 'inputs' object.")
        out[key] = tensor_from_json(value[key], info.dtype)
    return out


# ------------------------------------------------------------------------------------------ JSON -> tensor

def dense_shape(value: Any) -> tuple[int, ...]:
    """The shape a nested list implies, following first elements (GetDenseTensorShape)."""
    dims = []
    while isinstance(value, list):
        dims.append(len(value))
        if not value:
            break
        value = value[0]
    return tuple(dims)


def tensor_from_json(value: Any, dtype) -> np.ndarray:
    """A (nested) JSON value as an array of `dtype` (a smlens DType), checked level by level."""
    shape = dense_shape(value)
    fast = _fast_tensor(value, dtype, shape)
    if fast is not None:
        return fast
    flat: list = []
    _fill(value, 0, shape, dtype, flat)
    name = dtype.name if dtype is not None else ""
    if name == "string":
        arr = np.empty(len(flat), dtype=object)
        arr[:] = flat
        return arr.reshape(shape)
    return np.array(flat, dtype=dtype.np).reshape(shape)


def _fast_tensor(value: Any, dtype, shape: tuple) -> np.ndarray | None:
    """The common case in C loops: a rectangular nest of one kind of JSON leaf that converts without loss.
    None when anything is unusual; the element-wise path then converts it or words the error."""
    name = dtype.name if dtype is not None else ""
    try:
        obj = np.array(value, dtype=object)
    except (ValueError, TypeError):
        return None
    if obj.shape != shape:
        return None
    flat = obj.reshape(-1)
    kinds = set(map(type, flat))
    try:
        if name == "string" and kinds <= {str}:
            out = np.empty(flat.size, dtype=object)
            out[:] = [s.encode("utf-8", "surrogatepass") for s in flat]
            return out.reshape(shape)
        if name == "bool" and kinds <= {bool}:
            return flat.astype(bool).reshape(shape)
        if name in _INT_RANGES and kinds <= {int} and name != "uint64":
            ints = flat.astype(np.int64)
            lo, hi = _INT_RANGES[name]
            if ints.size and (ints.min() < lo or ints.max() > hi):
                return None
            return ints.astype(dtype.np).reshape(shape)
        if name in _FLOAT_LIMITS and kinds <= {float, int}:
            floats = flat.astype(np.float64)
            max_int, max_float = _FLOAT_LIMITS[name]
            if int in kinds:
                is_int = np.fromiter((type(v) is int for v in flat), bool, flat.size)
                if np.any(np.abs(floats[is_int]) > max_int):
                    return None
            finite = floats[np.isfinite(floats)]
            if finite.size and np.abs(finite).max() > max_float:
                return None
            with np.errstate(over="ignore"):
                return floats.astype(dtype.np).reshape(shape)
    except (OverflowError, ValueError, TypeError):
        return None
    return None


def _fill(value: Any, level: int, shape: tuple, dtype, out: list) -> None:
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise InputError(f"JSON Value: {compact(value)} found at incorrect level: {level + 1} in the JSON DOM. "
                             f"Expected at level: {rank}")
        out.append(scalar_from_json(value, dtype))
        return
    if level >= rank:
        raise InputError(f"Encountered list at unexpected level: {level} expected < {rank}")
    if len(value) != shape[level]:
        raise InputError(f"Encountered list at unexpected size: {len(value)} at level: {level} expected size: "
                         f"{shape[level]}")
    for v in value:
        _fill(v, level + 1, shape, dtype, out)


def _type_error(value: Any, dtype) -> InputError:
    return InputError(f"JSON Value: {compact(value)} Type: {json_type(value)} is not of expected type: "
                      f"{tf_type_name(dtype)}")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def scalar_from_json(value: Any, dtype) -> Any:
    """One JSON leaf as a value of `dtype` (AddValueToTensor)."""
    name = dtype.name if dtype is not None else ""
    if name == "string":
        if isinstance(value, dict):
            return jsonio.decode_b64(value)
        if not isinstance(value, str):
            raise _type_error(value, dtype)
        return value.encode("utf-8", "surrogatepass")
    if isinstance(value, dict):
        raise _type_error(value, dtype)
    if name in _FLOAT_LIMITS:
        if not _is_number(value):
            raise _type_error(value, dtype)
        if not _lossless(value, name):
            raise InputError(f"Cannot convert JSON value: {compact(value)} to {tf_type_name(dtype)} without loss "
                             "of precision.")
        return float(value)
    if name in _INT_RANGES:
        lo, hi = _INT_RANGES[name]
        if not isinstance(value, int) or isinstance(value, bool):
            raise _type_error(value, dtype)
        kind = {"int8": "int32", "int16": "int32", "uint8": "int32"}.get(name, name)
        klo, khi = _INT_RANGES[kind]
        if not klo <= value <= khi:  # rapidjson's IsInt/IsInt64/IsUint/IsUint64 fail: a type error
            raise _type_error(value, dtype)
        if not lo <= value <= hi:
            raise InputError(f"JSON Value: {value} is out of range for {tf_type_name(dtype)}")
        return value
    if name == "bool":
        if not isinstance(value, bool):
            raise _type_error(value, dtype)
        return value
    raise InputError(f"Conversion of JSON Value: {compact(value)} to type: {tf_type_name(dtype)} is not supported "
                     "by TF Serving's JSON API (use the gRPC API or another input mode)")


def _lossless(value: int | float, name: str) -> bool:
    """IsLosslessDecimal: integers up to the mantissa's range, finite decimals within the type's range."""
    max_int, max_float = _FLOAT_LIMITS[name]
    if isinstance(value, int) and abs(value) < (1 << 64):
        return abs(value) <= max_int
    try:
        v = float(value)  # an integer beyond 64 bits: rapidjson holds it as a double
    except OverflowError:
        return False
    if v != v or v in (float("inf"), float("-inf")):
        return True
    return -max_float <= v <= max_float


# ------------------------------------------------------------------------------------------ classify / regress

def examples_input(sig, method: str) -> str:
    """The key of a classify/regress signature's one string input (TF Serving's checks)."""
    want = {"classify": "tensorflow/serving/classify", "regress": "tensorflow/serving/regress"}[method]
    if sig.method_name != want:
        what = "classification" if method == "classify" else "regression"
        raise InputError(f"Expected {what} signature method_name to be {want}. Was: {sig.method_name}")
    if len(sig.inputs) != 1:
        raise InputError("Expected one input Tensor.")
    key, info = next(iter(sig.inputs.items()))
    if info.dtype is None or info.dtype.name != "string":
        raise InputError(f"input {key!r} of signature {sig.key!r} is {tf_type_name(info.dtype)}, not a string of "
                         "serialized tf.Examples")
    return key


def string_vector(items: list[bytes]) -> np.ndarray:
    arr = np.empty(len(items), dtype=object)
    arr[:] = items
    return arr


def examples_request(doc: dict, name: str, sig, method: str) -> ServingRequest:
    key = examples_input(sig, method)
    serialized = examples_from_body(doc, method)
    return ServingRequest(method, "examples", name, sig, {key: string_vector(serialized)}, doc, len(serialized))


def examples_from_body(doc: dict, method: str = "classify") -> list[bytes]:
    """Serialized tf.Examples of a classify/regress body; a "context" example is merged into each
    (its serialization first, so an example's own feature of the same name wins, as proto merging does)."""
    context = b""
    if "context" in doc:
        context = example_from_json(doc["context"]).SerializeToString()
    if "examples" not in doc:
        raise InputError(f"JSON Value: {compact(doc)} When method is {method}, key 'examples' is expected and was "
                         "not found")
    items = doc["examples"]
    if not isinstance(items, list):
        raise InputError(f"JSON Value: {compact(doc)} Expecting 'examples' value to be an list/array")
    if not items:
        raise InputError(f"JSON Value: {compact(doc)} 'examples' value is an empty array")
    return [context + example_from_json(item).SerializeToString() for item in items]


def example_from_json(obj: Any) -> example_pb2.Example:
    if not isinstance(obj, dict):
        raise InputError(f"Example must be JSON object but got JSON {json_type(obj)}")
    ex = example_pb2.Example()
    for name, content in obj.items():
        feature = example_pb2.Feature()
        for v in content if isinstance(content, list) else [content]:
            _add_feature_value(v, name, feature)
        ex.features.feature[name].CopyFrom(feature)
    return ex


def _feature_kind_error(name: str, feature: example_pb2.Feature) -> InputError:
    kind = {"bytes_list": "bytes", "float_list": "float", "int64_list": "int64"}.get(feature.WhichOneof("kind"),
                                                                                   "UNKNOWN")
    return InputError(f"Unexpected element type in feature: {name} expecting type: {kind}")


def _add_feature_value(v: Any, name: str, feature: example_pb2.Feature) -> None:
    def require(kind: str) -> None:
        have = feature.WhichOneof("kind")
        if have is not None and have != kind:
            raise _feature_kind_error(name, feature)

    if v is None or isinstance(v, list) or (isinstance(v, dict) and not jsonio.is_b64_object(v)):
        raise InputError(f"Feature: {name} has element with unexpected JSON type: {json_type(v)}")
    if isinstance(v, bool):
        require("int64_list")
        feature.int64_list.value.append(int(v))
    elif isinstance(v, dict):
        require("bytes_list")
        feature.bytes_list.value.append(jsonio.decode_b64(v))
    elif isinstance(v, str):
        require("bytes_list")
        feature.bytes_list.value.append(v.encode("utf-8", "surrogatepass"))
    elif isinstance(v, float) or (isinstance(v, int) and v >= (1 << 64)) or (isinstance(v, int) and v < -(1 << 63)):
        require("float_list")
        if not _lossless(float(v) if isinstance(v, float) else v, "float32"):
            raise InputError(f"Cannot convert JSON value: {compact(v)} to float without loss of precision.")
        feature.float_list.value.append(float(v))
    else:
        require("int64_list")
        if v > (1 << 63) - 1:
            raise InputError(f"Feature: {name} has uint64 element. Only int64 is supported.")
        feature.int64_list.value.append(v)
