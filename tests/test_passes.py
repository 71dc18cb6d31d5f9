"""Graph passes on hand-built graphs: each pass changes the plan the way it should, and results with the
pass on equal results with it off (and with every optional pass off)."""
from __future__ import annotations

import numpy as np
import pytest

from smlens.runtime.options import CompileOptions
from smlens.runtime.passes import OPTIONAL
from smlens.runtime.plan import compile_signature
from test_runtime import F32, I32, RES, Func, Shape, const, function, model, node, open_model, placeholder, sig

pytestmark = pytest.mark.pyodide
RNG = np.random.default_rng(7)


def _plans(files, disabled, key="s"):
    """(plan with all passes, plan with `disabled` off), each from a fresh model."""
    on = compile_signature(open_model(files).meta_graph().signatures[key], CompileOptions(from_env=False))
    off = compile_signature(open_model(files).meta_graph().signatures[key],
                            CompileOptions(frozenset(disabled), from_env=False))
    return on, off


def _ops(plan) -> list:
    return [i.op for i in plan.program.infos]


def _same(on, off, rtol=1e-5, **inputs):
    a, b = on.run(inputs), off.run(inputs)
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=1e-6)
    return a


def _conv_bn_graph(act="Relu6", depthwise=False, keras=True):
    w = RNG.standard_normal((3, 3, 4, 1 if depthwise else 5)).astype(np.float32)
    C = 4 if depthwise else 5
    gamma, beta = RNG.uniform(0.5, 2, C).astype(np.float32), RNG.standard_normal(C).astype(np.float32)
    mean, var = RNG.standard_normal(C).astype(np.float32), RNG.uniform(0.5, 2, C).astype(np.float32)
    conv_op = "DepthwiseConv2dNative" if depthwise else "Conv2D"
    nodes = [placeholder("x", F32, (1, 6, 6, 4)), const("w", w),
             node("conv", conv_op, "x", "w", T=F32, strides=[1, 1, 1, 1], padding="SAME")]
    if keras:  # Keras 3: x * (gamma * rsqrt(var + eps)) + (beta - mean * gamma * rsqrt(var + eps))
        nodes += [const("var", var), const("eps", np.float32(1e-3)), const("gamma", gamma), const("beta", beta),
                  const("mean", mean),
                  node("ve", "AddV2", "var", "eps", T=F32), node("rs", "Rsqrt", "ve", T=F32),
                  node("f", "Mul", "rs", "gamma", T=F32), node("y1", "Mul", "conv", "f", T=F32),
                  node("mf", "Mul", "mean", "f", T=F32), node("b", "Sub", "beta", "mf", T=F32),
                  node("bn", "AddV2", "y1", "b", T=F32)]
    else:
        nodes += [const(n, v) for n, v in (("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var))]
        nodes += [node("bn", "FusedBatchNormV3", "conv", "gamma", "beta", "mean", "var", T=F32, U=F32,
                       epsilon=0.001, is_training=False)]
    nodes += [node("act", act, "bn", T=F32)]
    return model(nodes, {"s": sig({"x": ("x:0", F32, (1, 6, 6, 4))}, {"y": ("act:0", F32)})})


@pytest.mark.parametrize("keras", [True, False])
@pytest.mark.parametrize("depthwise", [False, True])
def test_fold_bn_and_fuse(keras, depthwise):
    files = _conv_bn_graph("Relu6", depthwise, keras)
    x = RNG.standard_normal((1, 6, 6, 4)).astype(np.float32)
    on, off = _plans(files, ["fold_bn", "fuse_epilogue"])
    fused = "_FusedDepthwiseConv2dNative" if depthwise else "_FusedConv2D"
    assert _ops(on) == [fused]
    assert fused not in _ops(off) and len(_ops(off)) >= 3
    _same(on, off, x=x)
    _, only_bn = _plans(files, ["fuse_epilogue"])
    assert _ops(only_bn) == ["DepthwiseConv2dNative" if depthwise else "Conv2D", "BiasAdd", "Relu6"]
    assert [p for p, _, _ in only_bn.program.summary].count("fold_bn") == 1


def test_fold_bn_off_fuse_on_keeps_bn_steps():
    files = _conv_bn_graph("Relu", keras=True)
    on, off = _plans(files, ["fold_bn"])
    assert "Mul" in _ops(off) and _ops(on) == ["_FusedConv2D"]
    _same(on, off, x=RNG.standard_normal((1, 6, 6, 4)).astype(np.float32))


def _residual_graph():
    w1 = RNG.standard_normal((1, 1, 4, 4)).astype(np.float32)
    b1 = RNG.standard_normal(4).astype(np.float32)
    nodes = [placeholder("x", F32, (2, 5, 5, 4)), const("w1", w1), const("b1", b1),
             node("c1", "Conv2D", "x", "w1", T=F32, strides=[1, 1, 1, 1], padding="VALID"),
             node("ba", "BiasAdd", "c1", "b1", T=F32),
             node("sig", "Sigmoid", "x", T=F32),          # the residual is computed after the conv
             node("res", "AddV2", "sig", "ba", T=F32),
             node("act", "Elu", "res", T=F32)]
    return model(nodes, {"s": sig({"x": ("x:0", F32, (2, 5, 5, 4))}, {"y": ("act:0", F32)})})


def test_fuse_residual_add_after_its_operand():
    on, off = _plans(_residual_graph(), ["fuse_epilogue"])
    assert _ops(on) == ["Sigmoid", "_FusedConv2D"]
    assert on.program.infos[1].op == "_FusedConv2D"
    _same(on, off, x=RNG.standard_normal((2, 5, 5, 4)).astype(np.float32))


def test_fuse_matmul_bias_tanh_and_shared_intermediate_not_fused():
    w = RNG.standard_normal((3, 2)).astype(np.float32)
    nodes = [placeholder("x", F32, (4, 3)), const("w", w), const("b", np.float32([1, -1])),
             node("mm", "MatMul", "x", "w", T=F32), node("ba", "BiasAdd", "mm", "b", T=F32),
             node("t", "Tanh", "ba", T=F32), node("mm2", "MatMul", "x", "w", T=F32),
             node("r", "Relu", "mm2", T=F32), node("n", "Neg", "mm2", T=F32)]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (4, 3))}, {"y": ("t:0", F32), "r": ("r:0", F32),
                                                                   "n": ("n:0", F32)})})
    on, off = _plans(files, ["fuse_epilogue"])
    assert sorted(_ops(on)) == ["MatMul", "Neg", "Relu", "_FusedMatMul"]
    _same(on, off, x=RNG.standard_normal((4, 3)).astype(np.float32))


def _call_graph():
    inner = function("inner", [("a", F32)], [("out", F32)],
                     [const("two", np.float32(2)), node("m", "Mul", "a", "two:output:0", T=F32)],
                     {"out": "m:z:0"})
    outer = function("outer", [("a", F32)], [("out", F32)],
                     [node("c", "StatefulPartitionedCall", "a", f=Func("inner"), Tin=[F32], Tout=[F32]),
                      node("e", "Exp", "c:output:0", T=F32)], {"out": "e:y:0"})
    nodes = [placeholder("x", F32, (3,)),
             node("call", "StatefulPartitionedCall", "x", f=Func("outer"), Tin=[F32], Tout=[F32])]
    return model(nodes, {"s": sig({"x": ("x:0", F32, (3,))}, {"y": ("call:0", F32)})}, [inner, outer])


def test_inline_nested_calls():
    on, off = _plans(_call_graph(), ["inline"])
    assert _ops(on) == ["Mul", "Exp"] and _ops(off) == ["StatefulPartitionedCall"]
    r = _same(on, off, x=np.float32([0, 1, 2]))
    np.testing.assert_allclose(r["y"], np.exp(np.float32([0, 2, 4])), rtol=1e-6)


def test_recursive_call_is_not_inlined():
    f = function("rec", [("a", F32)], [("out", F32)],
                 [node("c", "StatefulPartitionedCall", "a", f=Func("rec"), Tin=[F32], Tout=[F32])],
                 {"out": "c:output:0"})
    nodes = [placeholder("x", F32, (3,)),
             node("call", "StatefulPartitionedCall", "x", f=Func("rec"), Tin=[F32], Tout=[F32])]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (3,))}, {"y": ("call:0", F32)})}, [f])
    on = compile_signature(open_model(files).meta_graph().signatures["s"], CompileOptions(from_env=False))
    assert _ops(on) == ["StatefulPartitionedCall"]


def _variable_graph(assign_in_signature: bool):
    nodes = [placeholder("x", F32, (2,)),
             node("v", "VarHandleOp", dtype=F32, shape=Shape((2,)), shared_name="v"),
             node("read", "ReadVariableOp", "v", dtype=F32), node("y", "Mul", "x", "read", T=F32),
             const("nv", np.float32([10, 20])), node("assign", "AssignVariableOp", "v", "nv", dtype=F32)]
    sigs = {"s": sig({"x": ("x:0", F32, (2,))}, {"y": ("y:0", F32)})}
    sigs["set"] = sig({}, {"done": ("assign", None)})
    if assign_in_signature:
        nodes.append(node("y2", "Identity", "y", T=F32, _class=[]) if False else node("y2", "Neg", "y", T=F32))
    return model(nodes, sigs, variables={"v": np.float32([1, 2])})


def test_fold_variables_guarded_by_other_signature():
    m = open_model(_variable_graph(False)).meta_graph()
    s = m.signatures["s"]
    assert "ReadVariableOp" not in _ops(s.plan())
    x = np.float32([1, 1])
    np.testing.assert_array_equal(s(x=x)["y"], [1, 2])
    m.signatures["set"]()
    np.testing.assert_array_equal(s(x=x)["y"], [10, 20])   # the folded copy was invalidated


def test_fold_variables_not_when_the_plan_assigns():
    f = function("bump", [("h", RES)], [],
                 [const("one", np.float32([1, 1])),
                  node("a", "AssignAddVariableOp", "h", "one:output:0", dtype=F32)], {},
                 control_ret={"a": "a"})
    nodes = [placeholder("x", F32, (2,)),
             node("v", "VarHandleOp", dtype=F32, shape=Shape((2,)), shared_name="v"),
             node("call", "StatefulPartitionedCall", "v", f=Func("bump"), Tin=[RES], Tout=[]),
             node("read", "ReadVariableOp", "v", "^call", dtype=F32), node("y", "Mul", "x", "read", T=F32)]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (2,))}, {"y": ("y:0", F32)})}, [f],
                  variables={"v": np.float32([1, 2])})
    for disabled in ([], ["inline"]):
        s = open_model(files).meta_graph().signatures["s"]
        plan = compile_signature(s, CompileOptions(frozenset(disabled), from_env=False))
        assert "ReadVariableOp" in _ops(plan)
        np.testing.assert_array_equal(plan.run({"x": np.float32([1, 1])})["y"], [2, 3])
        np.testing.assert_array_equal(plan.run({"x": np.float32([1, 1])})["y"], [3, 4])


def test_dead_steps_removed_after_inlining():
    f = function("two", [("a", F32)], [("n", F32), ("e", F32)],
                 [node("neg", "Neg", "a", T=F32), node("exp", "Exp", "a", T=F32)], {"n": "neg:y:0", "e": "exp:y:0"})
    nodes = [placeholder("x", F32, (2,)),
             node("call", "PartitionedCall", "x", f=Func("two"), Tin=[F32], Tout=[F32, F32])]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (2,))}, {"y": ("call:0", F32)})}, [f])
    on, off = _plans(files, ["dead_steps"])
    assert _ops(on) == ["Neg"] and sorted(_ops(off)) == ["Exp", "Neg"]
    _same(on, off, x=np.float32([1, 2]))


def test_every_optional_pass_is_named():
    assert {"inline", "fold_variables", "fold_constants", "fold_bn", "fuse_epilogue", "dead_steps"} <= set(OPTIONAL)


def test_env_disables_passes(monkeypatch):
    monkeypatch.setenv("SMLENS_DISABLE_PASSES", "fold_bn,fuse_epilogue")
    s = open_model(_conv_bn_graph("Relu")).meta_graph().signatures["s"]
    assert "_FusedConv2D" not in _ops(s.plan())


@pytest.mark.parametrize("conv_op", ["Conv2D", "DepthwiseConv2dNative"])
def test_fold_pad_into_conv(conv_op):
    w = RNG.standard_normal((3, 3, 4, 1 if conv_op != "Conv2D" else 6)).astype(np.float32)
    nodes = [placeholder("x", F32, (1, 7, 7, 4)), const("w", w),
             const("p", np.array([[0, 0], [0, 1], [1, 1], [0, 0]], np.int32)),
             node("pad", "Pad", "x", "p", T=F32, Tpaddings=I32),
             node("conv", conv_op, "pad", "w", T=F32, strides=[1, 2, 2, 1], padding="VALID"),
             node("act", "Relu", "conv", T=F32)]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (1, 7, 7, 4))}, {"y": ("act:0", F32)})})
    on, off = _plans(files, ["fold_pad"])
    fused = "_FusedConv2D" if conv_op == "Conv2D" else "_FusedDepthwiseConv2dNative"
    assert _ops(on) == [fused] and _ops(off) == ["Pad", fused]
    r = _same(on, off, x=RNG.standard_normal((1, 7, 7, 4)).astype(np.float32))
    assert r["y"].shape[1:3] == (3, 4)


def test_fold_pad_keeps_nonzero_pad():
    nodes = [placeholder("x", F32, (1, 5, 5, 2)), const("w", np.ones((2, 2, 2, 2), np.float32)),
             const("p", np.array([[0, 0], [1, 1], [1, 1], [0, 0]], np.int32)), const("c", np.float32(3)),
             node("pad", "PadV2", "x", "p", "c", T=F32, Tpaddings=I32),
             node("conv", "Conv2D", "pad", "w", T=F32, strides=[1, 1, 1, 1], padding="VALID")]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (1, 5, 5, 2))}, {"y": ("conv:0", F32)})})
    on, _ = _plans(files, [])
    assert _ops(on) == ["PadV2", "Conv2D"]


def test_inlining_is_bounded(monkeypatch):
    """f_k calls f_{k-1} twice: fully inlined it would be 2^k steps; the budget keeps calls beyond it."""
    from smlens.runtime import compiler
    monkeypatch.setattr(compiler, "MAX_INLINED_STEPS", 40)
    fs = [function("f0", [("a", F32)], [("out", F32)], [node("n", "Neg", "a", T=F32)], {"out": "n:y:0"})]
    for k in range(1, 12):
        fs.append(function(f"f{k}", [("a", F32)], [("out", F32)],
                           [node("c1", "PartitionedCall", "a", f=Func(f"f{k - 1}"), Tin=[F32], Tout=[F32]),
                            node("c2", "PartitionedCall", "c1:output:0", f=Func(f"f{k - 1}"), Tin=[F32],
                                 Tout=[F32])], {"out": "c2:output:0"}))
    nodes = [placeholder("x", F32, (2,)),
             node("call", "PartitionedCall", "x", f=Func("f11"), Tin=[F32], Tout=[F32])]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (2,))}, {"y": ("call:0", F32)})}, fs)
    plan = compile_signature(open_model(files).meta_graph().signatures["s"], CompileOptions(from_env=False))
    assert len(plan.program) < 200 and "PartitionedCall" in _ops(plan)
    np.testing.assert_array_equal(plan.run({"x": np.float32([1, -2])})["y"], [1, -2])  # 2^11 negations


def test_fused_bias_of_wrong_length_names_the_node():
    from smlens.errors import ExecutionError
    nodes = [placeholder("x", F32, (1, 4, 4, 2)), placeholder("b", F32, (3,)),
             const("w", np.ones((1, 1, 2, 5), np.float32)),
             node("conv", "Conv2D", "x", "w", T=F32, strides=[1, 1, 1, 1], padding="VALID"),
             node("ba", "BiasAdd", "conv", "b", T=F32), node("act", "Relu", "ba", T=F32)]
    files = model(nodes, {"s": sig({"x": ("x:0", F32, (1, 4, 4, 2)), "b": ("b:0", F32, (3,))},
                                   {"y": ("act:0", F32)})})
    for disabled in ([], ["fuse_epilogue"]):
        plan = compile_signature(open_model(files).meta_graph().signatures["s"],
                                 CompileOptions(frozenset(disabled), from_env=False))
        with pytest.raises(ExecutionError, match="'conv'|'ba'") as e:
            plan.run({"x": np.ones((1, 4, 4, 2), np.float32), "b": np.ones(3, np.float32)})
        assert "bias" in str(e.value)
