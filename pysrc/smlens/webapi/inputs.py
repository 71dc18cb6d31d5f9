"""Signature inputs from what the run form sends: JSON text, an uploaded .npy/.npz, image pixels or
tf.Example features. Each becomes an array converted and shape-checked by the runtime's feeds.convert."""
from __future__ import annotations

import io
import json
import math

import numpy as np

from ..errors import InputError
from ..inputs import as_input_array, load_array
from ..runtime.feeds import convert, to_dtype
from .files import as_bytes
from .forms import concrete_shape, image_geometry
from .tensors import MAX_TENSOR_BYTES


def _json_value(key: str, text: str, spec) -> np.ndarray:
    """A nested list, or the {"shape", "fill"} shorthand the form prefills for big inputs."""
    try:
        value = json.loads(text)
    except ValueError as e:
        raise InputError(f"input {key!r}: not valid JSON ({e})") from None
    if not isinstance(value, dict):
        return as_input_array(key, value)
    if "shape" not in value or not isinstance(value["shape"], list):
        raise InputError(f"input {key!r}: an object input needs \"shape\" and \"fill\"")
    shape = value["shape"]
    if not all(isinstance(d, int) and 0 <= d for d in shape):
        raise InputError(f"input {key!r}: \"shape\" must be a list of non-negative integers")
    n = math.prod(shape)            # Python ints: np.prod would overflow and wrap for huge shapes
    if n * max(spec.dtype.np.itemsize if spec.dtype else 8, 1) > MAX_TENSOR_BYTES:
        raise InputError(f"input {key!r}: shape {shape} is too large")
    fill = to_dtype(key, as_input_array(key, value.get("fill", 0)), spec.dtype)
    try:
        return np.full(shape, fill, dtype=fill.dtype)
    except ValueError:
        raise InputError(f"input {key!r}: \"fill\" {list(fill.shape)} does not fit \"shape\" {shape}") from None


def _npy_value(key: str, data: bytes, filename: str) -> np.ndarray:
    # The form has no field to name an array of an .npz: the input's key names it. Messages say which input.
    try:
        return load_array(io.BytesIO(data), filename, None, prefer=key)
    except InputError as e:
        raise InputError(f"input {key!r}: {e}") from None


def _image_value(key: str, data: bytes, args: dict, spec) -> np.ndarray:
    """RGBA pixels (already resized in the browser) -> a float/int image of the input's layout and range."""
    w, h = int(args["width"]), int(args["height"])
    if len(data) != w * h * 4:
        raise InputError(f"input {key!r}: image data has {len(data)} bytes, expected {w}x{h}x4")
    rgba = np.frombuffer(data, dtype=np.uint8).reshape(h, w, 4).astype(np.float32)
    geo = image_geometry(spec) or {"channels": 3, "layout": "NHWC"}
    channels = int(args.get("channels") or geo["channels"] or 0)
    if channels in (1, 0):
        img = (0.299 * rgba[..., 0] + 0.587 * rgba[..., 1] + 0.114 * rgba[..., 2])
        if args.get("invert"):
            img = 255.0 - img
        img = img[..., None] if geo["layout"] == "NHWC" else img
    else:
        img = rgba[..., :channels]
        if args.get("invert"):
            img = 255.0 - img
    lo, hi = float(args.get("min", 0.0)), float(args.get("max", 1.0))
    if args.get("mean") is not None or args.get("std") is not None:   # per channel, of p / 255
        mean, std = _per_channel(key, args.get("mean", 0.0), img), _per_channel(key, args.get("std", 1.0), img)
        if np.any(std == 0):
            raise InputError(f"input {key!r}: a std of 0 divides by zero")
        batch = ((img / 255.0 - mean) / std)[None, ...]
    else:
        batch = (lo + img / 255.0 * (hi - lo))[None, ...]
    if spec.dtype is not None and spec.dtype.np.kind in "iu":
        batch = np.round(batch)
    return batch


def _per_channel(key: str, value, img: np.ndarray) -> np.ndarray:
    """A scalar or one value per channel (a grayscale image takes the channels' mean)."""
    try:
        v = np.asarray(value, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError):
        raise InputError(f"input {key!r}: mean/std must be numbers") from None
    channels = img.shape[-1] if img.ndim == 3 else 1
    if v.size == 1 or v.size == channels:
        return v if v.size == channels else v[:1]
    if channels == 1:
        return np.float32(v.mean()).reshape(1) if img.ndim == 3 else np.float32(v.mean())
    raise InputError(f"input {key!r}: {v.size} mean/std values for {channels} channels")


def _example_value(key: str, features: list[dict], spec) -> np.ndarray:
    """One serialized tf.Example, repeated to the input's shape, built by the one tf.Example builder
    (kernels.parsing_ops.example_from_features). The form gives each feature its type, so a field left
    empty is an empty list of that type (examples_from_dicts infers types and refuses empty lists)."""
    from ..kernels.parsing_ops import example_from_features
    typed = []
    for f in features:
        name = str(f.get("name", "")).strip()
        if not name:
            continue
        kind = f.get("type", "float")
        kind = kind if kind in ("float", "int64") else "bytes"
        raw = f.get("values", "")
        items = [x.strip() for x in str(raw).split(",")] if str(raw).strip() else []
        try:
            example_from_features([(name, kind, items)])      # this feature's values fit its kind
        except (TypeError, ValueError, OverflowError):
            raise InputError(f"input {key!r}: feature {name!r}: {raw!r} is not a list of {kind} values") from None
        typed.append((name, kind, items))
    data = example_from_features(typed)
    out = np.empty(concrete_shape(spec), dtype=object)
    out.reshape(-1)[...] = data     # never via NumPy 'S': it drops trailing NUL bytes
    return out


def build_input(key: str, spec, item: dict, buffers: list) -> np.ndarray:
    """The array for input `key` (TensorSpec `spec`) from the form's item {"mode", ...}, or InputError."""
    mode = item.get("mode", "json")
    if mode == "json":
        value = _json_value(key, str(item.get("text", "")), spec)
    elif mode == "npy":
        value = _npy_value(key, as_bytes(buffers[int(item["buffer"])]), item.get("filename", "file"))
    elif mode == "image":
        value = _image_value(key, as_bytes(buffers[int(item["buffer"])]), item, spec)
    elif mode == "example":
        value = _example_value(key, item.get("features") or [], spec)
    else:
        raise InputError(f"input {key!r}: unknown input mode {mode!r}")
    return convert(key, value, spec)
