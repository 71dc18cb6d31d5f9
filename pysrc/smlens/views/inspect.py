"""`inspect_checkpoint` output (tensorflow.python.tools.inspect_checkpoint), text and JSON."""
from __future__ import annotations

import re
from contextlib import contextmanager

import numpy as np

from .. import dtypes
from ..formats.bundle import Bundle, TensorEntry
from ..formats.reader import CheckpointReader
from .vocab import checkpoint_json, tensor_entry_json, values_json  # noqa: F401 - values_json re-exported


class _BFloat16:
    """Prints a bfloat16 value the way ml_dtypes does inside NumPy arrays."""
    __slots__ = ("v",)

    def __init__(self, v: float):
        self.v = v

    def __repr__(self) -> str:
        return format(self.v, ".6g")


def printable(value: np.ndarray, dtype: dtypes.DType):
    """What TF's reader.get_tensor() would hand to print(): numpy value, bfloat16 as ml_dtypes prints."""
    if dtype.name == "bfloat16":
        if value.ndim == 0:
            return _BFloat16(float(value))
        out = np.empty(value.shape, dtype=object)
        flat = out.reshape(-1)
        for i, v in enumerate(value.reshape(-1)):
            flat[i] = _BFloat16(float(v))
        return out
    if dtype.name == "string" and value.ndim == 0:
        return value.item()
    if value.ndim == 0:
        return value[()]
    return value


def _shape_list(shape) -> str:
    return str(list(shape))


def _debug_shape(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _enum_name(e: TensorEntry) -> str:
    return dtypes.ENUM_NAMES.get(e.dtype_enum, f"DT_UNKNOWN_{e.dtype_enum}")


def _header(e: TensorEntry) -> str:
    return f"tensor: {e.name} ({e.dtype.name}) {_shape_list(e.shape)}"


def debug_string(b: Bundle) -> str:
    """TF's CheckpointReader.debug_string(): every stored entry (slices too, not their full tensors)."""
    if hasattr(b, "debug_lines"):  # V1 checkpoint
        return "".join(line + "\n" for line in b.debug_lines())
    lines = []
    raw = [(k, p) for k, p in b._slice_entries.items()]
    for key, p in sorted(raw):
        name = key.decode("utf-8", "ignore")
        shape = [d.size for d in p.shape.dim]
        lines.append(f"{name} ({dtypes.ENUM_NAMES.get(p.dtype, p.dtype)}) {_debug_shape(shape)}")
    for e in b.entries.values():
        if not e.slices:
            lines.append(f"{e.name} ({_enum_name(e)}) {_debug_shape(e.shape)}")
    return "".join(line + "\n" for line in lines)


def total_params(b: Bundle, exclude_pattern: str = "") -> tuple[int, str]:
    """(count, optional '# Excluding ...' line)."""
    entries = list(b.entries.values())
    note = ""
    if exclude_pattern:
        rx = re.compile(exclude_pattern)
        excluded = [e for e in entries if rx.search(e.name)]
        entries = [e for e in entries if not rx.search(e.name)]
        n_ex = sum(int(np.prod(e.shape)) for e in excluded)
        note = f"# Excluding {len(excluded)} tensors ({n_ex} params) that match {exclude_pattern} when counting.\n"
    return sum(int(np.prod(e.shape)) for e in entries), note


@contextmanager
def _printoptions(opts: dict | None):
    if not opts:
        yield
        return
    old = np.get_printoptions()
    np.set_printoptions(**opts)
    try:
        yield
    finally:
        np.set_printoptions(**old)


def inspect_text(b: Bundle, tensor_name: str = "", all_tensors: bool = False, all_tensor_names: bool = False,
                 count_exclude_pattern: str = "", printoptions: dict | None = None) -> str:
    """Exactly what `python -m tensorflow.python.tools.inspect_checkpoint` prints for these flags."""
    out: list[str] = []
    with _printoptions(printoptions):
        if all_tensors or all_tensor_names:
            for e in b.entries.values():
                out.append(_header(e) + "\n")
                if all_tensors:
                    out.append(str(printable(b.read(e.name), e.dtype)) + "\n")
        elif not tensor_name:
            out.append(debug_string(b) + "\n")
        else:
            e = b.entries.get(tensor_name)
            if e is None:
                return f"Tensor {tensor_name} not found in checkpoint\n"
            out.append(_header(e) + "\n")
            out.append(str(printable(b.read(e.name), e.dtype)) + "\n")
    count, note = total_params(b, count_exclude_pattern)
    out.append(note)
    out.append(f"# Total number of params: {count}\n")
    return "".join(out)


tensor_json = tensor_entry_json   # the shared vocabulary (views/vocab.py)


def inspect_json(b: CheckpointReader, tensor_name: str = "", all_tensors: bool = False) -> dict:
    b.object_graph  # fills object paths
    count, _ = total_params(b)
    doc = {**checkpoint_json(b), "checkpoint": b.display.removesuffix(".index"),
           "tensors": [tensor_entry_json(e) for e in b.entries.values()], "total_params": count}
    names = list(b.entries) if all_tensors else ([tensor_name] if tensor_name else [])
    if names:
        doc["values"] = {n: values_json(b.read(n)) for n in names}
    return doc
