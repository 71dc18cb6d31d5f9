"""End-to-end fixtures: the built site (dist/site) served on 127.0.0.1 with the product's headers, one headless
Debian Chromium (never `playwright install`), and one page reused by all tests (Pyodide boots once).

Every request the page (and its workers) makes is recorded; test_ui checks none leaves the origin.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = Path("/usr/bin/chromium")
FLAGS = ["--headless=new", "--no-sandbox", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
BOOT_TIMEOUT_MS = 90_000


def _serve(site: Path):
    """build.py's server when it exposes one, else the fallback in static_server.py (same headers)."""
    sys.path.insert(0, str(ROOT))
    try:
        import build  # noqa: PLC0415
        if hasattr(build, "serve_in_thread"):
            return build.serve_in_thread(site)
    except ImportError:
        pass
    finally:
        sys.path.remove(str(ROOT))
    sys.path.insert(0, str(Path(__file__).parent))
    import static_server  # noqa: PLC0415
    return static_server.start(str(site))


@pytest.fixture(scope="session")
def site_dir() -> Path:
    site = ROOT / "dist" / "site"
    if not (site / "index.html").is_file() or not (site / "pyodide").is_dir():
        sys.path.insert(0, str(ROOT))
        try:
            import build  # noqa: PLC0415
            site = build.build_if_needed()
        finally:
            sys.path.remove(str(ROOT))
    return site


@pytest.fixture(scope="session")
def site_url(site_dir: Path):
    server, url = _serve(site_dir)
    yield url
    server.shutdown()


@pytest.fixture(scope="session")
def timings() -> dict:
    data: dict = {}
    yield data
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "timings.json").write_text(json.dumps(data, indent=1) + "\n")


@pytest.fixture(scope="session")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield b
        b.close()


class App:
    """The page plus helpers that wait on the UI's own state attributes (no eval: the CSP forbids it)."""

    def __init__(self, page, url: str, requests: list[str], console: list[str]):
        self.page = page
        self.url = url
        self.requests = requests
        self.console = console

    def boot(self, hash_: str = "") -> float:
        t0 = time.perf_counter()
        self.page.goto(self.url + hash_)
        self.page.wait_for_selector("body[data-runtime=ready]", state="attached", timeout=BOOT_TIMEOUT_MS)
        return time.perf_counter() - t0

    def reload(self, hash_: str) -> float:
        """Set the URL hash, reload the page, wait until the model the hash names is open."""
        self.page.goto(self.url + hash_)
        t0 = time.perf_counter()
        self.page.reload()
        self.page.wait_for_selector("body[data-open-state=open]", state="attached", timeout=BOOT_TIMEOUT_MS)
        return time.perf_counter() - t0

    def generation(self) -> int:
        return int(self.page.get_attribute("body", "data-generation") or 0)

    def wait_open(self, before: int, timeout: float = 60_000) -> None:
        self.page.wait_for_selector(
            f"body[data-generation='{before + 1}'], body[data-open-state=failed]", state="attached", timeout=timeout)

    def open_files(self, paths: list[Path], *, directory: Path | None = None) -> float:
        """Open via the multi-file picker (flat files) or the folder picker (a directory, relative paths kept)."""
        before = self.generation()
        t0 = time.perf_counter()
        if directory is not None:
            self.page.locator("#open-dir-input").set_input_files(str(directory))
        else:
            self.page.get_by_test_id("open-input").set_input_files([str(p) for p in paths])
        self.wait_open(before)
        return time.perf_counter() - t0

    def wait_rendered(self, name: str, timeout: float = 60_000) -> None:
        """Wait until view `name` shows the model opened last (its data-rendered is that open's generation)."""
        self.page.wait_for_selector(f"#view-{name}[data-rendered='{self.generation()}']", state="attached",
                                    timeout=timeout)

    def view(self, name: str) -> None:
        self.page.click(f"#tabs [data-view={name}]")
        self.page.wait_for_selector(f"#view-{name}:not([hidden])")

    def shot(self, name: str, full_page: bool = True) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    def error_text(self) -> str | None:
        panel = self.page.get_by_test_id("error-panel")
        return panel.text_content() if panel.is_visible() else None


@pytest.fixture(scope="session")
def app(browser, site_url, timings):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    requests: list[str] = []
    console: list[str] = []
    context.on("request", lambda r: requests.append(r.url))
    page = context.new_page()
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    a = App(page, site_url, requests, console)
    timings["page_load_to_ready_s"] = round(a.boot(), 3)
    yield a
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "console.log").write_text("\n".join(console) + "\n")
    context.close()
