"""Page items a newcomer hit in the first hour (issue 14): each checked in the browser. Every wait is on the
state checked (Playwright's auto-waiting expect, or the page's own data-* attributes), never on time."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from test_ui import CORPUS, files_of, png_bytes, run_signature

pytestmark = pytest.mark.e2e


def test_several_checkpoints_select_the_opened_one(app):
    """A folder with four checkpoints opens the one its `checkpoint` file names, and the dropdown shows it."""
    app.open_files([], directory=CORPUS / "object_ckpt" / "ckpt")
    assert app.error_text() is None
    select = app.page.locator("#candidate-select")
    expect(select).to_be_visible()
    expect(select).to_have_value("ckpt/saved-2.index")
    before = app.generation()
    select.select_option("ckpt/written.index")
    app.wait_open(before)
    expect(select).to_have_value("ckpt/written.index")


def test_variables_sort_shows_direction_and_resets_per_model(app):
    page = app.page
    app.open_files(files_of(CORPUS / "saver_sharded" / "ckpt"))
    app.view("variables")
    app.wait_rendered("variables")
    name_th = page.locator("#view-variables th[data-sort-key=name]")
    size_th = page.locator("#view-variables th[data-sort-key=nbytes]")
    expect(name_th).to_have_attribute("aria-sort", "ascending")
    size_th.click()
    expect(size_th).to_have_attribute("aria-sort", "descending")
    expect(size_th).to_contain_text("▼")
    expect(name_th).to_have_attribute("aria-sort", "none")
    sizes = page.locator("#view-variables tbody tr td.num").evaluate_all("tds => tds.map(t => t.title)")
    values = [int(t.split()[0]) for t in sizes]
    assert values == sorted(values, reverse=True)
    size_th.click()
    expect(size_th).to_have_attribute("aria-sort", "ascending")
    expect(size_th).to_contain_text("▲")
    app.open_files(files_of(CORPUS / "simple_save" / "model"))   # another model: its own, default order
    app.view("variables")
    app.wait_rendered("variables")
    expect(page.locator("#view-variables th[data-sort-key=name]")).to_have_attribute("aria-sort", "ascending")
    expect(page.locator("#view-variables th[data-sort-key=nbytes]")).to_have_attribute("aria-sort", "none")


def test_truncated_variables_index_error(app, tmp_path, timings):
    model = tmp_path / "model"
    shutil.copytree(CORPUS / "keras_cnn" / "model", model)
    index = model / "variables" / "variables.index"
    index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
    page = app.page
    page.get_by_test_id("error-close").click() if page.get_by_test_id("error-panel").is_visible() else None
    t0 = time.perf_counter()
    page.locator("#open-dir-input").set_input_files(str(model))
    page.wait_for_selector("body[data-open-state=failed]", state="attached", timeout=60_000)
    timings["truncated_index_error_s"] = round(time.perf_counter() - t0, 3)
    text = app.error_text()
    assert "variables.index" in text and "internal error" not in text and "Traceback" not in text


PREVIEW_BOX = """p => { const r = p.getBoundingClientRect(), c = p.parentElement.getBoundingClientRect();
    return {right: r.right, parent: c.right, page: document.documentElement.clientWidth,
            scroll: document.documentElement.scrollWidth, sw: p.scrollWidth, cw: p.clientWidth}; }"""


def assert_preview_fits(pre) -> None:
    box = pre.evaluate(PREVIEW_BOX)
    assert box["right"] <= box["parent"] + 0.5 and box["scroll"] <= box["page"] + 0.5, box   # inside the page
    assert box["sw"] <= box["cw"] + 1, box        # formatted to the box's width: nothing cut at the right edge


@pytest.mark.parametrize("width", [1400, 900])
def test_long_value_previews_fit_their_box(app, width):
    """A 32x16 float matrix (lines of ~200 characters at NumPy's width) is formatted to fit the preview box,
    in the Variables detail and in the Run outputs, at a wide and a narrow window."""
    page = app.page
    page.set_viewport_size({"width": width, "height": 900})
    try:
        app.open_files(files_of(CORPUS / "keras_mlp" / "model"))
        app.view("variables")
        app.wait_rendered("variables")
        page.locator("#view-variables tr[data-name='variables/7/.ATTRIBUTES/VARIABLE_VALUE']").click()
        pre = page.get_by_test_id("tensor-preview")
        pre.wait_for()
        assert_preview_fits(pre)
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})


def test_graph_opens_tf2_models_on_the_serving_function(app):
    page = app.page
    app.open_files(files_of(CORPUS / "keras_mlp" / "model"))
    app.view("graph")
    page.wait_for_selector(".gnode")
    page.wait_for_selector(".graph-busy", state="detached", timeout=60_000)
    value = page.locator(".graph-select").input_value()
    assert value.startswith("f:__inference_"), value          # not the top-level variable plumbing
    page.get_by_placeholder(re.compile("Search node")).fill("MatMul")
    expect(page.locator(".search-results button").first).to_be_visible()
    zoom = float(page.locator("#view-graph svg[data-zoom]").get_attribute("data-zoom"))
    assert zoom >= 0.75
    # the top-level graph stays one click away
    top_level = page.locator(".graph-select option[value^='g:']").first.get_attribute("value")
    page.select_option(".graph-select", top_level)
    expect(page.locator(".graph-select")).to_have_value(top_level)
    page.wait_for_selector(".graph-busy", state="detached", timeout=60_000)
    expect(page.locator("#view-graph .gnode").first).to_be_visible()


def test_wide_graph_opens_readable_on_its_inputs(app):
    page = app.page
    app.open_files([], directory=CORPUS / "mobilenet_v2" / "model")
    app.view("graph")
    page.wait_for_selector(".gnode")
    page.wait_for_selector(".graph-busy", state="detached", timeout=60_000)
    assert page.locator(".graph-select").input_value().startswith("f:")
    zoom = float(page.locator("#view-graph svg[data-zoom]").get_attribute("data-zoom"))
    assert zoom >= 0.75                                        # readable, not "fit everything"
    visible = page.evaluate("""() => { const svg = document.querySelector('#view-graph svg[data-zoom]').getBoundingClientRect();
        return [...document.querySelectorAll('#view-graph .gnode')].filter(g => {
          const r = g.getBoundingClientRect();
          return r.right > svg.left && r.left < svg.right && r.bottom > svg.top && r.top < svg.bottom; })
          .map(g => g.textContent); }""")
    assert any("_Arg" in t or "Placeholder" in t or "argument" in t for t in visible), visible[:20]


def test_image_presets_and_labels(app, tmp_path):
    page = app.page
    model = tmp_path / "cnn"
    shutil.copytree(CORPUS / "keras_cnn" / "model", model)
    (model / "assets").mkdir()
    names = [f"class-{i}" for i in range(10)]
    (model / "assets" / "labels.txt").write_text("\n".join(names) + "\n")
    app.open_files([], directory=model)
    assert app.error_text() is None
    app.view("run")
    app.wait_rendered("run")
    expect(page.get_by_test_id("labels-status")).to_contain_text("assets/labels.txt")
    page.get_by_test_id("mode-image-image").click()
    preset = page.get_by_test_id("preset-image")
    expect(preset).to_be_visible()
    expect(preset).to_have_value("unit")
    preset.select_option("imagenet")
    expect(page.get_by_test_id("preset-formula-image")).to_contain_text("mean")
    yy, xx = np.mgrid[0:32, 0:32]
    image = tmp_path / "ramp.png"
    image.write_bytes(png_bytes(((xx * 8) % 256).astype(np.uint8)))
    page.get_by_test_id("image-input-image").set_input_files(str(image))
    page.wait_for_selector("[data-testid=image-preview-image][data-ready='1']", state="attached")
    run_signature(app)
    top = page.get_by_test_id("output-output_0").locator("[data-label]")
    expect(top.first).to_have_attribute("data-label", re.compile(r"^class-\d$"))
    other = tmp_path / "mine.txt"
    other.write_text("\n".join(f"mine-{i}" for i in range(10)))
    page.get_by_test_id("labels-input").set_input_files(str(other))
    expect(page.get_by_test_id("labels-status")).to_contain_text("mine.txt")
    preset.select_option("signed")
    expect(page.get_by_test_id("preset-formula-image")).to_contain_text("-1 + pixel / 255")
    run_signature(app)
    expect(top.first).to_have_attribute("data-label", re.compile(r"^mine-\d$"))
    assert_preview_fits(page.get_by_test_id("output-value-output_0"))


def _seconds(text: str) -> float:
    value, unit = text.split()
    return round(float(value) / (1000 if unit == "ms" else 1), 3)


def _shared_model(case: str) -> Path:
    from helpers.paths import shared_corpus_cases, shared_skip_reason
    base = shared_corpus_cases()
    if base is None or not (base / case / "model" / "variables").is_dir():
        pytest.skip(shared_skip_reason(f"{case}'s variable data is only in the shared corpus"))
    return base / case / "model"


def test_big_variable_detail(app, timings):
    """The 58.6 MiB embedding of big_sharded_vars (6 shards, partitioned): its detail shows, with the
    statistics of TensorFlow's values. Timings: wall clock from the click, and the read alone."""
    model = _shared_model("big_sharded_vars")
    ref = np.load(model.parent / "reference.npz")
    page = app.page
    app.open_files([], directory=model)
    app.view("variables")
    app.wait_rendered("variables")
    name = "embedding/.ATTRIBUTES/VARIABLE_VALUE"
    t0 = time.perf_counter()
    page.locator(f"#view-variables tr[data-name='{name}']").click()
    page.get_by_test_id("tensor-preview").wait_for(timeout=120_000)
    timings["big_variable_detail_wall_s"] = round(time.perf_counter() - t0, 3)
    detail = page.get_by_test_id("tensor-detail").text_content()
    timings["big_variable_read_s"] = _seconds(re.search(r"read in ([\d.]+ m?s)", detail).group(1))
    want = next((ref[k] for k in ref.files if k.endswith(name)), None)
    if want is not None:
        assert f"{want.size} values" in detail


def test_truncated_index_of_a_big_model_is_reported_fast(app, tmp_path, timings):
    """MobileNetV2 (a 1.6 MB saved_model.pb that Pyodide's pure-Python protobuf needs seconds to parse) with
    half its variables.index: the error comes from the index, read first."""
    model = _shared_model("mobilenet_v2")
    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    index = copy / "variables" / "variables.index"
    index.write_bytes(index.read_bytes()[: index.stat().st_size // 2])
    t0 = time.perf_counter()
    app.page.locator("#open-dir-input").set_input_files(str(copy))
    app.page.wait_for_selector("body[data-open-state=failed]", state="attached", timeout=60_000)
    timings["truncated_index_mobilenet_error_s"] = round(time.perf_counter() - t0, 3)
    assert "variables.index" in app.error_text()
