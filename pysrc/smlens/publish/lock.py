"""The site's pyodide-lock.json, and the checks on what the site ships (complete wheel, no other origin)."""
from __future__ import annotations

import email.parser
import re
import zipfile
from pathlib import Path

from .util import PublishError, sha256_file


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def wheel_lock_entry(wheel: Path, lock_name: str | None = None) -> dict:
    """A pyodide-lock.json package entry for a pure-Python wheel (format of Pyodide 0.27)."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next((n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1),
                         None)
        if meta_name is None:
            raise PublishError(f"{wheel.name}: no .dist-info/METADATA")
        meta = email.parser.Parser().parsestr(zf.read(meta_name).decode("utf-8"))
    imports = set()
    for n in names:
        top = n.split("/", 1)[0]
        if top.endswith((".dist-info", ".data")):
            continue
        if "/" in n:
            imports.add(top)
        elif n.endswith(".py"):
            imports.add(n[:-3])
    depends = []
    for req in meta.get_all("Requires-Dist") or []:
        if ";" in req:  # extras and environment-specific requirements are not installed
            continue
        m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
        depends.append(normalize_name(m.group(1)))
    name = lock_name or normalize_name(meta["Name"])
    return {
        "name": name,
        "version": meta["Version"],
        "file_name": wheel.name,
        "install_dir": "site",
        "sha256": sha256_file(wheel),
        "package_type": "package",
        "imports": sorted(imports),
        "depends": sorted(depends),
        "unvendored_tests": False,
    }


def make_lock(base: dict, shipped: dict[str, Path], added: dict[str, Path]) -> dict:
    """The site's lock: only what the site ships, so every package name resolves to a local file.

    shipped: packages of the base (npm) lock that we copy; their files must match its sha256.
    added:   our own pure-Python wheels (new entries, replacing any base entry of the same name).
    Edited with plain json rather than pyodide-build's pyodide_lock API: that needs Python 3.12 +
    pydantic, and build.py must run on a bare Python 3.11 (the format is a flat dict of entries).
    """
    packages: dict[str, dict] = {}
    for name, path in shipped.items():
        entry = dict(base["packages"][name])
        if entry["file_name"] != path.name or entry["sha256"] != sha256_file(path):
            raise PublishError(f"{path.name} does not match the pyodide-lock.json entry for {name}")
        packages[name] = entry
    for name, path in added.items():
        packages[name] = wheel_lock_entry(path, name)
    for name, entry in packages.items():
        for dep in entry["depends"]:
            if dep not in packages:
                raise PublishError(f"lock entry {name} depends on {dep}, which the site does not ship")
    return {"info": dict(base["info"]), "packages": dict(sorted(packages.items()))}


def check_wheel_complete(wheel: Path, pysrc: Path) -> None:
    """Every file of the source packages must be in the wheel: the browser has nothing else."""
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    missing = []
    for path in sorted(pysrc.rglob("*")):
        rel = path.relative_to(pysrc)
        if (path.is_dir() or "__pycache__" in rel.parts or rel.parts[0].endswith(".egg-info")
                or path.suffix in (".pyc", ".pyi")):
            continue
        if rel.as_posix() not in names:
            missing.append(rel.as_posix())
    if missing:
        raise PublishError(
            f"{wheel.name} lacks files that exist under pysrc/: {', '.join(missing[:10])}"
            f"{' …' if len(missing) > 10 else ''}\nDeclare them as package data in pyproject.toml "
            f"([tool.setuptools.package-data]) so that the browser gets them too.")


_EXTERNAL_LOAD = re.compile(
    r"""(?:(?:\bsrc\s*=\s*|<link\b[^>]*?\bhref\s*=\s*|\bfrom\s+|\bimport\s*\(\s*|importScripts\s*\(\s*"""
    r"""|\bfetch\s*\(\s*|\bWorker\s*\(\s*|@import\s+)["'`]|\burl\(\s*["']?)(?:https?:)?//[^\s"'`)>]*""",
    re.IGNORECASE)


def external_loads(directory: Path) -> list[str]:
    """Places in the page's own files (HTML/JS/CSS) that would load something from another origin."""
    found = []
    for path in sorted(directory.rglob("*")):
        if path.suffix.lower() in (".html", ".htm", ".js", ".mjs", ".css") and path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for m in _EXTERNAL_LOAD.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(directory)}:{line}: {m.group(0)}")
    return found
