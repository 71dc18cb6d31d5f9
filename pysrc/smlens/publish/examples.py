"""Example inputs a published model's Run view is prefilled with: {"examples": [{"name", "inputs"}]},
inputs as nested JSON lists keyed by signature input name.

Sources: --examples FILE (.npz: one example, one array per input; .json: that format, or {key: list}
for one example, or a list of such), or the model's assets.extra/tf_serving_warmup_requests through
smlens.serving when that package is present.
"""
from __future__ import annotations

import json
from pathlib import Path

from .util import PublishError

MAX_EXAMPLE_VALUES = 4_000_000   # per example: the page parses these as JSON


def _check_inputs(inputs: object, origin: str) -> dict:
    if not isinstance(inputs, dict) or not inputs or not all(isinstance(k, str) for k in inputs):
        raise PublishError(f"{origin}: an example must map input names to values")
    return inputs


def _count(v) -> int:
    return sum(_count(x) for x in v) if isinstance(v, list) else 1


def from_json(path: Path) -> list[dict]:
    try:
        doc = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise PublishError(f"{path}: not readable JSON ({e})") from None
    items = doc.get("examples") if isinstance(doc, dict) and "examples" in doc else doc
    if isinstance(items, dict):
        items = [{"name": "example", "inputs": items}]
    if not isinstance(items, list):
        raise PublishError(f"{path}: expected {{\"examples\": [...]}}, a list, or one {{input: value}} object")
    out = []
    for i, it in enumerate(items):
        if isinstance(it, dict) and "inputs" in it:
            out.append({"name": str(it.get("name") or f"example {i}"), "inputs": _check_inputs(it["inputs"], str(path)),
                        **({"label": it["label"]} if "label" in it else {})})
        else:
            out.append({"name": f"example {i}", "inputs": _check_inputs(it, str(path))})
    return out


def from_npz(path: Path) -> list[dict]:
    import numpy as np
    try:
        with np.load(path, allow_pickle=False) as z:
            inputs = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise PublishError(f"{path}: not a readable .npz without pickles ({e})") from None
    out = {}
    for k, arr in inputs.items():
        if arr.dtype.kind not in "biufU" and arr.dtype.kind != "S":
            raise PublishError(f"{path}: array {k!r} of dtype {arr.dtype} cannot be written as JSON")
        out[k] = arr.astype(str).tolist() if arr.dtype.kind == "S" else arr.tolist()
    return [{"name": path.stem, "inputs": _check_inputs(out, str(path))}]


def from_warmup(model_dir: Path) -> tuple[list[dict], str | None]:
    """(examples, note): the inputs of the warmup file's predict requests, or a note saying why none."""
    warm = model_dir / "assets.extra" / "tf_serving_warmup_requests"
    if not warm.is_file():
        return [], None
    try:
        from ..serving import warmup  # TF Serving formats (issue 12)
    except ImportError:
        return [], f"{warm} not read: this smlens has no TF Serving warmup reader (smlens.serving)"
    from .. import open as open_model
    from ..errors import SmlensError
    from ..tensors import to_numpy
    try:
        records = warmup.read_warmup(open_model(str(model_dir)))
        out = []
        for r in records:
            if r.kind != "predict":
                continue
            inputs = {}
            for k in sorted(r.request.inputs):
                a = to_numpy(r.request.inputs[k], f"warmup record {r.index}: input {k!r}")
                inputs[k] = a.astype(str).tolist() if a.dtype.kind in "OS" else a.tolist()
            out.append({"name": f"warmup request {r.index}", "inputs": inputs})
    except (SmlensError, UnicodeDecodeError) as e:
        raise PublishError(f"{warm}: {e}") from None
    skipped = len(records) - len(out)
    return out, (f"{warm}: {skipped} non-predict records not used as examples" if skipped else None)


def load(examples_file: Path | None, model_dir: Path) -> tuple[list[dict], list[str]]:
    notes: list[str] = []
    if examples_file is not None:
        suffix = examples_file.suffix.lower()
        if suffix == ".npz":
            items = from_npz(examples_file)
        elif suffix == ".json":
            items = from_json(examples_file)
        else:
            raise PublishError(f"{examples_file}: --examples takes a .npz or .json file")
    else:
        items, note = from_warmup(model_dir)
        if note:
            notes.append(note)
    for it in items:
        n = sum(_count(v) for v in it["inputs"].values())
        if n > MAX_EXAMPLE_VALUES:
            raise PublishError(f"example {it['name']!r} has {n} values; at most {MAX_EXAMPLE_VALUES} are prefilled")
    return items, notes
