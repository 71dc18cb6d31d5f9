"""Signature inputs like TensorFlow feeds them: an input backed by a PlaceholderWithDefault may be left out
(its default is computed), and a placeholder whose dtype disagrees with the SignatureDef's declared dtype
is fed by tensor name with its own dtype (with a warning)."""
from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from smlens.cli import main
from smlens.errors import InputError
from test_runtime import F32, I32, I64, const, model, node, open_model, placeholder, sig

pytestmark = pytest.mark.pyodide


def _optional_model():
    nodes = [placeholder("x", F32, (-1,)), const("scale_default", np.float32(2.0)),
             node("scale", "PlaceholderWithDefault", "scale_default", dtype=F32, shape=_shape(())),
             const("bias_default", np.array([1, 2, 3], np.int32)),
             node("bias_id", "Identity", "bias_default", T=I32),
             node("bias", "PlaceholderWithDefault", "bias_id", dtype=I32, shape=_shape((3,))),
             node("bias_f", "Cast", "bias", SrcT=I32, DstT=F32, Truncate=False),
             node("y", "Mul", "x", "scale", T=F32), node("z", "AddV2", "y", "bias_f", T=F32)]
    return model(nodes, {"s": sig({"x": ("x:0", F32, (-1,)), "scale": ("scale:0", F32, ()),
                                   "bias": ("bias:0", I32, (3,))}, {"z": ("z:0", F32, (3,))})})


def _shape(dims):
    from test_runtime import Shape
    return Shape(dims)


def test_optional_inputs_are_marked_with_their_default():
    s = open_model(_optional_model()).meta_graph().signatures["s"]
    assert not s.inputs["x"].optional and s.inputs["scale"].optional and s.inputs["bias"].optional
    assert s.inputs["scale"].default == np.float32(2.0)
    np.testing.assert_array_equal(s.inputs["bias"].default, [1, 2, 3])   # through the Identity
    j = {i["key"]: i for i in s.to_json()["inputs"]}
    assert "optional" not in j["x"]
    assert j["scale"]["optional"] is True and j["scale"]["default"] == {"dtype": "float32", "shape": [],
                                                                         "values": [2.0]}
    assert j["bias"]["default"]["values"] == [1, 2, 3]


def test_optional_inputs_may_be_left_out():
    s = open_model(_optional_model()).meta_graph().signatures["s"]
    x = np.array([1.0, 2.0, 3.0], np.float32)
    np.testing.assert_array_equal(s(x=x)["z"], [3.0, 6.0, 9.0])
    np.testing.assert_array_equal(s(x=x, scale=np.float32(-1.0))["z"], [0.0, 0.0, 0.0])
    np.testing.assert_array_equal(s(x=x, bias=np.array([0, 0, 1], np.int32))["z"], [2.0, 4.0, 7.0])
    np.testing.assert_array_equal(s(x=x, scale=np.float32(1.0), bias=np.zeros(3, np.int32))["z"], x)
    np.testing.assert_array_equal(s(x=x)["z"], [3.0, 6.0, 9.0])      # the cached plan without feeds again
    with pytest.raises(InputError, match="missing input 'x'"):
        s(scale=np.float32(1.0))


def test_cli_run_without_an_optional_input(tmp_path, capsys):
    for name, data in _optional_model().items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(data)
    assert main(["run", "--dir", str(tmp_path), "--signature_def", "s", "--input_exprs", "x=[1.0, 1.0, 1.0]",
                 "--json"]) == 0, capsys.readouterr().err
    out = json.loads(capsys.readouterr().out)["outputs"]["z"]
    assert out["values"] == [3.0, 4.0, 5.0]


def test_feed_by_tensor_name_uses_the_placeholders_dtype():
    # an old export declares the input int64 while the placeholder is float32
    nodes = [placeholder("x", F32, (-1,)), node("y", "Mul", "x", "x", T=F32)]
    files = model(nodes, {"s": sig({"x": ("x:0", I64, (-1,))}, {"y": ("y:0", F32, (-1,))})})
    s = open_model(files).meta_graph().signatures["s"]
    assert s.inputs["x"].dtype.name == "int64" and s.inputs["x"].feed_dtype.name == "float32"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = s(x=[1.5, -2.0])["y"]
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, [2.25, 4.0])
    assert any("placeholder 'x' is float32" in str(w.message) for w in caught)
    assert s.to_json()["inputs"][0]["feed_dtype"] == "float32"


def test_show_json_marks_optional_inputs():
    from smlens.views import show
    sm = open_model(_optional_model()).saved_model
    inputs = {i["key"]: i for i in show.describe(sm)["meta_graphs"][0]["signatures"][0]["inputs"]}
    assert inputs["scale"]["optional"] and inputs["bias"]["optional"] and "optional" not in inputs["x"]
