"""Running a signature and downloading its outputs."""
from __future__ import annotations

import json
import time

import numpy as np

from ..errors import InputError, NotFoundError
from ..views.vocab import output_json, values_json
from . import backends
from .inputs import build_input
from .session import SESSION, meta_graph_for
from .tensors import format_array, npy_bytes, num


def _topk(a: np.ndarray, k: int = 5, rows: int = 8) -> list[dict] | None:
    """The k largest values of the first rows of a 2-D float output (class scores)."""
    if a.ndim != 2 or a.dtype.kind != "f" or a.shape[1] < 2:
        return None
    out = []
    for r in range(min(rows, a.shape[0])):
        row = a[r]
        kk = min(k, row.shape[0])
        order = np.argsort(-np.nan_to_num(row.astype(np.float64), nan=-np.inf), kind="stable")[:kk]
        out.append({"row": r, "top": [{"index": int(i), "value": num(row[i])} for i in order]})
    return out


def run_signature(args, buffers, reader, progress) -> dict:
    mg = meta_graph_for(args)
    key = args.get("signature")
    if key not in mg.signatures:
        raise NotFoundError(f"no signature {key!r} (available: {', '.join(mg.signatures)})")
    sig = mg.signatures[key]
    given = args.get("inputs") or {}
    inputs = {}
    for k, spec in sig.inputs.items():
        if k not in given:
            if spec.optional:   # backed by a PlaceholderWithDefault: its default is used
                continue
            raise InputError(f"input {k!r} is missing")
        inputs[k] = build_input(k, spec, given[k], buffers)
    progress("Preparing the graph…", 0.1)
    t0 = time.perf_counter()
    plan = backends.plan_for(sig, args.get("backend"))
    t1 = time.perf_counter()
    progress("Running…", 0.3)
    outputs = plan.run(inputs)
    t2 = time.perf_counter()
    SESSION.last_outputs = dict(outputs)
    out = []
    for k, v in outputs.items():
        v = np.asarray(v)
        out.append({**output_json(k, v, sig.outputs.get(k)), "preview": format_array(v, args.get("linewidth")),
                    "topk": _topk(v)})
    result = {"signature": key, "tags": list(mg.tags), "outputs": out,
              "plan_ms": (t1 - t0) * 1000, "run_ms": (t2 - t1) * 1000,
              "backend": args.get("backend") or "auto", "backends": backends.step_backends(plan)}
    if args.get("profile"):
        progress("Profiling…", 0.8)
        result["profile"] = backends.profile(plan, inputs)
    return result


def output(args, buffers, reader, progress) -> tuple[dict, dict]:
    key = args.get("key")
    if key not in SESSION.last_outputs:
        raise NotFoundError(f"no output {key!r}: run the signature first")
    a = np.asarray(SESSION.last_outputs[key])
    if args.get("format") == "json":
        return {"key": key}, {"json": json.dumps(values_json(a)).encode("utf-8")}
    return {"key": key}, {"npy": npy_bytes(a)}
