"""Emitting: a placed StepGraph -> a StaticProgram (value slots, prepared callables, frees at last use).

Host values are freed by clearing their slot after the last step reading them; device values (see
`StepGraph.locations`) also get an explicit free step calling their backend's `free`.
"""
from __future__ import annotations

from . import backend_registry as registry
from .executor import StaticProgram, StepInfo
from .ir import DOWNLOAD, UPLOAD, Step, StepGraph


def _callable(step: Step):
    if step.kind == UPLOAD:
        return registry.get(step.backend).upload
    if step.kind == DOWNLOAD:
        return registry.get(step.backend).download
    return step.kernel.fn if step.kernel is not None else step.fn


class _Slots:
    def __init__(self, g: StepGraph):
        self.g = g
        self.of: dict = {}
        self.template: list = []

    def __call__(self, ref) -> int:
        s = self.of.get(ref)
        if s is None:
            s = self.of[ref] = len(self.template)
            c = self.g.consts.get(ref) if ref not in self.g.feeds else None
            self.template.append(c)
        return s


def _raw_steps(g: StepGraph, slot: _Slots) -> list:
    used = g.used_ports()
    raw = []
    for step in g.steps:
        captured = step.kernel.captured if step.kernel is not None else ()
        ins = tuple(slot(r) for k, r in enumerate(step.inputs) if k not in captured)
        ports = sorted(used.get(step.name, ()))
        outs = slot((step.name, 0)) if ports == [0] else tuple((p, slot((step.name, p))) for p in ports)
        raw.append((step, ins, outs))
    return raw


def _last_uses(raw: list, keep: set) -> dict:
    """step index -> slots whose last reader it is (or that it writes and nobody reads)."""
    last: dict = {}
    for i, (_, ins, _) in enumerate(raw):
        for s in ins:
            last[s] = i
    frees: dict = {}
    for s, i in last.items():
        if s not in keep:
            frees.setdefault(i, []).append(s)
    for i, (_, _, outs) in enumerate(raw):
        for s in ([outs] if isinstance(outs, int) else [s for _, s in outs]):
            if s not in last and s not in keep:
                frees.setdefault(i, []).append(s)
    return frees


def emit(g: StepGraph) -> StaticProgram:
    slot = _Slots(g)
    feed_slots = [slot(r) for r in g.feeds]
    raw = _raw_steps(g, slot)
    fetch_slots = [slot(r) for r in g.fetches]
    keep = set(fetch_slots) | {s for r, s in slot.of.items() if r in g.consts and r not in g.feeds}
    frees = _last_uses(raw, keep)
    device = {s: g.locations[r] for r, s in slot.of.items() if r in g.locations}
    steps, infos = [], []
    for i, (step, ins, outs) in enumerate(raw):
        freed = frees.get(i, ())
        steps.append((_callable(step), ins, outs, tuple(s for s in freed if s not in device), len(infos)))
        name = step.node.name if step.node is not None else step.name  # errors name the node in its body
        infos.append(StepInfo(name, step.op, step.where, step.backend or "numpy"))
        for s in freed:
            if s in device:
                b = registry.get(device[s])
                steps.append((b.free, (s,), (), (s,), len(infos)))
                infos.append(StepInfo(step.name, "free", step.where, b.name))
    prog = StaticProgram(slot.template, steps, infos, feed_slots, fetch_slots, g.where)
    prog.summary = list(g.summary)
    return prog
