"""Fold BatchNorm into the preceding Conv2D / DepthwiseConv2dNative / MatMul.

After constant folding, a Keras BatchNormalization in inference is an affine chain of per-channel
constants on the conv output (Mul, Add/AddV2/BiasAdd, Sub), and TF1-style models use FusedBatchNorm* with
is_training false. Each is y = conv(x, w) * s + b per output channel: the chain is replaced by the conv with
weights w * s (along the output channel) followed by one BiasAdd of b, which fuse_epilogue then merges
into the conv. Only float32/float64, NHWC, constant weights; every intermediate has a single reader.
"""
from __future__ import annotations

import numpy as np

from ..ir import Step, StepGraph
from ..opregistry import KERNELS

PRODUCERS = {"Conv2D", "DepthwiseConv2dNative", "MatMul"}
AFFINE = {"Mul", "Add", "AddV2", "BiasAdd", "Sub", "FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3"}


def channels(step: Step, w: np.ndarray) -> int | None:
    if step.op == "MatMul":
        if w.ndim != 2 or step.attrs.get("transpose_a"):
            return None
        return w.shape[0] if step.attrs.get("transpose_b") else w.shape[1]
    if w.ndim != 4 or step.attrs.get("data_format", "NHWC") != "NHWC":
        return None
    return w.shape[3] if step.op == "Conv2D" else w.shape[2] * w.shape[3]


def per_channel(c, C: int, dtype) -> np.ndarray | None:
    """`c` as a (C,) vector if it broadcasts per output channel (last axis) without changing shape."""
    if not isinstance(c, np.ndarray) or c.dtype != dtype:
        return None
    if c.size == 1 and c.ndim <= 1:
        return np.full(C, c.reshape(()), dtype)
    if c.shape[-1:] == (C,) and all(d == 1 for d in c.shape[:-1]) and c.ndim <= 4:
        return c.reshape(C)
    return None


def _affine(g: StepGraph, step: Step, ref, C: int, dtype):
    """(scale, bias) of one chain step reading `ref`, or None."""
    if step.op.startswith("FusedBatchNorm"):
        return _fused_bn(g, step, ref, C, dtype)
    if len(step.inputs) != 2 or step.attrs.get("data_format", "NHWC") != "NHWC":
        return None
    k = 0 if step.inputs[0] == ref else 1
    if step.inputs[k] != ref or step.inputs[1 - k] == ref:
        return None
    c = per_channel(g.const(step.inputs[1 - k]), C, dtype)
    if c is None or (step.op in ("BiasAdd", "Sub") and k != 0):
        return None
    one, zero = np.ones(C, dtype), np.zeros(C, dtype)
    return {"Mul": (c, zero), "Sub": (one, -c)}.get(step.op, (one, c))


def _fused_bn(g: StepGraph, step: Step, ref, C: int, dtype):
    if step.inputs[0] != ref or step.attrs.get("is_training", True) or \
            step.attrs.get("data_format", "NHWC") != "NHWC" or len(step.inputs) != 5:
        return None
    params = [per_channel(g.const(r), C, dtype) for r in step.inputs[1:]]
    if any(p is None for p in params):
        return None
    scale, offset, mean, var = params
    s = (scale / np.sqrt(var + dtype.type(step.attrs.get("epsilon", 1e-4)))).astype(dtype)
    return s, (offset - mean * s).astype(dtype)


def _chain(g: StepGraph, conv: Step, users: dict, C: int, dtype):
    """The affine steps following `conv`, and the accumulated (scale, bias)."""
    s, b = np.ones(C, dtype), np.zeros(C, dtype)
    ref, chain = conv.out(), []
    while True:
        readers = users.get(ref, [])
        if len(readers) != 1 or readers[0][0] is None or readers[0][0].op not in AFFINE:
            break
        nxt = readers[0][0]
        if nxt.fn is not None or any(r[0] == nxt.name and r[1] != 0 for r in users):
            break
        ab = _affine(g, nxt, ref, C, dtype)
        if ab is None:
            break
        s, b = s * ab[0], b * ab[0] + ab[1]
        chain.append(nxt)
        ref = nxt.out()
    return chain, s, b


def _scaled_weights(conv: Step, w: np.ndarray, s: np.ndarray) -> np.ndarray:
    if conv.op == "MatMul" and conv.attrs.get("transpose_b"):
        return w * s[:, None]
    if conv.op == "DepthwiseConv2dNative":
        return w * s.reshape(w.shape[2], w.shape[3])
    return w * s


def run(g: StepGraph, ctx) -> None:
    users = g.consumers()
    taken = g.names() | {r[0] for r in g.consts} | {r[0] for r in g.feeds}
    drop: set = set()
    for conv in list(g.steps):
        w = g.const(conv.inputs[1]) if conv.op in PRODUCERS and conv.fn is None and len(conv.inputs) == 2 else None
        if not isinstance(w, np.ndarray) or w.dtype not in (np.float32, np.float64):
            continue
        C = channels(conv, w)
        chain, s, b = _chain(g, conv, users, C, w.dtype) if C else ([], None, None)
        if not chain:
            continue
        conv.inputs = [conv.inputs[0], g.add_const(f"{conv.name}/folded_weights", _scaled_weights(conv, w, s), taken)]
        bias = Step(g.unique_name(f"{conv.name}/folded_bias_add", taken), "BiasAdd",
                    {"data_format": "NHWC", "T": conv.attrs["T"]},
                    [conv.out(), g.add_const(f"{conv.name}/folded_bias", b.astype(w.dtype), taken)],
                    conv.where, spec=KERNELS["BiasAdd"], foldable=True, origin="+".join(x.op for x in chain))
        g.steps.insert(g.steps.index(conv) + 1, bias)   # in the list now, so later rewrites reach it
        drop.update(id(x) for x in chain)
        g.replace_ref(chain[-1].out(), bias.out())
    g.steps = [st for st in g.steps if id(st) not in drop]
