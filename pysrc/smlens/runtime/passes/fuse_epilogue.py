"""Fuse epilogues into the producing conv / matmul: Conv2D, DepthwiseConv2dNative and MatMul followed by
BiasAdd, a residual Add/AddV2 and an activation (Relu, Relu6, Elu, LeakyRelu, Sigmoid, Tanh; ClipByValue
to [0, 6] as Relu6) become TensorFlow's `_FusedConv2D` / `_FusedDepthwiseConv2dNative` / `_FusedMatMul`
with `fused_ops` in order. Only float32/float64 (the fused kernel keeps no intermediate rounding) and NHWC;
each fused intermediate must have the conv chain as its only reader."""
from __future__ import annotations

import numpy as np

from ..ir import Step, StepGraph
from ..opregistry import KERNELS

FUSED = {"Conv2D": "_FusedConv2D", "DepthwiseConv2dNative": "_FusedDepthwiseConv2dNative",
         "MatMul": "_FusedMatMul"}
ACTIVATIONS = {"Relu", "Relu6", "Elu", "LeakyRelu", "Sigmoid", "Tanh"}
FLOAT = ("float32", "float64")


def _sole_reader(users: dict, ref) -> Step | None:
    readers = users.get(ref, [])
    if len(readers) != 1 or readers[0][0] is None:
        return None
    step = readers[0][0]
    return step if step.fn is None and step.kind == "op" else None


def _is_relu6_clip(g: StepGraph, step: Step, ref) -> bool:
    if step.op != "ClipByValue" or step.inputs[0] != ref:
        return False
    lo, hi = g.const(step.inputs[1]), g.const(step.inputs[2])
    return isinstance(lo, np.ndarray) and isinstance(hi, np.ndarray) and lo.size == 1 and hi.size == 1 \
        and float(lo.reshape(())) == 0.0 and float(hi.reshape(())) == 6.0


def _epilogue(g: StepGraph, conv: Step, users: dict, claimed: set):
    """[(fused op name, extra input refs, step)] following conv, in order."""
    out, ref, stage = [], conv.out(), 0
    while True:
        nxt = _sole_reader(users, ref)
        if nxt is None or nxt.name in claimed or nxt.attrs.get("T") != conv.attrs.get("T"):
            break
        other = [r for r in nxt.inputs if r != ref]
        if stage == 0 and nxt.op == "BiasAdd" and nxt.inputs[0] == ref and len(other) == 1 and \
                nxt.attrs.get("data_format", "NHWC") == "NHWC":
            item, stage = ("BiasAdd", other), 1
        elif stage <= 1 and nxt.op in ("Add", "AddV2") and len(other) == 1 and len(nxt.inputs) == 2:
            item, stage = ("Add", other), 2
        elif nxt.op in ACTIVATIONS and nxt.inputs == [ref]:
            item, stage = (nxt.op, []), 3
        elif _is_relu6_clip(g, nxt, ref):
            item, stage = ("Relu6", []), 3
        else:
            break
        out.append((*item, nxt))
        ref = nxt.out()
        if stage == 3:
            break
    return out


def _fusable(conv: Step) -> bool:
    T = conv.attrs.get("T")
    if conv.op not in FUSED or conv.fn is not None or getattr(T, "name", None) not in FLOAT:
        return False
    if conv.op == "MatMul":
        return True
    return conv.attrs.get("data_format", "NHWC") == "NHWC"


def _fused_step(conv: Step, epi: list) -> Step:
    op = FUSED[conv.op]
    args = [r for _, extra, _ in epi for r in extra]
    attrs = {k: v for k, v in conv.attrs.items() if k in KERNELS[op].attrs}
    attrs.update(num_args=len(args), fused_ops=[name for name, _, _ in epi], epsilon=0.0001,
                 leakyrelu_alpha=float(next((s.attrs.get("alpha", 0.2) for n, _, s in epi if n == "LeakyRelu"), 0.2)))
    full = {k: attrs.get(k, v) for k, v in KERNELS[op].attrs.items()}
    return Step(conv.name, op, full, conv.inputs[:2] + args, conv.where, spec=KERNELS[op], foldable=True,
                node=conv.node, origin="+".join([conv.op] + [s.op for _, _, s in epi]))


def run(g: StepGraph, ctx) -> None:
    users = g.consumers()
    drop, claimed = set(), set()
    for conv in list(g.steps):
        if not _fusable(conv):
            continue
        epi = _epilogue(g, conv, users, claimed)
        if not epi:
            continue
        # the fused step takes the place of the last fused step: every extra input exists by then (it is
        # put in the step list now, so later rewrites of its inputs reach it)
        last = epi[-1][2]
        g.steps[g.steps.index(last)] = _fused_step(conv, epi)
        claimed.update(s.name for _, _, s in epi)
        drop.add(id(conv))
        drop.update(id(s) for _, _, s in epi[:-1])
        g.replace_ref(last.out(), conv.out())
    g.steps = [s for s in g.steps if id(s) not in drop]
