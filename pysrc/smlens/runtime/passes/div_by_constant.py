"""Grappler's constant folding rewrites a floating-point division by a constant, Div(x, c), into
Mul(x, Reciprocal(c)) (Xdivy into MulNoNan(Reciprocal(c), x)), and TF runs the rewritten graph: 1/c is
rounded to the dtype first, which changes results by an ulp (float32) or more (float16/bfloat16). This
rewrite is part of TensorFlow's semantics here, so it always runs."""
from __future__ import annotations

import numpy as np

from ..ir import StepGraph
from ..opregistry import KERNELS

DIV_BY_CONSTANT = {"Div", "RealDiv", "Xdivy"}


def _reciprocal(step, c):
    T = step.attrs.get("T")
    if T is None or getattr(T, "np", None) is None or np.dtype(T.np).kind not in "fc" or \
            not isinstance(c, np.ndarray) or c.dtype.kind not in "fc":
        return None
    try:
        recip = KERNELS["Reciprocal"].fn(c, T=T)
    except Exception:  # noqa: BLE001 - left to the division kernel (and its message) at run time
        return None
    recip.flags.writeable = False
    return recip


def run(g: StepGraph, ctx) -> None:
    taken = None
    for step in g.steps:
        if step.op not in DIV_BY_CONSTANT or step.fn is not None or len(step.inputs) != 2:
            continue
        x, d = step.inputs
        c = g.const(d)
        if c is None or g.const(x) is not None:
            continue
        recip = _reciprocal(step, c)
        if recip is None:
            continue
        taken = taken if taken is not None else {r[0] for r in g.consts} | g.names()
        rref = g.add_const(f"{step.name}/reciprocal", recip, taken)
        new_op = "MulNoNan" if step.op == "Xdivy" else "Mul"
        step.origin = step.origin or step.op
        step.op, step.spec = new_op, KERNELS[new_op]
        step.attrs = {"T": step.attrs["T"]}
        step.inputs = [rref, x] if new_op == "MulNoNan" else [x, rref]
