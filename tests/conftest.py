"""Shared pytest configuration: which tier a test belongs to. Markers are declared in pyproject.toml.

- tests/e2e/** is marked `e2e` (tier 3 runs it; tier 1 runs `-m "not e2e"`).
- Under Pyodide (tier 2), only test files that mention "pyodide" are collected: a file that never
  names the marker cannot hold a `pyodide` test, and importing it there could fail (modules that
  exist only on CPython) and costs start-up time.
- The summary says, visibly, how many tests were skipped because the shared data (../shared beside the
  checkout, or $SMLENS_SHARED) is absent: those are the big cases (MobileNetV2, big_sharded_vars).
- The `build` fixture is build.py imported as a module (test_build, test_wasm_module).
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from helpers.paths import SHARED_ENV, SHARED_SKIP, shared_dir

TESTS_DIR = Path(__file__).resolve().parent
E2E_DIR = TESTS_DIR / "e2e"
IN_PYODIDE = sys.platform == "emscripten"


@pytest.fixture(scope="module")
def build():
    """build.py as a module (imported lazily: test files that use it are also collected under Pyodide)."""
    root = str(TESTS_DIR.parent)
    sys.path.insert(0, root)
    try:
        import build as module
    finally:
        sys.path.remove(root)
    return module


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    if not IN_PYODIDE:
        return None
    path = collection_path.resolve()
    if path == E2E_DIR or E2E_DIR in path.parents:
        return True
    if path.suffix == ".py" and path.name.startswith("test_"):
        if "pyodide" not in path.read_text(encoding="utf-8", errors="replace"):
            return True
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if E2E_DIR in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.e2e)


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if SHARED_SKIP in str(r.longrepr)]
    where = shared_dir()
    if where is None:
        terminalreporter.write_sep(
            "-", f"shared data absent (no ../shared beside the checkout, ${SHARED_ENV} unset): "
                 f"{len(skipped)} big-case test(s) skipped", yellow=True)
    elif skipped:
        terminalreporter.write_sep("-", f"shared data at {where}: {len(skipped)} test(s) still skipped", yellow=True)
    else:
        terminalreporter.write_sep("-", f"shared data at {where}: big cases included", green=True)
