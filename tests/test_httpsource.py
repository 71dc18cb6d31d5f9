"""HttpSource (hosted models read with HTTP Range requests) on CPython, against an in-memory server that
answers like nginx, or ignores Range like a minimal server: coalescing, bytes fetched, checks."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import smlens
from smlens.errors import ChecksumError, FormatError, NotFoundError
from smlens.formats.bundle import Bundle
from smlens.httpsource import HttpSource, coalesce
from smlens.webapi import handle
from smlens.webapi.remote import parse_manifest
from tests.helpers.http_transport import MemoryServer

pytestmark = pytest.mark.pyodide

CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
CNN = CORPUS / "keras_cnn"


def manifest_of(server: MemoryServer) -> dict:
    return {"format": "smlens-model", "version": 1, "name": "m", "title": "", "examples": None,
            "files": [{"path": p, "size": len(d), "sha256": hashlib.sha256(d).hexdigest()}
                      for p, d in sorted(server.files.items())]}


def source_for(server: MemoryServer) -> HttpSource:
    m = manifest_of(server)
    return HttpSource(server.base, server, files={f["path"]: f["size"] for f in m["files"]},
                      sha256={f["path"]: f["sha256"] for f in m["files"]})


def test_coalesce_merges_close_spans_and_keeps_far_ones_apart():
    spans = [(100, 50), (0, 100), (150, 10), (10_000_000, 4), (160, 0)]
    assert coalesce(spans, gap=16) == [(0, 160), (10_000_000, 10_000_004)]
    assert coalesce([(0, 10), (30, 10)], gap=32) == [(0, 40)]
    assert coalesce([(0, 10), (30, 10)], gap=8) == [(0, 10), (30, 40)]
    assert coalesce([(0, 10), (10, 10), (20, 10)], gap=0, max_len=20) == [(0, 20), (20, 30)]


def test_reads_are_ranges_and_whole_reads_check_sha256():
    server = MemoryServer({"a.bin": bytes(range(256)) * 4})
    src = source_for(server)
    assert src.read("a.bin", 10, 5) == bytes(range(10, 15))
    assert server.log[-1] == ("a.bin", 10, 14, 5)
    assert src.read("a.bin") == server.files["a.bin"]
    server.files["a.bin"] = b"\xff" + server.files["a.bin"][1:]          # the host's copy changed
    with pytest.raises(ChecksumError, match=r"http://host/m/a\.bin: sha256 does not match"):
        src.read("a.bin")


def test_missing_and_truncated_files_name_the_url():
    server = MemoryServer({"a.bin": b"x" * 100})
    src = source_for(server)
    del server.files["a.bin"]
    with pytest.raises(NotFoundError, match=r"http://host/m/a\.bin: not found on the server \(HTTP 404\)"):
        src.read("a.bin", 0, 10)
    server.files["a.bin"] = b"x" * 50                                     # truncated on the host
    with pytest.raises(FormatError, match=r"a\.bin: .*(50 bytes|beyond the end)"):
        src.read("a.bin", 60, 10)
    with pytest.raises(NotFoundError, match="no such file"):
        src.size("other.bin")                                            # not in the manifest


def test_server_without_range_support_is_read_once_with_a_warning():
    server = MemoryServer.from_dir(CNN / "model", ranges=False)
    src = source_for(server)
    model = smlens.open(src, "")
    assert len(model.checkpoint.entries) > 0
    name = next(iter(model.checkpoint.entries))
    model.checkpoint.read(name)
    model.checkpoint.read(name)
    paths = [p for p, *_ in server.log]
    assert len(paths) == len(set(paths)), "a file was downloaded twice"
    assert any("ignores Range" in w for w in src.warnings)


def test_listing_a_checkpoint_reads_only_the_index():
    server = MemoryServer.from_dir(CNN / "model")
    src = source_for(server)
    model = smlens.open(src, "")
    assert model.variables
    # Listing with TF2 object paths needs the index and, from the data shard, only the object graph.
    graph = model.checkpoint.entries["_CHECKPOINTABLE_OBJECT_GRAPH"]
    data_bytes = sum(n for p, _, _, n in server.log if ".data-" in p)
    assert data_bytes == graph.size, (data_bytes, graph.size)


def test_run_fetches_each_weight_byte_once_in_few_requests():
    server = MemoryServer.from_dir(CNN / "model")
    ref = np.load(CNN / "reference.npz")
    meta = json.loads((CNN / "reference.json").read_text())
    run = next(r for r in meta["runs"] if r["key"] == "serving_default")
    doc = json.dumps(manifest_of(server)).encode()
    server.files["smlens-manifest.json"] = doc
    out, _ = handle("open_url", json.dumps({"url": server.base}), [], server)
    assert "error" not in json.loads(out), out
    sig = smlens.webapi.session.SESSION.model.meta_graph("serve").signatures["serving_default"]
    result = sig(**{k: ref[v["key"]] for k, v in run["inputs"].items()})
    for k, spec in run["outputs"].items():
        np.testing.assert_allclose(result[k], ref[spec["key"]], rtol=1e-4, atol=1e-5)
    shard = "variables/variables.data-00000-of-00001"
    data_requests = [(s, e) for p, s, e, _ in server.log if p == shard]
    assert 1 <= len(data_requests) <= 3, data_requests
    seen = np.zeros(len(server.files[shard]), dtype=np.int32)
    for s, e in data_requests:
        seen[s:e + 1] += 1
    assert seen.max() == 1, "some weight bytes were fetched twice"


def test_prefetch_of_sharded_checkpoint_then_reads_hit_no_server():
    folder = CORPUS / "saver_sharded" / "ckpt"
    server = MemoryServer.from_dir(folder)
    src = source_for(server)
    index = next(p for p in server.files if p.endswith(".index"))
    b = Bundle(src, index[:-6])
    names = list(b.entries)
    b.prefetch(names)
    shards = {p for p, *_ in server.log if ".data-" in p}
    assert len([1 for p, *_ in server.log if ".data-" in p]) == len(shards), "one request per shard"
    before = len(server.log)
    for n in names:
        b.read(n)
    assert len(server.log) == before, "reads after a prefetch went to the server again"


def test_manifest_validation_names_the_manifest():
    where = "http://host/m/smlens-manifest.json"
    with pytest.raises(FormatError, match="smlens-manifest.json: not a JSON manifest"):
        parse_manifest(b"<html>", where)
    for bad in ([{"path": "../x", "size": 1}], [{"path": "/x", "size": 1}], [{"path": "x", "size": -1}],
                [{"path": "x", "size": 1, "sha256": "zz"}], []):
        with pytest.raises(FormatError, match="smlens-manifest.json"):
            parse_manifest(json.dumps({"files": bad}).encode(), where)
    ok = parse_manifest(json.dumps({"name": "n", "files": [{"path": "a/b", "size": 3}]}).encode(), where)
    assert ok["files"] == {"a/b": 3} and ok["sha256"] == {}


def test_open_by_single_file_url_probes_neighbours():
    server = MemoryServer.from_dir(CNN / "model")
    out, _ = handle("open_url", json.dumps({"url": server.base + "variables/variables.index", "kind": "file"}),
                    [], server)
    summary = json.loads(out)
    assert summary["kind"] == "checkpoint", summary
    assert summary["variables"] > 0
    assert not any(".data-" in p and n > 1 for p, _, _, n in server.log)
    out, _ = handle("open_url", json.dumps({"url": server.base + "missing.pb", "kind": "file"}), [], server)
    assert "missing.pb" in json.loads(out)["error"]["message"]


def test_a_run_fetches_only_the_variables_its_signature_reads():
    """module_output_names: 'single' reads only `base`; `scale` is not fetched until a signature that reads it
    (serving_default) runs, and `base` is not fetched again then."""
    server = MemoryServer.from_dir(CORPUS / "module_output_names" / "model")
    server.files["smlens-manifest.json"] = json.dumps(manifest_of(server)).encode()
    out, _ = handle("open_url", json.dumps({"url": server.base}), [], server)
    assert "error" not in json.loads(out), out
    model = smlens.webapi.session.SESSION.model
    entries = model.checkpoint.entries
    shard = "variables/variables.data-00000-of-00001"

    def fetched_since(n: int) -> np.ndarray:
        seen = np.zeros(len(server.files[shard]), dtype=np.int32)
        for p, s, e, _ in server.log[n:]:
            if p == shard:
                seen[s:e + 1] += 1
        return seen

    def span(key: str) -> slice:
        return slice(entries[key].offset, entries[key].offset + entries[key].size)

    base, scale = "base/.ATTRIBUTES/VARIABLE_VALUE", "scale/.ATTRIBUTES/VARIABLE_VALUE"
    n = len(server.log)
    sigs = model.meta_graph("serve").signatures
    np.testing.assert_array_equal(sigs["single"](ids=np.array([1, 2], np.int64))["output_0"], [10, 20])
    seen = fetched_since(n)
    assert seen[span(base)].all() and not seen[span(scale)].any(), "only 'single''s variable is fetched"
    n = len(server.log)
    sigs["serving_default"](a=np.ones((1, 3), np.float32), flag=np.array(True), n=np.array(2, np.int64),
                            s=np.array([b"x"], object))
    seen = fetched_since(n)
    assert seen[span(scale)].all() and not seen[span(base)].any(), "then only what serving_default adds"
