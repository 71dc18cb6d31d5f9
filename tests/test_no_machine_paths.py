"""No tracked file names an absolute path of one machine (a checkout, a venv, a home folder): data beside
the checkout is found relative to it (../shared) or through an environment variable (SMLENS_SHARED,
SMLENS_TF_PYTHON), so the tests, benchmarks and scripts work on any machine of the same kind."""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Folders that only ever exist on one machine. System locations every Debian has (/usr/bin/chromium,
# /usr/bin/env) and the temporary folder are not machine paths.
MACHINE_PATH = re.compile(r"(?<![\w.~$-])/(?:work|opt|home|root|Users|mnt|srv|scratch|data)/[\w.-]+")
WINDOWS_PATH = re.compile(r"\b[A-Z]:\\\\?(?:Users|work)\\\\?")


def tracked_text_files() -> list[Path]:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the tracked files are unknown")
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    files = []
    for name in out.decode().split("\0"):
        path = ROOT / name
        if not name or not path.is_file() or path.stat().st_size > 4 << 20:
            continue
        head = path.read_bytes()[:8192]
        if b"\0" in head:
            continue  # binary (protobufs, numpy arrays, wheels)
        files.append(path)
    return files


def test_pattern_catches_machine_paths():
    r = "/"   # the examples are assembled so that this file does not name them itself
    for bad in [f'TF = "{r}opt/tfvenv/bin/python"', f"cases = Path('{r}work/shared/corpus/cases')", f"{r}home/me/x",
                f"see {r}root/.pyenv/versions"]:
        assert MACHINE_PATH.search(bad), bad
    for fine in ["/usr/bin/chromium", "#!/usr/bin/env bash", "../shared/corpus/cases", "a/work/b",
                 "https://example.org/data/x", "$HOME/work/x"]:
        assert not MACHINE_PATH.search(fine), fine


def test_no_tracked_file_names_a_machine_path():
    hits = []
    for path in tracked_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for n, line in enumerate(text.splitlines(), 1):
            if "://" in line and MACHINE_PATH.search(re.sub(r"\w+://\S+", "", line)) is None:
                continue
            if MACHINE_PATH.search(line) or WINDOWS_PATH.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()[:120]}")
    assert not hits, "absolute machine paths in tracked files:\n" + "\n".join(hits)
