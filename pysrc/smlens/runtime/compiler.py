"""Compiling a graph body into a program: prune to what the fetches and targets need, then
lower -> passes -> emit (see ir.py, lower.py, passes/, emit.py).

Bodies without TF1 control flow become a StaticProgram (a straight list of steps); bodies with
Switch/Merge/Enter/Exit/NextIteration become a DataflowProgram (frames and dead tensors), built from the
same lowering (and constant folding) by dataflow_builder.py.
Ops without a kernel are collected into `missing` (op type, node, where) rather than raised here, so the
caller can report every one of them at once.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable

import numpy as np

from ..errors import FormatError, InputError
from . import backend_registry as registry
from .dataflow import KIND_OF
from .emit import emit
from .executor import StepInfo
from .graphs import Body, Node, function_body
from .ir import StepGraph
from .lower import lower_static
from .opregistry import FuncAttr, OpContext
from .options import DEFAULT, CompileOptions
from .passes import PassContext, run_passes
from .validate import check_input_types

Ref = tuple[str, int]

# Inlining bounds (a hostile library can nest calls deeply or call a function many times per level):
# beyond them, calls stay calls.
MAX_INLINE_DEPTH = 32
MAX_INLINED_STEPS = 200_000

# TF1 ref variables: ops producing refs, and the inputs that take a ref (all others get the value).
REF_PRODUCERS = {"VariableV2", "Variable", "TemporaryVariable", "Assign", "AssignAdd", "AssignSub",
                 "ScatterUpdate", "ScatterAdd", "ScatterSub", "ScatterMul", "ScatterDiv", "ScatterMin",
                 "ScatterMax", "ScatterNdUpdate", "ScatterNdAdd", "ScatterNdSub", "ScatterNdMax", "ScatterNdMin",
                 "StridedSliceAssign",
                 "RefIdentity", "RefSwitch",
                 "RefMerge", "RefEnter", "RefExit", "RefNextIteration"}
REF_INPUTS = {op: {0} for op in REF_PRODUCERS - {"VariableV2", "Variable", "TemporaryVariable", "RefMerge"}}
REF_INPUTS.update({"IsVariableInitialized": {0}, "CountUpTo": {0}, "DestroyTemporaryVariable": {0},
                   "RefMerge": set(range(64))})


def freeze(value: Any) -> Any:
    """A hashable form of decoded attrs (for function cache keys)."""
    if isinstance(value, dict):
        return tuple(sorted((k, freeze(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return tuple(freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        return (value.dtype.str, value.shape, value.tobytes() if value.dtype != object else repr(value.tolist()))
    if isinstance(value, FuncAttr):
        return ("func", value.name, freeze(value.attrs))
    return value


class Compiled:
    """Result of compiling one body: the program and the missing kernels found in it (and its callees)."""

    def __init__(self, program, missing: list[tuple[str, str, str]]):
        self.program = program
        self.missing = missing


class Compiler:
    def __init__(self, rt, body: Body, feeds: list[Ref], fetches: list[Ref], targets: list[str],
                 overrides: dict[Ref, np.ndarray] | None = None, require_feeds: bool = False,
                 options: CompileOptions | None = None, inline_stack: frozenset = frozenset(),
                 inline_budget: list | None = None):
        self.rt = rt
        self.options = options or getattr(rt, "options", None) or DEFAULT
        self.inline_stack = inline_stack
        self.inline_budget = inline_budget if inline_budget is not None else [MAX_INLINED_STEPS]
        self.body = body
        self.feeds = {r: i for i, r in enumerate(feeds)}
        self.fetches = fetches
        self.targets = targets
        self.overrides = {r: v for r, v in (overrides or {}).items() if r[0] in body.nodes}
        self.require_feeds = require_feeds
        self.missing: list[tuple[str, str, str]] = []
        self._refs: set[str] | None = None

    # ------------------------------------------------------------------ pruning
    def prune(self) -> list[str]:
        """Needed node names, in graph order."""
        cut = set(self.feeds) | set(self.overrides)
        stack = [r[0] for r in self.fetches if r not in cut] + list(self.targets)
        needed: set[str] = set()
        nodes = self.body.nodes
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            node = self.body.node(name, "a fetch, target or input")
            needed.add(name)
            for ref in node.inputs:
                if ref not in cut:
                    if ref[0] not in nodes:
                        self.body.node(ref[0], f"input of node {name!r}")
                    stack.append(ref[0])
            for c in node.controls:
                if c not in nodes:
                    self.body.node(c, f"control input of node {name!r}")
                stack.append(c)
        return [n for n in nodes if n in needed]

    def compile(self) -> Compiled:
        needed = self.prune()
        nodes = [self.body.nodes[n] for n in needed]
        check_input_types(self.body, nodes)  # type confusion: refused at plan time, as TF refuses it at import
        if any(n.op in KIND_OF for n in nodes):
            from .dataflow_builder import build_dataflow
            return Compiled(build_dataflow(self, nodes), self.missing)
        g = self.passes(lower_static(self, nodes))
        program = emit(g)
        if g.guards:
            program = GuardedProgram(program, g.guards, self)
        return Compiled(program, self.missing)

    def pass_context(self) -> PassContext:
        return PassContext(self, self.options.disabled(), registry.resolve(
            list(self.options.backends) if self.options.backends is not None else None))

    def passes(self, g: StepGraph, until: str | None = None) -> StepGraph:
        return run_passes(g, self.pass_context(), until)

    def lower_callee(self, fattr: FuncAttr, step) -> StepGraph | None:
        """A called function's body, lowered (and its own calls inlined), or None where it cannot be
        inlined (recursion, TF1 control flow, not in the library)."""
        fdef = self.rt.library.get(fattr.name)
        if fdef is None or fattr.name in self.inline_stack or len(self.inline_stack) >= MAX_INLINE_DEPTH or \
                self.inline_budget[0] <= 0:
            return None
        body = function_body(fdef, dict(fattr.attrs), self.rt.library)
        feeds = [(a, i) for a in body.args for i in range(body.nodes[a].num_ports)]
        sub = Compiler(self.rt, body, feeds, body.outputs, body.control_outputs, options=self.options,
                       inline_stack=self.inline_stack | {fattr.name}, inline_budget=self.inline_budget)
        nodes = [body.nodes[n] for n in sub.prune()]
        if any(n.op in KIND_OF for n in nodes):
            return None
        g = sub.passes(lower_static(sub, nodes), until="fold_constants")
        self.missing.extend(m for m in sub.missing if m not in self.missing)
        if len(g.steps) > self.inline_budget[0]:
            return None
        self.inline_budget[0] -= len(g.steps)
        return g

    # ------------------------------------------------------------------ preparing one node
    def info(self, node: Node) -> StepInfo:
        return StepInfo(node.name, node.op, self.body.where)

    def op_context(self, node: Node, bound: dict, attrs: dict, spec) -> OpContext:
        """A node's OpContext. Nodes of the MetaGraph's graph keep one context across all the plans that
        use them (TF1 sessions share a stateful kernel between runs with different fetches); function
        bodies are compiled once per runtime, so their contexts live as long as the model anyway."""
        shared = self.rt.graph_contexts if self.body is self.rt.graph else None
        if shared is not None and node.name in shared:
            return shared[node.name]
        ctx = OpContext(node.name, node.op, bound, self.rt, None)
        if "seed" in attrs or "seed2" in attrs or spec.category == "random":
            self.rt.register_random(ctx, attrs)
        if shared is not None:
            shared[node.name] = ctx
        return ctx

    def precompile(self, fattr: FuncAttr, node: Node):
        plan = self.rt.function(fattr, where=f"{self.body.where}: node {node.name!r} ({node.op})")
        if plan is not None:
            self.missing.extend(m for m in plan.missing if m not in self.missing)
        return plan

    def call(self, fattr: FuncAttr, node: Node) -> Callable:
        plan = self.precompile(fattr, node)
        if plan is not None:
            return plan.call_flat
        rt = self.rt
        return lambda *args: rt.function(fattr).call_flat(*args)

    def ref_sources(self) -> set[str]:
        """Nodes whose output is a TF1 reference: the REF_PRODUCERS, and Identity nodes fed by one. TF's
        Identity of a ref variable (`var/read`) returns a tensor sharing the variable's buffer, which later
        in-place updates change: it is passed on as the variable and read where a kernel consumes it (or
        when it is fetched), so `tf.identity(var)` after an AssignAdd sees the new value, as in TF."""
        if self._refs is None:
            nodes = self.body.nodes
            refs = {name for name, n in nodes.items() if n.op in REF_PRODUCERS}
            consumers: dict[str, list[str]] = {}
            for name, n in nodes.items():
                if n.op == "Identity" and n.inputs:
                    consumers.setdefault(n.inputs[0][0], []).append(name)
            stack = list(refs)
            while stack:
                for name in consumers.get(stack.pop(), ()):
                    if name not in refs:
                        refs.add(name)
                        stack.append(name)
            self._refs = refs
        return self._refs

    def deref_positions(self, node: Node) -> tuple[int, ...]:
        takes_ref = REF_INPUTS.get(node.op, ())
        refs = self.ref_sources()
        if node.op == "Identity" and node.name in refs:
            return ()
        return tuple(k for k, (src, _) in enumerate(node.inputs) if k not in takes_ref and src in refs)

    def const_value(self, node: Node) -> np.ndarray:
        v = node.attrs.get("value")
        if not isinstance(v, np.ndarray):
            raise FormatError(f"{self.body.where}: Const node {node.name!r} has no tensor value")
        v.flags.writeable = False
        return v

    def placeholder_check(self, node: Node) -> None:
        if node.op == "Placeholder" and self.require_feeds:
            raise InputError(f"the graph needs a value for placeholder {node.name!r}, which is not fed (not an "
                             "input of this signature)")

    def toposort(self, nodes: list[Node]) -> list[Node]:
        order = self.acyclic_prefix(nodes)
        if len(order) != len(nodes):
            done = {n.name for n in order}
            stuck = sorted(n.name for n in nodes if n.name not in done)[:5]
            raise FormatError(f"{self.body.where}: the graph has a cycle without loop control flow "
                              f"(involving {', '.join(stuck)})")
        return order

    def acyclic_prefix(self, nodes: list[Node]) -> list[Node]:
        """Nodes in topological order as far as it goes (loop bodies are left out)."""
        names = {n.name for n in nodes}
        cut = set(self.feeds) | set(self.overrides)
        indeg: dict[str, int] = {}
        succ: dict[str, list[str]] = {n.name: [] for n in nodes}
        for n in nodes:
            deps = {r[0] for r in n.inputs if r not in cut and r[0] in names}
            deps.update(c for c in n.controls if c in names)
            indeg[n.name] = len(deps)
            for d in deps:
                succ[d].append(n.name)
        q = deque(n.name for n in nodes if indeg[n.name] == 0)
        out = []
        while q:
            name = q.popleft()
            out.append(self.body.nodes[name])
            for s in succ[name]:
                indeg[s] -= 1
                if indeg[s] == 0:
                    q.append(s)
        return out


class GuardedProgram:
    """A program that folded variable reads: compiled again (without folding the variables that changed)
    when one of them was assigned since."""

    def __init__(self, program, guards: list, compiler: "Compiler"):
        self.program = program
        self.guards = guards
        self.compiler = compiler

    def run(self, feeds):
        for var, version in self.guards:
            if var.version != version:
                self._recompile()
                break
        return self.program.run(feeds)

    def _recompile(self) -> None:
        rt = self.compiler.rt
        changed = {v for v, ver in self.guards if v.version != ver}
        if not hasattr(rt, "unstable_variables"):
            rt.unstable_variables = set()
        rt.unstable_variables.update(changed)
        c = self.compiler
        fresh = Compiler(rt, c.body, list(c.feeds), c.fetches, c.targets, c.overrides, c.require_feeds, c.options,
                         c.inline_stack).compile().program
        self.program, self.guards = (fresh.program, fresh.guards) if isinstance(fresh, GuardedProgram) \
            else (fresh, [])

    def __getattr__(self, name):
        return getattr(self.program, name)

    def __len__(self) -> int:
        return len(self.program)
