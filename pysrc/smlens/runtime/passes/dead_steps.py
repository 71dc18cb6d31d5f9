"""Dead-step elimination: steps none of whose outputs is read (by a step or a fetch) and that have no
effect (stateful kernels, calls, asserts) and are not targets are removed, back to front."""
from __future__ import annotations

from ..ir import StepGraph


def run(g: StepGraph, ctx) -> None:
    live = {r[0] for r in g.fetches}
    kept = []
    for step in reversed(g.steps):
        if step.name in live or step.effects or step.name in g.keep:
            kept.append(step)
            live.update(r[0] for r in step.inputs)
    kept.reverse()
    g.steps = kept
