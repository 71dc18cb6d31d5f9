"""Checksums and the error type of site assembly (standard library only: build.py imports this package
on a bare Python, before numpy or protobuf are installed)."""
from __future__ import annotations

import hashlib
from pathlib import Path


class PublishError(Exception):
    """A failure with a message meant for the person building or publishing a site."""


def log(msg: str) -> None:
    print(f"[smlens publish] {msg}", flush=True)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(path: Path, expected: str, origin: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise PublishError(
            f"checksum mismatch for {path.name} (from {origin}):\n"
            f"  expected sha256 {expected}\n  got      sha256 {actual}\n"
            f"The file differs from the pinned release. Delete {path} and retry; if it persists, "
            f"the upstream file changed and must be reviewed before the pin is updated.")
