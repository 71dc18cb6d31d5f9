"""Lowering: graph nodes -> steps (the first stage of lower -> passes -> emit).

Each node becomes a `Step` with its decoded attrs (declared defaults bound) and its kernel spec. Steps the
compiler must run on the host get a fixed callable here: function calls, kernels taking an OpContext,
steps reading TF1 ref variables, ops without a kernel (they raise when run). Pass-through ops (Identity
and friends) become aliases and Const nodes plan constants.
"""
from __future__ import annotations

from functools import partial
from typing import Any, Callable

import numpy as np

from ..errors import FormatError, UnsupportedError
from .graphs import ARG_OP, Node
from .ir import Step, StepGraph
from .opregistry import KERNELS, FuncAttr, bind_attrs, grouping, prepare

ALIAS_OPS = {"Identity", "IdentityN", "Snapshot", "StopGradient", "PreventGradient", "PlaceholderWithDefault"}
COMPILE_TIME_OPS = {"VarHandleOp", "VariableV2", "Variable", "HashTable", "HashTableV2", "MutableHashTable",
                    "MutableHashTableV2", "MutableHashTableOfTensors", "MutableHashTableOfTensorsV2",
                    "MutableDenseHashTable", "MutableDenseHashTableV2"}
NO_FOLD = {"Placeholder", "Print", "PrintV2", "Assert", "Timestamp"}
# stateful by declaration, but without an effect when their output is not read
PURE_READS = {"ReadVariableOp", "VarHandleOp", "Placeholder"}


def _identity(x):
    return x


def _identity_n(*xs):
    return list(xs)


def _no_outputs(*_):
    return ()


def _missing(op: str, *_args, **_kw):
    raise UnsupportedError(f"no kernel for op {op}")


def _dereferencing(fn: Callable, positions: tuple) -> Callable:
    def call(*args):
        args = list(args)
        for i in positions:
            args[i] = args[i].read()
        return fn(*args)
    return call


def lower_node(c, node: Node, ins: list, derefs: tuple = ()) -> Step:
    """One node as a step (`c` is the Compiler: body, runtime, missing kernels)."""
    op = node.op
    step = Step(node.name, op, {}, list(ins), c.body.where, node=node)
    if op in ("NoOp", "ControlTrigger"):
        step.fn, step.effects = _no_outputs, True
    elif op == "Identity":
        step.fn, step.foldable = _identity, True
    elif op == "IdentityN":
        step.fn, step.foldable = _identity_n, True
    elif op in c.body.library:
        step.attrs = {"f": FuncAttr(op, dict(node.attrs))}
        step.fn, step.effects = c.call(step.attrs["f"], node), True
    else:
        _lower_kernel(c, node, step)
    if derefs:
        step.fn = _dereferencing(host_fn(step), derefs)
        step.foldable = False
    return step


def _lower_kernel(c, node: Node, step: Step) -> None:
    op = node.op
    spec = KERNELS.get(op)
    if spec is None:
        c.missing.append((op, node.name, c.body.where))
        step.fn, step.effects = partial(_missing, op), True
        return
    try:
        bound = bind_attrs(spec, node.attrs)
    except KeyError as e:
        raise FormatError(f"{c.body.where}: node {node.name!r} ({op}) lacks required attr {e.args[0]!r}") from None
    for v in bound.values():
        for f in (v if isinstance(v, list) else [v]):
            if isinstance(f, FuncAttr):
                c.precompile(f, node)
    step.attrs, step.spec = bound, spec
    step.effects = spec.stateful and op not in PURE_READS or op in NO_FOLD
    step.foldable = (not spec.stateful and not spec.needs_ctx and op not in NO_FOLD) or op in COMPILE_TIME_OPS
    if spec.needs_ctx:
        step.fn = _checked(lambda: prepare(spec, bound, len(step.inputs), c.op_context(node, bound, node.attrs,
                                                                                         spec)), node)
    elif any(i.startswith("*") for i in spec.inputs):
        _checked(lambda: grouping(spec.fn, spec, len(step.inputs), {**node.attrs, **bound}), node)


def _checked(make: Callable, node: Node) -> Any:
    try:
        return make()
    except (TypeError, ValueError) as e:
        raise FormatError(f"{node.body.where}: node {node.name!r} ({node.op}): cannot group its inputs: {e}") \
            from None


def host_fn(step: Step) -> Callable:
    """The step's NumPy callable: its fixed one, or the reference kernel with its attrs bound."""
    if step.fn is not None:
        return step.fn
    return prepare(step.spec, step.attrs, len(step.inputs))


def lower_static(c, nodes: list) -> StepGraph:
    """Nodes without TF1 control flow -> a StepGraph (aliases resolved, Const nodes as constants)."""
    alias: dict = {}
    g = StepGraph([], dict(c.overrides), dict(c.feeds), [], c.body.where, keep=set(c.targets))

    def res(ref):
        while ref in alias:
            ref = alias[ref]
        return ref

    for node in c.toposort(nodes):
        if node.op == ARG_OP:
            continue
        c.placeholder_check(node)
        if node.op == "Const":
            g.consts[(node.name, 0)] = c.const_value(node)
            continue
        ins = [r if r in g.feeds or r in g.consts else res(r) for r in node.inputs]
        derefs = c.deref_positions(node)
        if _is_alias(node, derefs, g.feeds):
            for port, r in enumerate(ins if node.op == "IdentityN" else ins[:1]):
                if r in g.consts:
                    g.consts[(node.name, port)] = g.consts[r]
                else:
                    alias[(node.name, port)] = r
            continue
        step = lower_node(c, node, ins, derefs)
        if node.op not in ("NoOp", "ControlTrigger"):
            g.steps.append(step)
    g.fetches = [r if r in g.feeds or r in g.consts else res(r) for r in c.fetches]
    _check_fetches(g, c.body)
    g.feed_info = {r: _feed_info(c.body.nodes.get(r[0])) for r in g.feeds}
    return g


def _feed_info(node) -> tuple:
    if node is None or node.proto is None or node.op not in ("Placeholder", "PlaceholderWithDefault"):
        return None, None
    t = node.attrs.get("dtype")
    shape = node.attrs.get("shape")
    return (np.dtype(t.np) if getattr(t, "np", None) is not None else None,
            tuple(shape) if isinstance(shape, (tuple, list)) else None)


def _is_alias(node: Node, derefs: tuple, feeds: dict) -> bool:
    return node.op in ALIAS_OPS and not derefs and \
        (node.op != "PlaceholderWithDefault" or (node.name, 0) not in feeds)


def _check_fetches(g: StepGraph, body) -> None:
    names = g.names()
    for r in g.fetches:
        if r not in g.feeds and r not in g.consts and r[0] not in names:
            raise FormatError(f"{body.where}: cannot fetch {r[0]}:{r[1]} ({body.nodes[r[0]].op} has no such "
                              "output)")
