"""Signature outputs -> TF Serving REST response bodies.

predict, row request      {"predictions": [row, ...]}: a row is the only output's value, or {output: value}
predict, columnar request {"outputs": value | {output: value}}
classify                  {"results": [[[label, score], ...], ...]}   one list of classes per example
regress                   {"results": [value, ...]}                  one value per example

Values follow json_tensor.cc: float/double via jsonio.decimal (NaN, Infinity), integers and bools as JSON
numbers and literals, strings as JSON strings, except outputs whose name ends in "_bytes" (TF Serving's rule)
and — so the response stays valid UTF-8 — strings that are not UTF-8: those as {"b64": "..."}.
Other dtypes (half, bfloat16, complex) have no JSON form in TF Serving and are refused.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError
from . import jsonio
from .request import ServingRequest, tf_type_name

_JSON_KINDS = {"float32", "float64", "int8", "int16", "int32", "uint8", "int64", "uint32", "uint64", "bool",
               "string"}


def tensor_json(name: str, value: np.ndarray, dtype=None) -> Any:
    """One tensor as nested JSON values (a scalar for rank 0)."""
    a = np.asarray(value)
    kind = dtype.name if dtype is not None else ("string" if a.dtype == object else str(a.dtype))
    if kind not in _JSON_KINDS:
        raise InputError(f"Failed to write JSON value for tensor type: {tf_type_name(dtype) if dtype else kind} "
                         f"(output {name!r}: TF Serving's JSON has no form for it)")
    if kind == "string":
        force = name.endswith("_bytes")
        leaf = lambda x: jsonio.bytes_value(x if isinstance(x, bytes) else str(x).encode("utf-8"), force)  # noqa: E731
    elif kind in ("float32", "float64"):
        texts = np.empty(a.size, dtype=object)
        texts[:] = jsonio.decimals(a, 32 if kind == "float32" else 64)
        return texts.reshape(a.shape).tolist() if a.ndim else texts[0]
    elif kind == "bool":
        leaf = bool
    else:
        leaf = int
    return _map(a.tolist(), leaf)


def _map(v: Any, leaf) -> Any:
    if isinstance(v, list):
        return [_map(x, leaf) for x in v]
    return leaf(v)


def _dtype(sig, key: str):
    spec = sig.outputs.get(key)
    return spec.dtype if spec is not None else None


def predict_response(outputs: dict[str, np.ndarray], sig, fmt: str) -> dict:
    if not outputs:
        raise InputError("Cannot convert empty tensor map to JSON")
    keys = sorted(outputs)
    if fmt == "columnar":
        if len(keys) == 1:
            return {"outputs": tensor_json(keys[0], outputs[keys[0]], _dtype(sig, keys[0]))}
        return {"outputs": {k: tensor_json(k, outputs[k], _dtype(sig, k)) for k in keys}}
    batch = -1
    for k in keys:
        a = np.asarray(outputs[k])
        if a.ndim == 0:
            raise InputError(f"Tensor name: {k} has no shape information ")
        if batch >= 0 and a.shape[0] != batch:
            raise InputError(f"Tensor name: {k} has inconsistent batch size: {a.shape[0]} expecting: {batch}")
        batch = a.shape[0]
    columns = {k: tensor_json(k, outputs[k], _dtype(sig, k)) for k in keys}
    if len(keys) == 1:
        return {"predictions": columns[keys[0]]}
    return {"predictions": [{k: columns[k][i] for k in keys} for i in range(batch)]}


def _check_batch(a: np.ndarray, n: int) -> None:
    if a.shape[0] != n:
        raise InputError(f"Input batch size did not match output batch size: {n} vs. {a.shape[0]}")


def classify_results(outputs: dict[str, np.ndarray], sig, n: int) -> list:
    """[[label, score], ...] per example from the "classes" and/or "scores" outputs."""
    classes, scores = outputs.get("classes"), outputs.get("scores")
    if classes is None and scores is None:
        raise InputError(f"classification signature {sig.key!r} has neither a 'classes' nor a 'scores' output "
                         f"(outputs: {', '.join(sorted(outputs))})")
    for key, a in (("classes", classes), ("scores", scores)):
        if a is None:
            continue
        if np.ndim(a) != 2:
            raise InputError(f"Expected Tensor shape: [batch_size num_classes] but got "
                             f"{list(np.shape(a))} ({key!r} output)")
        _check_batch(np.asarray(a), n)
    if classes is not None and np.asarray(classes).dtype != object:
        raise InputError(f"Expected classes Tensor of DT_STRING. Got: {np.asarray(classes).dtype}")
    if scores is not None and np.asarray(scores).dtype.kind != "f":
        raise InputError(f"Expected scores Tensor of DT_FLOAT. Got: {np.asarray(scores).dtype}")
    if classes is not None and scores is not None and classes.shape[1] != scores.shape[1]:
        raise InputError(f"Tensors class and score should match in dim_size(1). Got {classes.shape[1]} vs. "
                         f"{scores.shape[1]}")
    width = (classes if classes is not None else scores).shape[1]
    out = []
    for i in range(n):
        row = []
        for j in range(width):
            label = jsonio.bytes_value(classes[i, j]) if classes is not None else ""
            score = jsonio.decimal(float(scores[i, j]), 32) if scores is not None else jsonio.decimal(0.0, 32)
            row.append([label, score])
        out.append(row)
    return out


def regress_results(outputs: dict[str, np.ndarray], sig, n: int) -> list:
    if len(outputs) != 1:
        raise InputError("Expected one output Tensor.")
    if "outputs" not in outputs:
        raise InputError(f"regression signature {sig.key!r} has no 'outputs' output (has {next(iter(outputs))!r})")
    a = np.asarray(outputs["outputs"])
    if not (a.ndim == 1 or (a.ndim == 2 and a.shape[1] == 1)):
        raise InputError(f"Expected output Tensor shape to be either [batch_size] or [batch_size, 1] but got "
                         f"{list(a.shape)}")
    if a.dtype.kind != "f":
        raise InputError(f"Expected output Tensor of DT_FLOAT.  Got: {a.dtype}")
    _check_batch(a, n)
    return [jsonio.decimal(float(v), 32) for v in a.reshape(-1)]


def response_for(req: ServingRequest, outputs: dict[str, np.ndarray]) -> dict:
    """The response body (a JSON tree; jsonio.dumps writes it) for a request and its signature outputs."""
    if req.method == "predict":
        return predict_response(outputs, req.signature, req.format)
    if req.method == "classify":
        return {"results": classify_results(outputs, req.signature, req.num_examples)}
    return {"results": regress_results(outputs, req.signature, req.num_examples)}


def run_request(req: ServingRequest) -> tuple[dict, dict[str, np.ndarray]]:
    """Run the signature on the request's feeds: (response body, raw outputs)."""
    outputs = req.signature(**req.feeds)
    return response_for(req, outputs), outputs
