"""The op registry table (smlens/data/tf_ops.json.gz, from TensorFlow 2.21's registry) and the kernels'
declarations checked against it: every `@op` names TF's attrs with TF's defaults, so a model saved with
strip_default_attrs runs the same as one that spells every attr out."""
from __future__ import annotations

import numpy as np
import pytest

import smlens.kernels  # noqa: F401 - registers every kernel
from smlens import dtypes, optable
from smlens.kernels.registry import KERNELS, REQUIRED, FuncAttr

pytestmark = pytest.mark.pyodide

# Kernels for ops TensorFlow does not register: TF.js graph-model op names and a grappler-internal op.
NOT_TF_OPS = {"Conv1D", "DepthwiseConv2d", "FusedDepthwiseConv2dNative", "Ones", "Prelu", "Zeros", "_HostIdentity"}


def test_table_loads_and_knows_common_ops():
    assert optable.tensorflow_version() == "2.21.0"
    assert len(optable.names()) > 1800
    conv = optable.get("Conv2D")
    assert conv.inputs == ("input:$T", "filter:$T") and conv.outputs == ("output:$T",)
    assert conv.attrs["data_format"].default == "NHWC"
    assert conv.attrs["padding"].allowed == ("SAME", "VALID", "EXPLICIT") and not conv.attrs["strides"].has_default
    assert conv.summary.startswith("Computes a 2-D convolution")
    var = optable.get("VarHandleOp")
    assert var.stateful and not var.attrs["dtype"].has_default and var.attrs["shared_name"].default == ""
    assert optable.get("Assign").inputs[0] == "&ref:$T"
    assert optable.get("NoSuchOp") is None


def test_float_defaults_decode_special_values():
    # FakeQuant's min/max are plain floats; infinities are stored as strings in the JSON
    fq = optable.get("FakeQuantWithMinMaxArgs")
    assert fq.attrs["min"].default == -6.0 and fq.attrs["num_bits"].default == 8
    specials = [a.default for name in optable.names() for a in optable.get(name).attrs.values()
                if a.type == "float" and a.has_default and not np.isfinite(a.default)]
    assert all(isinstance(x, float) for x in specials)


# Attrs smlens adds to TF's internal fused ops: only its own compiler passes emit them (fold_pad moves a
# ZeroPadding2D into the depthwise conv as EXPLICIT padding, which TF's grappler never produces).
SMLENS_EXTENSION_ATTRS = {("_FusedDepthwiseConv2dNative", "explicit_paddings")}


@pytest.mark.parametrize("category", sorted({s.category for s in KERNELS.values()}))
def test_kernel_declarations_agree_with_tensorflow_opdefs(category):
    problems = []
    for name, spec in sorted(KERNELS.items()):
        if spec.category != category or name in NOT_TF_OPS:
            continue
        od = optable.get(name)
        if od is None:
            problems.append(f"{name}: TensorFlow registers no such op")
            continue
        if len(spec.inputs) != len(od.inputs):
            problems.append(f"{name}: declares {len(spec.inputs)} inputs, TF's OpDef has {list(od.inputs)}")
        for attr, default in spec.attrs.items():
            ad = od.attrs.get(attr)
            if (name, attr) in SMLENS_EXTENSION_ATTRS:
                continue
            if ad is None:
                problems.append(f"{name}: attr {attr!r} is not in TF's OpDef ({sorted(od.attrs)})")
            elif default is REQUIRED:
                if ad.has_default:
                    problems.append(f"{name}: attr {attr!r} declared REQUIRED, TF's default is {ad.default!r}")
            elif ad.has_default:
                if not optable.is_default(od, attr, default):
                    problems.append(f"{name}: attr {attr!r} defaults to {default!r}, TF's to {ad.default!r}")
            elif not (default is None or default == [] and ad.type.startswith("list(")):
                # leniency only for attrs TF always writes (inferred types, list attrs): never a made-up value
                problems.append(f"{name}: attr {attr!r} has no default in TF, declared {default!r}")
    assert not problems, "\n".join(problems)


def test_not_tf_ops_are_really_not_registered():
    assert not any(optable.get(n) for n in NOT_TF_OPS)


def test_validate_node_like_tensorflow():
    var = optable.get("VarHandleOp")
    assert optable.validate_node(var, {"dtype": dtypes.float32, "shape": (2,)}) is None
    assert optable.validate_node(var, {"shape": (2,)}) == "missing required attr 'dtype'"
    assert "expected a type" in optable.validate_node(var, {"dtype": "float", "shape": (2,)})
    assert optable.validate_node(var, {"dtype": dtypes.float32, "shape": (), "bogus": 1}) is None  # TF ignores it
    assert optable.validate_node(var, {"dtype": dtypes.float32, "shape": (), "_class": ["loc:@x"]}) is None
    conv = optable.get("Conv2D")
    ok = {"T": dtypes.float32, "strides": [1, 1, 1, 1], "padding": "SAME"}
    assert optable.validate_node(conv, ok) is None
    assert "not one of" in optable.validate_node(conv, {**ok, "padding": "FULL"})
    assert "not one of" in optable.validate_node(conv, {**ok, "T": dtypes.int8})
    assert "less than the minimum" in optable.validate_node(optable.get("IdentityN"), {"T": []})
    call = optable.get("StatefulPartitionedCall")
    assert optable.validate_node(call, {"Tin": [], "Tout": [dtypes.float32], "f": FuncAttr("g")}) is None


def test_is_default_compares_decoded_values():
    conv = optable.get("Conv2D")
    assert optable.is_default(conv, "data_format", "NHWC")
    assert optable.is_default(conv, "dilations", [1, 1, 1, 1])
    assert not optable.is_default(conv, "dilations", [1, 2, 2, 1])
    assert not optable.is_default(conv, "strides", [1, 1, 1, 1])   # required: no default to hide
    cast = optable.get("Cast")
    assert optable.is_default(cast, "Truncate", False) and not optable.is_default(cast, "Truncate", 0)


def test_graph_view_marks_default_attrs_and_summarizes_ops():
    from pathlib import Path

    import smlens
    from smlens.views.graph import graph_json
    model = smlens.open(str(Path(__file__).resolve().parent / "data" / "corpus" / "simple_save" / "model"))
    g = graph_json(model.meta_graph())
    nodes = {n["name"]: n for n in g["nodes"]}
    mm = {a["key"]: a for a in nodes["MatMul"]["attrs"]}
    assert mm["T"]["default"] is False                      # required: never hidden
    for key in ("transpose_a", "transpose_b"):
        assert mm[key]["default"] is (mm[key]["text"] == "false")
    assert g["op_summaries"]["MatMul"].startswith("Multiply the matrix")
    assert set(g["op_summaries"]) <= {n["op"] for n in g["nodes"]}
