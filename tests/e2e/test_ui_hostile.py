"""Hostile models in the page: a Cancel reachable from every view (the global work bar), the memory budget
setting, and a graph whose node names nest 50,000 scopes deep (the tab must stay alive)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_global_cancel_stops_work_and_keeps_the_model(app):
    app.open_files(files_of(CORPUS / "tf1_while_cond" / "model"))
    page = app.page
    app.view("run")
    page.get_by_test_id("signature-select").select_option(label="cf_v1")
    page.get_by_test_id("input-n").fill("100000000")          # a loop that would run for hours
    page.get_by_test_id("input-x").fill("[1.0, 2.0]")
    page.get_by_test_id("run-button").click()
    page.wait_for_selector("[data-testid=outputs][data-run-state=running]", state="attached")
    bar = page.locator("#work-bar")
    bar.wait_for(state="visible")
    app.view("overview")                                       # the bar follows to every view
    assert bar.is_visible()
    page.get_by_test_id("global-cancel").click()
    bar.wait_for(state="hidden", timeout=120_000)
    app.view("run")
    page.get_by_test_id("input-n").fill("3")
    page.get_by_test_id("run-button").click()
    page.wait_for_selector("[data-testid=outputs][data-run-state=done]", state="attached", timeout=120_000)


def test_memory_budget_setting(app, tmp_path):
    from test_runtime import F32, I32, const, model, node, sig
    nodes = [const("d", np.array([1 << 28], np.int32)), const("v", np.float32(1)),
             node("big", "Fill", "d", "v", T=F32, index_type=I32)]
    files = model(nodes, {"serving_default": sig({}, {"y": ("big:0", F32, None)})})
    paths = []
    for name, data in files.items():
        p = tmp_path / "fill" / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        paths.append(p)
    page = app.page
    page.locator("#memory-select").select_option(label="Memory 512M")
    app.open_files(paths)
    app.view("run")
    page.get_by_test_id("run-button").click()
    page.get_by_test_id("error-panel").wait_for()
    text = app.error_text()
    assert "'big'" in text and "memory budget of 512.0 MiB" in text and "Traceback" not in text
    page.locator("#memory-select").select_option(value="0")


def test_deeply_nested_scopes_keep_the_tab_alive(app, tmp_path):
    from smlens.proto import graph_pb2, types_pb2
    g = graph_pb2.GraphDef()
    deep = "/".join(["s"] * 50_000) + "/x"
    x = g.node.add(name=deep, op="Placeholder")
    x.attr["dtype"].type = types_pb2.DT_FLOAT
    y = g.node.add(name="out", op="Identity", input=[deep])
    y.attr["T"].type = types_pb2.DT_FLOAT
    pb = tmp_path / "deep.pb"
    pb.write_bytes(g.SerializeToString())
    app.open_files([pb])
    assert app.error_text() is None
    app.view("graph")
    app.page.wait_for_selector(".gnode, .gscope, svg", timeout=60_000)
    assert app.page.evaluate("1 + 1") == 2
