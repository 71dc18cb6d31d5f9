"""Fold a zero Pad of the spatial dims (Keras ZeroPadding2D) into the Conv2D / DepthwiseConv2dNative that
alone reads it: the conv pads itself (padding EXPLICIT), which saves writing the padded copy as a step."""
from __future__ import annotations

import numpy as np

from ..ir import StepGraph

CONVS = {"Conv2D", "DepthwiseConv2dNative"}


def _spatial_pads(g: StepGraph, pad) -> list | None:
    """The 8 explicit_paddings of an NHWC Pad of zeros on H and W only, or None."""
    p = g.const(pad.inputs[1]) if len(pad.inputs) >= 2 else None
    if not isinstance(p, np.ndarray) or p.shape != (4, 2) or p.dtype.kind not in "iu":
        return None
    if pad.op == "PadV2":
        c = g.const(pad.inputs[2]) if len(pad.inputs) == 3 else None
        if not isinstance(c, np.ndarray) or c.size != 1 or float(c.reshape(())) != 0.0:
            return None
    flat = [int(v) for v in p.reshape(-1)]
    if flat[:2] != [0, 0] or flat[6:] != [0, 0] or min(flat) < 0:
        return None
    return flat


def run(g: StepGraph, ctx) -> None:
    users = g.consumers()
    drop = set()
    for pad in g.steps:
        if pad.op not in ("Pad", "PadV2") or pad.fn is not None:
            continue
        readers = users.get(pad.out(), [])
        conv = readers[0][0] if len(readers) == 1 else None
        if conv is None or conv.op not in CONVS or conv.fn is not None or readers[0][1] != 0 or \
                conv.attrs.get("padding") != "VALID" or conv.attrs.get("data_format", "NHWC") != "NHWC":
            continue
        pads = _spatial_pads(g, pad)
        if pads is None:
            continue
        conv.inputs = [pad.inputs[0]] + conv.inputs[1:]
        conv.attrs = {**conv.attrs, "padding": "EXPLICIT", "explicit_paddings": pads}
        conv.origin = (conv.origin or conv.op) + "+Pad"
        drop.add(id(pad))
    g.steps = [s for s in g.steps if id(s) not in drop]
