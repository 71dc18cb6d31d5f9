"""The ops TensorFlow 2.21 registers, with their OpDefs: data generated from TF's op registry by
scripts/make_op_table.py into data/tf_ops.json.gz.

Format (compact JSON, gzip): {"tensorflow": version, "ops": {name: {"i": [arg], "o": [arg], "a": [attr],
"s": 1 if stateful, "d": one-line summary}}}. An arg is "name:T" with T a dtype name, "$attr" (type attr),
"N*T" (N tensors, N an int attr) or "@attr" (a list(type) attr); a leading "&" marks a reference arg. An
attr is {"n": name, "t": type ("int", "list(type)", ...), "d": default, "v": allowed values, "m": minimum},
values decoded like `registry.decode_attr` (dtypes by name, shapes as lists, None = unknown rank).

Used by `show` (which library ops TF would reject), the graph view (default attrs, summaries) and the
kernel declaration test.
"""
from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from . import dtypes

_NO_DEFAULT: Any = object()


@dataclass(frozen=True)
class AttrDef:
    name: str
    type: str
    default: Any = _NO_DEFAULT
    allowed: tuple | None = None
    minimum: int | None = None

    @property
    def has_default(self) -> bool:
        return self.default is not _NO_DEFAULT


@dataclass(frozen=True)
class OpDef:
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, AttrDef]
    stateful: bool
    summary: str


@lru_cache(maxsize=1)
def _raw() -> dict:
    data = resources.files("smlens").joinpath("data/tf_ops.json.gz").read_bytes()
    return json.loads(gzip.decompress(data))


def tensorflow_version() -> str:
    return _raw()["tensorflow"]


def names() -> frozenset[str]:
    return frozenset(_raw()["ops"])


def _float(x):
    return float(x) if isinstance(x, str) else x  # "inf", "-inf", "NaN"


@lru_cache(maxsize=None)
def get(name: str) -> OpDef | None:
    """TensorFlow's OpDef of `name`, or None when TF registers no such op."""
    rec = _raw()["ops"].get(name)
    if rec is None:
        return None
    attrs = {}
    for a in rec.get("a", []):
        default = a.get("d", _NO_DEFAULT)
        if a["t"] in ("float", "list(float)") and default is not _NO_DEFAULT:
            default = [_float(x) for x in default] if isinstance(default, list) else _float(default)
        attrs[a["n"]] = AttrDef(a["n"], a["t"], default, tuple(a["v"]) if "v" in a else None, a.get("m"))
    return OpDef(name, tuple(rec["i"]), tuple(rec["o"]), attrs, bool(rec.get("s")), rec.get("d", ""))


# ------------------------------------------------------------------ attr values

def _kind_ok(value, base: str) -> bool:
    if base == "type":
        return isinstance(value, dtypes.DType)
    if base == "string":
        return isinstance(value, str)
    if base == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if base == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if base == "bool":
        return isinstance(value, bool)
    if base == "shape":
        return value is None or isinstance(value, tuple)
    if base == "func":
        return type(value).__name__ == "FuncAttr"
    if base == "tensor":
        return hasattr(value, "dtype") and hasattr(value, "shape")
    return True


def attr_type_error(attr: AttrDef, value) -> str | None:
    """Why a decoded attr value does not fit its declared type (None: it fits). An empty list fits any list
    type (a proto list without elements decodes to [])."""
    if attr.type.startswith("list("):
        if not isinstance(value, list):
            return f"expected a {attr.type}, got {_describe(value)}"
        base = attr.type[5:-1]
        bad = next((v for v in value if not _kind_ok(v, base)), _NO_DEFAULT)
        return None if bad is _NO_DEFAULT else f"expected a {attr.type}, got a list with {_describe(bad)}"
    if value is None and attr.type != "shape":
        return f"expected a {attr.type}, got an empty AttrValue"
    return None if _kind_ok(value, attr.type) else f"expected a {attr.type}, got {_describe(value)}"


def _describe(value) -> str:
    if isinstance(value, dtypes.DType):
        return f"type {value.name}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"bool {value}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (int, float)):
        return f"{type(value).__name__} {value}"
    if isinstance(value, tuple) or value is None:
        return "a shape"
    return type(value).__name__


def _same(a, b) -> bool:
    """Equal decoded attr values: dtypes by name, lists element-wise, NaN equal to NaN, and no bool/number mixing
    (False is not the default 0)."""
    if isinstance(a, dtypes.DType) or isinstance(b, dtypes.DType):
        return getattr(a, "name", a) == getattr(b, "name", b)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b and (isinstance(a, (int, float)) == isinstance(b, (int, float)))


def is_default(op_def: OpDef, name: str, value) -> bool:
    """Whether a decoded attr value equals the OpDef's default (the graph view hides those)."""
    attr = op_def.attrs.get(name)
    if attr is None or not attr.has_default:
        return False
    return _same(value, attr.default)


# ------------------------------------------------------------------ node validation (TF's ValidateNodeDef)

def validate_node(op_def: OpDef, attrs: dict, present: set[str] | frozenset = frozenset()) -> str | None:
    """Why TensorFlow's graph import would reject a node of this op with these decoded attrs (None: it would
    not): a required attr missing, a value of the wrong type, outside the allowed values or under the minimum.
    Attrs the OpDef does not define pass (the importer ignores them); `present` names attrs that are set
    but not decoded (function attr placeholders)."""
    for name, value in attrs.items():
        attr = op_def.attrs.get(name)
        if attr is None:
            continue
        err = attr_type_error(attr, value)
        if err:
            return f"attr {name!r}: {err}"
        err = _allowed_error(attr, value)
        if err:
            return f"attr {name!r}: {err}"
    for name, attr in op_def.attrs.items():
        if name not in attrs and name not in present and not attr.has_default:
            return f"missing required attr {name!r}"
    return None


def _allowed_error(attr: AttrDef, value) -> str | None:
    items = value if isinstance(value, list) else [value]
    if attr.allowed is not None and attr.type in ("type", "list(type)", "string", "list(string)"):
        allowed = set(attr.allowed)
        for v in items:
            key = v.name if isinstance(v, dtypes.DType) else v
            if key not in allowed:
                return f"value {key!r} is not one of {sorted(allowed)}"
    if attr.minimum is not None:
        n = len(value) if isinstance(value, list) else value
        if isinstance(n, int) and n < attr.minimum:
            return f"value {n} is less than the minimum {attr.minimum}"
    return None
