"""An in-memory static server for HttpSource tests: the transport (url, start, end) -> (status, body,
Content-Range) answering like nginx (206 for one satisfiable range, 416 past the end, 404 when absent),
or ignoring Range (200, whole file) like a server without range support. Every request is recorded."""
from __future__ import annotations

from pathlib import Path


class MemoryServer:
    def __init__(self, files: dict[str, bytes], base: str = "http://host/m/", ranges: bool = True):
        self.files = files
        self.base = base
        self.ranges = ranges
        self.log: list[tuple[str, int | None, int | None, int]] = []   # (path, start, end, bytes sent)

    @classmethod
    def from_dir(cls, folder: Path, **kw) -> "MemoryServer":
        return cls({p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}, **kw)

    def __call__(self, url: str, start, end):
        from urllib.parse import unquote
        assert url.startswith(self.base), url
        path = unquote(url[len(self.base):])
        data = self.files.get(path)
        if data is None:
            self.log.append((path, start, end, 0))
            return 404, b"not found", ""
        if start is None or not self.ranges:
            self.log.append((path, start, end, len(data)))
            return 200, data, ""
        if start >= len(data):
            self.log.append((path, start, end, 0))
            return 416, b"", f"bytes */{len(data)}"
        last = len(data) - 1 if end is None else min(end, len(data) - 1)
        body = data[start:last + 1]
        self.log.append((path, start, end, len(body)))
        return 206, body, f"bytes {start}-{last}/{len(data)}"

    def bytes_sent(self, path: str | None = None) -> int:
        return sum(n for p, _, _, n in self.log if path is None or p == path)
