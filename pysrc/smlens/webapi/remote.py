"""Opening hosted models: `open_url` with {"url", "kind": "model"|"file"}.

model: a published folder (its smlens-manifest.json names every file with size and sha256) or the
manifest's own URL. file: one .pb/.pbtxt/.meta/.index URL; files beside it that a model needs
(variables/, the checkpoint's shards) are found by probing with one-byte range requests.
The worker's `reader` argument is here the HTTP transport (synchronous XHR; see web/worker.js).
"""
from __future__ import annotations

import json
import posixpath
import re

from ..errors import FormatError, NotFoundError
from ..httpsource import HttpSource, fetch_whole
from .describe import open_source
from .session import SESSION

MANIFEST_NAME = "smlens-manifest.json"
MAX_FILES = 100_000
_SHA = re.compile(r"[0-9a-f]{64}$")


def manifest_url(url: str) -> str:
    if url.split("?", 1)[0].endswith(".json"):
        return url
    return url.rstrip("/") + "/" + MANIFEST_NAME


def parse_manifest(data: bytes, where: str) -> dict:
    """Validated manifest: {"name", "title", "files": {path: size}, "sha256": {path: hex}, "examples"}."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise FormatError("not a JSON manifest", where) from None
    files = doc.get("files") if isinstance(doc, dict) else None
    if not isinstance(files, list) or not files or len(files) > MAX_FILES:
        raise FormatError("manifest has no \"files\" list (publish the folder with `smlens publish`)", where)
    sizes, shas = {}, {}
    for f in files:
        path = f.get("path") if isinstance(f, dict) else None
        size = f.get("size") if isinstance(f, dict) else None
        sha = f.get("sha256") if isinstance(f, dict) else None
        if (not isinstance(path, str) or not path or path.startswith("/") or "\\" in path
                or any(part in ("", ".", "..") for part in path.split("/"))):
            raise FormatError(f"manifest entry {path!r}: not a relative path inside the folder", where)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise FormatError(f"manifest entry {path!r}: size must be a non-negative integer", where)
        if sha is not None and (not isinstance(sha, str) or not _SHA.match(sha)):
            raise FormatError(f"manifest entry {path!r}: sha256 must be 64 hex digits", where)
        sizes[path] = size
        if sha:
            shas[path] = sha
    examples = doc.get("examples")
    return {"name": str(doc.get("name") or ""), "title": str(doc.get("title") or ""), "files": sizes,
            "sha256": shas, "examples": examples if isinstance(examples, str) else None}


def _probe_neighbours(src: HttpSource, name: str) -> None:
    """A lone file URL: find what it needs beside it (probes answer 404 quickly when absent)."""
    if name.endswith(".meta"):
        src.probe(name[:-5] + ".index")
    elif posixpath.basename(name) in ("saved_model.pb", "saved_model.pbtxt"):
        base = posixpath.dirname(name)
        for extra in ("variables/variables.index", "fingerprint.pb"):
            src.probe(posixpath.join(base, extra))


def bound_variable_keys(model) -> set[str]:
    """Checkpoint keys bound to the variables of the MetaGraphs compiled so far (what a run reads)."""
    keys: set[str] = set()
    for mg in model.meta_graphs:
        rt = getattr(mg, "_smlens_runtime", None)
        if rt is not None:
            keys.update(rt.binding.by_node.values())
    return keys


def open_url(args, buffers, transport, progress) -> dict:
    url = str(args.get("url") or "")
    if not re.match(r"https?://", url):
        raise NotFoundError(f"not an http(s) URL: {url!r}")
    kind = args.get("kind") or "model"
    progress("Fetching the model's manifest…" if kind == "model" else "Opening the hosted file…", 0.05)
    examples = None
    info: dict = {}
    if kind == "model":
        murl = manifest_url(url)
        m = parse_manifest(fetch_whole(transport, murl), murl)
        base = murl.rsplit("/", 1)[0] + "/"
        src = HttpSource(base, transport, files=m["files"], sha256=m["sha256"])
        name = m["name"] or posixpath.basename(base.rstrip("/"))
        examples = base + m["examples"] if m["examples"] else None
        info = {"title": m["title"], "manifest": murl}
        target = None
    else:
        base, _, fname = url.rpartition("/")
        src = HttpSource(base + "/", transport, files=None)
        if not src.probe(fname):
            raise NotFoundError("not found on the server", url)
        _probe_neighbours(src, fname)
        name = fname
        target = fname if posixpath.basename(fname) not in ("saved_model.pb", "saved_model.pbtxt") else ""
    open_args = {"name": args.get("name") or name}
    if args.get("path") is not None:
        target = str(args["path"])
    if target is not None:
        open_args["path"] = target
    summary = open_source(src, open_args, progress)
    model = SESSION.model
    model.prefetch_hint = lambda: bound_variable_keys(model)
    summary["remote"] = {"base": src.base_url, "examples": examples, "warnings": src.warnings,
                         "requests": src.requests, "bytes_fetched": src.bytes_fetched, **info}
    return summary

