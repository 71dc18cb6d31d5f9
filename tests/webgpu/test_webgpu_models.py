"""Whole models on the webgpu backend (plans placed by the plan compiler with webgpu first) against
TensorFlow's reference outputs, with the transfers per run counted (residency: the GPU part of a plan
reads its input once and hands back only what the CPU or the outputs need).

Runs in the webgpu tier (node tests/webgpu/run.mjs). MobileNetV2 comes from ../shared/corpus (skipped
without it); keras_cnn and transformer_tiny are in tests/data.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

if sys.platform != "emscripten":
    pytest.skip("webgpu models run in the webgpu tier (node tests/webgpu/run.mjs: pyodide + Dawn)",
                allow_module_level=True)

import smlens  # noqa: E402
from smlens.backends import webgpu  # noqa: E402

if webgpu.backend() is None:
    pytest.skip("no WebGPU runtime installed (run through tests/webgpu/run.mjs)", allow_module_level=True)
if webgpu._registry() is None:
    pytest.skip("this build has no plan-compiler backend registry (smlens.backends.registry)",
                allow_module_level=True)

DATA = Path(__file__).resolve().parent.parent / "data"


def _shared() -> Path | None:
    env = os.environ.get("SMLENS_SHARED")
    cands = [Path(env)] if env else [DATA.parents[2] / "shared", DATA.parents[3] / "shared"]
    return next((c for c in cands if (c / "corpus" / "cases").is_dir()), None)


def _case_dir(name: str) -> Path | None:
    for d in (DATA / "corpus" / name, DATA / "zoo_keras" / name):
        if (d / "reference.npz").exists():
            return d
    shared = _shared()
    if shared is not None and (shared / "corpus" / "cases" / name / "reference.npz").exists():
        return shared / "corpus" / "cases" / name
    return None


CASES = [("keras_cnn", "serving_default"), ("transformer_tiny", "serving_default"), ("mobilenet_v2", "serving_default")]


@pytest.fixture(autouse=True)
def _webgpu_first():
    webgpu.select("webgpu")
    yield
    webgpu.select("numpy")


@pytest.mark.parametrize("name,run_key", CASES)
def test_model_matches_tensorflow_on_webgpu(name, run_key):
    d = _case_dir(name)
    if d is None:
        pytest.skip(f"{name}: no model with reference outputs (../shared/corpus or tests/data)")
    ref = json.loads((d / "reference.json").read_text())
    run = next(r for r in ref["runs"] if r["key"] == run_key)
    with np.load(d / "reference.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    sig = smlens.open(str(d / "model")).meta_graph(tuple(run["tags"])).signatures[run["signature"]]
    feeds = {k: arrays[v["key"]] for k, v in run["inputs"].items()}
    webgpu.backend().declined.clear()
    sig(**feeds)  # compile the plan and the pipelines
    be = webgpu.backend()
    before = be.stats()
    out = sig(**feeds)
    after = be.stats()
    moved = {k: after[k] - before[k] for k in after}
    print(f"{name}: per run {moved}; steps left to other backends: {be.declined}")
    assert moved["dispatches"] > 0, f"{name}: nothing ran on the GPU"
    # residency: at most one download per output plus one per GPU->CPU boundary; a run reads each
    # fed input once
    assert moved["uploads"] <= len(feeds) + moved["downloads"], moved
    for key, info in run["outputs"].items():
        want = arrays[info["key"]]
        got = out[key]
        tol = info.get("tolerance", {"rtol": 1e-4, "atol": 1e-5})
        np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"], err_msg=f"{name}/{key}")
    # `run --profile` reports the same transfers as the backend counted
    from smlens.runtime.profile import format_report, profile_plan
    report = profile_plan(sig.plan(), feeds)
    print(format_report(report, top=5))
    assert report["transfers"] == {"upload": moved["uploads"], "download": moved["downloads"]}, report["transfers"]
    if name == "mobilenet_v2":  # every op has a GPU kernel: the image goes up once, the softmax comes down once
        assert (moved["uploads"], moved["downloads"]) == (1, 1), moved
