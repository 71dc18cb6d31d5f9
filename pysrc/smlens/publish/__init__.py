"""`smlens publish`: a static site that opens straight on one model (or, --demo-only, on none).

Layout of a published site (the dev site of build.py has the same one, with the demo under demo/):
    index.html, js/, css/, worker.js …   the page (package data `smlens/publish/web/`, or the checkout's web/)
    pyodide/                             pinned Pyodide core, numpy/protobuf/smlens wheels, pyodide-lock.json
    vendor/dagre.min.js
    models/<name>/…                      the model folder, unchanged, plus smlens-manifest.json
                                         (and smlens-examples.json when there are example inputs)
    site.json                            {"model": "models/<name>/", "title": …}: what the page opens

Standard library only at import time: build.py loads this package on a bare Python.
"""
from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

from . import artifacts, examples, pins, site  # noqa: F401 - build.py uses smlens.publish.pins
from .util import PublishError

__all__ = ["publish", "PublishError", "safe_name"]


def safe_name(name: str) -> str:
    """A folder name for the URL: letters, digits, '.', '_' and '-' only."""
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip(".-") or "model"
    return clean[:100]


def publish(model_dir: Path | None, out_dir: Path, *, title: str = "", examples_file: Path | None = None,
            base_url: str = "", demo_only: bool = False, runtime: artifacts.Runtime | None = None,
            smlens_wheel: Path | None = None) -> dict:
    """Write the site; returns its site.json (plus "notes": what the caller should tell the user)."""
    if demo_only == (model_dir is not None):
        raise PublishError("give a model folder, or --demo-only for a site without one")
    out_dir = Path(out_dir).resolve()
    notes: list[str] = []
    items: list[dict] = []
    if model_dir is not None:
        model_dir = Path(model_dir).resolve()
        if not model_dir.is_dir():
            raise PublishError(f"{model_dir}: not a folder")
        if out_dir == model_dir or model_dir in out_dir.parents:
            raise PublishError(f"{out_dir}: the output folder must not be inside the model folder")
        items, notes = examples.load(examples_file, model_dir)
    runtime = runtime or artifacts.locate()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        site.copy_web(site.web_dir(), staging)
        wheel = smlens_wheel
        if wheel is None:
            from .wheel import build_wheel
            wheel = build_wheel(Path(__file__).resolve().parents[1], staging / "pyodide")
        site.install_runtime(staging, runtime, wheel)
        config: dict = {"title": title, "base_url": base_url, "model": None}
        if model_dir is not None:
            name = safe_name(model_dir.name)
            manifest = site.publish_model(model_dir, staging / "models" / name, name, title, items)
            config["model"] = f"models/{name}/"
            config["files"] = len(manifest["files"])
            config["bytes"] = sum(f["size"] for f in manifest["files"])
            config["examples"] = len(items)
        site.write_site_config(staging, config)
        (staging / ".nojekyll").write_text("")   # GitHub Pages: serve every file as is
        site.replace_dir(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    config["notes"] = notes
    return config


def add_parser(sub) -> None:
    """`smlens publish` on the CLI's subparsers."""
    p = sub.add_parser("publish", help="write a static site (page + Python runtime + model) for any static host")
    p.add_argument("model_dir", nargs="?", help="SavedModel or checkpoint folder to publish")
    p.add_argument("out_dir", nargs="?", help="folder to write the site to (replaced when it is a site)")
    p.add_argument("--title", default="", help="title shown on the page")
    p.add_argument("--examples", help="example inputs for the Run view: .npz (one example) or .json")
    p.add_argument("--base-url", default="", help="URL the site will be served from (printed share link)")
    p.add_argument("--demo-only", action="store_true",
                   help="a site without a model: it opens models hosted elsewhere by ?model=URL")
    p.set_defaults(func=_cmd)


def _cmd(a) -> str:
    from ..errors import InputError
    model, out = a.model_dir, a.out_dir
    if a.demo_only and out is None:
        model, out = None, model
    if out is None:
        raise InputError("usage: smlens publish MODEL_DIR OUT_DIR (or --demo-only OUT_DIR)")
    try:
        cfg = publish(Path(model) if model else None, Path(out), title=a.title,
                      examples_file=Path(a.examples) if a.examples else None, base_url=a.base_url,
                      demo_only=a.demo_only)
    except PublishError as e:
        raise InputError(str(e)) from None
    for note in cfg.get("notes", []):
        print(f"note: {note}", file=sys.stderr)
    lines = [f"published to {Path(out).resolve()}"]
    if cfg["model"]:
        lines.append(f"model: {cfg['model']} ({cfg['files']} files, {cfg['bytes']} bytes, "
                     f"{cfg['examples']} examples)")
    base = a.base_url.rstrip("/") + "/" if a.base_url else ""
    lines.append(f"open: {base or '<site URL>/'}" + ("" if cfg["model"] else "?model=<URL of a published model>"))
    lines.append("serve it from any static host that answers Range requests (see README: Hosting)")
    return "\n".join(lines) + "\n"
