"""The page end to end in headless Chromium: open models through the file pickers, compare what the UI shows
and computes with TensorFlow's reference data (tests/data/corpus), run signatures, and check that nothing
leaves the page's origin. One page serves all tests (tests run in file order); screenshots of each view go to
test-artifacts/e2e/.
"""
from __future__ import annotations

import json
import re
import struct
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from playwright.sync_api import expect

from helpers.paths import shared_corpus_cases, shared_skip_reason

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
DEMO = ROOT / "demo" / "digits"


def files_of(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def ops_split(text: str) -> tuple[str, list[set[str]]]:
    """show --all text with each 'contains the following ops: {...}' set pulled out (its order is a hash order)."""
    sets = []

    def repl(m):
        sets.append(set(re.findall(r"'([^']*)'", m.group(1))))
        return "contains the following ops: {…}"

    return re.sub(r"contains the following ops: \{([^}]*)\}", repl, text), sets


def reference(case: str):
    return np.load(CORPUS / case / "reference.npz"), json.loads((CORPUS / case / "reference.json").read_text())


def download_npy(app, locator) -> np.ndarray:
    with app.page.expect_download() as d:
        locator.click()
    return np.load(d.value.path(), allow_pickle=False)


def run_signature(app, timeout: float = 120_000) -> None:
    outputs = app.page.get_by_test_id("outputs")
    app.page.get_by_test_id("run-button").click()
    app.page.wait_for_selector("[data-testid=outputs][data-run-state=done], [data-testid=outputs][data-run-state=failed]",
                               state="attached", timeout=timeout)
    assert outputs.get_attribute("data-run-state") == "done", app.error_text()


def check_outputs(app, ref, run: dict) -> None:
    for key, spec in run["outputs"].items():
        box = app.page.get_by_test_id(f"output-{key}")
        assert box.is_visible()
        assert json.loads(box.get_attribute("data-shape")) == spec["shape"]
        got = download_npy(app, box.get_by_role("button", name="Download .npy"))
        want = ref[spec["key"]]
        assert got.shape == want.shape
        tol = spec.get("tolerance") or {"rtol": 0, "atol": 0}
        np.testing.assert_allclose(got, want, rtol=tol["rtol"], atol=tol["atol"])


# ---------------------------------------------------------------- tests


def test_page_ready_within_budget(app, timings):
    assert app.page.get_by_test_id("open-input").count() == 1
    assert timings["page_load_to_ready_s"] < 60
    app.shot("landing")


@pytest.mark.parametrize("case", ["simple_save", "keras_mlp"])
def test_saved_model_show_all_matches_tensorflow(app, case, timings):
    seconds = app.open_files(files_of(CORPUS / case / "model"))
    assert app.error_text() is None
    timings[f"open_{case}_s"] = round(seconds, 3)
    app.view("overview")                  # a new model keeps the view the last one was on
    app.wait_rendered("overview")
    shown = app.page.get_by_test_id("show-all").text_content()
    want = (CORPUS / case / "show_all.txt").read_text()
    got_text, got_ops = ops_split(shown)
    want_text, want_ops = ops_split(want)
    assert got_text.strip("\n") == want_text.strip("\n")
    assert got_ops == want_ops
    sigs = app.page.get_by_test_id("signature-list")
    assert sigs.locator("[data-signature=serving_default]").count() >= 1
    app.shot(f"overview-{case}")


def test_folder_picker_keeps_layout(app):
    app.open_files([], directory=CORPUS / "module_basic" / "model")
    assert app.error_text() is None
    app.view("overview")
    app.wait_rendered("overview")     # the signature rows come with describe, after the open itself
    rows = app.page.get_by_test_id("signature-list").locator("[data-signature]")
    expect(rows).to_have_count(3)
    keys = sorted(rows.evaluate_all("rs => rs.map(r => r.dataset.signature)"))
    assert keys == ["__saved_model_init_op", "array_input", "serving_default"]


def test_checkpoint_variable_values(app, timings):
    # sharded checkpoint with a partitioned variable, picked as loose files (checkpoint state file, .meta, shards)
    seconds = app.open_files(files_of(CORPUS / "saver_sharded" / "ckpt"))
    assert app.error_text() is None
    timings["open_checkpoint_s"] = round(seconds, 3)
    ref, _ = reference("saver_sharded")
    app.view("variables")
    app.wait_rendered("variables")
    table = app.page.get_by_test_id("variables-table")
    names = table.locator("tr[data-name]").evaluate_all("rs => rs.map(r => r.dataset.name)")
    assert sorted(names) == sorted(k.split("/", 2)[2] for k in ref.files if k.startswith("ckpt/model.ckpt-7/"))
    for name in ["partitioned/embedding", "dev1/bias", "global_step"]:
        app.page.get_by_placeholder(re.compile("Filter")).fill(name)
        table.locator(f"tr[data-name='{name}']").click()
        detail = app.page.get_by_test_id("tensor-detail")
        detail.locator("h3", has_text=name).first.wait_for()
        app.page.get_by_test_id("tensor-preview").wait_for()
        got = download_npy(app, detail.get_by_role("button", name="Download .npy"))
        want = ref[f"ckpt/model.ckpt-7/{name}"]
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    app.shot("variables")


def test_tf2_checkpoint_object_paths(app):
    app.open_files([], directory=CORPUS / "object_ckpt" / "ckpt")
    assert app.error_text() is None
    app.view("variables")
    table = app.page.get_by_test_id("variables-table")
    table.wait_for()
    assert table.locator(".path-cell").count() > 0          # TF2 object-graph paths shown under names
    ref, _ = reference("object_ckpt")
    key = next(k for k in ref.files if k.startswith("ckpt/saved-2/") and k.endswith("VARIABLE_VALUE"))
    name = key.split("/", 2)[2]
    table.locator(f"tr[data-name='{name}']").click()
    detail = app.page.get_by_test_id("tensor-detail")
    detail.locator("h3", has_text=name).first.wait_for()
    got = download_npy(app, detail.get_by_role("button", name="Download .npy"))
    np.testing.assert_array_equal(got, ref[key])


def test_graph_view_large_function(app):
    # MobileNetV2's graph needs no weights: the copy in tests/data has only the index.
    app.open_files([], directory=CORPUS / "mobilenet_v2" / "model")
    assert app.error_text() is None
    app.view("graph")
    page = app.page
    page.wait_for_selector(".gnode")
    options = page.locator(".graph-select option").evaluate_all("os => os.map(o => o.value)")
    call = next(o for o in options if o.startswith("f:__inference___call__"))
    page.select_option(".graph-select", call)
    page.wait_for_selector(".graph-busy", state="detached", timeout=60_000)
    info = page.locator("#view-graph .toolbar .muted").text_content()
    nodes, boxes = map(int, re.match(r"(\d+) nodes · (\d+) boxes", info).groups())
    assert nodes > 1000 and boxes <= 250          # scopes collapsed by default
    page.get_by_placeholder(re.compile("Search node")).fill("Conv1_1/convolution")
    page.locator(".search-results button", has_text=re.compile(r"Conv1_1/convolution +\(Conv2D\)")).click()
    side = page.get_by_test_id("graph-side")
    side.locator("h3", has_text="Conv1_1/convolution").wait_for()
    assert "Conv2D" in side.text_content()
    assert "strides" in side.text_content()
    page.wait_for_selector(".gnode.selected")
    app.shot("graph", full_page=False)


def test_frozen_graph_with_hostile_names_is_escaped(app, tmp_path):
    from smlens.proto import graph_pb2, types_pb2
    evil = '<img src=x onerror="document.body.dataset.pwned=1">'
    g = graph_pb2.GraphDef()
    x = g.node.add(name=f"scope/{evil}", op="Placeholder")
    x.attr["dtype"].type = types_pb2.DT_FLOAT
    y = g.node.add(name="out", op="Identity", input=[x.name])
    y.attr["T"].type = types_pb2.DT_FLOAT
    y.attr["note"].s = evil.encode()
    pb = tmp_path / "frozen.pb"
    pb.write_bytes(g.SerializeToString())
    app.open_files([pb])
    assert app.error_text() is None
    page = app.page
    assert "frozen GraphDef" in page.locator("#model-name").text_content()
    app.view("graph")
    page.wait_for_selector(".gnode")
    page.get_by_placeholder(re.compile("Search node")).fill("out")
    page.locator(".search-results button", has_text="out").first.click()
    side = page.get_by_test_id("graph-side")
    side.get_by_text(evil).first.wait_for()          # shown as text
    page.locator(".search-results button").first.wait_for()
    assert page.locator("img[src=x]").count() == 0
    assert page.get_attribute("body", "data-pwned") is None


def test_run_tf1_simple_save(app, timings):
    app.open_files(files_of(CORPUS / "simple_save" / "model"))
    ref, meta = reference("simple_save")
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    app.view("run")
    app.wait_rendered("run")
    for key, spec in run["inputs"].items():
        app.page.get_by_test_id(f"input-{key}").fill(json.dumps(ref[spec["key"]].tolist()))
    run_signature(app)
    check_outputs(app, ref, run)
    timings["run_simple_save_wall_ms"] = int(app.page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))


def test_run_tf2_keras_mlp_with_npy_upload(app, tmp_path, timings):
    app.open_files(files_of(CORPUS / "keras_mlp" / "model"))
    ref, meta = reference("keras_mlp")
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    app.view("run")
    app.wait_rendered("run")
    for key, spec in run["inputs"].items():
        path = tmp_path / f"{key}.npy"
        np.save(path, ref[spec["key"]])
        app.page.get_by_test_id(f"mode-{key}-npy").click()
        app.page.get_by_test_id(f"npy-input-{key}").set_input_files(str(path))
    run_signature(app)
    check_outputs(app, ref, run)
    timings["run_keras_mlp_wall_ms"] = int(app.page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))
    app.shot("run")


def test_wrong_input_shape_is_reported(app):
    # still on keras_mlp's run view
    app.page.get_by_test_id("mode-features-json").click()
    app.page.get_by_test_id("input-features").fill("[[1.0, 2.0]]")
    app.page.get_by_test_id("run-button").click()
    app.page.get_by_test_id("error-panel").wait_for()
    text = app.error_text()
    assert "shape" in text and "features" in text and "Traceback" not in text


def test_cancel_restarts_the_runtime_and_keeps_the_model(app, timings):
    app.open_files(files_of(CORPUS / "tf1_while_cond" / "model"))
    page = app.page
    app.view("run")
    app.wait_rendered("run")
    page.get_by_test_id("signature-select").select_option(label="cf_v1")
    page.get_by_test_id("input-n").fill("100000000")          # a v1 while loop that would run for hours
    page.get_by_test_id("input-x").fill("[1.0, 2.0]")
    page.get_by_test_id("run-button").click()
    page.wait_for_selector("[data-testid=outputs][data-run-state=running]", state="attached")
    page.get_by_test_id("cancel-button").click()
    page.wait_for_selector("[data-testid=outputs][data-run-state=cancelled]", state="attached")
    t0 = time.perf_counter()
    page.get_by_text("Cancelled. The runtime was restarted").wait_for(timeout=120_000)
    timings["cancel_restart_s"] = round(time.perf_counter() - t0, 3)
    page.get_by_test_id("input-n").fill("3")
    run_signature(app)
    assert page.get_by_test_id("output-acc").is_visible()


def png_bytes(gray: np.ndarray) -> bytes:
    """A grayscale 8-bit PNG (stdlib only)."""
    h, w = gray.shape
    raw = b"".join(b"\x00" + gray[y].astype(np.uint8).tobytes() for y in range(h))

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_demo_opens_from_hash_and_runs_an_image(app, tmp_path, timings):
    examples = json.loads((DEMO / "examples.json").read_text())
    seconds = app.reload("#view=run&src=demo")    # a reload with this hash re-opens the demo on the Run view
    timings["reload_to_demo_open_s"] = round(seconds, 3)
    page = app.page
    page.wait_for_selector("#view-run:not([hidden])")
    key = examples["input_key"]
    out_key = examples["output_key"]
    # an image file made from example 3 (8x8, values 0..16), scaled up 8x as white-on-black pixels
    ex = examples["examples"][3]
    pixels = np.asarray(ex["inputs"][key], dtype=np.float64).reshape(8, 8)
    big = np.kron(np.round(pixels / 16 * 255), np.ones((8, 8)))
    image = tmp_path / "digit.png"
    image.write_bytes(png_bytes(big))
    page.get_by_test_id(f"mode-{key}-image").click()
    page.get_by_test_id(f"image-input-{key}").set_input_files(str(image))
    page.wait_for_selector(f"[data-testid=image-preview-{key}][data-ready='1']", state="attached")
    run_signature(app)
    box = page.get_by_test_id(f"output-{out_key}")
    assert json.loads(box.get_attribute("data-shape")) == [1, 10]
    probs = download_npy(app, box.get_by_role("button", name="Download .npy"))
    assert abs(float(probs.sum()) - 1) < 1e-4
    assert int(probs.argmax()) == ex["label"]
    timings["demo_image_run_wall_ms"] = int(page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))
    app.shot("run-demo-image")
    # picking an example feeds its exact values: TensorFlow's probabilities within float tolerance
    page.get_by_test_id("example-5").click()
    run_signature(app)
    got = download_npy(app, box.get_by_role("button", name="Download .npy"))
    want = np.asarray(examples["examples"][5]["tensorflow_outputs"][out_key], dtype=np.float32)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)


def test_corrupt_file_shows_error_panel(app, tmp_path):
    bad = tmp_path / "saved_model.pb"
    bad.write_bytes(b"\x0a\xff\xff\xff\x0f" + bytes(range(200)))
    before = app.generation()
    app.page.get_by_test_id("open-input").set_input_files(str(bad))
    app.page.wait_for_selector("body[data-open-state=failed]", state="attached", timeout=60_000)
    panel = app.page.get_by_test_id("error-panel")
    assert panel.is_visible()
    text = panel.text_content()
    assert "saved_model.pb" in text and "Traceback" not in text and "internal error" not in text
    assert app.generation() == before
    app.shot("error")


def test_theme_switch_and_keyboard_search(app):
    page = app.page
    app.open_files(files_of(CORPUS / "simple_save" / "model"))
    app.view("variables")
    page.get_by_test_id("variables-table").wait_for()
    page.locator("body").press("/")
    focused = page.locator("#view-variables [data-search]")
    assert focused.evaluate("e => e === document.activeElement")
    theme = page.locator("#theme-toggle")
    seen = set()
    for _ in range(3):
        theme.click()
        seen.add(page.locator("html").get_attribute("data-theme"))
    assert {"light", "dark", None} <= seen | {None}
    assert "dark" in seen and "light" in seen


def _shared_case(name: str) -> Path | None:
    base = shared_corpus_cases()
    if base is not None and (base / name / "model" / "variables").is_dir():
        return base / name
    return None


def test_mobilenet_v2_runs_in_the_browser(app, tmp_path, timings):
    """The newcomer's path: open MobileNetV2 (33 MB, from the shared corpus when present), run serving_default
    on TensorFlow's reference input (batch 1) and on an image file."""
    case = _shared_case("mobilenet_v2")
    if case is None:
        pytest.skip(shared_skip_reason("MobileNetV2 weights are only in the shared corpus"))
    ref = np.load(case / "reference.npz")
    meta = json.loads((case / "reference.json").read_text())
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    timings["open_mobilenet_v2_s"] = round(app.open_files(files_of(case / "model")), 3)
    page = app.page
    app.view("run")
    app.wait_rendered("run")
    (key, spec), = run["inputs"].items()
    path = tmp_path / "input.npy"
    np.save(path, ref[spec["key"]])
    page.get_by_test_id(f"mode-{key}-npy").click()
    page.get_by_test_id(f"npy-input-{key}").set_input_files(str(path))
    run_signature(app, timeout=300_000)
    timings["run_mobilenet_v2_first_wall_ms"] = int(page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))
    check_outputs(app, ref, run)
    run_signature(app, timeout=300_000)
    timings["run_mobilenet_v2_wall_ms"] = int(page.get_by_test_id("run-timing").get_attribute("data-wall-ms"))
    yy, xx = np.mgrid[0:256, 0:256]
    image = tmp_path / "gradient.png"
    image.write_bytes(png_bytes(((xx + yy) % 256).astype(np.uint8)))
    page.get_by_test_id(f"mode-{key}-image").click()
    page.get_by_test_id(f"image-input-{key}").set_input_files(str(image))
    page.wait_for_selector(f"[data-testid=image-preview-{key}][data-ready='1']", state="attached")
    run_signature(app, timeout=300_000)
    (out_key,) = run["outputs"]
    assert json.loads(page.get_by_test_id(f"output-{out_key}").get_attribute("data-shape")) == [1, 1000]
    app.shot("run-mobilenet-image")


def test_no_request_leaves_the_origin(app):
    origin = urlsplit(app.url)
    outside = [u for u in app.requests
               if not u.startswith(("blob:", "data:")) and urlsplit(u)[:2] != origin[:2]]
    assert outside == []
    assert any(u.endswith("pyodide.asm.wasm") for u in app.requests)
