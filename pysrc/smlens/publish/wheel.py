"""A pure-Python wheel of an installed smlens package, for the browser (Pyodide installs it by name).

build.py builds the dev site's wheel with `pip wheel` from the checkout; a pip-installed smlens has no
sources to build from, so `smlens publish` zips its own installed package (deterministically: sorted
entries, fixed timestamps) with the metadata Pyodide's lock needs.
"""
from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

from .util import PublishError

REQUIRES = ["numpy>=2.0,<3", "protobuf>=5.29.5,<6"]
_EPOCH = (1980, 1, 1, 0, 0, 0)


def package_version(package_dir: Path) -> str:
    m = re.search(r'^__version__\s*=\s*["\']([^"\']+)["\']', (package_dir / "__init__.py").read_text(), re.M)
    if not m:
        raise PublishError(f"{package_dir / '__init__.py'} declares no __version__")
    return m.group(1)


def _package_files(package_dir: Path) -> list[Path]:
    out = []
    for p in sorted(package_dir.rglob("*")):
        rel = p.relative_to(package_dir).parts
        if (p.is_dir() or "__pycache__" in rel or p.suffix in (".pyc", ".pyi")
                or rel[:2] == ("publish", "web")):   # the page's files: not needed inside the browser
            continue
        out.append(p)
    return out


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def build_wheel(package_dir: Path, out_dir: Path) -> Path:
    """<out_dir>/smlens-<version>-py3-none-any.whl from the package folder (e.g. smlens/ of site-packages)."""
    version = package_version(package_dir)
    dist_info = f"smlens-{version}.dist-info"
    entries: list[tuple[str, bytes]] = []
    for p in _package_files(package_dir):
        entries.append(("smlens/" + p.relative_to(package_dir).as_posix(), p.read_bytes()))
    meta = "\n".join(["Metadata-Version: 2.1", "Name: smlens", f"Version: {version}",
                      "Requires-Python: >=3.11", *[f"Requires-Dist: {r}" for r in REQUIRES], ""])
    wheel_meta = "Wheel-Version: 1.0\nGenerator: smlens.publish\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    entries.append((f"{dist_info}/METADATA", meta.encode()))
    entries.append((f"{dist_info}/WHEEL", wheel_meta.encode()))
    entries.append((f"{dist_info}/top_level.txt", b"smlens\n"))
    record = [_record_line(n, d) for n, d in entries] + [f"{dist_info}/RECORD,,"]
    entries.append((f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode()))
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"smlens-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, _EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path
