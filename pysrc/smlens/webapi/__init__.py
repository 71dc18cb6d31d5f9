"""The Python side of the web worker: one entry point, `handle(kind, args_json, buffers, reader, progress)`,
returning `(json_text, {blob name: bytes})`. The same code runs on CPython (tests) and in Pyodide.

User errors (smlens.errors.SmlensError) come back as `{"error": {"message", "kind"}}` results: the page shows
the one-line message; nothing else of Python's (no traceback) reaches the UI.

Files the user dropped stay in JavaScript: `FileSource` reads them through `reader(index, offset, length)`,
which the worker implements with FileReaderSync on File.slice, so only the bytes asked for are read.

Modules: files (FileSource, what can be opened), session (the open model), describe (open, describe, graph),
forms (what the run form offers per input), inputs (arrays from the form), tensors (variables view),
run (run, outputs).
"""
from __future__ import annotations

import json
import sys
import traceback
from typing import Callable

import numpy as np

from .. import errors
from ..errors import InputError, NotFoundError, SmlensError
from . import backends, describe, remote, run, serving, tensors
from .files import FileSource, find_candidates
from .forms import example_text
from .inputs import build_input
from .tensors import HIST_BINS, format_array, tensor_stats

HANDLERS: dict[str, Callable] = {
    "open": describe.open_model, "describe": describe.describe, "variables": tensors.variables,
    "tensor": tensors.tensor, "tensor_npy": tensors.tensor_npy, "graph": describe.graph,
    "run": run.run_signature, "output": run.output,
    "open_url": remote.open_url,
}
HANDLERS.update(serving.HANDLERS)  # TF Serving requests, warmup records, model metadata


def runtime_info() -> str:
    import google.protobuf
    from .. import __version__
    return json.dumps({"python": sys.version.split()[0], "numpy": np.__version__,
                       "protobuf": google.protobuf.__version__, "smlens": __version__,
                       "platform": sys.platform, "backends": backends.available()})


def _no_progress(text: str, fraction: float) -> None:
    pass


def _error(message: str, kind: str) -> str:
    return json.dumps({"error": {"message": message, "kind": kind}})


def handle(kind: str, args_json: str, buffers=None, reader=None, progress=None) -> tuple[str, dict]:
    """Run one request; returns (JSON text, {name: bytes}). Never raises for user errors."""
    progress = progress or _no_progress
    try:
        fn = HANDLERS.get(kind)
        if fn is None:
            raise NotFoundError(f"unknown request {kind!r}")
        args = json.loads(args_json or "{}")
        result = fn(args, list(buffers or []), reader, progress)
        value, blobs = result if isinstance(result, tuple) else (result, {})
        return json.dumps(value, allow_nan=False), blobs
    except SmlensError as e:
        return _error(str(e), type(e).__name__), {}
    except MemoryError:
        return _error("out of memory (the browser's WebAssembly heap is limited to 4 GB)", "MemoryError"), {}
    except RecursionError:
        return _error("the model is nested too deeply to process", "RecursionError"), {}
    except Exception as e:  # a bug in smlens: one line for the UI, the traceback for the console
        traceback.print_exc()
        msg = str(e).splitlines()[0] if str(e) else ""
        return _error(f"internal error ({type(e).__name__}){': ' + msg if msg else ''}", "InternalError"), {}


__all__ = ["handle", "runtime_info", "HANDLERS", "FileSource", "find_candidates", "tensor_stats", "format_array",
           "HIST_BINS", "example_text", "build_input", "errors", "InputError"]
