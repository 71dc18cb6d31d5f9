"""Compiling a graph body into a program: prune to what the fetches and targets need, fold constants,
order topologically, prepare each node's kernel call (attrs and OpContext bound, list inputs grouped, TF1
ref inputs dereferenced) and plan when each intermediate is freed.

Bodies without TF1 control flow become a StaticProgram (a straight list of steps); bodies with
Switch/Merge/Enter/Exit/NextIteration become a DataflowProgram (frames and dead tensors).
Ops without a kernel are collected into `missing` (op type, node, where) rather than raised here, so the
caller can report every one of them at once.
"""
from __future__ import annotations

from collections import deque
from functools import partial
from typing import Any, Callable

import numpy as np

from ..errors import FormatError, InputError
from ..kernels import KERNELS
from ..kernels.registry import FuncAttr, OpContext, bind_attrs
from .dataflow import KIND_OF, NORMAL, DataflowProgram, DNode
from .executor import StaticProgram, StepInfo
from .graphs import ARG_OP, Body, Node
from .validate import check_input_types

Ref = tuple[str, int]

# Ops the compiler handles itself (no kernel needed).
BUILTIN = {"Const", ARG_OP, "NoOp", "Identity", "IdentityN", "ControlTrigger"}
# Pure pass-through ops: in straight-line programs consumers read the input's slot directly.
ALIAS_OPS = {"Identity", "IdentityN", "Snapshot", "StopGradient", "PreventGradient", "PlaceholderWithDefault"}
# Resource-creating ops evaluated once at compile time (the handle is fixed for a loaded model).
COMPILE_TIME_OPS = {"VarHandleOp", "VariableV2", "Variable", "HashTable", "HashTableV2", "MutableHashTable",
                    "MutableHashTableV2", "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2",
                    "MutableDenseHashTable", "MutableDenseHashTableV2"}
NO_FOLD = {"Placeholder", "Print", "PrintV2", "Assert", "Timestamp"}
# Grappler's constant folding rewrites a floating-point division by a constant, Div(x, c), into
# Mul(x, Reciprocal(c)) (Xdivy into MulNoNan(Reciprocal(c), x)), and TF runs the rewritten graph: 1/c is
# rounded to the dtype first, which changes results by an ulp (float32) or more (float16/bfloat16).
DIV_BY_CONSTANT = {"Div", "RealDiv", "Xdivy"}
MAX_FOLDED_BYTES = 32 << 20

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


def _identity(x):
    return x


def _identity_n(*xs):
    return list(xs)


def _no_outputs(*_):
    return ()


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
                 overrides: dict[Ref, np.ndarray] | None = None, require_feeds: bool = False):
        self.rt = rt
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
            program = self._dataflow(nodes)
        else:
            program = self._static(nodes)
        return Compiled(program, self.missing)

    # ------------------------------------------------------------------ preparing one node
    def info(self, node: Node) -> StepInfo:
        return StepInfo(node.name, node.op, self.body.where)

    def prepare(self, node: Node) -> tuple[Callable, bool]:
        """(callable taking the flat input values, whether it may be folded when its inputs are constant)."""
        op = node.op
        if op in ("NoOp", "ControlTrigger"):
            return _no_outputs, False
        if op == "Identity":
            return _identity, True
        if op == "IdentityN":
            return _identity_n, True
        if op in self.body.library:
            return self._call(FuncAttr(op, dict(node.attrs)), node), False
        spec = KERNELS.get(op)
        if spec is None:
            self.missing.append((op, node.name, self.body.where))
            return partial(_missing, op), False
        attrs = node.attrs
        try:
            bound = bind_attrs(spec, attrs)
        except KeyError as e:
            raise FormatError(f"{self.body.where}: node {node.name!r} ({op}) lacks required attr {e.args[0]!r}") \
                from None
        for v in bound.values():
            for f in (v if isinstance(v, list) else [v]):
                if isinstance(f, FuncAttr):
                    self.precompile(f, node)
        if spec.needs_ctx:
            ctx = self.op_context(node, bound, attrs, spec)
            fn = partial(spec.fn, ctx, **bound) if bound else partial(spec.fn, ctx)
        else:
            fn = partial(spec.fn, **bound) if bound else spec.fn
        if any(i.startswith("*") for i in spec.inputs):
            fn = _grouping(fn, spec, node, {**attrs, **bound})
        foldable = (not spec.stateful and not spec.needs_ctx and op not in NO_FOLD) or op in COMPILE_TIME_OPS
        return fn, foldable

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

    def _call(self, fattr: FuncAttr, node: Node) -> Callable:
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

    def fold(self, fn: Callable, args: list, node: Node) -> tuple | None:
        """Evaluate a node at compile time; None if it fails or its result is too large to keep."""
        try:
            r = fn(*args)
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

    def reciprocal_mul(self, node: Node, ins: list[Ref], consts: dict) -> Callable | None:
        """Div/RealDiv/Xdivy of a non-constant by a constant as grappler rewrites it (see DIV_BY_CONSTANT)."""
        if len(ins) != 2 or ins[1] not in consts or ins[1] in self.feeds or ins[0] in consts:
            return None
        T = node.attrs.get("T")
        c = consts[ins[1]]
        if T is None or getattr(T, "np", None) is None or np.dtype(T.np).kind not in "fc" or \
                not isinstance(c, np.ndarray) or c.dtype.kind not in "fc":
            return None
        try:
            recip = KERNELS["Reciprocal"].fn(c, T=T)
        except Exception:  # noqa: BLE001 - left to the division kernel (and its message) at run time
            return None
        recip.flags.writeable = False
        if node.op == "Xdivy":
            mul_no_nan = KERNELS["MulNoNan"].fn
            return lambda x, _c: mul_no_nan(recip, x, T=T)
        mul = KERNELS["Mul"].fn
        return lambda x, _c: mul(x, recip, T=T)

    def _placeholder_check(self, node: Node) -> None:
        if node.op == "Placeholder" and self.require_feeds:
            raise InputError(f"the graph needs a value for placeholder {node.name!r}, which is not fed (not an "
                             "input of this signature)")

    # ------------------------------------------------------------------ straight-line programs
    def _static(self, nodes: list[Node]) -> StaticProgram:
        body = self.body
        order = self._toposort(nodes)
        alias: dict[Ref, Ref] = {}
        consts: dict[Ref, Any] = dict(self.overrides)
        feeds = self.feeds

        def res(ref: Ref) -> Ref:
            while ref in alias:
                ref = alias[ref]
            return ref

        used: dict[str, set[int]] = {}
        for n in nodes:
            for src, port in n.inputs:
                used.setdefault(src, set()).add(port)
        for src, port in self.fetches:
            used.setdefault(src, set()).add(port)

        pending_steps: list[tuple[Node, Callable, list[Ref]]] = []
        for node in order:
            op = node.op
            if op == ARG_OP:
                continue
            self._placeholder_check(node)
            if op == "Const":
                consts[(node.name, 0)] = self.const_value(node)
                continue
            ins = [r if r in feeds or r in consts else res(r) for r in node.inputs]
            derefs = self.deref_positions(node)
            if op in ALIAS_OPS and not derefs and (op != "PlaceholderWithDefault" or (node.name, 0) not in feeds):
                if op != "IdentityN":
                    ins = ins[:1]
                for port, r in enumerate(ins):
                    if r in consts:
                        consts[(node.name, port)] = consts[r]
                    else:
                        alias[(node.name, port)] = r
                continue
            fn, foldable = self.prepare(node)
            if derefs:
                fn = _dereferencing(fn, derefs)
            if op in ("NoOp", "ControlTrigger"):
                continue
            if op in DIV_BY_CONSTANT and not derefs:
                fn = self.reciprocal_mul(node, ins, consts) or fn
            if foldable and not derefs and all(r in consts for r in ins) and all(r not in feeds for r in ins):
                r = self.fold(fn, [consts[x] for x in ins], node)
                if r is not None:
                    for port in used.get(node.name, ()):
                        if port < len(r):
                            consts[(node.name, port)] = r[port]
                    if all(p < len(r) for p in used.get(node.name, ())):
                        continue
            pending_steps.append((node, fn, ins))

        # slots
        slot_of: dict[Ref, int] = {}
        template: list = []

        def slot(ref: Ref) -> int:
            s = slot_of.get(ref)
            if s is None:
                s = slot_of[ref] = len(template)
                template.append(consts.get(ref) if ref in consts and ref not in feeds else None)
            return s

        feed_slots = [slot(r) for r in feeds]
        fetch_refs = [r if r in feeds or r in consts else res(r) for r in self.fetches]
        step_names = {n.name for n, _, _ in pending_steps}
        for r in fetch_refs:
            if r not in feeds and r not in consts and r[0] not in step_names:
                raise FormatError(f"{body.where}: cannot fetch {r[0]}:{r[1]} ({body.nodes[r[0]].op} has no such "
                                  "output)")
        infos: list[StepInfo] = []
        raw_steps = []
        for node, fn, ins in pending_steps:
            in_slots = tuple(slot(r) for r in ins)
            ports = sorted(used.get(node.name, ()))
            outs: Any
            if ports == [0]:
                outs = slot((node.name, 0))
            else:
                outs = tuple((p, slot((node.name, p))) for p in ports)
            raw_steps.append([fn, in_slots, outs, (), len(infos)])
            infos.append(self.info(node))
        fetch_slots = [slot(r) for r in fetch_refs]

        # free each non-constant slot after its last reader
        keep = set(fetch_slots) | {s for r, s in slot_of.items() if r in consts and r not in feeds}
        last: dict[int, int] = {}
        for i, st in enumerate(raw_steps):
            for s in st[1]:
                last[s] = i
        frees: dict[int, list[int]] = {}
        for s, i in last.items():
            if s not in keep:
                frees.setdefault(i, []).append(s)
        # outputs nobody reads are dropped right away
        for i, st in enumerate(raw_steps):
            outs = st[2]
            for s in ([outs] if isinstance(outs, int) else [s for _, s in outs]):
                if s not in last and s not in keep:
                    frees.setdefault(i, []).append(s)
        steps = [(fn, ins, outs, tuple(frees.get(i, ())), k) for i, (fn, ins, outs, _, k) in enumerate(raw_steps)]
        return StaticProgram(template, steps, infos, feed_slots, fetch_slots, body.where)

    def _toposort(self, nodes: list[Node]) -> list[Node]:
        order = self._acyclic_prefix(nodes)
        if len(order) != len(nodes):
            done = {n.name for n in order}
            stuck = sorted(n.name for n in nodes if n.name not in done)[:5]
            raise FormatError(f"{self.body.where}: the graph has a cycle without loop control flow "
                              f"(involving {', '.join(stuck)})")
        return order

    # ------------------------------------------------------------------ dataflow programs
    def _dataflow(self, nodes: list[Node]) -> DataflowProgram:
        feeds = self.feeds
        consts: dict[Ref, Any] = dict(self.overrides)
        folded: set[str] = set()
        prepared: dict[str, tuple[Callable, bool]] = {}
        for node in nodes:
            if node.op != ARG_OP and node.op != "Const":
                self._placeholder_check(node)
                prepared[node.name] = self.prepare(node) if node.op not in KIND_OF and node.op != "LoopCond" \
                    else (_identity, False)
        # fold what does not depend on feeds or on anything inside control flow
        for node in self._acyclic_prefix(nodes):
            if node.op == "Const" and not node.controls:
                consts[(node.name, 0)] = self.const_value(node)
                folded.add(node.name)
                continue
            if node.op in (ARG_OP, "Const") or node.op in KIND_OF:
                continue
            fn, foldable = prepared[node.name]
            if not foldable or self.deref_positions(node) or not all(c in folded for c in node.controls):
                continue
            if not all(r in consts and r not in feeds for r in node.inputs):
                continue
            r = self.fold(fn, [consts[x] for x in node.inputs], node)
            if r is None:
                continue
            for port, v in enumerate(r):
                consts[(node.name, port)] = v
            folded.add(node.name)

        live = [n for n in nodes if n.name not in folded and n.op != ARG_OP]
        index = {n.name: i for i, n in enumerate(live)}
        dnodes: list[DNode] = []
        initial: list[tuple] = []
        for i, node in enumerate(live):
            if node.op == "Const":
                value = self.const_value(node)
                fn: Callable = partial(_identity, value)
            else:
                fn = prepared[node.name][0]
                if node.op in DIV_BY_CONSTANT and not self.deref_positions(node):
                    fn = self.reciprocal_mul(node, node.inputs, consts) or fn
            ctrl = [c for c in node.controls if c in index]
            d = DNode(fn, KIND_OF.get(node.op, NORMAL), len(node.inputs), len(ctrl), self.info(node))
            d.deref = self.deref_positions(node)
            if node.op in ("Enter", "RefEnter"):
                d.frame_name = node.attrs.get("frame_name", "")
                d.const_enter = bool(node.attrs.get("is_constant", False))
            dnodes.append(d)
        for i, node in enumerate(live):
            d = dnodes[i]
            back = set()
            for k, ref in enumerate(node.inputs):
                if ref in feeds:
                    initial.append((i, k, None, feeds[ref]))
                elif ref in consts:
                    initial.append((i, k, consts[ref], None))
                else:
                    src = index[ref[0]]
                    dnodes[src].add_edge(ref[1], i, k)
                    if live[src].op in ("NextIteration", "RefNextIteration"):
                        back.add(k)
            d.back_slots = frozenset(back)
            for c in node.controls:
                if c in index:
                    dnodes[index[c]].ctrl_out.append(i)
        fetches: list[tuple] = []
        for ref in self.fetches:
            if ref in feeds:
                fetches.append(("feed", feeds[ref]))
            elif ref in consts:
                fetches.append(("value", consts[ref]))
            else:
                fetches.append(("node", index[ref[0]], ref[1]))
        prog = DataflowProgram(dnodes, initial, fetches, self.body.where)
        for idx, lst in prog.fetch_map.items():  # send() iterates over out_edges: fetched ports must exist
            d = dnodes[idx]
            for port, _ in lst:
                while len(d.out_edges) <= port:
                    d.out_edges.append([])
        return prog

    def _acyclic_prefix(self, nodes: list[Node]) -> list[Node]:
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


def _missing(op: str, *_args, **_kw):
    from ..errors import UnsupportedError
    raise UnsupportedError(f"no kernel for op {op}")


def _dereferencing(fn: Callable, positions: tuple[int, ...]) -> Callable:
    def call(*args):
        args = list(args)
        for i in positions:
            args[i] = args[i].read()
        return fn(*args)
    return call


def _grouping(fn: Callable, spec, node: Node, attrs: dict) -> Callable:
    """Wrap a kernel with list inputs so it can be called with the flat input values."""
    n = len(node.inputs)
    try:
        pattern = spec.split_inputs(list(range(n)), attrs)
    except (TypeError, ValueError) as e:
        raise FormatError(f"{node.body.where}: node {node.name!r} ({node.op}): cannot group its inputs: {e}") \
            from None
    used = [i for p in pattern if p is not None for i in (p if isinstance(p, list) else [p])]
    if used != list(range(n)) and len(used) > n:
        raise FormatError(f"{node.body.where}: node {node.name!r} ({node.op}) has {n} inputs, its attrs say "
                          f"{len(used)}")
    plan = tuple(p if isinstance(p, list) else p for p in pattern)

    def call(*args):
        return fn(*[[args[j] for j in p] if p.__class__ is list else (None if p is None else args[p])
                    for p in plan])
    return call
