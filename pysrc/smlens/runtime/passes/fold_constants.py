"""Constant folding: a foldable step whose inputs are all plan constants is evaluated at compile time
(results larger than MAX_FOLDED_BYTES in total are left to run time)."""
from __future__ import annotations

import numpy as np

from ..ir import StepGraph
from ..lower import host_fn

MAX_FOLDED_BYTES = 32 << 20


def evaluate(step, args: list) -> tuple | None:
    """The step's outputs computed now; None if it fails or they are too large to keep."""
    try:
        r = host_fn(step)(*args)
    except Exception:  # noqa: BLE001 - left to fail (with a proper message) at run time
        return None
    r = tuple(r) if isinstance(r, (tuple, list)) else (r,)
    total = 0
    for x in r:
        if isinstance(x, np.ndarray):
            total += x.nbytes
            if x.dtype != object:
                x.flags.writeable = False
    return None if total > MAX_FOLDED_BYTES else r


def run(g: StepGraph, ctx) -> None:
    used = g.used_ports()
    kept = []
    for step in g.steps:
        if not step.foldable or not all(r in g.consts and r not in g.feeds for r in step.inputs):
            kept.append(step)
            continue
        r = evaluate(step, [g.consts[x] for x in step.inputs])
        ports = used.get(step.name, set())
        if r is None:
            kept.append(step)
            continue
        for port in ports:
            if port < len(r):
                g.consts[(step.name, port)] = r[port]
        if not all(p < len(r) for p in ports):
            kept.append(step)
    g.steps = kept
