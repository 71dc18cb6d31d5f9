"""TensorFlow Serving's formats: REST request/response JSON (request, response, jsonio), warmup requests
(warmup: TFRecord of PredictionLog) and model metadata (metadata). One core for the CLI and the page."""
from __future__ import annotations

from .jsonio import dumps, loads
from .metadata import metadata_text, name_and_version
from .request import ServingRequest, parse_request
from .response import response_for, run_request
from .warmup import WARMUP_PATH, WarmupRecord, read_records, read_warmup, replay

__all__ = ["dumps", "loads", "metadata_text", "name_and_version", "ServingRequest", "parse_request",
           "response_for", "run_request", "WARMUP_PATH", "WarmupRecord", "read_records", "read_warmup", "replay",
           "curl_command"]


def curl_command(body_text: str, model_name: str, method: str = "predict", host: str = "localhost:8501") -> str:
    """A ready shell command sending `body_text` to TF Serving's REST API (body on stdin, so any quotes in it
    are safe)."""
    import json
    from urllib.parse import quote
    compact = json.dumps(loads(body_text), separators=(",", ":"), ensure_ascii=False) if body_text else "{}"
    return (f"curl -d @- http://{host}/v1/models/{quote(model_name, safe='')}:{method} <<'EOF'\n{compact}\nEOF\n")
