"""`smlens run --profile` on every corpus run (text and JSON), and the Python profiling API."""
from __future__ import annotations

import json

import pytest

from smlens.cli import main
from smlens.runtime.profile import format_report, profile_plan
from test_corpus_run import _runs, opened, reference, run_argv, tensor


def _argv(tmp_path, case: str, run: dict) -> list:
    return run_argv(tmp_path, case, run) + ["--profile", "--profile_runs", "1"]


@pytest.mark.parametrize("case,run_key", _runs())
def test_run_profile_json(tmp_path, capsys, case: str, run_key: str):
    run = reference(case)[0][run_key]
    assert main(_argv(tmp_path, case, run) + ["--json"]) == 0, capsys.readouterr().err
    prof = json.loads(capsys.readouterr().out)["profile"]
    assert prof["total_ms"] >= 0 and isinstance(prof["steps"], list)
    times = [r["ms"] for r in prof["steps"]]
    assert times == sorted(times, reverse=True)
    for r in prof["steps"]:
        assert {"op", "backend", "in", "out", "ms", "name"} <= set(r)


def test_run_profile_text_names_passes(tmp_path, capsys):
    run = reference("keras_cnn")[0]["serving_default"]
    assert main(_argv(tmp_path, "keras_cnn", run)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "median run:" in out and "_FusedConv2D" in out and "passes (steps before -> after):" in out
    assert "fuse_epilogue" in out and "Result for output key" in out


def test_profile_api():
    run = reference("keras_mlp")[0]["serving_default"]
    sig = opened("keras_mlp").meta_graph(tuple(run["tags"])).signatures[run["signature"]]
    report = profile_plan(sig.plan(), {k: tensor("keras_mlp", v["key"], v) for k, v in run["inputs"].items()},
                          runs=2)
    assert report["runs"] == 2 and report["steps"] and report["passes"][0]["pass"] == "inline"
    assert sum(p["before"] > p["after"] for p in report["passes"]) >= 1
    assert "MatMul" in format_report(report)
