"""smlens.webapi (the web worker's Python side) and smlens.views.graph (graph JSON), on CPython.

Files are served to webapi the way the browser does it: a list of {path, size} and a reader(index, offset,
length) callback; expected values come from TensorFlow's reference data in tests/data/corpus.
"""
from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from smlens import webapi
from smlens.proto import example_pb2

CORPUS = Path(__file__).parent / "data" / "corpus"


class Files:
    """Local files presented like the worker presents File objects; counts the bytes read."""

    def __init__(self, root: Path, *, prefix: str = "", flat: bool = False, skip=()):
        self.paths = [p for p in sorted(root.rglob("*")) if p.is_file() and p.name not in skip]
        rel = [p.name if flat else p.relative_to(root).as_posix() for p in self.paths]
        self.entries = [{"path": prefix + r, "size": p.stat().st_size} for r, p in zip(rel, self.paths)]
        self.bytes_read = 0

    def reader(self, index: int, offset: int, length: int) -> bytes:
        with open(self.paths[index], "rb") as f:
            f.seek(offset)
            data = f.read(length)
        self.bytes_read += len(data)
        return data


def call(kind: str, args: dict | None = None, files: Files | None = None, buffers=None):
    text, blobs = webapi.handle(kind, json.dumps(args or {}), buffers or [], files.reader if files else None)
    return json.loads(text), blobs


def open_files(files: Files, **args) -> dict:
    value, _ = call("open", {"files": files.entries, **args}, files)
    assert "error" not in value, value
    return value


def ref(case: str):
    return np.load(CORPUS / case / "reference.npz")


def npy(blobs: dict) -> np.ndarray:
    return np.load(io.BytesIO(blobs["npy"]))


def serving_default(files: Files) -> dict:
    """The described serving_default signature of the opened model's first meta graph."""
    info, _ = call("describe", files=files)
    return next(s for s in info["meta_graphs"][0]["signatures"] if s["key"] == "serving_default")


def assert_output_matches(files: Files, key: str, want: np.ndarray) -> None:
    """The last run's output `key`, fetched as .npy, equals TensorFlow's up to float32 rounding."""
    _, blobs = call("output", {"key": key}, files)
    np.testing.assert_allclose(npy(blobs), want, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------- sources and opening


def test_file_source_reads_only_what_is_asked():
    data = {0: b"0123456789"}
    src = webapi.FileSource([{"path": "/a/b.bin", "size": 10}], lambda i, o, n: data[i][o:o + n])
    assert src.list() == ["a/b.bin"]
    assert src.read("a/b.bin", 3, 4) == b"3456"
    assert src.read("a/b.bin", 8, 100) == b"89"
    assert src.read("a/b.bin", 12, 5) == b""
    assert src.read("a/b.bin") == b"0123456789"
    with pytest.raises(webapi.errors.NotFoundError):
        src.size("nope")

    def gone(i, o, n):
        raise OSError("NotReadableError: the file was changed\nmore")
    src = webapi.FileSource([{"path": "m/x.index", "size": 10}], gone)
    with pytest.raises(webapi.errors.FormatError, match=r"^m/x.index: cannot read the file \(NotReadableError: the file was changed\)$"):
        src.read("m/x.index", 0, 4)


def test_open_dropped_folder_without_reading_shards():
    files = Files(CORPUS / "simple_save" / "model", prefix="model/")
    summary = open_files(files)
    assert summary["kind"] == "saved_model" and summary["path"] == "model"
    assert summary["tag_sets"] == [["serve"]] and summary["variables"] == 2
    data_size = next(e["size"] for e in files.entries if ".data-" in e["path"])
    pb_size = next(e["size"] for e in files.entries if e["path"].endswith("saved_model.pb"))
    assert files.bytes_read < pb_size + 1000 and data_size > 0


def test_open_flat_file_selection_restores_savedmodel_layout():
    files = Files(CORPUS / "keras_mlp" / "model", flat=True)
    summary = open_files(files)
    assert summary["kind"] == "saved_model" and summary["variables"] > 0
    info, _ = call("describe", files=files)
    assert "variables/variables.index" in [p for p, _ in info["files"]]


def test_open_tf_serving_version_folder():
    files = Files(CORPUS / "simple_save" / "model", prefix="export/7/")
    summary = open_files(files)
    assert summary["kind"] == "saved_model" and summary["path"] == "export/7"


def test_candidates_and_choosing_one():
    files = Files(CORPUS / "object_ckpt" / "ckpt", prefix="ckpt/")
    summary = open_files(files)
    labels = sorted(c["path"] for c in summary["candidates"])
    assert labels == ["ckpt/keras3.index", "ckpt/saved-1.index", "ckpt/saved-2.index", "ckpt/written.index"]
    assert summary["kind"] == "checkpoint"
    assert summary["path"] == "ckpt/saved-2.index"      # the one the `checkpoint` file names: the dropdown shows it
    summary = open_files(files, path="ckpt/written.index")
    values, _ = call("variables", files=files)
    names = [v["name"] for v in values["variables"]]
    key = "model/blocks/0/w/.ATTRIBUTES/VARIABLE_VALUE"
    assert key in names
    entry = next(v for v in values["variables"] if v["name"] == key)
    assert entry["object_path"] == "model.blocks.0.w" and entry["dtype"] == "float32"
    _, blobs = call("tensor_npy", {"name": key}, files)
    np.testing.assert_array_equal(npy(blobs), ref("object_ckpt")[f"ckpt/written/{key}"])


def test_failed_open_keeps_previous_model(tmp_path):
    good = Files(CORPUS / "simple_save" / "model")
    open_files(good)
    (tmp_path / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff\x0f" + bytes(100))
    bad = Files(tmp_path)
    value, _ = call("open", {"files": bad.entries}, bad)
    assert value["error"]["kind"] == "FormatError"
    assert "saved_model.pb" in value["error"]["message"]
    values, _ = call("variables", files=good)
    assert [v["name"] for v in values["variables"]] == ["W", "bias"]


def test_missing_data_shard_lists_but_cannot_read():
    files = Files(CORPUS / "mobilenet_v2" / "model")          # the test copy has no .data shard
    summary = open_files(files)
    assert summary["variables"] > 100
    listing, _ = call("variables", files=files)
    name = listing["variables"][1]["name"]
    value, _ = call("tensor", {"name": name}, files)
    assert "data shard missing" in value["error"]["message"]


# ---------------------------------------------------------------- describe / tensors


def test_describe_signatures_examples_and_show_all():
    files = Files(CORPUS / "simple_save" / "model")
    open_files(files)
    info, _ = call("describe", files=files)
    (mg,) = info["meta_graphs"]
    (sig,) = mg["signatures"]
    assert sig["key"] == "serving_default" and sig["method_name"] == "tensorflow/serving/predict"
    x = next(i for i in sig["inputs"] if i["key"] == "x")
    assert x["dtype"] == "float32" and x["shape"] == [-1, 3] and x["name"] == "x:0"
    assert json.loads(x["example"]) == [[0.0, 0.0, 0.0]]
    assert mg["op_counts"]["graph"]["VariableV2"] == 2
    assert info["checkpoint"]["num_tensors"] == 2 and info["checkpoint"]["nbytes"] == 32
    assert info["checkpoint"]["format"] == "V2" and info["checkpoint"]["num_shards"] == 1
    if info["show_all"] is not None:          # the op set is printed in hash order: compare it as a set
        got, want = info["show_all"].strip("\n"), (CORPUS / "simple_save" / "show_all.txt").read_text().strip("\n")
        ops = re.compile(r"contains the following ops: \{([^}]*)\}")
        assert ops.sub("", got) == ops.sub("", want)
        assert set(ops.search(got).group(1).split(", ")) == set(ops.search(want).group(1).split(", "))


def test_large_inputs_prefill_with_shape_and_fill():
    files = Files(CORPUS / "mobilenet_v2" / "model")
    open_files(files)
    (inp,) = serving_default(files)["inputs"]
    assert json.loads(inp["example"]) == {"shape": [1, 224, 224, 3], "fill": 0.0}
    assert inp["image"] == {"height": 224, "width": 224, "channels": 3, "layout": "NHWC"}


@pytest.mark.pyodide   # the page computes these in Pyodide (wasm32: 32-bit intp)
def test_tensor_stats_match_numpy():
    a = np.array([[1.0, -2.0, np.nan], [np.inf, 0.0, -np.inf], [4.0, 0.0, 3.0]], dtype=np.float32)
    s = webapi.tensor_stats(a)
    finite = np.array([1, -2, 0, 4, 0, 3], dtype=np.float64)
    assert (s["nan"], s["posinf"], s["neginf"], s["zeros"], s["finite"]) == (1, 1, 1, 2, 6)
    assert s["min"] == -2.0 and s["max"] == 4.0
    assert s["mean"] == pytest.approx(finite.mean()) and s["std"] == pytest.approx(finite.std())
    assert sum(s["histogram"]["counts"]) == 6 and len(s["histogram"]["edges"]) == webapi.HIST_BINS + 1
    ints = webapi.tensor_stats(np.arange(-5, 5, dtype=np.int64))
    assert (ints["min"], ints["max"], ints["zeros"]) == (-5, 4, 1)
    strings = webapi.tensor_stats(np.array([b"", b"abc"], dtype=object))
    assert strings["kind"] == "string" and strings["empty"] == 1 and strings["max_length"] == 3
    empty = webapi.tensor_stats(np.zeros((0, 3), np.float32))
    assert empty["count"] == 0 and empty["mean"] is None


@pytest.mark.pyodide   # the page computes these in Pyodide (wasm32: 32-bit intp)
def test_tensor_stats_histogram_and_moments_on_a_large_tensor():
    """Several chunks, a few non-finite values: the histogram is NumPy's (bin edges are floats: a value on
    an edge may land one bin over), the moments are NumPy's within float64 rounding."""
    rng = np.random.default_rng(7)
    a = rng.standard_normal(3 * (1 << 20) + 5).astype(np.float32)
    a[[3, 2_000_000]] = [np.nan, np.inf]
    s = webapi.tensor_stats(a)
    finite = a[np.isfinite(a)].astype(np.float64)
    want, _ = np.histogram(finite, bins=webapi.HIST_BINS, range=(finite.min(), finite.max()))
    got = np.array(s["histogram"]["counts"])
    assert got.sum() == finite.size and np.abs(got - want).max() <= 2
    assert (s["nan"], s["posinf"], s["finite"]) == (1, 1, finite.size)
    assert s["mean"] == pytest.approx(finite.mean(), rel=1e-9) and s["std"] == pytest.approx(finite.std(), rel=1e-9)


def test_tensor_values_and_npy_equal_reference():
    files = Files(CORPUS / "saver_sharded" / "ckpt")
    summary = open_files(files)
    assert summary["kind"] == "checkpoint" and summary["meta_graphs"]          # .meta beside the checkpoint
    r = ref("saver_sharded")
    t, _ = call("tensor", {"name": "partitioned/embedding"}, files)
    want = r["ckpt/model.ckpt-7/partitioned/embedding"]
    assert t["shape"] == list(want.shape) and t["dtype"] == "float32"
    assert t["stats"]["min"] == pytest.approx(float(want.min()))
    assert t["stats"]["mean"] == pytest.approx(float(want.astype(np.float64).mean()))
    assert t["preview"].startswith("[[")
    _, blobs = call("tensor_npy", {"name": "global_step"}, files)
    got = npy(blobs)
    assert got.dtype == np.int64 and got == r["ckpt/model.ckpt-7/global_step"]


# ---------------------------------------------------------------- graph JSON


def test_graph_json_of_a_graph_def():
    files = Files(CORPUS / "simple_save" / "model")
    open_files(files)
    g, _ = call("graph", {"tags": ["serve"]}, files)
    assert g["kind"] == "graph" and g["functions"] == []
    nodes = {n["name"]: n for n in g["nodes"]}
    assert nodes["x"]["kind"] == "input" and nodes["x"]["op"] == "Placeholder"
    attrs = {a["key"]: a["text"] for a in nodes["x"]["attrs"]}
    assert attrs["dtype"] == "float32" and attrs["shape"] == "[?, 3]"
    assert nodes["MatMul"]["inputs"][0]["node"] == "x"
    assert {"source": "x", "target": "MatMul", "output": "0", "input": 0, "control": False} in g["edges"]
    assert nodes["save/Const"]["scope"] == "save"
    assert any(e["control"] for e in g["edges"])


def test_graph_json_of_a_function_with_func_attrs():
    files = Files(CORPUS / "module_output_names" / "model")
    open_files(files)
    top, _ = call("graph", {"tags": ["serve"]}, files)
    assert top["called_functions"] and set(top["called_functions"]) <= set(top["functions"])
    graphs = [call("graph", {"tags": ["serve"], "function": fn}, files)[0] for fn in top["functions"]]
    for g in graphs:
        assert g["kind"] == "function"
        kinds = {n["op"]: n["kind"] for n in g["nodes"]}
        assert kinds.get("_Retval", "output") == "output" and kinds.get("_Arg", "input") == "input"
        names = {n["name"] for n in g["nodes"]}
        assert all(e["source"] in names and e["target"] in names for e in g["edges"])
        assert len(g["signature"]["inputs"]) == sum(n["op"] == "_Arg" for n in g["nodes"])
    # If / While / PartitionedCall nodes name their functions; the UI links them
    g = next(g for g in graphs if any(n["op"] == "If" for n in g["nodes"]))
    node = next(n for n in g["nodes"] if n["op"] == "If")
    attrs = {a["key"]: a for a in node["attrs"]}
    assert attrs["then_branch"]["funcs"] and attrs["then_branch"]["funcs"][0] in g["functions"]
    assert attrs["then_branch"]["text"].startswith(attrs["then_branch"]["funcs"][0])
    assert set(attrs["then_branch"]["funcs"] + attrs["else_branch"]["funcs"]) <= set(g["called_functions"])
    value, _ = call("graph", {"tags": ["serve"], "function": "no_such_fn"}, files)
    assert value["error"]["kind"] == "NotFoundError"


# ---------------------------------------------------------------- inputs and runs


def run(files: Files, signature: str, inputs: dict, buffers=None, tags=None):
    args = {"signature": signature, "inputs": inputs}
    if tags:
        args["tags"] = tags
    return call("run", args, files, buffers)[0]


def test_run_tf1_json_inputs_equals_tensorflow():
    files = Files(CORPUS / "simple_save" / "model")
    open_files(files)
    r = ref("simple_save")
    inputs = {k: {"mode": "json", "text": json.dumps(r[f"serving_default/inputs/{k}"].tolist())} for k in "xy"}
    out = run(files, "serving_default", inputs)
    assert "error" not in out, out
    (z,) = out["outputs"]
    assert z["key"] == "z" and z["shape"] == [2, 2] and z["dtype"] == "float32"
    assert z["topk"][0]["top"][0]["index"] in (0, 1)
    assert_output_matches(files, "z", r["serving_default/outputs/z"])
    _, blobs = call("output", {"key": "z", "format": "json"}, files)
    np.testing.assert_allclose(json.loads(blobs["json"]), r["serving_default/outputs/z"], rtol=1e-5, atol=1e-6)


def test_run_tf2_npy_and_npz_inputs():
    files = Files(CORPUS / "keras_mlp" / "model")
    open_files(files)
    r = ref("keras_mlp")
    x = r["serving_default/inputs/features"]
    buf = io.BytesIO()
    np.savez(buf, features=x, other=np.zeros(1))
    out = run(files, "serving_default", {"features": {"mode": "npy", "buffer": 0, "filename": "in.npz"}},
              [buf.getvalue()])
    assert "error" not in out, out
    assert_output_matches(files, "output_0", r["serving_default/outputs/output_0"])


@pytest.mark.parametrize("text, message", [
    ("[[1.0, 2.0]]", "expects shape [?, 16], got [1, 2]"),
    ("[[1.0,", "not valid JSON"),
    ('[["a"]]', "expects float32, got strings"),
    ('{"shape": [1, -16]}', "non-negative"),
])
def test_bad_inputs_are_clear_errors(text, message):
    files = Files(CORPUS / "keras_mlp" / "model")
    open_files(files)
    out = run(files, "serving_default", {"features": {"mode": "json", "text": text}})
    assert out["error"]["kind"] == "InputError"
    assert message in out["error"]["message"] and "'features'" in out["error"]["message"]


def test_shape_fill_shorthand_and_missing_input():
    files = Files(CORPUS / "keras_mlp" / "model")
    open_files(files)
    out = run(files, "serving_default", {"features": {"mode": "json", "text": '{"shape": [3, 16], "fill": 0.5}'}})
    assert out["outputs"][0]["shape"] == [3, 3]
    out = run(files, "serving_default", {})
    assert out["error"]["message"] == "input 'features' is missing"


class Spec:
    def __init__(self, dtype: str, shape):
        from smlens import dtypes
        self.dtype = dtypes.from_name(dtype)
        self.shape = shape
        self.name = "in:0"


def test_image_input_to_nhwc_range():
    rgba = np.zeros((2, 3, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0, :3] = 255                  # one white pixel
    rgba[1, 2, :3] = (255, 0, 0)          # one red pixel
    item = {"mode": "image", "buffer": 0, "width": 3, "height": 2, "min": -1, "max": 1}
    gray = webapi.build_input("img", Spec("float32", (-1, 2, 3, 1)), item, [rgba.tobytes()])
    assert gray.shape == (1, 2, 3, 1) and gray.dtype == np.float32
    assert gray[0, 0, 0, 0] == pytest.approx(1.0) and gray[0, 0, 1, 0] == pytest.approx(-1.0)
    assert gray[0, 1, 2, 0] == pytest.approx(-1 + 2 * 0.299, abs=1e-6)
    rgb = webapi.build_input("img", Spec("float32", (1, 2, 3, 3)), {**item, "min": 0, "max": 255}, [rgba.tobytes()])
    assert rgb.shape == (1, 2, 3, 3) and list(rgb[0, 1, 2]) == [255, 0, 0]
    u8 = webapi.build_input("img", Spec("uint8", (1, 2, 3, 3)), {**item, "min": 0, "max": 255}, [rgba.tobytes()])
    assert u8.dtype == np.uint8
    with pytest.raises(webapi.InputError):
        webapi.build_input("img", Spec("float32", (1, 2, 3, 3)), item, [b"short"])


def test_example_input_serializes_features():
    spec = Spec("string", (-1,))
    feats = [{"name": "age", "type": "float", "values": "1.5, 2"}, {"name": "ids", "type": "int64", "values": "3"},
             {"name": "tag", "type": "bytes", "values": "a, b"}, {"name": "", "type": "float", "values": "9"}]
    a = webapi.build_input("examples", spec, {"mode": "example", "features": feats}, [])
    assert a.shape == (1,) and a.dtype == object
    ex = example_pb2.Example.FromString(a[0])
    f = ex.features.feature
    assert list(f["age"].float_list.value) == [1.5, 2.0] and list(f["ids"].int64_list.value) == [3]
    assert list(f["tag"].bytes_list.value) == [b"a", b"b"] and len(f) == 3
    with pytest.raises(webapi.InputError):
        webapi.build_input("examples", spec, {"mode": "example",
                                              "features": [{"name": "n", "type": "int64", "values": "x"}]}, [])


def test_parse_example_signature_offers_feature_fields_and_runs():
    files = Files(CORPUS / "parse_example" / "model")
    open_files(files)
    (inp,) = serving_default(files)["inputs"]
    feats = inp["example_features"]
    assert feats and {f["type"] for f in feats} <= {"float", "int64", "bytes"}
    # the reference input, serialized by TensorFlow, fed back as a .npy of bytes
    meta = json.loads((CORPUS / "parse_example" / "reference.json").read_text())
    data = [base64.b64decode(s) for s in meta["strings"]["serving_default/inputs/examples"]["b64"]]
    buf = io.BytesIO()
    np.save(buf, np.array(data, dtype=object).astype("S"))
    out = run(files, "serving_default", {inp["key"]: {"mode": "npy", "buffer": 0, "filename": "ex.npy"}},
              [buf.getvalue()])
    assert "error" not in out, out
    r = ref("parse_example")
    for o in out["outputs"]:
        assert_output_matches(files, o["key"], r[f"serving_default/outputs/{o['key']}"])


def test_handle_reports_internal_errors_in_one_line(monkeypatch):
    def boom(*args):
        raise ValueError("bad thing\nsecond line")
    monkeypatch.setitem(webapi.HANDLERS, "describe", boom)
    value, _ = call("describe")
    assert value["error"] == {"message": "internal error (ValueError): bad thing", "kind": "InternalError"}
    value, _ = call("no_such_request")
    assert value["error"]["kind"] == "NotFoundError"


def test_v1_checkpoints_are_candidates_and_describe():
    """The page and smlens.open agree on V1 checkpoints (no telltale file name), and the Overview works."""
    files = Files(Path(__file__).parent / "data" / "v1ckpt", prefix="v1/")
    summary = open_files(files)
    assert [c["path"] for c in summary["candidates"]] == ["v1/plain.ckpt", "v1/sharded.ckpt"]
    assert summary["path"] == "v1/plain.ckpt"
    for path, shards in [("v1/plain.ckpt", 1), ("v1/sharded.ckpt", 1)]:
        open_files(files, path=path)
        info, _ = call("describe", files=files)
        assert "error" not in info, info
        ckpt = info["checkpoint"]
        assert ckpt["format"] == "V1" and ckpt["num_shards"] == shards and ckpt["num_tensors"] > 0


def test_image_presets_and_imagenet_normalisation():
    """The presets the Run form offers are described once (forms.IMAGE_PRESETS); mean/std is applied per
    channel to p / 255."""
    files = Files(CORPUS / "keras_cnn" / "model")
    open_files(files)
    info, _ = call("describe", files=files)
    presets = {p["id"]: p for p in info["image_presets"]}
    assert {"unit", "signed", "bytes", "imagenet"} <= set(presets)
    assert (presets["signed"]["min"], presets["signed"]["max"]) == (-1.0, 1.0)
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., 0], rgba[..., 1], rgba[..., 2], rgba[..., 3] = 255, 0, 128, 255
    spec = next(s for s in webapi.describe.SESSION.model.meta_graph().signatures["serving_default"].inputs.values())
    net = presets["imagenet"]
    x = webapi.build_input("image", spec, {"mode": "image", "buffer": 0, "width": 32, "height": 32, "channels": 3,
                                           "mean": net["mean"], "std": net["std"]}, [rgba.tobytes()])
    want = (np.array([1.0, 0.0, 128 / 255], np.float32) - np.float32(net["mean"])) / np.float32(net["std"])
    assert x.shape == (1, 32, 32, 3)
    np.testing.assert_allclose(x[0, 5, 7], want, rtol=1e-6)
    y = webapi.build_input("image", spec, {"mode": "image", "buffer": 0, "width": 32, "height": 32, "channels": 3,
                                           "min": -1, "max": 1}, [rgba.tobytes()])
    np.testing.assert_allclose(y[0, 0, 0], [1.0, -1.0, 128 / 255 * 2 - 1], rtol=1e-6, atol=1e-7)
    with pytest.raises(webapi.InputError, match="std of 0"):
        webapi.build_input("image", spec, {"mode": "image", "buffer": 0, "width": 32, "height": 32, "channels": 3,
                                           "mean": [0, 0, 0], "std": [1, 0, 1]}, [rgba.tobytes()])


def test_labels_asset_is_found(tmp_path):
    import shutil
    model = tmp_path / "cnn"
    shutil.copytree(CORPUS / "keras_cnn" / "model", model)
    (model / "assets").mkdir()
    (model / "assets" / "labels.txt").write_text("cat\ndog\n\nbird\n\n")
    files = Files(model)
    open_files(files)
    info, _ = call("describe", files=files)
    assert info["labels"] == {"path": "assets/labels.txt", "labels": ["cat", "dog", "", "bird"]}
    open_files(Files(CORPUS / "keras_cnn" / "model"))
    info, _ = call("describe", files=Files(CORPUS / "keras_cnn" / "model"))
    assert info["labels"] is None
