"""What the run form offers for each signature input: a prefilled JSON example, image geometry, and the
features of a tf.Example input."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from .. import dtypes, tensors
from ..errors import SmlensError

# Inputs larger than this are prefilled with the {"shape", "fill"} shorthand instead of a full nested list.
MAX_PREFILL_ELEMENTS = 4096


def concrete_shape(spec) -> list[int]:
    """The spec's shape with unknown dimensions as 1 (unknown rank: a scalar)."""
    if spec.shape is None:
        return []
    return [1 if d < 0 else int(d) for d in spec.shape]


def _zero_of(dtype) -> Any:
    if dtype is None:
        return 0
    if dtype.name == "string":
        return ""
    if dtype.name == "bool":
        return False
    if dtype.np.kind in "iu":
        return 0
    return 0.0


def example_text(spec) -> str:
    """A correctly shaped example input as JSON: a nested list, or {"shape", "fill"} for big inputs."""
    shape = concrete_shape(spec)
    n = int(np.prod(shape)) if shape else 1
    zero = _zero_of(spec.dtype)
    if n > MAX_PREFILL_ELEMENTS:
        return json.dumps({"shape": shape, "fill": zero})
    value: Any = zero
    for d in reversed(shape):
        value = [value for _ in range(d)]
    return json.dumps(value)


def image_geometry(spec) -> dict | None:
    """Height/width/channels of an NHWC image input (4-D, channels 1/3/4 or unknown) or of a 3-D NHW one,
    else None."""
    if spec.dtype is None or spec.dtype.np.kind not in "fiu" or spec.shape is None:
        return None
    s = list(spec.shape)
    if len(s) == 4 and s[3] in (1, 3, 4, -1):
        return {"height": s[1], "width": s[2], "channels": s[3], "layout": "NHWC"}
    if len(s) == 3 and s[1] > 1 and s[2] > 1:
        return {"height": s[1], "width": s[2], "channels": 0, "layout": "NHW"}
    return None


def _const_strings(node) -> list[str]:
    if node is None or node.op != "Const" or "value" not in node.attr:
        return []
    v = tensors.to_numpy(node.attr["value"].tensor, node.name)
    return [x.decode("utf-8", "replace") if isinstance(x, bytes) else str(x) for x in v.reshape(-1)]


def _source_node(ref: str) -> str:
    return ref.lstrip("^").split(":")[0]


def _const_keys(nodes: dict, node, first: int, count: int) -> list[str]:
    """The strings of the Const nodes feeding inputs first .. first+count-1 of `node`."""
    return [k for i in range(first, first + count) for k in _const_strings(nodes.get(_source_node(node.input[i])))]


_FEATURE_TYPES = {dtypes.float32.enum: "float", dtypes.int64.enum: "int64", dtypes.string.enum: "bytes"}


def example_features(mg, spec) -> list[dict] | None:
    """For a serialized tf.Example input of a TF1 graph: the features its ParseExample node reads."""
    if spec.dtype is None or spec.dtype.name != "string" or not spec.name:
        return None
    placeholder = spec.name.split(":")[0]
    nodes = {n.name: n for n in mg.graph_def.node}

    # Follow Identity chains from a ParseExample input back to the placeholder.
    def feeds_from_placeholder(name: str) -> bool:
        seen = 0
        while name != placeholder and seen < 20:
            n = nodes.get(name)
            if n is None or n.op not in ("Identity", "PlaceholderWithDefault") or not n.input:
                return False
            name, seen = _source_node(n.input[0]), seen + 1
        return name == placeholder

    for n in mg.graph_def.node:
        if n.op not in ("ParseExample", "ParseExampleV2") or not n.input:
            continue
        if not feeds_from_placeholder(_source_node(n.input[0])):
            continue
        feats: list[dict] = []
        try:
            if n.op == "ParseExampleV2":        # inputs: serialized, names, sparse_keys, dense_keys, ...
                sparse_keys, dense_keys = _const_keys(nodes, n, 2, 1), _const_keys(nodes, n, 3, 1)
            else:                               # serialized, names, Nsparse sparse_keys, Ndense dense_keys, ...
                ns, nd = n.attr["Nsparse"].i, n.attr["Ndense"].i
                sparse_keys, dense_keys = _const_keys(nodes, n, 2, ns), _const_keys(nodes, n, 2 + ns, nd)
            for k, t in zip(dense_keys, n.attr["Tdense"].list.type):
                feats.append({"name": k, "type": _FEATURE_TYPES.get(t, "float"), "dense": True})
            for k, t in zip(sparse_keys, n.attr["sparse_types"].list.type):
                feats.append({"name": k, "type": _FEATURE_TYPES.get(t, "bytes"), "dense": False})
        except (SmlensError, KeyError, IndexError, ValueError):
            pass
        return feats
    return None


# Pixel preprocessing the Run form offers for image inputs: pixel p in 0..255 becomes
# min + p / 255 * (max - min), or with mean/std (per channel, of p / 255): (p / 255 - mean) / std.
IMAGE_PRESETS = [
    {"id": "unit", "label": "0..1 (p / 255)", "min": 0.0, "max": 1.0},
    {"id": "signed", "label": "-1..1 (MobileNet, Inception: p / 127.5 - 1)", "min": -1.0, "max": 1.0},
    {"id": "bytes", "label": "0..255 (raw pixel values)", "min": 0.0, "max": 255.0},
    {"id": "imagenet", "label": "ImageNet mean/std ((p / 255 - mean) / std, per channel)", "min": 0.0, "max": 1.0,
     "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
]

LABEL_FILE = re.compile(r"(label|class|synset|categor|vocab)[^/]*\.txt$|/labels?$", re.IGNORECASE)
MAX_LABELS_BYTES = 2 << 20


def labels_asset(model) -> dict | None:
    """A labels file the model ships (assets/*label*.txt, *class*.txt, ...: one name per line), for top-k
    names; None when there is none (or it is too big to be a label list)."""
    for path, size in model.files:
        if "assets/" not in path or not LABEL_FILE.search(path) or not 0 < size <= MAX_LABELS_BYTES:
            continue
        try:
            text = model.source.read(path).decode("utf-8")
        except (UnicodeDecodeError, SmlensError):
            continue
        names = text.splitlines()
        while names and not names[-1].strip():
            names.pop()
        if names:
            return {"path": path, "labels": names}
    return None
