"""Safe file names for outputs: a model chooses its output keys, so a key must never pick where a file lands.

`output_file_name(key)` is the one rule every writer uses (`smlens run --outdir`, anything else that saves
outputs under a directory):
- characters other than A-Z a-z 0-9 . _ - become `_` (no `/`, `\\`, `:` or control characters: no paths);
- a name starting with `.` gets a `_` prefix (no `.`, `..` or hidden files), as do Windows device names
  (CON, NUL, COM1...);
- at most 100 characters of the key are kept; an empty key becomes `output`;
- when any of this changed the key, `-` and 8 hex digits of the key's SHA-256 are appended, so two different
  keys never share a file (`a/b` -> `a_b-<hash>`, while a key that is already safe, like `output_0`, keeps
  its name: `output_0.npy`, as saved_model_cli writes it).
"""
from __future__ import annotations

import hashlib
import os
import re

MAX_STEM = 100
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
_DEVICES = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}


def output_file_name(key: str, ext: str = ".npy") -> str:
    """The file name (no directory part) under which output `key` is saved."""
    stem = _UNSAFE.sub("_", key)[:MAX_STEM] or "output"
    if stem.startswith(".") or stem.split(".")[0].upper() in _DEVICES:
        stem = "_" + stem
    if stem != key:
        stem += "-" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return stem + ext


def output_paths(keys, outdir: str, ext: str = ".npy") -> dict[str, str]:
    """{key: path inside outdir} with names that also differ when compared case-insensitively."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for key in keys:
        name = output_file_name(key, ext)
        if name.lower() in used:
            digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
            name = f"{name[:-len(ext)] if ext else name}-{digest[8:16]}{ext}"
        used.add(name.lower())
        if os.sep in name or (os.altsep and os.altsep in name) or name in (".", ".."):
            raise AssertionError(f"unsafe output name {name!r}")  # cannot happen: see output_file_name
        out[key] = os.path.join(outdir, name)
    return out


def open_new_file(path: str, overwrite: bool):
    """A binary file opened for writing that is never a symlink's target (O_NOFOLLOW) and, unless
    `overwrite`, never an existing file (O_EXCL)."""
    flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    flags |= os.O_TRUNC if overwrite else os.O_EXCL
    return os.fdopen(os.open(path, flags, 0o666), "wb")
