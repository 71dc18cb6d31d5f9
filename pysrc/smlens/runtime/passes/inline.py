"""Inline function calls: the body of a PartitionedCall / StatefulPartitionedCall (or a library function
called as an op) replaces the call step, its steps renamed `<call>/<node>`. Recursive calls and bodies
with TF1 control flow stay calls; calls inside an inlined body are inlined too."""
from __future__ import annotations

from ..ir import StepGraph
from ..opregistry import FuncAttr

CALL_OPS = {"PartitionedCall", "StatefulPartitionedCall"}


def _callee(step) -> FuncAttr | None:
    f = step.attrs.get("f")
    if isinstance(f, FuncAttr) and (step.op in CALL_OPS or step.op == f.name):
        return f
    return None


def run(g: StepGraph, ctx) -> None:
    c = ctx.compiler
    taken = g.names() | {r[0] for r in g.consts} | {r[0] for r in g.feeds}
    out = []
    for step in g.steps:
        fattr = _callee(step)
        sub = c.lower_callee(fattr, step) if fattr is not None else None
        if sub is None or len(sub.feeds) != len(step.inputs) or not _resolves(call=step, sub=sub):
            out.append(step)   # not inlined: compiling the call itself reports what is wrong with the body
            continue
        out.extend(_splice(g, step, sub, taken))
    g.steps = out


def _resolves(call, sub: StepGraph) -> bool:
    """Whether every reference in the lowered body is one of its steps, feeds (within the call's inputs)
    or constants (a malformed function from a hostile file may name others)."""
    names = {s.name for s in sub.steps}

    def ok(r) -> bool:
        if r in sub.feeds:
            return 0 <= sub.feeds[r] < len(call.inputs)
        return r in sub.consts or r[0] in names

    return all(ok(r) for s in sub.steps for r in s.inputs) and all(ok(r) for r in sub.fetches)


def _splice(g: StepGraph, call, sub: StepGraph, taken: set) -> list:
    rename = {s.name: g.unique_name(f"{call.name}/{s.name}", taken) for s in sub.steps}
    const_refs: dict = {}

    def map_ref(r):
        if r in sub.feeds:
            return call.inputs[sub.feeds[r]]
        if r in sub.consts:
            if r not in const_refs:
                const_refs[r] = g.add_const(f"{call.name}/{r[0]}:{r[1]}", sub.consts[r], taken)
            return const_refs[r]
        return (rename[r[0]], r[1])

    for s in sub.steps:
        s.name = rename[s.name]
        s.inputs = [map_ref(r) for r in s.inputs]
    g.keep.update(rename[n] for n in sub.keep if n in rename)
    for k, r in enumerate(sub.fetches):
        g.replace_ref((call.name, k), map_ref(r))
    return sub.steps
