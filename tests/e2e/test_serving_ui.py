"""The page speaks TF Serving: the Run view's "TF Serving request" mode (REST bodies from TF Serving's
documentation run unchanged, warmup requests listed as ready examples, response and curl line) and the
Overview's model metadata, on tests/data/serving/half_plus_three (TF 2.21, with warmup records)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HPT = ROOT / "tests" / "data" / "serving" / "half_plus_three"


@pytest.fixture(autouse=True, scope="module")
def back_to_overview(app):
    """The page is shared by all e2e files: leave it on Overview, where a freshly booted page starts."""
    yield
    app.view("overview")


def send(app, body: str | None = None, timeout: float = 60_000) -> str:
    page = app.page
    if body is not None:
        page.get_by_test_id("serving-body").fill(body)
    page.get_by_test_id("serving-run").click()
    page.wait_for_selector("[data-testid=serving-response][data-state=done], [data-testid=serving-response][data-state=failed]",
                           state="attached", timeout=timeout)
    return page.get_by_test_id("serving-response").text_content()


def test_metadata_in_overview(app):
    app.open_files([], directory=HPT)
    app.view("overview")
    card = app.page.get_by_test_id("serving-metadata")
    card.wait_for(state="visible", timeout=30_000)
    doc = json.loads(card.text_content())
    assert doc["model_spec"] == {"name": "half_plus_three", "version": "1", "signature_name": ""}
    assert set(doc["metadata"]["signature_def"]["signature_def"]) == {
        "serving_default", "classify_x_to_y", "tensorflow/serving/regress", "echo"}
    assert "GET /v1/models/half_plus_three/metadata" in app.page.get_by_test_id("serving-metadata-card").text_content()


def test_rest_bodies_from_the_docs_run_unchanged(app):
    app.view("run")
    page = app.page
    page.get_by_test_id("mode-serving").click()
    page.wait_for_selector("[data-testid=warmup-4]", timeout=30_000)
    assert page.get_by_test_id("serving-body").input_value().strip().startswith("{")
    assert not page.get_by_test_id("run-button").is_visible()       # per-input editors hidden in this mode
    resp = send(app, '{"instances": [1.0,2.0,5.0]}')
    assert json.loads(resp) == {"predictions": [3.5, 4.0, 5.5]}, app.error_text()
    assert page.get_by_test_id("outputs").get_attribute("data-run-state") == "done"
    curl = page.get_by_test_id("serving-curl").text_content()
    assert curl.startswith("curl -d @- http://localhost:8501/v1/models/half_plus_three:predict <<'EOF'\n")
    assert '{"instances":[1.0,2.0,5.0]}' in curl
    assert page.get_by_test_id("copy-response").is_enabled() and page.get_by_test_id("copy-curl").is_enabled()
    resp = send(app, '{"signature_name": "tensorflow/serving/regress", "examples": [{"x": 1.0}, {"x": 2.0}]}')
    assert json.loads(resp) == {"results": [3.5, 4.0]}
    assert ":regress <<'EOF'" in page.get_by_test_id("serving-curl").text_content()
    app.shot("serving_request")


def test_warmup_requests_are_ready_examples(app):
    page = app.page
    items = page.get_by_test_id("warmup-examples").text_content()
    assert "Warmup requests (assets.extra/tf_serving_warmup_requests): 5" in items
    page.get_by_test_id("warmup-1").click()                          # echo: non-UTF-8 bytes as b64
    assert '"b64": "/wByYXc="' in page.get_by_test_id("serving-body").input_value()
    out = json.loads(send(app))["outputs"]
    assert out["text_bytes"] == [{"b64": "Y2Fmw6k="}, {"b64": "/wByYXc="}] and out["ids_plus"] == [8, -1]
    assert out["text"] == ["café!", {"b64": "/wByYXch"}]
    page.get_by_test_id("warmup-4").click()                          # multi_inference: replayed, no REST form
    page.wait_for_selector("[data-testid=serving-response][data-state=done]", state="attached", timeout=60_000)
    doc = json.loads(page.get_by_test_id("serving-response").text_content())
    assert [r["results"] for r in doc["results"]] == [[[["", 2.5]], [["", 3.125]]], [2.5, 3.125]]


def test_bad_request_shows_tf_servings_error(app):
    resp = send(app, '{"instances": [1.0, "two"]}')
    assert app.page.get_by_test_id("serving-response").get_attribute("data-state") == "failed"
    assert "is not of expected type: float" in json.loads(resp)["error"]
    assert "Failed to process element: 1 of 'instances' list" in (app.error_text() or "")


def test_cancel_a_long_request(app):
    app.open_files(sorted(p for p in (ROOT / "tests" / "data" / "corpus" / "tf1_while_cond" / "model").rglob("*")
                          if p.is_file()))
    page = app.page
    app.view("run")
    page.get_by_test_id("signature-select").select_option(label="cf_v1")
    page.get_by_test_id("mode-serving").click()
    page.get_by_test_id("serving-body").fill('{"signature_name": "cf_v1", "inputs": {"n": 100000000, "x": [1.0, 2.0]}}')
    page.get_by_test_id("serving-run").click()
    page.wait_for_selector("[data-testid=serving-response][data-state=running]", state="attached")
    cancel = page.get_by_test_id("serving-cancel")
    cancel.wait_for(state="visible")
    state = page.get_by_test_id("serving-response").get_attribute("data-state")
    assert state == "running", (state, page.get_by_test_id("serving-response").text_content(), app.error_text())
    cancel.click()
    page.wait_for_selector("[data-testid=serving-response][data-state=cancelled]", state="attached")
    page.get_by_text("Cancelled. The runtime was restarted").wait_for(timeout=120_000)
    resp = json.loads(send(app, '{"signature_name": "cf_v1", "inputs": {"n": 3, "x": [1.0, 2.0]}}'))
    assert "acc" in resp["outputs"], resp
