"""Fast checks of build.py and the committed build inputs: no network, no build, a few seconds.

The server checks run build.py's server in a thread on an ephemeral port of 127.0.0.1.
"""
from __future__ import annotations

import hashlib
import json
import re
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# --- the runtime the core runs on (this one also runs inside Pyodide, tier 2) -------------------

@pytest.mark.pyodide
def test_runtime_imports_generated_protos_and_pinned_versions():
    import numpy
    import google.protobuf
    from smlens.proto import saved_model_pb2

    assert saved_model_pb2.SavedModel().saved_model_schema_version == 0
    if sys.platform == "emscripten":  # exactly what the site ships
        assert numpy.__version__ == "2.0.2"
        assert google.protobuf.__version__ == "5.29.5"
        from google.protobuf.internal import api_implementation
        assert api_implementation.Type() == "python"


# --- pyodide-lock.json ---------------------------------------------------------------------------

def make_wheel(path: Path, name: str, version: str, files: dict[str, str], requires=()) -> Path:
    dist_info = f"{name}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    meta += "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = path / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for arcname, text in files.items():
            zf.writestr(arcname, text)
        zf.writestr(f"{dist_info}/METADATA", meta)
        zf.writestr(f"{dist_info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        zf.writestr(f"{dist_info}/RECORD", "")
    return wheel


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def base_lock(numpy_wheel: Path) -> dict:
    entry = {"name": "numpy", "version": "2.0.2", "file_name": numpy_wheel.name, "install_dir": "site",
             "sha256": sha(numpy_wheel), "package_type": "package", "imports": ["numpy"],
             "depends": [], "unvendored_tests": True}
    other = dict(entry, name="scipy", file_name="scipy.whl", depends=["numpy"], imports=["scipy"])
    return {"info": {"version": "0.27.7", "python": "3.12.7"},
            "packages": {"numpy": entry, "scipy": other,
                         "protobuf": dict(entry, name="protobuf", file_name="protobuf-wasm.whl")}}


def test_lock_keeps_only_shipped_packages_and_adds_ours(build, tmp_path):
    numpy_whl = make_wheel(tmp_path, "numpy", "2.0.2", {"numpy/__init__.py": ""})
    proto = make_wheel(tmp_path, "protobuf", "5.29.5", {"google/protobuf/__init__.py": ""})
    ours = make_wheel(tmp_path, "smlens", "0.1.0", {"smlens/__init__.py": "", "smlens/x.json": "{}"},
                      requires=["numpy<3,>=2.0", "protobuf<6,>=5.29.5",
                                "pytest==9.0.3; extra == 'dev'"])
    lock = build.make_lock(base_lock(numpy_whl), {"numpy": numpy_whl},
                           {"protobuf": proto, "smlens": ours})
    assert lock["info"]["version"] == "0.27.7"
    assert sorted(lock["packages"]) == ["numpy", "protobuf", "smlens"]  # no scipy: not shipped
    sm = lock["packages"]["smlens"]
    assert sm["depends"] == ["numpy", "protobuf"]  # the dev extra is not a dependency
    assert sm["imports"] == ["smlens"] and sm["file_name"] == ours.name
    assert sm["sha256"] == sha(ours) and sm["version"] == "0.1.0"
    pb = lock["packages"]["protobuf"]  # the wasm entry of the base lock is replaced
    assert pb["file_name"] == proto.name and pb["imports"] == ["google"]
    assert lock["packages"]["numpy"]["unvendored_tests"] is True  # base entries are kept verbatim
    json.dumps(lock)


def test_lock_rejects_mismatched_file_and_missing_dependency(build, tmp_path):
    numpy_whl = make_wheel(tmp_path, "numpy", "2.0.2", {"numpy/__init__.py": ""})
    base = base_lock(numpy_whl)
    ours = make_wheel(tmp_path, "smlens", "0.1.0", {"smlens/__init__.py": ""}, requires=["protobuf"])
    with pytest.raises(build.BuildError, match="depends on protobuf"):
        build.make_lock(base, {"numpy": numpy_whl}, {"smlens": ours})
    base["packages"]["numpy"]["sha256"] = "0" * 64
    with pytest.raises(build.BuildError, match="does not match"):
        build.make_lock(base, {"numpy": numpy_whl}, {})


def test_wheel_must_contain_every_source_file(build, tmp_path):
    src = tmp_path / "pysrc"
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text("")
    (src / "pkg" / "m.pyi").write_text("")
    (src / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_text("")
    wheel = make_wheel(tmp_path, "pkg", "1", {"pkg/__init__.py": ""})
    build.check_wheel_complete(wheel, src)  # .pyi and caches are not needed at run time
    (src / "pkg" / "table.json").write_text("{}")
    with pytest.raises(build.BuildError, match="pkg/table.json"):
        build.check_wheel_complete(wheel, src)


def test_checksum_mismatch_names_file_and_both_hashes(build, tmp_path):
    f = tmp_path / "x.whl"
    f.write_bytes(b"abc")
    build.check_sha256(f, hashlib.sha256(b"abc").hexdigest(), "test")
    with pytest.raises(build.BuildError) as e:
        build.check_sha256(f, "f" * 64, "PyPI x==1")
    assert "x.whl" in str(e.value) and "f" * 64 in str(e.value) and hashlib.sha256(b"abc").hexdigest() in str(e.value)


# --- demo ----------------------------------------------------------------------------------------

def test_demo_manifest_lists_model_files_and_examples(build, tmp_path):
    (tmp_path / "m" / "variables").mkdir(parents=True)
    (tmp_path / "m" / "saved_model.pb").write_bytes(b"12345")
    (tmp_path / "m" / "variables" / "variables.index").write_bytes(b"ab")
    (tmp_path / "m" / "examples.json").write_text("{}")
    (tmp_path / "README.md").write_text("not a model")
    manifest = build.demo_manifest(tmp_path)
    assert manifest == {"version": 1, "models": [{
        "name": "m", "examples": "m/examples.json",
        "files": [{"path": "m/saved_model.pb", "size": 5, "sha256": hashlib.sha256(b"12345").hexdigest()},
                  {"path": "m/variables/variables.index", "size": 2,
                   "sha256": hashlib.sha256(b"ab").hexdigest()}]}]}


def test_committed_demo_model_is_small_and_complete(build):
    manifest = build.demo_manifest(ROOT / "demo")
    digits = next(m for m in manifest["models"] if m["name"] == "digits")
    paths = {f["path"] for f in digits["files"]}
    assert {"digits/saved_model.pb", "digits/variables/variables.index",
            "digits/variables/variables.data-00000-of-00001"} <= paths
    assert sum(f["size"] for f in digits["files"]) < 1_000_000
    examples = json.loads((ROOT / "demo" / digits["examples"]).read_text())
    assert examples["signature_def"] == "serving_default"
    assert len(examples["examples"]) >= 3
    for ex in examples["examples"]:
        pixels = ex["inputs"][examples["input_key"]]
        flat = [v for row in pixels[0] for col in row for v in col]
        assert len(pixels) == 1 and len(pixels[0]) == 8 and len(pixels[0][0]) == 8 and len(flat) == 64
        assert all(0 <= v <= 16 for v in flat)
        probs = ex["tensorflow_outputs"][examples["output_key"]][0]
        assert len(probs) == 10 and abs(sum(probs) - 1) < 1e-4
        assert 0 <= ex["label"] <= 9


# --- the server ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def server(build, tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "index.html").write_text("<!doctype html><title>t</title>")
    (site / "pyodide").mkdir()
    (site / "pyodide" / "pyodide.asm.wasm").write_bytes(b"\0asm" + bytes(range(256)) * 4)
    (site / "pyodide" / "pyodide.mjs").write_text("export const x = 1;\n")
    (site / "data.bin").write_bytes(bytes(range(100)))
    (site / "empty.bin").write_bytes(b"")
    srv, url = build.serve_in_thread(site)
    yield url
    srv.shutdown()
    srv.server_close()


def fetch(url: str, method: str = "GET", headers: dict | None = None):
    req = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.headers, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def test_server_is_local_and_sends_isolation_and_csp_headers(server):
    assert server.startswith("http://127.0.0.1:")
    status, headers, body = fetch(server)
    assert status == 200 and body.startswith(b"<!doctype html>")
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "'wasm-unsafe-eval'" in csp
    assert not re.search(r"https?:|\*|'unsafe-inline'", csp)


@pytest.mark.parametrize("path,mime", [
    ("pyodide/pyodide.asm.wasm", "application/wasm"),
    ("pyodide/pyodide.mjs", "text/javascript; charset=utf-8"),
    ("data.bin", "application/octet-stream"),
])
def test_server_mime_types(server, path, mime):
    status, headers, _ = fetch(server + path)
    assert status == 200 and headers["Content-Type"] == mime
    assert headers["Accept-Ranges"] == "bytes"


@pytest.mark.parametrize("spec,status,body_range,content_range", [
    ("bytes=10-19", 206, (10, 20), "bytes 10-19/100"),
    ("bytes=90-", 206, (90, 100), "bytes 90-99/100"),
    ("bytes=-5", 206, (95, 100), "bytes 95-99/100"),
    ("bytes=95-1000", 206, (95, 100), "bytes 95-99/100"),
    ("bytes=0-0", 206, (0, 1), "bytes 0-0/100"),
    ("bytes=100-", 416, None, "bytes */100"),
    ("bytes=0-1,5-6", 200, (0, 100), None),  # several ranges: the whole file
    ("items=0-1", 200, (0, 100), None),
])
def test_server_range_requests(server, spec, status, body_range, content_range):
    got_status, headers, body = fetch(server + "data.bin", headers={"Range": spec})
    assert got_status == status
    assert headers.get("Content-Range") == content_range
    if body_range:
        assert body == bytes(range(100))[slice(*body_range)]
        assert int(headers["Content-Length"]) == len(body)


def test_server_range_head_and_stale_if_range(server):
    status, headers, body = fetch(server + "data.bin", "HEAD", {"Range": "bytes=0-9"})
    assert status == 206 and headers["Content-Length"] == "10" and body == b""
    status, _, body = fetch(server + "data.bin", headers={"Range": "bytes=0-9",
                                                          "If-Range": "Mon, 01 Jan 1990 00:00:00 GMT"})
    assert status == 200 and len(body) == 100
    status, headers, _ = fetch(server + "empty.bin", headers={"Range": "bytes=-5"})
    assert status == 416


def test_server_refuses_listings_and_escapes(server):
    assert fetch(server + "pyodide/")[0] == 404
    assert fetch(server + "missing.js")[0] == 404
    status, _, body = fetch(server + "../../../../etc/passwd")
    assert status == 404 and b"root:" not in body


# --- pins and the CI entry point -----------------------------------------------------------------

def test_dependencies_are_pinned(build):
    req = (ROOT / "requirements-dev.txt").read_text()
    pins = dict(re.findall(r"^([A-Za-z0-9_.-]+)==(\S+) \\$", req, re.M))
    assert pins["numpy"] == "2.0.2" and pins["protobuf"] == "5.29.5"
    blocks = re.split(r"^(?=[A-Za-z0-9_.-]+==)", req, flags=re.M)[1:]
    assert all("--hash=sha256:" in b for b in blocks) and len(blocks) == len(pins)
    # pytest under Pyodide is the same release as on CPython
    assert {n: v for n, v, *_ in build.PYODIDE_TEST_WHEELS}["pytest"] == pins["pytest"]
    package = json.loads((ROOT / "package.json").read_text())
    assert package["dependencies"] == {"pyodide": build.PYODIDE_VERSION,
                                       "@dagrejs/dagre": build.DAGRE_VERSION}
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name, entry in lock["packages"].items():
        if name:
            assert entry.get("integrity", "").startswith("sha512-"), name
    assert lock["packages"]["node_modules/pyodide"]["version"] == build.PYODIDE_VERSION


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "python3 build.py serve" in readme and "python3 build.py test" in readme   # only python3 may exist
    ci = ROOT / ".ci" / "run"
    assert ci.stat().st_mode & 0o111
    commands = [line.strip() for line in ci.read_text().splitlines()
                if line.strip() and not line.lstrip().startswith("#")]
    assert commands[-1] in ("python3 build.py test", "exec python3 build.py test")


# --- the test driver's bookkeeping ---------------------------------------------------------------

def test_tier_exit_5_passes_only_for_an_empty_tier(build, tmp_path):
    cmd = [sys.executable, "-c", "import sys; sys.exit(5)"]
    assert build.run_tier("t", cmd, tmp_path / "none.xml", 30, empty=True)["status"] == "no tests"
    assert build.run_tier("t", cmd, tmp_path / "none.xml", 30, empty=False)["status"].startswith("FAILED")
    ok = [sys.executable, "-c", "pass"]
    assert build.run_tier("t", ok, tmp_path / "none.xml", 30, empty=False)["status"] == "passed"


def test_junit_counts(build, tmp_path):
    xml = tmp_path / "r.xml"
    xml.write_text('<testsuites><testsuite tests="7" failures="1" errors="1" skipped="2"/></testsuites>')
    assert build.junit_counts(xml) == {"passed": 3, "failed": 2, "skipped": 2}
    assert build.junit_counts(tmp_path / "missing.xml") is None


def test_external_loads_are_found_in_page_files(build, tmp_path):
    (tmp_path / "js").mkdir()
    (tmp_path / "index.html").write_text(
        '<link rel="stylesheet" href="css/app.css">\n<a href="https://example.org/docs">docs</a>\n'
        '<script src="https://cdn.example.com/x.js"></script>\n')
    (tmp_path / "js" / "a.mjs").write_text(
        'import { x } from "./b.mjs";\n// adapted from https://example.org\n'
        'const m = await import("https://esm.example/m.js");\nfetch(`//other.example/d.bin`);\n')
    (tmp_path / "style.css").write_text("body { background: url(https://img.example/a.png) }\n")
    found = build.external_loads(tmp_path)
    assert found == ["index.html:3: src=\"https://cdn.example.com/x.js",
                     "js/a.mjs:3: import(\"https://esm.example/m.js",
                     "js/a.mjs:4: fetch(`//other.example/d.bin",
                     "style.css:1: url(https://img.example/a.png"]


def test_page_carries_the_servers_csp_for_other_hosts(build):
    """index.html's CSP <meta> equals the header policy minus frame-ancestors (which a meta tag cannot set)."""
    html = (ROOT / "web" / "index.html").read_text()
    m = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert m, "index.html has no CSP meta tag"
    header = [d for d in build.CONTENT_SECURITY_POLICY.split("; ") if not d.startswith("frame-ancestors")]
    assert m.group(1).split("; ") == header
