"""The page's WebAssembly SIMD kernels (web/kernels/wasm) end to end: the worker instantiates the kernel module
in Pyodide's memory, the Run view switches backends, both match TensorFlow's reference outputs, and the
per-step profile shows which backend ran each step."""
from __future__ import annotations

import json

import numpy as np
import pytest

from test_ui import CORPUS, _shared_case, check_outputs, files_of, reference, run_signature


def _run_with(app, tmp_path, case_dir, ref, run, backend: str, profile: bool = False) -> str:
    page = app.page
    show_run_view(app)
    for key, spec in run["inputs"].items():
        path = tmp_path / f"{key}.npy"
        np.save(path, ref[spec["key"]])
        page.get_by_test_id(f"mode-{key}-npy").click()
        page.get_by_test_id(f"npy-input-{key}").set_input_files(str(path))
    page.get_by_test_id("backend-select").select_option(backend)
    toggle = page.get_by_test_id("profile-toggle")
    if toggle.is_checked() != profile:
        toggle.click()
    run_signature(app, timeout=300_000)
    check_outputs(app, ref, run)
    return page.get_by_test_id("run-timing").text_content()


def show_run_view(app) -> None:
    """The Run view of the model just opened (it is rendered asynchronously; an older panel may still show)."""
    app.view("run")
    app.page.wait_for_selector(f"#view-run .run-view[data-panel^='{app.generation()}|']", state="attached")


def test_backend_select_offers_wasm(app):
    app.open_files(files_of(CORPUS / "keras_cnn" / "model"))
    show_run_view(app)
    app.page.wait_for_selector("[data-testid=backend-select] option[value=wasm]", state="attached")
    options = app.page.get_by_test_id("backend-select").locator("option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    assert values[0] == "auto" and {"numpy", "wasm"} <= set(values[1:]), values


@pytest.mark.parametrize("backend", ["numpy", "wasm"])
def test_keras_cnn_matches_tensorflow_on_each_backend(app, tmp_path, backend):
    ref, meta = reference("keras_cnn")
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    app.open_files(files_of(CORPUS / "keras_cnn" / "model"))
    timing = _run_with(app, tmp_path, CORPUS / "keras_cnn", ref, run, backend)
    if backend == "wasm":
        assert "WASM (SIMD)" in timing, timing
    else:
        assert "WASM" not in timing, timing


def test_profile_table_shows_steps_on_wasm(app, tmp_path):
    ref, meta = reference("keras_cnn")
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    app.open_files(files_of(CORPUS / "keras_cnn" / "model"))
    _run_with(app, tmp_path, CORPUS / "keras_cnn", ref, run, "wasm", profile=True)
    table = app.page.get_by_test_id("profile-table")
    table.wait_for()
    backends = table.locator("tbody tr td:nth-child(3)").all_text_contents()
    ops = table.locator("tbody tr td:nth-child(2)").all_text_contents()
    assert "WASM (SIMD)" in backends and "NumPy" in backends  # Softmax, Reshape… stay on NumPy
    assert {"_FusedConv2D", "MaxPool"} <= set(ops)
    assert all(op != "_FusedConv2D" or b == "WASM (SIMD)" for op, b in zip(ops, backends))
    app.shot("run-profile-wasm")
    app.page.get_by_test_id("profile-toggle").click()  # leave the shared page as the other tests expect


def test_mobilenet_v2_on_wasm_matches_tensorflow(app, tmp_path, timings):
    case = _shared_case("mobilenet_v2")
    if case is None:
        pytest.skip("MobileNetV2 weights are only in ../shared/corpus")
    ref = np.load(case / "reference.npz")
    meta = json.loads((case / "reference.json").read_text())
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    app.open_files(files_of(case / "model"))
    timing = _run_with(app, tmp_path, case, ref, run, "wasm")
    assert "WASM (SIMD)" in timing
    timings["run_mobilenet_v2_wasm_wall_ms"] = int(app.page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))
