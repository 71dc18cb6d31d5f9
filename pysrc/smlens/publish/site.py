"""Assembling a static site: the page (web/), the pinned Pyodide runtime with its wheels and lock file,
dagre, and published model folders (each with its manifest)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

from . import pins
from .artifacts import Runtime, checkout_root
from .lock import external_loads, make_lock
from .manifest import model_manifest, write_manifest
from .util import PublishError, log


def web_dir() -> Path:
    """The page's files: package data of an installed smlens, else the checkout's web/."""
    packaged = Path(__file__).resolve().parent / "web"
    if (packaged / "index.html").is_file():
        return packaged
    root = checkout_root()
    if root is not None and (root / "web" / "index.html").is_file():
        return root / "web"
    raise PublishError("the page's files are missing: this smlens was installed without its web/ "
                       "package data (install a wheel built by `python build.py build`)")


def copy_web(web: Path, staging: Path) -> None:
    clash = pins.SITE_RESERVED & {p.name for p in web.iterdir()}
    if clash:
        raise PublishError(f"web/ must not contain {sorted(clash)}: the site assembler writes those")
    shutil.copytree(web, staging, ignore=shutil.ignore_patterns(".*", "__pycache__"), dirs_exist_ok=True)
    if found := external_loads(staging):
        raise PublishError("web/ loads from other origins (the site must be self-contained):\n  "
                           + "\n  ".join(found))


def install_runtime(staging: Path, runtime: Runtime, smlens_wheel: Path) -> None:
    """pyodide/ (core files, wheels, a lock of exactly what is shipped) and vendor/dagre.min.js."""
    pyo = staging / "pyodide"
    pyo.mkdir(parents=True, exist_ok=True)
    for filename in pins.PYODIDE_CORE:
        shutil.copy2(runtime.pyodide_dir / filename, pyo / filename)
    for path in runtime.wheels.values():
        shutil.copy2(path, pyo / path.name)
    if smlens_wheel.parent != pyo:
        shutil.copy2(smlens_wheel, pyo / smlens_wheel.name)
    base_lock = json.loads((runtime.pyodide_dir / "pyodide-lock.json").read_text())
    lock = make_lock(base_lock, {n: runtime.wheels[n] for n in pins.PROVISA_WHEELS},
                     {"protobuf": runtime.wheels["protobuf"], "smlens": pyo / smlens_wheel.name})
    (pyo / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")
    (staging / "vendor").mkdir(exist_ok=True)
    shutil.copy2(runtime.dagre, staging / "vendor" / pins.DAGRE_FILE[0])


def publish_model(src: Path, dest: Path, name: str, title: str = "", examples: list[dict] | None = None,
                  examples_file: str | None = None) -> dict:
    """Copy a model folder to dest with its manifest (and examples); returns the manifest.

    examples_file: a file already in the folder that holds examples (the dev demo's examples.json).
    """
    if not src.is_dir():
        raise PublishError(f"{src}: not a folder (publish a SavedModel or checkpoint folder)")
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".*", "__pycache__", pins.MANIFEST_NAME,
                                                             pins.EXAMPLES_NAME), dirs_exist_ok=True)
    if examples:
        (dest / pins.EXAMPLES_NAME).write_text(json.dumps({"examples": examples}) + "\n")
        examples_file = pins.EXAMPLES_NAME
    manifest = model_manifest(dest, name, title, examples_file)
    if examples_file and examples_file != pins.EXAMPLES_NAME:
        manifest["files"] = [f for f in manifest["files"] if f["path"] != examples_file]
    write_manifest(dest, manifest)
    return manifest


def write_site_config(staging: Path, config: dict) -> None:
    (staging / pins.SITE_CONFIG).write_text(json.dumps(config, indent=1) + "\n")


def site_size(site: Path) -> int:
    return sum(p.stat().st_size for p in site.rglob("*") if p.is_file())


def replace_dir(staging: Path, out: Path) -> None:
    """Move a finished staging folder to out (an existing out is replaced only when it is a site)."""
    if out.exists():
        if any(out.iterdir()) and not (out / pins.SITE_CONFIG).exists() and not (out / "pyodide").is_dir():
            raise PublishError(f"{out} exists and is not an smlens site: choose an empty or new folder")
        old = out.with_name(out.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
        staging.rename(out)
        shutil.rmtree(old, ignore_errors=True)
    else:
        staging.rename(out)
    log(f"wrote {out}: {site_size(out) / 1e6:.1f} MB")
