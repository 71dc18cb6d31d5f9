"""Hostile files and graphs (issue: no crash, no hang, no blow-up, no write outside --outdir). Every
hostile input is built here with the project's own writers; each must give one clear error (or a bounded,
correct result), never an internal error, a hang or an unbounded allocation."""
from __future__ import annotations

import io
import os
import struct
import sys
import zipfile

import numpy as np
import pytest

import smlens
from helpers.bundle_writer import _block, _varint, _with_trailer, bundle
from smlens import dtypes, limits
from smlens.cli import main
from smlens.errors import ExecutionError, FormatError, InputError, NotFoundError, SmlensError
from smlens.formats import crc32c, snappy
from smlens.formats.bundle import Bundle
from smlens.formats.table import MAGIC, Table
from smlens.proto import checkpoint_pb2
from smlens.sources import DirSource, MemorySource
from smlens.views import inspect
from test_runtime import BOOL, F32, I32, Func, const, function, model, node, sig

pytestmark = pytest.mark.pyodide
OG = "_CHECKPOINTABLE_OBJECT_GRAPH"


def write(tmp_path, files: dict[str, bytes]):
    for name, data in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return tmp_path


def cli(capsys, argv) -> tuple[int, str, str]:
    rc = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "internal error" not in err, err
    return rc, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    return lines[0]


def ckpt(**tensors) -> Bundle:
    return Bundle(MemorySource(bundle(tensors)), "ckpt")


def graph_bytes(g: checkpoint_pb2.TrackableObjectGraph) -> np.ndarray:
    return np.array([g.SerializeToString()], dtype=object).reshape(())


# ------------------------------------------------------------------ 1. checkpoint reader crashes

def test_object_graph_without_nodes(tmp_path, capsys):
    files = bundle({"v": np.ones(2, np.float32), OG: graph_bytes(checkpoint_pb2.TrackableObjectGraph())})
    b = Bundle(MemorySource(files), "ckpt")
    assert b.object_graph is not None and b.entries["v"].object_path is None
    rc, out, _ = cli(capsys, ["inspect", "--file_name", str(write(tmp_path, files) / "ckpt"), "--json"])
    assert rc == 0 and '"v"' in out


@pytest.mark.parametrize("value", [np.array([], dtype=object), np.array([b"a", b"b"], dtype=object)])
def test_object_graph_tensor_of_wrong_size(tmp_path, capsys, value):
    files = bundle({"v": np.ones(2, np.float32), OG: value})
    with pytest.raises(FormatError, match=f"{OG} must be one string, found {value.size}"):
        Bundle(MemorySource(files), "ckpt").object_graph
    rc, _, err = cli(capsys, ["inspect", "--file_name", str(write(tmp_path, files) / "ckpt"), "--json"])
    assert rc == 1 and "must be one string" in one_error_line(err)


def test_rank_over_64_is_refused_where_read(tmp_path, capsys):
    def deep(name, e):
        if name == "w":
            e.shape.Clear()
            for _ in range(65):
                e.shape.dim.add().size = 1
    files = bundle({"w": np.ones(1, np.float32)}, tweak=deep)
    with pytest.raises(FormatError, match="rank 65: at most 64"):
        Bundle(MemorySource(files), "ckpt")
    rc, _, err = cli(capsys, ["inspect", "--file_name", str(write(tmp_path, files) / "ckpt")])
    assert rc == 1 and "rank 65" in one_error_line(err)


# ------------------------------------------------------------------ 2. cost bounded by the bytes read

def _table_with_handles(entries, handles_of) -> bytes:
    """A checksum-valid table whose index block lists the block handles handles_of(data_off, data_size)."""
    data = _block(sorted(entries))
    out = bytearray(_with_trailer(data))
    meta_off = len(out)
    meta = _block([])
    out += _with_trailer(meta)
    idx_off = len(out)
    handles = handles_of(0, len(data))
    index = _block([(b"k%08d" % i, _varint(o) + _varint(s)) for i, (o, s) in enumerate(handles)])
    out += _with_trailer(index)
    footer = _varint(meta_off) + _varint(len(meta)) + _varint(idx_off) + _varint(len(index))
    return bytes(out + footer + b"\x00" * (40 - len(footer)) + struct.pack("<Q", MAGIC))


def test_index_block_handles_may_not_repeat_a_data_block():
    entries = [(b"t%05d" % i, b"x" * 20) for i in range(200)]
    ok = _table_with_handles(entries, lambda o, s: [(o, s)])
    assert len(Table(ok, "ok.index").entries) == 200
    # 100,000 handles to the same block made the reader parse it 100,000 times (> 30 s)
    hostile = _table_with_handles(entries, lambda o, s: [(o, s)] * 100_000)
    with pytest.raises(FormatError, match="overlaps or repeats an earlier block"):
        Table(hostile, "h.index")


def test_long_object_graph_chain_stays_linear():
    n = 20_000
    g = checkpoint_pb2.TrackableObjectGraph()
    for i in range(n):
        node_ = g.nodes.add()
        node_.children.add(node_id=i + 1, local_name=f"layer{i}")
    last = g.nodes.add()
    last.attributes.add(name="VARIABLE_VALUE", checkpoint_key="v")
    b = ckpt(v=np.ones(2, np.float32), **{OG: graph_bytes(g)})
    b.object_graph
    path = b.entries["v"].object_path
    # full paths would be ~150 KB each and quadratic in total; they are shortened to their last part
    assert path.startswith("…") and path.endswith(f"layer{n - 1}") and len(path) <= 1100
    doc = inspect.inspect_json(b)
    assert len(str(doc)) < 10_000


def test_deeply_nested_pbtxt_is_a_format_error(tmp_path, capsys):
    text = "meta_graphs { " * 50_000 + "}" * 50_000
    write(tmp_path, {"saved_model.pbtxt": text.encode()})
    rc, _, err = cli(capsys, ["show", "--dir", str(tmp_path)])
    assert rc == 1 and "messages nested too deeply" in one_error_line(err)


def test_snappy_copies_are_fast_and_bounded():
    # literal "ab", then a copy of length 64 at offset 2, repeated: expands 2 + 64 * k bytes
    k = 2000
    body = bytes([1 << 2]) + b"ab" + bytes([(63 << 2) | 2, 2, 0]) * k
    stream = _varint(2 + 64 * k) + body
    assert snappy.decompress(stream) == b"ab" * (1 + 32 * k)
    bad = _varint(10) + bytes([1 << 2]) + b"ab" + bytes([(63 << 2) | 2, 2, 0])
    with pytest.raises(FormatError, match="longer than declared"):
        snappy.decompress(bad)


def test_compressed_index_blocks_have_an_expansion_budget():
    block = _block([(b"k%06d" % i, b"v" * 100) for i in range(2000)])
    literal = bytearray(_varint(len(block)))
    for i in range(0, len(block), 60):
        chunk = block[i:i + 60]
        literal.append((len(chunk) - 1) << 2)
        literal += chunk
    body = bytes(literal)
    out = bytearray(body + b"\x01" + struct.pack("<I", crc32c.mask(crc32c.crc32c(body + b"\x01"))))
    meta_off = len(out)
    out += _with_trailer(_block([]))
    idx_off = len(out)
    index = _block([(b"z", _varint(0) + _varint(len(body)))])
    out += _with_trailer(index)
    footer = _varint(meta_off) + _varint(len(_block([]))) + _varint(idx_off) + _varint(len(index))
    data = bytes(out + footer + b"\x00" * (40 - len(footer)) + struct.pack("<Q", MAGIC))
    assert len(Table(data, "c.index").entries) == 2000
    with limits.memory_budget(len(block) - 1):
        with pytest.raises(FormatError, match="expands to .* more than the .* allowed"):
            Table(data, "c.index")


# ------------------------------------------------------------------ 3. regex at plan time (linear)

def test_catastrophic_regex_on_a_constant_is_folded_in_linear_time():
    text = "a" * 64 + "!"
    nodes = [const("s", np.array(text.encode(), dtype=object)),
             node("m", "StaticRegexFullMatch", "s", pattern="(a+)+$"),
             node("r", "StaticRegexReplace", "s", pattern="(a|aa)+$", rewrite="x", replace_global=True)]
    files = model(nodes, {"s": sig({}, {"m": ("m:0", BOOL, ()), "r": ("r:0", dtypes.string, ())})})
    s = smlens.open(MemorySource(files, "t")).meta_graph().signatures["s"]
    s.plan()   # constant folding runs the regex here: a backtracking engine never returns
    out = s()
    assert bool(out["m"]) is False and out["r"] == text.encode()


# ------------------------------------------------------------------ 4. allocation budget

def _fn_model(nodes, out: str, dtype=F32):
    return model(nodes, {"s": sig({}, {"y": (out, dtype, None)})})


def test_broadcast_to_checks_the_budget_naming_the_node(tmp_path, capsys):
    nodes = [const("x", np.float32(1)), const("shape", np.array([1 << 21] * 3, np.int64)),
             node("big", "BroadcastTo", "x", "shape", T=F32, Tidx=dtypes.int64)]
    files = _fn_model(nodes, "big:0")
    s = smlens.open(MemorySource(files, "t")).meta_graph().signatures["s"]
    with pytest.raises(limits.ResourceLimitError, match="node 'big' \\(BroadcastTo\\).*memory budget"):
        s()
    rc, _, err = cli(capsys, ["run", "--dir", str(write(tmp_path, files)), "--signature_def", "s"])
    assert rc == 1 and "'big'" in one_error_line(err) and "--max-memory" in err


def test_string_const_budget_and_speed():
    # 238 bytes of proto asking for 2^27 copies of a string: was 18 s and 1 GB
    t = smlens.tensors.types_pb2.TensorProto(dtype=dtypes.string.enum)
    t.tensor_shape.dim.add().size = 1 << 27
    t.string_val.append(b"x" * 100)
    with pytest.raises(limits.ResourceLimitError, match="memory budget"), limits.memory_budget(1 << 28):
        smlens.tensors.to_numpy(t, "Const node 'c'")
    t.tensor_shape.dim[0].size = 1 << 20
    a = smlens.tensors.to_numpy(t, "c")
    assert a.shape == (1 << 20,) and a[-1] == b"x" * 100


@pytest.mark.parametrize("op,inputs,attrs", [
    ("Fill", [np.array([1 << 16, 1 << 16], np.int32), np.float32(0)], {"T": F32, "index_type": I32}),
    ("Tile", [np.ones(4, np.float32), np.array([1 << 30], np.int32)], {"T": F32, "Tmultiples": I32}),
    ("Range", [np.int64(0), np.int64(1 << 40), np.int64(1)], {"Tidx": dtypes.int64}),
])
def test_shape_from_data_kernels_respect_a_configured_budget(op, inputs, attrs):
    consts = [const(f"i{k}", v) for k, v in enumerate(inputs)]
    files = _fn_model(consts + [node("out", op, *[f"i{k}" for k in range(len(inputs))], **attrs)], "out:0")
    s = smlens.open(MemorySource(files, "t")).meta_graph().signatures["s"]
    with pytest.raises(limits.ResourceLimitError, match=f"node 'out' \\({op}\\)"):
        s()


def test_max_memory_is_configurable(tmp_path, capsys):
    nodes = [const("d", np.array([1000], np.int32)), const("v", np.float32(2)),
             node("f", "Fill", "d", "v", T=F32, index_type=I32)]
    d = str(write(tmp_path, _fn_model(nodes, "f:0")))
    rc, _, err = cli(capsys, ["run", "--dir", d, "--signature_def", "s", "--max-memory", "1K"])
    assert rc == 1 and "more than the memory budget of 1.0 KiB" in one_error_line(err)
    rc, out, _ = cli(capsys, ["run", "--dir", d, "--signature_def", "s", "--max-memory", "1M"])
    assert rc == 0 and "2." in out
    assert limits.max_memory() == limits.DEFAULT_MAX_MEMORY   # the CLI restores the default
    with pytest.raises(SystemExit):
        main(["run", "--dir", d, "--max-memory", "lots"])
    capsys.readouterr()


def _jpeg_header(width: int, height: int) -> bytes:
    """SOI, one quantization table, a one-component baseline frame, Huffman tables whose only code is 0."""
    def seg(marker, body):
        return bytes([0xFF, marker]) + struct.pack(">H", len(body) + 2) + body
    dqt = seg(0xDB, b"\x00" + bytes([1] * 64))
    sof = seg(0xC0, b"\x08" + struct.pack(">HH", height, width) + b"\x01" + b"\x01\x11\x00")
    counts = bytes([1] + [0] * 15)
    dht = seg(0xC4, b"\x00" + counts + b"\x00") + seg(0xC4, b"\x10" + counts + b"\x00")
    sos = seg(0xDA, b"\x01\x01\x00\x00\x3f\x00")
    return b"\xff\xd8" + dqt + sof + dht + sos


def test_truncated_jpeg_is_refused_without_decoding_the_whole_frame():
    from smlens.kernels import jpeg
    small = jpeg.decode(_jpeg_header(16, 16) + b"\x00" * 8 + b"\xff\xd9", 1)
    assert small.shape == (16, 16, 1)
    hostile = _jpeg_header(8000, 8000) + b"\x00" * 16    # 431 bytes asked for 64 Mpixel: no EOI
    with pytest.raises(ExecutionError, match="Invalid JPEG data"):
        jpeg.decode(hostile, 1)
    with pytest.raises(limits.ResourceLimitError, match="JPEG of 8000x8000"), limits.memory_budget(1 << 20):
        jpeg.decode(hostile, 1, recover_truncated=True)


def test_string_join_of_a_broadcast_long_string_is_bounded():
    from helpers.kernels import run
    long = np.array(b"x" * (1 << 20), dtype=object)
    many = np.broadcast_to(long, (1 << 12,))
    with pytest.raises(limits.ResourceLimitError, match="ReduceJoin"), limits.memory_budget(1 << 30):
        run("ReduceJoin", many, np.array([0], np.int32))
    with pytest.raises(limits.ResourceLimitError, match="StringJoin"), limits.memory_budget(1 << 30):
        run("StringJoin", long, np.array([b"a"] * (1 << 11), dtype=object), N=2)


# ------------------------------------------------------------------ 5. time budget and cancellation

def _endless_loop_model():
    cond = function("forever", [("i", I32)], [("out", BOOL)], [const("t", True)], {"out": "t:output:0"})
    body = function("step", [("i", I32)], [("i1", I32)],
                    [const("one", 1, np.int32), node("inc", "AddV2", "i", "one:output:0", T=I32)],
                    {"i1": "inc:z:0"})
    nodes = [const("i0", 0, np.int32), node("loop", "While", "i0", T=[I32], cond=Func("forever"),
                                            body=Func("step"))]
    return model(nodes, {"s": sig({}, {"i": ("loop:0", I32, ())})}, [cond, body])


def test_run_timeout_stops_an_endless_loop(tmp_path, capsys):
    d = str(write(tmp_path, _endless_loop_model()))
    rc, _, err = cli(capsys, ["run", "--dir", d, "--signature_def", "s", "--timeout", "0.5"])
    assert rc == 124 and "longer than the 0.5 s time limit" in one_error_line(err)


def test_deadline_without_timer_signal(monkeypatch):
    # Pyodide and non-main threads have no SIGALRM: loops check the deadline themselves
    monkeypatch.setenv("SMLENS_NO_TIMER_SIGNAL", "1")
    s = smlens.open(MemorySource(_endless_loop_model(), "t")).meta_graph().signatures["s"]
    with pytest.raises(limits.RunTimeout), limits.deadline(0.3):
        s()
    limits.check_deadline()   # no deadline left behind


def test_ctrl_c_is_clean(tmp_path, capsys, monkeypatch):
    d = str(write(tmp_path, _endless_loop_model()))
    import smlens.kernels.control_ops as control_ops

    def interrupted():
        raise KeyboardInterrupt
    monkeypatch.setattr(control_ops, "check_deadline", interrupted)
    rc, _, err = cli(capsys, ["run", "--dir", d, "--signature_def", "s"])
    assert rc == 130 and one_error_line(err) == "error: interrupted (Ctrl-C)"


# ------------------------------------------------------------------ 6. --outdir: nothing lands outside it

HOSTILE_KEYS = ["../../../escape", "/abs/escape", "..", ".", "a/b\\c", "CON", "x" * 300, "", "ok_key"]


def test_outdir_keeps_every_output_inside(tmp_path, capsys):
    outs = {k: (f"c{i}:0", F32, ()) for i, k in enumerate(HOSTILE_KEYS)}
    nodes = [const(f"c{i}", np.float32(i)) for i in range(len(HOSTILE_KEYS))]
    d = write(tmp_path / "m", model(nodes, {"s": sig({}, outs)}))
    outdir = tmp_path / "deep" / "out"
    rc, out, err = cli(capsys, ["run", "--dir", str(d), "--signature_def", "s", "--outdir", str(outdir)])
    assert rc == 0, err
    written = sorted(p.name for p in outdir.iterdir())
    assert len(written) == len(HOSTILE_KEYS) and "ok_key.npy" in written
    everything = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()}
    assert all(p.startswith(("m/", "m" + os.sep, "deep/out/", os.path.join("deep", "out"))) for p in everything)
    from smlens.filenames import output_file_name
    for i, k in enumerate(HOSTILE_KEYS):
        name = output_file_name(k)
        assert name in written and float(np.load(outdir / name)) == i
        assert "/" not in name and "\\" not in name and not name.startswith(".") and len(name) <= 113


def test_outdir_never_writes_through_a_symlink(tmp_path, capsys):
    d = write(tmp_path / "m", model([const("c", np.float32(1))], {"s": sig({}, {"y": ("c:0", F32, ())})}))
    outdir = tmp_path / "out"
    outdir.mkdir()
    target = tmp_path / "victim.txt"
    target.write_text("keep")
    (outdir / "y.npy").symlink_to(target)
    for extra in ([], ["--overwrite"]):
        rc, _, err = cli(capsys, ["run", "--dir", str(d), "--signature_def", "s", "--outdir", str(outdir), *extra])
        assert rc == 1 and ("already exists" in err or "symbolic link" in err)
    assert target.read_text() == "keep"


# ------------------------------------------------------------------ 7. inputs

def test_input_expressions_with_huge_or_infinite_ranges(capsys):
    for expr in ["x=np.arange(0, 1e308*10)", "x=np.arange(0, 1e300, 1e-300)"]:
        rc, _, err = cli(capsys, ["run", "--dir", "/nonexistent", "--input_exprs", expr])
        assert rc == 1
    from smlens import inputs
    with pytest.raises(InputError, match="finite"):
        inputs.parse_input_exprs("x=np.arange(0, 1e308*10)")


def _npy_header(shape, descr="<f8") -> bytes:
    h = io.BytesIO()
    np.lib.format.write_array_header_1_0(h, {"descr": descr, "fortran_order": False, "shape": shape})
    return h.getvalue()


def test_npy_and_npz_headers_are_checked_before_loading(tmp_path):
    from smlens import inputs
    (tmp_path / "huge.npy").write_bytes(_npy_header((1 << 30,)))
    with pytest.raises(limits.ResourceLimitError, match="huge.npy: array of shape"):
        inputs.load_array_file(str(tmp_path / "huge.npy"), None)
    (tmp_path / "short.npy").write_bytes(_npy_header((100,)) + b"\x00" * 16)
    with pytest.raises(InputError, match="short.npy: header says shape \\[100\\]"):
        inputs.load_array_file(str(tmp_path / "short.npy"), None)
    with zipfile.ZipFile(tmp_path / "bomb.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as m:
            m.write(_npy_header((1 << 29,)))
            for _ in range(8):
                m.write(b"\0" * (1 << 20))
    with pytest.raises(SmlensError, match=r"bomb.npz\[x\]"):
        inputs.load_array_file(str(tmp_path / "bomb.npz"), None)
    # a header longer than NumPy's safety limit (it would otherwise be eval'd as a huge literal)
    big = b"{'descr': '<f8', 'fortran_order': False, 'shape': (" + b"1, " * 400_000 + b"), }"
    (tmp_path / "bighdr.npy").write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", len(big)) + big)
    with pytest.raises(InputError, match="bighdr.npy: not a valid .npy header"):
        inputs.load_array_file(str(tmp_path / "bighdr.npy"), None)
    np.save(tmp_path / "sub.npy", np.zeros(3, dtype="(2,)f4"))
    a = inputs.load_array_file(str(tmp_path / "sub.npy"), None)   # NumPy expands sub-arrays: (3, 2) float32
    assert a.shape == (3, 2) and a.dtype == np.float32
    np.save(tmp_path / "rec.npy", np.zeros(3, dtype=[("a", "<f4"), ("b", "<i4")]))
    with pytest.raises(InputError, match="rec.npy: arrays of dtype"):
        inputs.load_array_file(str(tmp_path / "rec.npy"), None)


# ------------------------------------------------------------------ 8. type confusion

def test_attrs_that_disagree_with_input_dtypes_are_refused_at_plan_time():
    nodes = [const("a", np.float32(1.5)), const("b", np.float32(2.5)),
             node("add", "AddV2", "a", "b", T=I32)]
    s = smlens.open(MemorySource(_fn_model(nodes, "add:0", I32), "t")).meta_graph().signatures["s"]
    with pytest.raises(FormatError, match="node 'add' \\(AddV2\\): input 0 is float32 .* require int32"):
        s.plan()
    nodes = [const("a", np.float32(1.5)), node("c", "Cast", "a", SrcT=I32, DstT=F32)]
    s = smlens.open(MemorySource(_fn_model(nodes, "c:0"), "t")).meta_graph().signatures["s"]
    with pytest.raises(FormatError, match="input 0 is float32"):
        s.plan()
    good = [const("a", np.float32(1.5)), const("b", np.float32(2.5)), node("add", "AddV2", "a", "b", T=F32)]
    s = smlens.open(MemorySource(_fn_model(good, "add:0"), "t")).meta_graph().signatures["s"]
    assert float(s()["y"]) == 4.0


def test_const_whose_tensor_disagrees_with_its_dtype_attr():
    n = const("a", np.float32(1.5))
    n.attr["dtype"].type = dtypes.int32.enum
    s = smlens.open(MemorySource(_fn_model([n, node("i", "Identity", "a", T=I32)], "i:0", I32), "t"))
    with pytest.raises(FormatError, match="its tensor is float32 but attr dtype says int32"):
        s.meta_graph().signatures["s"].plan()


# ------------------------------------------------------------------ 10. symlinks out of the model folder

@pytest.mark.skipif(sys.platform == "emscripten", reason="no symlinks in Pyodide's file system tests")
def test_asset_symlink_out_of_the_model_directory_is_not_followed(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    m = tmp_path / "model"
    (m / "assets").mkdir(parents=True)
    (m / "assets" / "vocab.txt").write_text("ok")
    (m / "assets" / "evil.txt").symlink_to(secret)
    (m / "assets" / "inside.txt").symlink_to(m / "assets" / "vocab.txt")
    src = DirSource(str(m))
    assert "assets/evil.txt" not in src.list() and "assets/inside.txt" in src.list()
    with pytest.raises(NotFoundError, match="outside the model directory"):
        src.read("assets/evil.txt")
    assert src.read("assets/inside.txt") == b"ok"


# ------------------------------------------------------------------ 9. graph view: bounded scope nesting

def test_graph_json_bounds_scope_nesting():
    from smlens.views.graph import MAX_SCOPE_DEPTH, graph_json
    deep = "/".join(["s"] * 50_000) + "/leaf"      # 100,001 characters, 50,000 nested scopes
    files = model([node(deep, "NoOp"), node("a/b/c", "NoOp")], {})
    doc = graph_json(smlens.open(MemorySource(files, "t")).meta_graph())
    scopes = {n["name"][:10]: n["scope"] for n in doc["nodes"]}
    assert scopes["a/b/c"] == "a/b"
    long_scope = scopes["s/s/s/s/s/"]
    assert long_scope.count("/") == MAX_SCOPE_DEPTH - 1 and long_scope.endswith("/…")


def test_huge_const_in_a_graph_names_the_node():
    n = node("c", "Const", dtype=dtypes.string)
    t = smlens.tensors.types_pb2.TensorProto(dtype=dtypes.string.enum)
    t.tensor_shape.dim.add().size = 1 << 30
    t.string_val.append(b"x")
    n.attr["value"].tensor.CopyFrom(t)
    files = model([n], {"s": sig({}, {"y": ("c:0", dtypes.string, None)})})
    assert len(files["saved_model.pb"]) < 100
    s = smlens.open(MemorySource(files, "t")).meta_graph().signatures["s"]
    with pytest.raises(SmlensError, match="node 'c' \\(Const\\).*memory budget"):
        s()


def test_wrong_input_count_is_refused_at_plan_time():
    """A Switch with no inputs (a mutated op name, found by the long fuzz run) is refused when the plan is
    compiled, as TF refuses it at import, instead of failing inside the TF1 dataflow executor."""
    from test_runtime import F32, model, node, open_model, placeholder, sig
    nodes = [placeholder("x", F32, (2,)), node("s", "Switch", T=F32), node("y", "Identity", "x", T=F32)]
    m = open_model(model(nodes, {"s": sig({"x": ("x:0", F32, (2,))}, {"y": ("s:0", F32)})}))
    with pytest.raises(FormatError, match=r"node 's' \(Switch\) has 0 input\(s\); TensorFlow's Switch takes 2"):
        m.meta_graph().signatures["s"].plan()
