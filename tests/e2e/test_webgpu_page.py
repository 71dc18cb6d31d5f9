"""The page with WebGPU: Chromium with --enable-unsafe-webgpu (SwiftShader without a GPU). The Run view
shows the adapter, `?backend=webgpu` forces the webgpu backend, and a run through it (entered via JSPI so
GPU read-backs can be awaited) gives TensorFlow's outputs. Without the flag-less default the automatic
choice must not pick a software adapter."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from conftest import BOOT_TIMEOUT_MS, CHROMIUM, FLAGS

ROOT = Path(__file__).resolve().parents[2]
CASE = ROOT / "tests" / "data" / "corpus" / "keras_cnn"


@pytest.fixture(scope="module")
def gpu_page(browser, site_url):
    # a second Chromium from the session's Playwright (one sync Playwright per process), with WebGPU on
    gpu_browser = browser.browser_type.launch(executable_path=str(CHROMIUM), args=FLAGS + ["--enable-unsafe-webgpu"])
    page = gpu_browser.new_page(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    console: list[str] = []
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.console_log = console
    yield page
    gpu_browser.close()


def _boot(page, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-runtime=ready]", state="attached", timeout=BOOT_TIMEOUT_MS)
    page.wait_for_selector("body[data-backends]", state="attached", timeout=30_000)


def _open_and_run(page, tmp_path: Path) -> dict:
    files = [p for p in (CASE / "model").rglob("*") if p.is_file()]
    before = int(page.get_attribute("body", "data-generation") or 0)
    page.locator("#open-dir-input").set_input_files(str(CASE / "model"))
    page.wait_for_selector(f"body[data-generation='{before + 1}']", state="attached", timeout=60_000)
    assert files
    page.click("#tabs [data-view=run]")
    page.wait_for_selector("#view-run:not([hidden])")
    meta = json.loads((CASE / "reference.json").read_text())
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    with np.load(CASE / "reference.npz") as npz:
        ref = {k: npz[k] for k in npz.files}
    for key, spec in run["inputs"].items():
        path = tmp_path / f"{key}.npy"
        np.save(path, ref[spec["key"]])
        page.get_by_test_id(f"mode-{key}-npy").click()
        page.get_by_test_id(f"npy-input-{key}").set_input_files(str(path))
    page.get_by_test_id("run-button").click()
    page.wait_for_selector("[data-testid=outputs][data-run-state=done], [data-testid=outputs][data-run-state=failed]",
                           state="attached", timeout=180_000)
    return {"run": run, "ref": ref}


def test_forced_webgpu_runs_keras_cnn_and_shows_the_adapter(gpu_page, site_url, tmp_path):
    page = gpu_page
    _boot(page, site_url + "?backend=webgpu")
    backends = page.get_attribute("body", "data-backends")
    info = page.text_content("#runtime-info")
    assert "swiftshader" in info.lower() or "GPU:" in info, info
    if "webgpu" not in backends.split(","):
        pytest.skip(f"webgpu forced but the plan backends are {backends!r}: this build has no backend registry")
    r = _open_and_run(page, tmp_path)
    adapter = page.get_by_test_id("adapter-info").text_content()
    assert "webgpu" in adapter and ("swiftshader" in adapter.lower() or "GPU adapter" in adapter), adapter
    assert not page.get_by_test_id("error-panel").is_visible(), page.get_by_test_id("error-panel").text_content()
    assert page.get_by_test_id("outputs").get_attribute("data-run-state") == "done", page.console_log[-5:]
    for key, spec in r["run"]["outputs"].items():
        box = page.get_by_test_id(f"output-{key}")
        with page.expect_download() as dl:
            box.get_by_role("button", name="Download .npy").click()
        got = np.load(dl.value.path(), allow_pickle=False)
        tol = spec.get("tolerance") or {"rtol": 0, "atol": 0}
        np.testing.assert_allclose(got, r["ref"][spec["key"]], rtol=tol["rtol"], atol=tol["atol"])


def test_automatic_choice_skips_a_software_adapter(gpu_page, site_url):
    _boot(gpu_page, site_url)
    backends = gpu_page.get_attribute("body", "data-backends").split(",")
    assert "webgpu" not in backends  # SwiftShader reports isFallbackAdapter: CPU backends are faster
