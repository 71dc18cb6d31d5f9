"""User files on the JavaScript side (FileSource), and what in a set of them can be opened."""
from __future__ import annotations

from typing import Any, Callable

from ..errors import FormatError, NotFoundError
from ..sources import display_path


def as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if hasattr(data, "to_bytes"):          # a JsProxy of a Uint8Array
        return data.to_bytes()
    return bytes(data)


class FileSource:
    """Files that live on the JavaScript side: entries [{path, size}], reader(index, offset, length) -> bytes."""

    def __init__(self, entries: list[dict], reader: Callable[[int, int, int], Any], name: str = ""):
        self.name = name
        self._reader = reader
        self._index: dict[str, int] = {}
        self._sizes: dict[str, int] = {}
        for i, e in enumerate(entries):
            path = str(e["path"]).strip("/")
            if path and path not in self._index:
                self._index[path] = i
                self._sizes[path] = int(e["size"])

    def _lookup(self, path: str) -> tuple[int, int]:
        try:
            return self._index[path], self._sizes[path]
        except KeyError:
            raise NotFoundError("no such file", display_path(self, path)) from None

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        index, size = self._lookup(path)
        offset = max(0, int(offset))
        n = size - offset if length is None else min(int(length), size - offset)
        if n <= 0:
            return b""
        try:
            data = self._reader(index, offset, n)
        except Exception as e:  # the browser refuses (file changed or removed since it was picked) or I/O error
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise FormatError(f"cannot read the file ({msg})", display_path(self, path)) from None
        return as_bytes(data)

    def size(self, path: str) -> int:
        return self._lookup(path)[1]

    def list(self) -> list[str]:
        return sorted(self._index)

    def rename(self, mapping: dict[str, str]) -> None:
        """Give files other paths (a flat file selection laid out as a SavedModel directory)."""
        index = {mapping.get(p, p): i for p, i in self._index.items()}
        sizes = {mapping.get(p, p): s for p, s in self._sizes.items()}
        self._index, self._sizes = index, sizes


def flat_savedmodel_layout(paths: list[str]) -> dict[str, str]:
    """Files picked one by one lose their folders: put variables.* back under variables/ and the rest of a
    SavedModel's files (vocabularies, ...) under assets/."""
    if any("/" in p for p in paths) or not ({"saved_model.pb", "saved_model.pbtxt"} & set(paths)):
        return {}
    keep = {"saved_model.pb", "saved_model.pbtxt", "fingerprint.pb", "keras_metadata.pb"}
    out = {}
    for p in paths:
        if p.startswith("variables.") or p.startswith("variables-"):
            out[p] = "variables/" + p
        elif p not in keep:
            out[p] = "assets/" + p
    return out


def common_root(paths: list[str]) -> str:
    """The deepest folder holding every file ('' when the files are at the top)."""
    if not paths:
        return ""
    parts = [p.split("/")[:-1] for p in paths]
    root: list[str] = []
    for level in zip(*parts):
        if all(x == level[0] for x in level):
            root.append(level[0])
        else:
            break
    return "/".join(root)


def find_candidates(source) -> list[dict]:
    """What in the dropped files can be opened: the core's one ladder (model.find_candidates)."""
    from ..model import find_candidates as core_find_candidates
    return core_find_candidates(source)
