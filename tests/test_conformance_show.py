"""`show --all` where TensorFlow prints "Concrete Functions: N/A (...)": a function library that uses ops TF
does not register (custom ops) or nodes that fail validation against their OpDef (unknown reasons). The
models are the corpus model module_basic mutated by tests/helpers/na_cases.py; the expected texts are
saved_model_cli's (scripts/make_conformance.py show_na)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from smlens.proto import saved_model_pb2
from smlens.views import show
from test_show import sorted_ops_lines

sys.path.insert(0, str(Path(__file__).resolve().parent / "helpers"))
import na_cases  # noqa: E402

pytestmark = pytest.mark.pyodide

DATA = Path(__file__).resolve().parent / "data"
MODULE_BASIC = DATA / "corpus" / "module_basic" / "model" / "saved_model.pb"
EXPECTED = DATA / "conformance" / "show_na"


def mutated(name: str) -> saved_model_pb2.SavedModel:
    sm = saved_model_pb2.SavedModel()
    sm.ParseFromString(MODULE_BASIC.read_bytes())
    na_cases.CASES[name](sm)
    return sm


@pytest.mark.parametrize("name", sorted(na_cases.CASES))
def test_show_all_prints_what_saved_model_cli_prints(name):
    want = (EXPECTED / f"{name}.all.txt").read_text(encoding="utf-8")
    assert show.show_all(mutated(name)) == sorted_ops_lines(want)


def test_every_case_has_an_expected_text():
    assert {p.name.removesuffix(".all.txt") for p in EXPECTED.glob("*.all.txt")} == set(na_cases.CASES)


def test_describe_names_the_bad_node():
    doc = show.describe(mutated("var_handle_without_attrs"))
    assert "'stray_handle' (VarHandleOp): missing required attr" in doc["functions_error"]
    doc = show.describe(mutated("custom_op"))
    assert "'MyCustomMul'" in doc["functions_error"] and "does not register" in doc["functions_error"]
