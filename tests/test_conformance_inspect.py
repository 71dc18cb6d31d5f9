"""`inspect` without flags on V1 checkpoints prints TensorFlow's text exactly, in TF's order: the iteration
order of TensorSliceReader's std::unordered_map (libstdc++ hashing and prime rehash policy), reproduced by
smlens.formats.stdhash. Checkpoints and texts: scripts/make_conformance.py v1_order (5 to 300 tensors, so
the map rehashes through 13, 29, 59, 127, 257 and 541 buckets) and tests/data/v1ckpt."""
from __future__ import annotations

from pathlib import Path

import pytest

from smlens.cli import main
from smlens.formats.stdhash import std_hash, unordered_map_order

pytestmark = pytest.mark.pyodide

DATA = Path(__file__).resolve().parent / "data"
V1_ORDER = DATA / "conformance" / "v1_order"
CASES = {"few": "model.ckpt", "rehash_29": "model.ckpt", "rehash_127": "model.ckpt",
         "many": "model.ckpt-00000-of-00001"}


@pytest.mark.parametrize("case", sorted(CASES))
def test_inspect_prints_tensorflows_hash_order(case, capsys):
    assert main(["inspect", "--file_name", str(V1_ORDER / case / CASES[case])]) == 0
    assert capsys.readouterr().out == (V1_ORDER / case / "inspect.txt").read_text(encoding="utf-8")


def test_inspect_v1ckpt_plain_exactly(capsys):
    assert main(["inspect", "--file_name", str(DATA / "v1ckpt" / "plain.ckpt")]) == 0
    assert capsys.readouterr().out == (DATA / "v1ckpt" / "expected_plain.txt").read_text(encoding="utf-8")


def test_partitioned_tensor_counts_all_its_slices(capsys):
    assert main(["inspect", "--file_name", str(V1_ORDER / "many" / CASES["many"])]) == 0
    assert "partitioned (DT_FLOAT) [40,2], 3 slices\n" in capsys.readouterr().out


def test_unordered_map_order_properties():
    keys = [f"k{i}" for i in range(100)]
    order = unordered_map_order(keys)
    assert sorted(order) == sorted(keys) and order != keys
    assert unordered_map_order(keys + ["k5"]) == order            # a repeated key is not inserted again
    assert unordered_map_order([]) == [] and unordered_map_order(["a"]) == ["a"]
    assert std_hash(b"abc") == std_hash(b"abc") != std_hash(b"abd")
    assert all(0 <= std_hash(bytes([i]) * i) < 2 ** 64 for i in range(20))
