"""The page's TF Serving requests: run a REST body on the open model (response, curl line, outputs for the
Run view), a template body per signature, the warmup records as ready examples, and the model metadata."""
from __future__ import annotations

import time
from typing import Any

import numpy as np

from .. import serving
from ..errors import NotFoundError, SmlensError
from ..serving import warmup
from ..serving.request import METHODS
from .forms import _zero_of, concrete_shape, example_features
from .run import _topk
from .session import SESSION, meta_graph_for, require_model
from .tensors import format_array

MAX_TEMPLATE_ELEMENTS = 1 << 18   # a 224x224x3 image fits


def _model_name() -> str:
    model = require_model()
    return serving.name_and_version(model.name or SESSION.display_name or "model")[0]


def _serving_meta_graph(args: dict):
    """The request's MetaGraph: the one the page shows (args["tags"]), else TF Serving's 'serve'."""
    if args.get("tags") is not None:
        return meta_graph_for(args)
    return require_model().meta_graph("serve")


def _outputs_json(sig, outputs: dict) -> list[dict]:
    out = []
    for k, v in outputs.items():
        v = np.asarray(v)
        spec = sig.outputs.get(k)
        dt = spec.dtype.name if spec is not None and spec.dtype is not None else str(v.dtype)
        out.append({"key": k, "dtype": dt, "shape": list(v.shape), "preview": format_array(v), "topk": _topk(v)})
    return out


def run_body(args, buffers, reader, progress) -> dict:
    body = str(args.get("body") or "")
    mg = _serving_meta_graph(args)
    req = serving.parse_request(body, mg, args.get("method") or None)
    progress("Preparing the graph…", 0.1)
    t0 = time.perf_counter()
    req.signature.plan()
    t1 = time.perf_counter()
    progress("Running…", 0.3)
    response, outputs = serving.run_request(req)
    t2 = time.perf_counter()
    SESSION.last_outputs = dict(outputs)
    return {"signature": req.signature_name, "method": req.method, "format": req.format,
            "response": serving.dumps(response), "curl": serving.curl_command(body, _model_name(), req.method),
            "outputs": _outputs_json(req.signature, outputs), "plan_ms": (t1 - t0) * 1000,
            "run_ms": (t2 - t1) * 1000}


def _zeros(spec, drop_batch: bool) -> Any:
    shape = concrete_shape(spec)
    if drop_batch and shape:
        shape = shape[1:]
    if shape and int(np.prod(shape)) > MAX_TEMPLATE_ELEMENTS:
        shape = [1] * len(shape)   # a valid rank; the user fills in the real size
    value: Any = _zero_of(spec.dtype)
    for d in reversed(shape):
        value = [value for _ in range(d)]
    return value


def template_body(mg, key: str) -> dict:
    """A REST body that fits signature `key`: examples for classify/regress signatures, instances when every
    input has a leading unknown (batch) dimension, else columnar inputs."""
    sig = mg.signatures[key]
    doc: dict[str, Any] = {} if key == serving.request.DEFAULT_SIGNATURE else {"signature_name": key}
    if METHODS.get(sig.method_name) in ("classify", "regress") and len(sig.inputs) == 1:
        feats = example_features(mg, next(iter(sig.inputs.values()))) or []
        zero = {"float": 0.0, "int64": 0, "bytes": ""}
        doc["examples"] = [{f["name"]: [zero.get(f["type"], 0.0)] for f in feats}]
        return doc
    batched = sig.inputs and all(s.shape and s.shape[0] == -1 for s in sig.inputs.values())
    if batched:
        row = {k: _zeros(s, True) for k, s in sig.inputs.items()}
        doc["instances"] = [row if len(row) > 1 else next(iter(row.values()))]
    else:
        doc["inputs"] = {k: _zeros(s, False) for k, s in sig.inputs.items()}
    return doc


def template(args, buffers, reader, progress) -> dict:
    mg = meta_graph_for(args)
    key = args.get("signature")
    if key not in mg.signatures:
        return {"body": ""}
    return {"body": serving.dumps(template_body(mg, key)), "model_name": _model_name()}


def warmup_records(args, buffers, reader, progress) -> dict:
    """The warmup records as examples; a corrupt file is reported, not raised (the Run view still works)."""
    model = require_model()
    try:
        return {"path": serving.WARMUP_PATH, "records": [warmup.describe(r) for r in serving.read_warmup(model)]}
    except SmlensError as e:
        return {"path": serving.WARMUP_PATH, "records": [], "error": str(e)}


def warmup_replay(args, buffers, reader, progress) -> dict:
    model = require_model()
    records = serving.read_warmup(model)
    index = int(args.get("index", -1))
    if not 0 <= index < len(records):
        raise NotFoundError(f"no warmup record {index} ({len(records)} records)")
    return {"index": index, "response": serving.dumps(serving.replay(records[index], model))}


def metadata(args, buffers, reader, progress) -> dict:
    model = require_model()
    if model.saved_model is None:
        return {"text": None, "reason": "not a SavedModel"}
    try:
        return {"text": serving.metadata_text(model), "model_name": _model_name()}
    except SmlensError as e:   # e.g. no 'serve' MetaGraph: TF Serving would not load it
        return {"text": None, "reason": str(e)}


HANDLERS = {"serving_run": run_body, "serving_template": template, "serving_warmup": warmup_records,
            "serving_replay": warmup_replay, "serving_metadata": metadata}
