"""`smlens publish` on CPython: model manifests, example inputs, the browser wheel, and a whole site
assembled from the checkout's pinned runtime (skipped, with the reason, when it is not installed yet)."""
from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

from smlens import cli
from smlens.publish import PublishError, artifacts, examples, publish, safe_name
from smlens.publish.lock import wheel_lock_entry
from smlens.publish.manifest import model_manifest
from smlens.publish.wheel import build_wheel

CNN = Path(__file__).resolve().parent / "data" / "corpus" / "keras_cnn" / "model"


def test_manifest_lists_every_file_with_size_and_sha256(tmp_path):
    model = tmp_path / "m"
    (model / "variables").mkdir(parents=True)
    (model / "saved_model.pb").write_bytes(b"graph")
    (model / "variables" / "variables.index").write_bytes(b"idx")
    (model / ".DS_Store").write_bytes(b"junk")
    (model / "smlens-manifest.json").write_text("{}")
    m = model_manifest(model, "m", "T")
    assert m["format"] == "smlens-model" and m["name"] == "m" and m["title"] == "T"
    assert m["files"] == [
        {"path": "saved_model.pb", "size": 5, "sha256": hashlib.sha256(b"graph").hexdigest()},
        {"path": "variables/variables.index", "size": 3, "sha256": hashlib.sha256(b"idx").hexdigest()},
    ]
    with pytest.raises(PublishError, match="no files"):
        model_manifest(_empty(tmp_path), "e")


def _empty(tmp_path: Path) -> Path:
    d = tmp_path / "empty"
    d.mkdir()
    return d


def test_examples_from_npz_and_json(tmp_path):
    np.savez(tmp_path / "one.npz", image=np.arange(6, dtype=np.float32).reshape(1, 2, 3), name=np.array([b"a"]))
    (ex,), notes = examples.load(tmp_path / "one.npz", CNN)
    assert ex["name"] == "one" and ex["inputs"]["image"] == [[[0, 1, 2], [3, 4, 5]]]
    assert ex["inputs"]["name"] == ["a"] and notes == []
    (tmp_path / "many.json").write_text(json.dumps({"examples": [{"name": "cat", "inputs": {"x": [1]}}, {"x": [2]}]}))
    items, _ = examples.load(tmp_path / "many.json", CNN)
    assert [i["name"] for i in items] == ["cat", "example 1"] and items[1]["inputs"] == {"x": [2]}
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(PublishError, match="bad.json: an example must map input names"):
        examples.load(tmp_path / "bad.json", CNN)
    with pytest.raises(PublishError, match="takes a .npz or .json"):
        examples.load(tmp_path / "x.csv", CNN)


def test_safe_name():
    assert safe_name("my model (v2)") == "my-model-v2"
    assert safe_name("../..") == "model"


def test_browser_wheel_has_the_package_and_its_dependencies(tmp_path):
    pkg = Path(__import__("smlens").__file__).parent
    wheel = build_wheel(pkg, tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert zf.testzip() is None
    assert "smlens/httpsource.py" in names and "smlens/publish/site.py" in names
    assert not any(n.startswith("smlens/publish/web/") for n in names)
    entry = wheel_lock_entry(wheel, "smlens")
    assert entry["imports"] == ["smlens"] and entry["depends"] == ["numpy", "protobuf"]
    assert build_wheel(pkg, tmp_path / "again").read_bytes() == wheel.read_bytes(), "not reproducible"


def _runtime_or_skip() -> artifacts.Runtime:
    root = artifacts.checkout_root()
    wheels = root / ".cache" / "pyodide-wheels" if root else None
    if root is None or not (root / "node_modules" / "pyodide").is_dir() or not wheels.is_dir():
        pytest.skip("the pinned Pyodide runtime is not installed in this checkout yet (python build.py build)")
    return artifacts.locate(wheel_dir=wheels)


def test_publish_writes_a_complete_site(tmp_path):
    runtime = _runtime_or_skip()
    np.savez(tmp_path / "ex.npz", image=np.zeros((1, 32, 32, 3), np.float32))
    out = tmp_path / "site"
    cfg = publish(CNN, out, title="CNN", examples_file=tmp_path / "ex.npz", runtime=runtime)
    assert cfg["model"] == "models/model/" and cfg["examples"] == 1
    assert json.loads((out / "site.json").read_text())["model"] == "models/model/"
    for f in ("index.html", "worker.js", "js/app.js", "pyodide/pyodide.asm.wasm", "vendor/dagre.min.js"):
        assert (out / f).is_file(), f
    manifest = json.loads((out / "models/model/smlens-manifest.json").read_text())
    assert manifest["examples"] == "smlens-examples.json"
    assert {f["path"] for f in manifest["files"]} == {p.relative_to(CNN).as_posix() for p in CNN.rglob("*") if p.is_file()}
    for f in manifest["files"]:
        assert hashlib.sha256((out / "models/model" / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    lock = json.loads((out / "pyodide/pyodide-lock.json").read_text())
    assert set(lock["packages"]) == {"numpy", "micropip", "packaging", "protobuf", "smlens"}
    for entry in lock["packages"].values():
        assert hashlib.sha256((out / "pyodide" / entry["file_name"]).read_bytes()).hexdigest() == entry["sha256"]
    # publishing again replaces the site; a folder that is not a site is refused
    publish(CNN, out, runtime=runtime)
    other = tmp_path / "precious"
    other.mkdir()
    (other / "notes.txt").write_text("keep")
    with pytest.raises(PublishError, match="not an smlens site"):
        publish(CNN, other, runtime=runtime)
    with pytest.raises(PublishError, match="must not be inside the model"):
        publish(CNN, CNN / "site", runtime=runtime)


def test_cli_demo_only(tmp_path, capsys):
    _runtime_or_skip()
    assert cli.main(["publish", "--demo-only", str(tmp_path / "s")]) == 0
    assert "?model=" in capsys.readouterr().out
    assert json.loads((tmp_path / "s" / "site.json").read_text())["model"] is None
    assert cli.main(["publish", str(tmp_path / "nope"), str(tmp_path / "t")]) == 1
    assert "not a folder" in capsys.readouterr().err


def test_examples_from_warmup_requests(tmp_path):
    warmup = pytest.importorskip("smlens.serving.warmup", reason="smlens.serving (TF Serving formats) is not in this build")
    from smlens.proto import serving_pb2
    from smlens.tensors import from_numpy
    model = tmp_path / "m"
    import shutil
    shutil.copytree(CNN, model)
    (model / "assets.extra").mkdir()
    x = np.arange(32 * 32 * 3, dtype=np.float32).reshape(1, 32, 32, 3) / 100
    log = serving_pb2.PredictionLog()
    log.predict_log.request.inputs["image"].CopyFrom(from_numpy(x))
    (model / "assets.extra" / "tf_serving_warmup_requests").write_bytes(warmup.write_record(log.SerializeToString()))
    (ex,), notes = examples.load(None, model)
    np.testing.assert_array_equal(np.asarray(ex["inputs"]["image"], np.float32), x)
    assert notes == []


def test_built_wheel_carries_the_page_for_pip_installs():
    """`python build.py build` puts web/ into the smlens wheel as package data: a pip-installed smlens
    publishes sites without a checkout (the Pyodide runtime then comes from its cache)."""
    root = artifacts.checkout_root()
    wheels = sorted((root / "dist" / "site" / "pyodide").glob("smlens-*.whl")) if root else []
    if not wheels:
        pytest.skip("no built site yet (python build.py build)")
    with zipfile.ZipFile(wheels[-1]) as zf:
        names = set(zf.namelist())
    web = root / "web"
    for p in web.rglob("*"):
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(web).parts):
            assert f"smlens/publish/web/{p.relative_to(web).as_posix()}" in names, p
