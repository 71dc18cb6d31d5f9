"""Sources: where model files come from. Every reader goes through this interface, so the browser can plug
in `File` objects (FileReaderSync on File.slice) and hosted models HTTP range requests.

Paths are relative, '/'-separated, without a leading slash.
"""
from __future__ import annotations

import os
import posixpath
from typing import Protocol, runtime_checkable

from .errors import FormatError, NotFoundError


@runtime_checkable
class Source(Protocol):
    name: str

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        """Up to `length` bytes from `offset` (fewer only at end of file); length None = to the end."""

    def size(self, path: str) -> int: ...

    def list(self) -> list[str]:
        """Every file, as relative paths."""


def exists(source: Source, path: str) -> bool:
    return path in set(source.list())


def read_exact(source: Source, path: str, offset: int, length: int) -> bytes:
    """Exactly `length` bytes or a FormatError naming the file (truncated)."""
    data = source.read(path, offset, length)
    if len(data) != length:
        raise FormatError(f"truncated: wanted {length} bytes at offset {offset}, file has {source.size(path)}",
                          display_path(source, path))
    return data


def prefetch(source: Source, path: str, spans: list[tuple[int, int]]) -> None:
    """Announce (offset, length) spans of `path` that will be read soon. Optional in the interface: a
    remote source fetches them now in few requests (HttpSource coalesces them); local sources ignore it."""
    fn = getattr(source, "prefetch", None)
    if fn is not None and spans:
        fn(path, spans)


def display_path(source: Source, path: str) -> str:
    return posixpath.join(source.name, path) if source.name else path


class DirSource:
    """A local directory (recursive=False: only the files directly in it)."""

    def __init__(self, root: str, recursive: bool = True):
        self.root = os.path.abspath(root)
        self.name = root
        self.recursive = recursive
        if not os.path.isdir(self.root):
            raise NotFoundError("no such directory", root)
        self._real_root = os.path.realpath(self.root)
        self._files: list[str] | None = None

    def _full(self, path: str) -> str:
        full = os.path.normpath(os.path.join(self.root, path))
        if not (full == self.root or full.startswith(self.root + os.sep)):
            raise NotFoundError("path escapes the model directory", path)
        if not self._inside(full):
            raise NotFoundError("symbolic link to a file outside the model directory: not followed",
                                display_path(self, path))
        return full

    def _inside(self, full: str) -> bool:
        """Whether `full`, with symlinks resolved, still lies inside the model directory (as the page
        sees a dropped folder: it cannot follow links out of it)."""
        real_root = self._real_root
        real = os.path.realpath(full)
        return real == real_root or real.startswith(real_root + os.sep)

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        try:
            with open(self._full(path), "rb") as f:
                f.seek(offset)
                return f.read() if length is None else f.read(length)
        except FileNotFoundError:
            raise NotFoundError("no such file", display_path(self, path)) from None
        except IsADirectoryError:
            raise NotFoundError("is a directory, expected a file", display_path(self, path)) from None

    def size(self, path: str) -> int:
        try:
            return os.path.getsize(self._full(path))
        except OSError:
            raise NotFoundError("no such file", display_path(self, path)) from None

    def list(self) -> list[str]:
        if self._files is None:
            if not self.recursive:
                self._files = sorted(e.name for e in os.scandir(self.root) if e.is_file()
                                     and (not e.is_symlink() or self._inside(e.path)))
                return list(self._files)
            out = []
            for dirpath, dirnames, filenames in os.walk(self.root):
                dirnames.sort()
                rel = os.path.relpath(dirpath, self.root)
                for f in sorted(filenames):
                    full = os.path.join(dirpath, f)
                    if os.path.islink(full) and not self._inside(full):
                        continue  # a link out of the model directory is not part of the model
                    out.append(f if rel == "." else posixpath.join(rel.replace(os.sep, "/"), f))
            self._files = out
        return list(self._files)


class MemorySource:
    """Files held in memory: {relative path: bytes}."""

    def __init__(self, files: dict[str, bytes], name: str = ""):
        self.files = {p.lstrip("/"): bytes(v) for p, v in files.items()}
        self.name = name

    def _get(self, path: str) -> bytes:
        try:
            return self.files[path]
        except KeyError:
            raise NotFoundError("no such file", display_path(self, path)) from None

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        data = self._get(path)
        return data[offset:] if length is None else data[offset:offset + length]

    def size(self, path: str) -> int:
        return len(self._get(path))

    def list(self) -> list[str]:
        return sorted(self.files)


class SubSource:
    """A subdirectory of another source (e.g. a TF-Serving version folder `model/3/`)."""

    def __init__(self, parent: Source, prefix: str):
        self.parent = parent
        self.prefix = prefix.strip("/")
        self.name = display_path(parent, self.prefix)

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        return self.parent.read(f"{self.prefix}/{path}", offset, length)

    def size(self, path: str) -> int:
        return self.parent.size(f"{self.prefix}/{path}")

    def list(self) -> list[str]:
        p = self.prefix + "/"
        return [f[len(p):] for f in self.parent.list() if f.startswith(p)]
