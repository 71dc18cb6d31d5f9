"""Every page request (smlens.webapi) on every model the tests have: the corpus cases (tests/data/corpus, and
../shared/corpus when present), the TF and Keras zoos, the float8 model, V1 checkpoints, the demo. Each file
set is handed over the way the browser does it. Whatever a request answers must be a result or one clear
user error: never "internal error" (a crash in smlens), and describe must always work (it feeds the
Overview, the first thing the page shows)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers.paths import shared_corpus_cases, shared_skip_reason
from smlens import webapi

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
MAX_TENSOR_READ = 8 << 20      # tensors read per model: the first and the largest up to this size


class Files:
    """Local files presented like the worker presents File objects."""

    def __init__(self, root: Path, prefix: str):
        self.paths = [p for p in sorted(root.rglob("*")) if p.is_file()]
        self.entries = [{"path": prefix + p.relative_to(root).as_posix(), "size": p.stat().st_size}
                        for p in self.paths]

    def reader(self, index: int, offset: int, length: int) -> bytes:
        with open(self.paths[index], "rb") as f:
            f.seek(offset)
            return f.read(length)


def _folders() -> list:
    found = []
    for group in ("corpus", "zoo_tf", "zoo_keras"):
        for case in sorted((DATA / group).iterdir()):
            for sub in ("model", "ckpt", "model_text"):
                if (case / sub).is_dir():
                    found.append(pytest.param(case / sub, id=f"{group}/{case.name}/{sub}"))
    for folder in (DATA / "float8" / "model", DATA / "v1ckpt", DATA / "bigslice", ROOT / "demo" / "digits"):
        found.append(pytest.param(folder, id=folder.relative_to(ROOT).as_posix()))
    shared = shared_corpus_cases()
    if shared is None:
        found.append(pytest.param(None, id="shared-corpus",
                                  marks=pytest.mark.skip(reason=shared_skip_reason("the shared corpus cases"))))
    else:
        for case in sorted(p for p in shared.iterdir() if p.is_dir()):
            for sub in ("model", "ckpt"):
                if (case / sub).is_dir():
                    found.append(pytest.param(case / sub, id=f"shared/{case.name}/{sub}"))
    return found


def call(kind: str, args: dict, files: Files) -> dict:
    text, _ = webapi.handle(kind, json.dumps(args), [], files.reader)
    value = json.loads(text)
    if "error" in value:
        assert value["error"]["kind"] != "InternalError", f"{kind} {args}: {value['error']['message']}"
    return value


@pytest.mark.parametrize("folder", _folders())
def test_every_request_on_every_model(folder: Path):
    files = Files(folder, prefix=folder.name + "/")
    summary = call("open", {"files": files.entries}, files)
    assert "error" not in summary, summary["error"]
    assert summary["path"] in {c["path"] for c in summary["candidates"]} or len(summary["candidates"]) <= 1, \
        "the model dropdown would show nothing selected"
    for cand in summary["candidates"] or [{"path": summary["path"]}]:
        opened = call("open", {"files": files.entries, "path": cand["path"]}, files)
        assert "error" not in opened, (cand, opened)
        info = call("describe", {}, files)
        assert "error" not in info, (cand, info["error"])
        assert info["kind"] == opened["kind"] and isinstance(info["meta_graphs"], list)
        if info["checkpoint"] is not None:
            assert {"prefix", "format", "num_shards", "num_tensors", "nbytes"} <= set(info["checkpoint"])
        for mg in info["meta_graphs"]:
            tags = mg["tags"]
            graph = call("graph", {"tags": tags}, files)
            if mg["functions"]:
                call("graph", {"tags": tags, "function": mg["functions"][0]}, files)
            assert "error" in graph or "nodes" in graph
        listing = call("variables", {}, files)
        if "error" in listing or not listing["variables"]:
            continue
        tensors = listing["variables"]
        assert {"name", "dtype", "shape", "nbytes", "object_path", "partitioned"} <= set(tensors[0])
        small = [t for t in tensors if t["nbytes"] <= MAX_TENSOR_READ]
        for t in {t["name"]: t for t in small[:1] + sorted(small, key=lambda t: -t["nbytes"])[:1]}.values():
            got = call("tensor", {"name": t["name"]}, files)
            if "error" not in got:
                assert got["nbytes"] == t["nbytes"] and "stats" in got
            call("tensor_npy", {"name": t["name"]}, files)
