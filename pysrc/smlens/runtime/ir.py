"""The step IR: what `lower` produces from graph nodes, graph passes rewrite, and `emit` turns into a program.

A `Step` is one operation: op type, decoded node attrs, input refs (producer name, output port), the
backend chosen for it and its prepared kernel. Values are named by refs; a `StepGraph` holds the steps in
a valid execution order, the plan constants by ref, the fed refs and the fetched refs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

Ref = tuple  # (producer name, output port)

# Step kinds: a kernel call, or an explicit transfer between a host and a device backend.
OP, UPLOAD, DOWNLOAD = "op", "upload", "download"


@dataclass(eq=False)
class Step:
    name: str
    op: str
    attrs: dict
    inputs: list
    where: str
    kind: str = OP
    fn: Callable | None = None       # a host callable fixed at lowering (calls, OpContext, refs); else None
    spec: Any = None                 # the kernel registry's OpSpec, when the op has one
    foldable: bool = False
    effects: bool = False            # must run even when no output is read (stateful, calls, asserts)
    backend: str = ""
    kernel: Any = None               # PreparedKernel from the backend (placement)
    origin: str = ""                 # for fused/folded steps: what they replaced (profile, messages)
    node: Any = None                 # the graph Node it was lowered from (None for steps passes made)

    def out(self, port: int = 0) -> Ref:
        return (self.name, port)


@dataclass(eq=False)
class StepGraph:
    steps: list
    consts: dict                    # ref -> value (np.ndarray, or a backend's tensor after placement)
    feeds: dict                     # ref -> feed position
    fetches: list                   # refs (resolved through aliases)
    where: str
    keep: set = field(default_factory=set)        # step names that must run (targets)
    guards: list = field(default_factory=list)    # (Variable, version) a folded read depends on
    locations: dict = field(default_factory=dict)  # ref -> backend name holding it (placement)
    summary: list = field(default_factory=list)   # (pass name, steps before, steps after)
    feed_info: dict = field(default_factory=dict)  # fed ref -> (np.dtype or None, shape or None)

    def names(self) -> set:
        return {s.name for s in self.steps}

    def consumers(self) -> dict:
        """ref -> list of (step, input position); fetched refs also get (None, index)."""
        users: dict = {}
        for s in self.steps:
            for k, r in enumerate(s.inputs):
                users.setdefault(r, []).append((s, k))
        for k, r in enumerate(self.fetches):
            users.setdefault(r, []).append((None, k))
        return users

    def used_ports(self) -> dict:
        """step name -> the output ports some step or fetch reads."""
        used: dict = {}
        for r in [r for s in self.steps for r in s.inputs] + list(self.fetches):
            used.setdefault(r[0], set()).add(r[1])
        return used

    def replace_ref(self, old: Ref, new: Ref) -> None:
        """Every reader of `old` reads `new` instead."""
        for s in self.steps:
            if old in s.inputs:
                s.inputs = [new if r == old else r for r in s.inputs]
        self.fetches = [new if r == old else r for r in self.fetches]

    def unique_name(self, base: str, taken: set) -> str:
        name, k = base, 1
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        taken.add(name)
        return name

    def const(self, ref: Ref) -> Any:
        """The constant value of a ref, or None (a fed ref is never constant)."""
        if ref in self.feeds:
            return None
        return self.consts.get(ref)

    def add_const(self, base: str, value: np.ndarray, taken: set) -> Ref:
        if isinstance(value, np.ndarray) and value.dtype != object:
            value.flags.writeable = False
        ref = (self.unique_name(base, taken), 0)
        self.consts[ref] = value
        return ref
