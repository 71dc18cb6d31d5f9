"""Checking and converting user inputs against a signature's TensorSpecs."""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes
from ..errors import InputError


def describe(spec) -> str:
    dt = spec.dtype.name if spec.dtype else "?"
    return f"{spec.key} ({dt}, {shape_text(spec.shape)})"


def shape_text(shape) -> str:
    if shape is None:
        return "unknown rank"
    return "[" + ", ".join("?" if d < 0 else str(d) for d in shape) + "]"


def expected(specs: dict) -> str:
    return "; ".join(describe(s) for s in specs.values()) or "no inputs"


def _as_array(key: str, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, (np.generic, bytes, str, bool, int, float, complex)):
        return np.asarray(value)
    try:
        arr = np.asarray(value)
    except ValueError:
        raise InputError(f"input {key!r}: nested lists are not rectangular") from None
    if arr.dtype == object and arr.size and any(isinstance(x, (list, tuple, np.ndarray)) for x in arr.reshape(-1)):
        raise InputError(f"input {key!r}: nested lists are not rectangular")
    return arr


def _to_string(key: str, arr: np.ndarray) -> np.ndarray:
    if arr.dtype.kind in "SU" or arr.dtype == object:
        out = np.empty(arr.shape, dtype=object)
        flat = out.reshape(-1)
        for i, x in enumerate(arr.reshape(-1)):
            if isinstance(x, (bytes, np.bytes_)):
                flat[i] = bytes(x)
            elif isinstance(x, (str, np.str_)):
                flat[i] = str(x).encode("utf-8")
            else:
                raise InputError(f"input {key!r} is a string input; got a {type(x).__name__} element")
        return out
    if arr.size == 0:
        return np.empty(arr.shape, dtype=object)
    raise InputError(f"input {key!r} is a string input; got {arr.dtype} values")


def convert(key: str, value: Any, spec) -> np.ndarray:
    """The value as an array of the spec's dtype (its placeholder's, where they disagree: TF feeds by tensor
    name) with a compatible shape, or InputError."""
    out = to_dtype(key, value, getattr(spec, "feed_dtype", None) or spec.dtype)
    _check_shape(key, out, spec)
    return out


def to_dtype(key: str, value: Any, dt: dtypes.DType | None) -> np.ndarray:
    """The value as an array of dtype `dt` (as it is for None, resource and variant), or InputError."""
    arr = _as_array(key, value)
    if dt is None or dt.name in ("resource", "variant"):
        return arr
    if dt.name == "string":
        return _to_string(key, arr)
    return _to_numeric(key, arr, dt)


def _to_numeric(key: str, arr: np.ndarray, dt: dtypes.DType) -> np.ndarray:
    target = dt.np
    src = arr.dtype
    what = f"input {key!r} expects {dt.name}"
    if src.kind in "SUO":
        if arr.size == 0:
            return np.zeros(arr.shape, dtype=target)
        if src.kind == "O" and all(isinstance(x, (bool, int, float, complex, np.generic)) for x in arr.reshape(-1)):
            arr = np.asarray(arr.tolist())
            src = arr.dtype
        else:
            raise InputError(f"{what}, got strings")
    if src == target and dt.name != "bfloat16":
        return arr
    tk = target.kind
    if src.kind == "c" and tk != "c":
        if np.any(np.imag(arr) != 0):
            raise InputError(f"{what}, got complex values")
        arr = np.real(arr)
        src = arr.dtype
    if tk == "b":
        if src.kind == "b":
            return arr.astype(np.bool_)
        if src.kind in "iu" and np.all((arr == 0) | (arr == 1)):
            return arr.astype(np.bool_)
        raise InputError(f"{what}, got {src} values (only 0/1 convert to bool)")
    if tk in "iu":
        if src.kind == "f":
            if not np.all(np.isfinite(arr)) or np.any(arr != np.trunc(arr)):
                raise InputError(f"{what}, got non-integer {src} values (refusing to truncate)")
        elif src.kind not in "biu":
            raise InputError(f"{what}, got {src} values")
        info = np.iinfo(target)
        if arr.size and src.kind != "b":
            lo, hi = arr.min(), arr.max()
            if (src.kind == "f" and (float(lo) < info.min or float(hi) > info.max)) or \
                    (src.kind in "iu" and (int(lo) < info.min or int(hi) > info.max)):
                raise InputError(f"{what}, values out of range [{info.min}, {info.max}]")
        return arr.astype(target)
    if tk in "fc":
        if src.kind not in "biufc":
            raise InputError(f"{what}, got {src} values")
        out = arr.astype(target)
        if dt.name == "bfloat16":
            out = dtypes.round_to_bfloat16(out)
        return out
    raise InputError(f"{what}, got {src} values")


def _check_shape(key: str, arr: np.ndarray, spec) -> None:
    if spec.shape is None:
        return
    want = spec.shape
    if arr.ndim != len(want) or any(w >= 0 and w != g for w, g in zip(want, arr.shape)):
        raise InputError(f"input {key!r} expects shape {shape_text(want)}, got {list(arr.shape)}")
