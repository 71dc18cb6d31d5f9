"""`smlens publish` end to end: sites served by Debian's nginx (an unprivileged process on 127.0.0.1, a free
port, an access log with each request's Range and bytes), opened in Chromium by ?model= / ?url=.

Always: a small corpus model from tests/data (show --all text, a variable, a run against TensorFlow's
reference, a share link in a fresh browser context, a server without Range support, corrupt hosted files).
With ../shared present: MobileNetV2 (run; each weight byte fetched at most once) and big_sharded_vars
(60 MB: open + list must fetch < 1 MB). The closing numbers go to test-artifacts/e2e/publish_numbers.json.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

import nginx_server
from test_ui import check_outputs, ops_split

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "data" / "corpus"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
TIMEOUT_MS = 180_000
DATA_SHARD = "variables/variables.data-00000-of-00001"


def shared_case(name: str) -> Path | None:
    """A corpus case of ../shared (relative to the checkout or its parent; SMLENS_SHARED overrides)."""
    bases = [Path(os.environ["SMLENS_SHARED"])] if os.environ.get("SMLENS_SHARED") else []
    bases += [ROOT.parent / "shared", ROOT.parent.parent / "shared"]
    for base in bases:
        case = base / "corpus" / "cases" / name
        if (case / "model" / "variables").is_dir():
            return case
    return None


def _build_module():
    sys.path.insert(0, str(ROOT))
    try:
        import build  # noqa: PLC0415
        return build
    finally:
        sys.path.remove(str(ROOT))


def _examples_file(case: Path, dest: Path) -> Path:
    ref = np.load(case / "reference.npz")
    run = next(r for r in json.loads((case / "reference.json").read_text())["runs"] if r["key"] == "serving_default")
    inputs = {k: ref[v["key"]].tolist() for k, v in run["inputs"].items()}
    dest.write_text(json.dumps({"examples": [{"name": "TensorFlow reference", "inputs": inputs}]}))
    return dest


@pytest.fixture(scope="module")
def published():
    """One site: models/cnn (tests/data), corrupt copies of it, and the shared corpus models when present."""
    from smlens.publish import examples, publish, site

    top = Path(tempfile.mkdtemp(prefix="smlens-publish-e2e-"))
    os.chmod(top, 0o755)   # the test server runs unprivileged
    out = top / "site"
    cnn = CORPUS / "keras_cnn"
    publish(cnn / "model", out, title="CNN", examples_file=_examples_file(cnn, top / "cnn.json"))
    (out / "models" / "model").rename(out / "models" / "cnn")
    for name in ("trunc", "badsha", "gone"):
        site.publish_model(cnn / "model", out / "models" / name, name)
    shard = out / "models" / "trunc" / DATA_SHARD
    shard.write_bytes(shard.read_bytes()[:-4096])
    man = out / "models" / "badsha" / "smlens-manifest.json"
    doc = json.loads(man.read_text())
    next(f for f in doc["files"] if f["path"] == "saved_model.pb")["sha256"] = "0" * 64
    man.write_text(json.dumps(doc))
    (out / "models" / "gone" / "variables" / "variables.index").unlink()
    have = {}
    for name in ("mobilenet_v2", "big_sharded_vars"):
        case = shared_case(name)
        if case is not None:
            items, _ = examples.load(_examples_file(case, top / f"{name}.json"), case / "model")
            site.publish_model(case / "model", out / "models" / name, name, examples=items)
            have[name] = case
    yield {"site": out, "shared": have}
    shutil.rmtree(top, ignore_errors=True)


class Server:
    def __init__(self, url: str, nginx=None, stop=None):
        self.url, self.nginx, self._stop = url, nginx, stop

    def mark(self) -> int:
        return self.nginx.mark() if self.nginx else 0

    def since(self, mark: int):
        if self.nginx is None:
            pytest.skip("byte counts need nginx's access log (nginx is not installed)")
        return self.nginx.since(mark)

    def stop(self) -> None:
        self._stop()


def _start(site: Path, *, ranges: bool) -> Server:
    build = _build_module()
    why = nginx_server.available()
    if why is None:
        srv = nginx_server.NginxServer(site, build.SECURITY_HEADERS, build.MIME_TYPES, ranges=ranges)
        return Server(srv.url, srv, srv.shutdown)
    # past pytest's capture: the fallback must be visible in the tier's output
    print(f"\nNOTE: {why}: using build.py's own server instead of nginx (byte counts skipped)",
          file=sys.__stderr__, flush=True)
    if ranges:
        srv, url = build.serve_in_thread(site)
    else:
        sys.path.insert(0, str(Path(__file__).parent))
        import static_server  # noqa: PLC0415 - no Range support: always the whole file
        srv, url = static_server.start(str(site))
    return Server(url, None, srv.shutdown)


@pytest.fixture(scope="module")
def server(published):
    s = _start(published["site"], ranges=True)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def numbers():
    data: dict = {}
    yield data
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "publish_numbers.json").write_text(json.dumps(data, indent=1) + "\n")
    print("\npublish numbers: " + json.dumps(data), flush=True)


class Page:
    """A fresh browser context on the site, recording every request; helpers wait on the UI's state."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(viewport={"width": 1300, "height": 900}, accept_downloads=True)
        self.requests: list[str] = []
        self.context.on("request", lambda r: self.requests.append(r.url))
        self.page = self.context.new_page()
        self.base = base

    def open(self, query: str) -> tuple[float, float]:
        """(seconds to runtime ready, seconds to model open) from navigation."""
        t0 = time.perf_counter()
        self.page.goto(self.base + query)
        self.page.wait_for_selector("body[data-runtime=ready], body[data-runtime=failed]", state="attached",
                                    timeout=TIMEOUT_MS)
        t_ready = time.perf_counter() - t0
        self.page.wait_for_selector("body[data-open-state=open], body[data-open-state=failed]", state="attached",
                                    timeout=TIMEOUT_MS)
        return t_ready, time.perf_counter() - t0

    @property
    def open_state(self) -> str | None:
        return self.page.get_attribute("body", "data-open-state")

    def error_text(self) -> str | None:
        panel = self.page.get_by_test_id("error-panel")
        return panel.text_content() if panel.is_visible() else None

    def view(self, name: str) -> None:
        self.page.click(f"#tabs [data-view={name}]")
        self.page.wait_for_selector(f"#view-{name}:not([hidden])")

    def wait_run(self) -> str:
        self.page.wait_for_selector("[data-testid=outputs][data-run-state=done], [data-testid=outputs][data-run-state=failed]",
                                    state="attached", timeout=TIMEOUT_MS)
        return self.page.get_by_test_id("outputs").get_attribute("data-run-state")

    def run(self) -> None:
        self.page.get_by_test_id("run-button").click()
        assert self.wait_run() == "done", self.error_text()

    def close(self) -> None:
        self.context.close()


def _reference(case: Path):
    ref = np.load(case / "reference.npz")
    meta = json.loads((case / "reference.json").read_text())
    return ref, next(r for r in meta["runs"] if r["key"] == "serving_default")


def _model_bytes(lines, model: str) -> int:
    """Bytes of the model's files and manifest (the Run view's example inputs are counted apart)."""
    return sum(ln.bytes for ln in lines if ln.path.startswith(f"/models/{model}/")
               and not ln.path.endswith("/smlens-examples.json"))


def _each_byte_at_most_once(lines, path: str, size: int) -> None:
    seen = np.zeros(size, dtype=np.int32)
    for ln in lines:
        if ln.path != path:
            continue
        if ln.status == 200:
            seen += 1
            continue
        m = re.match(r"bytes=(\d+)-(\d*)", ln.range)
        start = int(m.group(1))
        seen[start:start + ln.bytes] += 1
    assert seen.max() <= 1, f"{path}: {int((seen > 1).sum())} bytes were fetched more than once"


def _variable_values(p: Page, name: str) -> np.ndarray:
    p.view("variables")
    table = p.page.get_by_test_id("variables-table")
    table.wait_for()
    p.page.get_by_placeholder(re.compile("Filter")).fill(name)
    table.locator(f"tr[data-name='{name}']").click()
    detail = p.page.get_by_test_id("tensor-detail")
    detail.locator("h3", has_text=name).first.wait_for()
    with p.page.expect_download() as d:
        detail.get_by_role("button", name="Download .npy").click()
    return np.load(d.value.path(), allow_pickle=False)


def _wait_prefilled(p: Page, key: str) -> None:
    """The published example is in the input editor (JSON with an example picker, or image mode's exact values)."""
    try:
        p.page.wait_for_selector(f"[data-testid=example-select-{key}], [data-testid=image-preview-{key}][data-ready='1']",
                                 state="attached", timeout=TIMEOUT_MS)
    except Exception:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        p.page.screenshot(path=str(ARTIFACTS / f"publish-prefill-{key}.png"))
        raise


def _same_origin(p: Page, base: str) -> None:
    origin = urlsplit(base)[:2]
    outside = [u for u in p.requests if not u.startswith(("blob:", "data:")) and urlsplit(u)[:2] != origin]
    assert outside == []


# ---------------------------------------------------------------- the small model: always

def test_static_server_is_nginx():
    """Reports (as a skip with the reason) when the tests below run on build.py's server instead."""
    why = nginx_server.available()
    if why is not None:
        pytest.skip(f"{why}: the publish tests use build.py's own Range server instead")


def test_published_model_opens_runs_and_shares(browser, server, numbers):
    case = CORPUS / "keras_cnn"
    p = Page(browser, server.url)
    try:
        mark = server.mark()
        t_ready, t_open = p.open("?model=models/cnn/")
        assert p.open_state == "open", p.error_text()
        numbers["cnn_time_to_ready_s"], numbers["cnn_time_to_open_s"] = round(t_ready, 2), round(t_open, 2)
        numbers["cnn_open_after_ready_s"] = round(t_open - t_ready, 2)
        p.page.get_by_test_id("show-all").wait_for()
        got_text, got_ops = ops_split(p.page.get_by_test_id("show-all").text_content())
        want_text, want_ops = ops_split((case / "show_all.txt").read_text())
        assert got_text.strip("\n") == want_text.strip("\n") and got_ops == want_ops
        ref, run = _reference(case)
        key = "variables/_all_variables/0/.ATTRIBUTES/VARIABLE_VALUE"
        np.testing.assert_array_equal(_variable_values(p, key.split("/", 1)[1]), ref[key])
        opened = server.since(mark) if server.nginx else []
        p.view("run")
        _wait_prefilled(p, "image")
        mark_run = server.mark()
        p.run()
        check_outputs(p, ref, run)
        if server.nginx:
            lines = server.since(mark)
            numbers["cnn_bytes_open_and_list"] = _model_bytes(opened, "cnn")
            numbers["cnn_bytes_first_run"] = _model_bytes(server.since(mark_run), "cnn")
            size = (case / "model" / DATA_SHARD).stat().st_size
            _each_byte_at_most_once(lines, f"/models/cnn/{DATA_SHARD}", size)
        preview = p.page.get_by_test_id("output-value-output_0").text_content()
        p.page.click("#copy-link")
        p.page.wait_for_selector("#copy-link[data-link]", state="attached")
        link = p.page.get_attribute("#copy-link", "data-link")
        assert "run=1" in link and re.search(r"(ex|img)\.image=0", link), link
        _same_origin(p, server.url)
    finally:
        p.close()
    fresh = Page(browser, "")
    try:
        fresh.page.goto(link)
        assert fresh.wait_run() == "done", fresh.error_text()
        assert fresh.page.get_by_test_id("output-value-output_0").text_content() == preview
        check_outputs(fresh, ref, run)
    finally:
        fresh.close()


def test_inline_share_link_reproduces_a_run(browser, server):
    p = Page(browser, server.url)
    try:
        p.open("?model=models/cnn/")
        p.view("run")
        p.page.get_by_test_id("mode-image-json").click()
        p.page.get_by_test_id("input-image").fill(json.dumps({"shape": [1, 32, 32, 3], "fill": 0.25}))
        p.run()
        preview = p.page.get_by_test_id("output-value-output_0").text_content()
        p.page.click("#copy-link")
        p.page.wait_for_selector("#copy-link[data-link]", state="attached")
        link = p.page.get_attribute("#copy-link", "data-link")
        assert "in.image=" in link and "run=1" in link, link
        with p.page.expect_download() as d:               # the inputs, recorded for `smlens publish --examples`
            p.page.get_by_test_id("save-example").click()
        from smlens.publish import examples
        saved = Path(d.value.path()).with_suffix(".json")
        Path(d.value.path()).rename(saved)
        (ex,), _ = examples.load(saved, CORPUS / "keras_cnn" / "model")
        assert ex["inputs"] == {"image": {"shape": [1, 32, 32, 3], "fill": 0.25}}
    finally:
        p.close()
    fresh = Page(browser, "")
    try:
        fresh.page.goto(link)
        assert fresh.wait_run() == "done", fresh.error_text()
        assert fresh.page.get_by_test_id("output-value-output_0").text_content() == preview
    finally:
        fresh.close()


def test_single_file_url_lists_a_checkpoint(browser, server):
    p = Page(browser, server.url)
    try:
        mark = server.mark()
        p.open("?url=models/cnn/variables/variables.index")
        assert p.open_state == "open", p.error_text()
        p.view("variables")
        rows = p.page.get_by_test_id("variables-table").locator("tr[data-name]")
        rows.first.wait_for()
        assert rows.count() > 10
        if server.nginx:
            assert not any(".data-" in ln.path and ln.bytes > 8192 for ln in server.since(mark))
    finally:
        p.close()


@pytest.mark.parametrize("model,file,why", [
    ("trunc", DATA_SHARD, r"truncated|beyond the end|bytes"),
    ("badsha", "saved_model.pb", "sha256 does not match the manifest"),
    ("gone", "variables/variables.index", r"not found on the server \(HTTP 404\)"),
])
def test_corrupt_hosted_files_name_the_file(browser, server, model, file, why):
    p = Page(browser, server.url)
    try:
        p.open(f"?model=models/{model}/")
        if p.open_state == "open":      # the damage is only met when the values are read
            p.view("run")
            p.page.get_by_test_id("run-button").click()
            assert p.wait_run() == "failed"
        text = p.error_text()
        assert text and f"models/{model}/{file}" in text, text
        assert re.search(why, text), text
    finally:
        p.close()


def test_server_without_range_support(browser, published):
    srv = _start(published["site"], ranges=False)
    p = Page(browser, srv.url)
    try:
        mark = srv.mark()
        p.open("?model=models/cnn/")
        assert p.open_state == "open", p.error_text()
        assert "ignores Range" in (p.page.get_attribute("body", "data-fetch-warnings") or "")
        p.view("run")
        p.run()
        ref, run = _reference(CORPUS / "keras_cnn")
        check_outputs(p, ref, run)
        if srv.nginx:
            paths = [ln.path for ln in srv.since(mark) if ln.path.startswith("/models/")]
            assert len(paths) == len(set(paths)), "a file was downloaded twice"
    finally:
        p.close()
        srv.stop()


# ---------------------------------------------------------------- shared corpus models

def test_big_sharded_vars_open_and_list_fetch_little(browser, server, published, numbers):
    case = published["shared"].get("big_sharded_vars")
    if case is None:
        pytest.skip("big_sharded_vars (60 MB) is only in ../shared/corpus")
    p = Page(browser, server.url)
    try:
        mark = server.mark()
        t_ready, t_open = p.open("?model=models/big_sharded_vars/")
        assert p.open_state == "open", p.error_text()
        p.page.get_by_test_id("show-all").wait_for()
        got_text, got_ops = ops_split(p.page.get_by_test_id("show-all").text_content())
        want_text, want_ops = ops_split((case / "show_all.txt").read_text())
        assert got_text.strip("\n") == want_text.strip("\n") and got_ops == want_ops
        p.view("variables")
        p.page.get_by_test_id("variables-table").locator("tr[data-name]").first.wait_for()
        numbers["big_sharded_vars_time_to_open_s"] = round(t_open, 2)
        numbers["big_sharded_vars_open_after_ready_s"] = round(t_open - t_ready, 2)
        if server.nginx:
            listed = _model_bytes(server.since(mark), "big_sharded_vars")
            numbers["big_sharded_vars_bytes_open_and_list"] = listed
            assert listed < 1_000_000, listed
        ref = np.load(case / "reference.npz")
        key = "variables/layers/0/1/.ATTRIBUTES/VARIABLE_VALUE"
        np.testing.assert_array_equal(_variable_values(p, key.split("/", 1)[1]), ref[key])
    finally:
        p.close()


def test_mobilenet_v2_runs_fetching_each_weight_byte_once(browser, server, published, numbers):
    case = published["shared"].get("mobilenet_v2")
    if case is None:
        pytest.skip("MobileNetV2 weights (34 MB) are only in ../shared/corpus")
    p = Page(browser, server.url)
    try:
        mark = server.mark()
        t_ready, t_open = p.open("?model=models/mobilenet_v2/")
        assert p.open_state == "open", p.error_text()
        numbers["mobilenet_v2_time_to_ready_s"], numbers["mobilenet_v2_time_to_open_s"] = round(t_ready, 2), round(t_open, 2)
        numbers["mobilenet_v2_open_after_ready_s"] = round(t_open - t_ready, 2)
        opened = server.since(mark) if server.nginx else []
        p.view("run")
        _wait_prefilled(p, "keras_tensor")
        mark_run = server.mark()
        t0 = time.perf_counter()
        p.run()
        numbers["mobilenet_v2_first_run_s"] = round(time.perf_counter() - t0, 2)
        ref, run = _reference(case)
        check_outputs(p, ref, run)
        if server.nginx:
            numbers["mobilenet_v2_bytes_open"] = _model_bytes(opened, "mobilenet_v2")
            run_lines = server.since(mark_run)
            numbers["mobilenet_v2_bytes_first_run"] = _model_bytes(run_lines, "mobilenet_v2")
            numbers["mobilenet_v2_requests_first_run"] = sum(1 for ln in run_lines if ln.path.startswith("/models/mobilenet_v2/"))
            size = (case / "model" / DATA_SHARD).stat().st_size
            _each_byte_at_most_once(server.since(mark), f"/models/mobilenet_v2/{DATA_SHARD}", size)
        _same_origin(p, server.url)
    finally:
        p.close()
