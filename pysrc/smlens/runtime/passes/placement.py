"""Placement: each step gets the first backend (in order of preference) that offers a kernel for it;
steps with a fixed host callable (calls, OpContext kernels, TF1 refs) run on NumPy.

Where a value's backend changes between a host backend (numpy, wasm: numpy arrays) and a device backend
(DeviceTensors), an explicit UPLOAD or DOWNLOAD step is inserted (once per value and backend); constants a
device step reads are uploaded here, once. Fetched values are downloaded. `g.locations` records the device
values (ref -> backend name), which `emit` frees at their last use.
"""
from __future__ import annotations

import numpy as np

from ...backends.base import StepSpec
from .. import backend_registry
from ..ir import DOWNLOAD, UPLOAD, Step, StepGraph
from ..lower import host_fn

DTYPE_ATTRS = ("T", "dtype", "DstT", "out_type", "Tout")


def out_dtype(step: Step | None):
    if step is None:
        return None
    for a in DTYPE_ATTRS:
        t = step.attrs.get(a)
        if getattr(t, "np", None) is not None:
            return np.dtype(t.np)
    return None


def out_shape(step: Step | None, port: int):
    node = getattr(step, "node", None)
    shapes = node.attrs.get("_output_shapes") if node is not None and node.proto is not None else None
    return shapes[port] if isinstance(shapes, list) and port < len(shapes) else None


def step_spec(g: StepGraph, step: Step, producers: dict) -> StepSpec:
    dts, shapes, consts = [], [], {}
    for k, r in enumerate(step.inputs):
        c = g.const(r)
        if isinstance(c, np.ndarray):
            dts.append(c.dtype)
            shapes.append(c.shape)
            consts[k] = c
        elif r in g.feeds:
            dt, shape = g.feed_info.get(r, (None, None))
            dts.append(dt)
            shapes.append(shape)
        else:
            p = producers.get(r[0])
            dts.append(out_dtype(p))
            shapes.append(out_shape(p, r[1]))
    return StepSpec(step.op, step.attrs, tuple(dts), tuple(shapes), consts, step.name)


def choose(g: StepGraph, step: Step, backends: list, producers: dict):
    if step.fn is not None or step.spec is None:
        step.backend, step.kernel = backend_registry.FALLBACK, None
        return backend_registry.fallback()
    spec = step_spec(g, step, producers)
    for b in backends:
        try:
            k = b.kernel(spec)
        except Exception:  # noqa: BLE001 - a backend that fails to prepare a kernel declines it
            k = None
        if k is not None:
            step.backend, step.kernel = b.name, k
            return b
    raise AssertionError("unreachable: the numpy backend prepares every kernel")


class _Placer:
    def __init__(self, g: StepGraph, backends: list):
        self.g = g
        self.by_name = {b.name: b for b in backends}
        self.taken = g.names() | {r[0] for r in g.consts} | {r[0] for r in g.feeds}
        self.copies: dict = {}
        self.out: list = []

    def where(self, ref):
        return self.g.locations.get(ref)

    def transfer(self, ref, kind: str, backend):
        key = (ref, kind, backend.name)
        if key not in self.copies:
            name = self.g.unique_name(f"{ref[0]}:{ref[1]}@{kind}:{backend.name}", self.taken)
            s = Step(name, kind, {}, [ref], self.g.where, kind=kind, backend=backend.name, origin=ref[0])
            self.out.append(s)
            if kind == UPLOAD:
                self.g.locations[s.out()] = backend.name
            self.copies[key] = s.out()
        return self.copies[key]

    def locate(self, ref, b):
        """`ref` as backend `b` reads it (inserting transfers as needed)."""
        src = self.where(ref)
        if b.host:
            return ref if src is None else self.transfer(ref, DOWNLOAD, self.by_name[src])
        if src == b.name:
            return ref
        if src is not None:
            ref = self.transfer(ref, DOWNLOAD, self.by_name[src])
        c = self.g.const(ref)
        if isinstance(c, np.ndarray):
            return self._const_on(ref, c, b)
        return self.transfer(ref, UPLOAD, b)

    def _const_on(self, ref, value, b):
        key = (ref, "const", b.name)
        if key not in self.copies:
            new = self.g.add_const(f"{ref[0]}:{ref[1]}@{b.name}", b.upload(value), self.taken)
            self.g.locations[new] = b.name
            self.copies[key] = new
        return self.copies[key]


def run(g: StepGraph, ctx) -> None:
    backends = ctx.backends or [backend_registry.fallback()]
    p = _Placer(g, backends)
    for b in backends:
        p.by_name[b.name] = b
    producers = {s.name: s for s in g.steps}
    for step in g.steps:
        b = choose(g, step, backends, producers)
        captured = step.kernel.captured if step.kernel is not None else frozenset()
        step.inputs = [r if k in captured else p.locate(r, b) for k, r in enumerate(step.inputs)]
        p.out.append(step)
        if not b.host:
            for port in range(_max_port(g, step.name) + 1):
                g.locations[(step.name, port)] = b.name
    g.fetches = [p.locate(r, backend_registry.fallback()) for r in g.fetches]
    g.steps = p.out
    for s in g.steps:
        if s.kind == "op" and s.kernel is None and s.fn is None:
            s.fn = host_fn(s)


def _max_port(g: StepGraph, name: str) -> int:
    ports = [r[1] for s in g.steps for r in s.inputs if r[0] == name] + [r[1] for r in g.fetches if r[0] == name]
    return max(ports, default=0)
