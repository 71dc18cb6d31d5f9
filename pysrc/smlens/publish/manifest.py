"""The manifest of a published model folder: every file's path, size and sha256.

The page reads it first: it names the files (a static host cannot list folders), gives their sizes (so
range reads need no HEAD request) and the sha256 that files read whole are checked against.
"""
from __future__ import annotations

import json
from pathlib import Path

from . import pins
from .util import PublishError, sha256_file

FORMAT = "smlens-model"
VERSION = 1
_NOT_MODEL_FILES = {pins.MANIFEST_NAME, pins.EXAMPLES_NAME}


def model_files(model_dir: Path) -> list[Path]:
    """The files of a model folder, sorted; hidden files and our own site files are not part of it."""
    out = []
    for p in sorted(model_dir.rglob("*")):
        rel = p.relative_to(model_dir)
        if any(part.startswith(".") for part in rel.parts) or rel.as_posix() in _NOT_MODEL_FILES:
            continue
        if p.is_file():
            out.append(p)
    return out


def model_manifest(model_dir: Path, name: str, title: str = "", examples: str | None = None) -> dict:
    files = [{"path": p.relative_to(model_dir).as_posix(), "size": p.stat().st_size, "sha256": sha256_file(p)}
             for p in model_files(model_dir)]
    if not files:
        raise PublishError(f"{model_dir}: no files to publish")
    return {"format": FORMAT, "version": VERSION, "name": name, "title": title, "files": files,
            "examples": examples}


def write_manifest(model_dir: Path, manifest: dict) -> Path:
    path = model_dir / pins.MANIFEST_NAME
    path.write_text(json.dumps(manifest, indent=1) + "\n")
    return path
