"""One JSON vocabulary for the CLI's --json and the page: one function per concept, used by both surfaces.

- a checkpoint tensor (`inspect --json` "tensors", the Variables view): tensor_entry_json
- a checkpoint as a whole (`inspect --json`, the Overview's Checkpoint row): checkpoint_json
- one output of a signature run (`run --json`, the Run view): output_json, values_json
- a signature and its input/output specs (`show --json`, the Overview and Run views): signature_json
- a tf.Example from typed feature lists (`run --input_examples`, the Run form): parsing_ops.example_from_features
- what a set of files can be opened as (`smlens.open`, the page's model dropdown): model.find_candidates
"""
from __future__ import annotations

import numpy as np

from ..formats.bundle import TensorEntry
from ..formats.reader import CheckpointReader
from .pyrepr import DT_ENUM_NAMES, TF_DTYPE_NAMES


def tensor_entry_json(e: TensorEntry) -> dict:
    """name, dtype, shape (None when unknown), nbytes (on disk; summed over slices), TF2 object path,
    partitioned (stored as slices)."""
    return {"name": e.name, "dtype": e.dtype.name,
            "shape": None if e.shape is None else [int(d) for d in e.shape],
            "nbytes": int(e.nbytes), "object_path": e.object_path, "partitioned": bool(e.slices)}


def checkpoint_json(ckpt: CheckpointReader, entries: dict[str, TensorEntry] | None = None) -> dict:
    """The checkpoint's prefix, format (V1/V2), shard count, tensor count and total bytes."""
    entries = ckpt.entries if entries is None else entries
    return {"prefix": ckpt.prefix, "format": ckpt.format_version, "num_shards": int(ckpt.num_shards),
            "num_tensors": len(entries), "nbytes": int(sum(e.nbytes for e in entries.values()))}


def output_dtype(value: np.ndarray, spec=None) -> str:
    """The signature's declared dtype name when it has one, else the array's."""
    return spec.dtype.name if spec is not None and spec.dtype is not None else str(value.dtype)


def output_json(key: str, value, spec=None) -> dict:
    """key, dtype, shape of one output (None for an output that produced nothing, e.g. a NoOp)."""
    if value is None:
        return {"key": key, "dtype": None, "shape": None}
    value = np.asarray(value)
    return {"key": key, "dtype": output_dtype(value, spec), "shape": [int(d) for d in value.shape]}


def values_json(value: np.ndarray):
    """Values for JSON: strings as UTF-8 text (backslash escapes for other bytes), complex as
    {"real", "imag"}, NaN/Inf as strings (JSON has no literal for them)."""
    if value.dtype == object:
        return np.vectorize(lambda x: x.decode("utf-8", "backslashreplace") if isinstance(x, bytes) else str(x),
                            otypes=[object])(value).tolist() if value.size else value.tolist()
    if np.iscomplexobj(value):
        return {"real": _floats(value.real), "imag": _floats(value.imag)}
    if value.dtype.kind == "f":
        return _floats(value)
    return value.tolist()


def _floats(a: np.ndarray):
    lst = a.astype(np.float64).tolist()

    def fix(x):
        if isinstance(x, list):
            return [fix(y) for y in x]
        return x if np.isfinite(x) else str(x)
    return fix(lst)


def tensor_info_json(key: str, info) -> dict:
    """A signature's TensorInfo as JSON: key, dtype (TensorFlow's Python name, None for DT_INVALID),
    dtype_enum ("DT_FLOAT"), shape (None: unknown rank; -1: unknown dim), tensor name, encoding and, for
    sparse/composite tensors, components."""
    shape = None if info.tensor_shape.unknown_rank else [int(d.size) for d in info.tensor_shape.dim]
    entry = {
        "key": key,
        "dtype": TF_DTYPE_NAMES.get(info.dtype),
        "dtype_enum": DT_ENUM_NAMES.get(info.dtype, str(info.dtype)),
        "shape": shape,
        "name": info.name,
        "encoding": info.WhichOneof("encoding") or "name",
    }
    if entry["encoding"] == "coo_sparse":
        c = info.coo_sparse
        entry["components"] = {"values": c.values_tensor_name, "indices": c.indices_tensor_name,
                               "dense_shape": c.dense_shape_tensor_name}
    elif entry["encoding"] == "composite_tensor":
        entry["components"] = [ti.name for ti in info.composite_tensor.components]
    return entry


def signature_json(key: str, sig) -> dict:
    """A SignatureDef as JSON: key, method_name, inputs and outputs (tensor_info_json, sorted by key)."""
    return {"key": key, "method_name": sig.method_name,
            "inputs": [tensor_info_json(k, sig.inputs[k]) for k in sorted(sig.inputs)],
            "outputs": [tensor_info_json(k, sig.outputs[k]) for k in sorted(sig.outputs)]}
