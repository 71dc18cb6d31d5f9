"""Where the shared data lives: `../shared` beside the checkout (as CI lays it out), or the folder the
environment variable SMLENS_SHARED names. Never an absolute path of one machine. Tests that need it skip
with a reason that starts with SHARED_SKIP, and tests/conftest.py says in the summary how many did."""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED_ENV = "SMLENS_SHARED"
SHARED_SKIP = "needs ../shared"


def shared_dir() -> Path | None:
    """The shared data folder, or None when it is not there."""
    named = os.environ.get(SHARED_ENV)
    path = Path(named) if named else ROOT.parent / "shared"
    return path if path.is_dir() else None


def shared_corpus_cases() -> Path | None:
    base = shared_dir()
    cases = base / "corpus" / "cases" if base is not None else None
    return cases if cases is not None and cases.is_dir() else None


def shared_skip_reason(what: str) -> str:
    return f"{SHARED_SKIP} ({what}): set {SHARED_ENV} or put the shared data beside the checkout"
