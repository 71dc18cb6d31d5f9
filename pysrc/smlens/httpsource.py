"""HttpSource: model files on a web server, read with HTTP Range requests.

The transport is a function `(url, start, end) -> (status, body, content_range)`: start None asks for the
whole file (no Range header), end is inclusive. In the browser's worker it is a synchronous XMLHttpRequest
(allowed in workers); tests pass a Python one. The formats never see HTTP: they call read() like on any
Source, and prefetch() (optional in the Source interface) lets a reader announce many spans at once, which
are coalesced into few requests.

A server that ignores Range answers 200 with the whole file: it is kept in memory, read once, and a
warning says so. Files read whole are checked against the manifest's sha256; tensor bytes are still
CRC-checked by the bundle reader.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import quote

from .errors import ChecksumError, FormatError, NotFoundError

Transport = Callable[[str, "int | None", "int | None"], Any]

COALESCE_GAP = 16 * 1024          # spans closer than this are fetched in one request (the gap is discarded)
MAX_RANGE = 32 * 1024 * 1024      # one request never asks for more than this (unless one span is larger)
MAX_WHOLE = 64 * 1024 * 1024      # a manifest larger than this is refused
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


def coalesce(spans: list[tuple[int, int]], gap: int = COALESCE_GAP, max_len: int = MAX_RANGE) -> list[tuple[int, int]]:
    """(offset, length) spans -> sorted, merged (start, end_exclusive) ranges; empty spans dropped."""
    out: list[list[int]] = []
    for off, n in sorted((int(o), int(n)) for o, n in spans if n > 0):
        end = off + n
        if out and off - out[-1][1] <= gap and max(end, out[-1][1]) - out[-1][0] <= max_len:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([off, end])
    return [(a, b) for a, b in out]


@dataclass
class _Block:
    start: int
    data: bytes
    pending: set = field(default_factory=set)   # (offset, length) spans announced and not yet read

    def covers(self, offset: int, n: int) -> bool:
        return self.start <= offset and offset + n <= self.start + len(self.data)


class HttpSource:
    """Files under base_url. files: {path: size} from a manifest (None: discovered by probing);
    sha256: {path: hex} checked for files read whole."""

    def __init__(self, base_url: str, transport: Transport, files: dict[str, int] | None = None,
                 sha256: dict[str, str] | None = None, name: str = ""):
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.name = name
        self._transport = transport
        self._sizes: dict[str, int] = dict(files or {})
        self._probe = files is None
        self._missing: set[str] = set()
        self._sha = dict(sha256 or {})
        self._whole: dict[str, bytes] = {}          # files a server sent whole
        self._blocks: dict[str, list[_Block]] = {}  # prefetched ranges
        self.requests = 0
        self.bytes_fetched = 0
        self.warnings: list[str] = []

    # ---- Source interface
    def list(self) -> list[str]:
        return sorted(self._sizes)

    def size(self, path: str) -> int:
        if path not in self._sizes:
            if not self._probe or path in self._missing:
                raise NotFoundError("no such file", self._display(path))
            self._probe_size(path)
        return self._sizes[path]

    def read(self, path: str, offset: int = 0, length: int | None = None) -> bytes:
        size = self.size(path)
        offset = max(0, int(offset))
        n = size - offset if length is None else min(int(length), size - offset)
        if n <= 0:
            return b""
        if path in self._whole:
            return self._whole[path][offset:offset + n]
        cached = self._from_blocks(path, offset, n)
        if cached is not None:
            return cached
        data = self._get(path, offset, offset + n - 1)
        if offset == 0 and n == size:
            self._verify(path, data)
        return data

    def prefetch(self, path: str, spans: list[tuple[int, int]]) -> None:
        """Fetch these (offset, length) spans now, in as few requests as the gaps allow; read() then
        serves them from memory (each block is dropped once every span in it has been read)."""
        if path in self._whole:
            return
        size = self.size(path)
        spans = [(o, min(n, size - o)) for o, n in spans if 0 <= o < size and n > 0]
        spans = [s for s in spans if self._from_blocks(path, s[0], s[1], peek=True) is None]
        for start, end in coalesce(spans):
            data = self._get(path, start, end - 1)
            if path in self._whole:
                return
            inside = {s for s in spans if start <= s[0] and s[0] + s[1] <= end}
            self._blocks.setdefault(path, []).append(_Block(start, data, inside))

    def probe(self, path: str) -> bool:
        """Whether the server has this file (learning its size); for sources without a manifest."""
        try:
            self.size(path)
            return True
        except NotFoundError:
            return False

    # ---- internals
    def _display(self, path: str) -> str:
        return self.url(path)

    def url(self, path: str) -> str:
        return self.base_url + quote(path, safe="/")

    def _from_blocks(self, path: str, offset: int, n: int, peek: bool = False) -> bytes | None:
        blocks = self._blocks.get(path)
        if not blocks:
            return None
        for b in blocks:
            if b.covers(offset, n):
                if peek:
                    return b""
                data = b.data[offset - b.start:offset - b.start + n]
                b.pending.discard((offset, n))
                if not b.pending:
                    blocks.remove(b)
                return data
        return None

    def _verify(self, path: str, data: bytes) -> None:
        want = self._sha.get(path)
        if want and hashlib.sha256(data).hexdigest() != want:
            raise ChecksumError("sha256 does not match the manifest (the hosted file differs from the "
                                "published one)", self._display(path))

    def _call(self, path: str, start: int | None, end: int | None) -> tuple[int, bytes, str]:
        try:
            status, body, content_range = self._transport(self.url(path), start, end)
        except Exception as e:  # network error, CORS refusal, aborted request
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise FormatError(f"cannot fetch ({msg})", self._display(path)) from None
        body = _as_bytes(body)
        self.requests += 1
        self.bytes_fetched += len(body)
        return int(status), body, str(content_range or "")

    def _fail(self, path: str, status: int) -> None:
        if status in (404, 410):
            raise NotFoundError(f"not found on the server (HTTP {status})", self._display(path))
        if status == 0:
            raise FormatError("cannot fetch (network error, or the server does not allow this origin: CORS)",
                              self._display(path))
        raise FormatError(f"the server answered HTTP {status}", self._display(path))

    def _keep_whole(self, path: str, body: bytes) -> None:
        known = self._sizes.get(path)
        if known is not None and len(body) != known:
            raise FormatError(f"the server sent {len(body)} bytes, the manifest says {known} (truncated?)",
                              self._display(path))
        self._sizes[path] = len(body)
        self._verify(path, body)
        self._whole[path] = body
        if not any("ignores Range" in w for w in self.warnings):
            self.warnings.append(f"the server ignores Range requests: each file is downloaded whole, once "
                                 f"(first: {path}, {len(body)} bytes)")

    def _get(self, path: str, start: int, end: int) -> bytes:
        status, body, content_range = self._call(path, start, end)
        if status == 200:                       # Range ignored: the whole file
            self._keep_whole(path, body)
            return body[start:end + 1]
        if status == 416:
            raise FormatError(f"bytes {start}..{end} lie beyond the end of the hosted file (truncated?)",
                              self._display(path))
        if status != 206:
            self._fail(path, status)
        m = _CONTENT_RANGE.match(content_range.strip())
        if m is None or int(m.group(1)) != start:
            raise FormatError(f"the server answered a Range request with Content-Range {content_range!r}",
                              self._display(path))
        if m.group(3) != "*" and int(m.group(3)) != self._sizes.get(path, int(m.group(3))):
            raise FormatError(f"the hosted file has {m.group(3)} bytes, the manifest says {self._sizes[path]}",
                              self._display(path))
        return body[:end - start + 1]

    def _probe_size(self, path: str) -> None:
        status, body, content_range = self._call(path, 0, 0)
        if status == 200:
            self._keep_whole(path, body)
            return
        if status in (404, 410):
            self._missing.add(path)
        if status == 416:                    # an empty file
            self._sizes[path] = 0
            return
        if status != 206:
            self._fail(path, status)
        m = _CONTENT_RANGE.match(content_range.strip())
        if m is None or m.group(3) == "*":
            raise FormatError(f"the server gave no file size (Content-Range {content_range!r}); "
                              f"publish the model with a manifest", self._display(path))
        self._sizes[path] = int(m.group(3))


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes):
        return data
    if hasattr(data, "to_bytes"):          # a JsProxy of a Uint8Array
        return data.to_bytes()
    return bytes(data)


def fetch_whole(transport: Transport, url: str) -> bytes:
    """One file read whole (the manifest itself), errors naming the URL."""
    base, _, name = url.rpartition("/")
    src = HttpSource(base + "/", lambda _u, s, e: transport(url, s, e), files=None)
    status, body, _ = src._call(name, None, None)
    if status != 200:
        src._fail(name, status)
    if len(body) > MAX_WHOLE:
        raise FormatError(f"{len(body)} bytes: too large for a manifest", url)
    return body
