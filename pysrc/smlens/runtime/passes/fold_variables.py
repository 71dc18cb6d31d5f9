"""Fold read-only variables: a ReadVariableOp of a variable that nothing reachable from this plan writes
becomes a plan constant (its current value).

What this plan can write is found from its steps and every library function they can call. A writer
whose variable is not a plan constant handle makes every variable "possibly written": nothing is folded.
Writes from elsewhere (another signature, the init op) are caught at run time: each folded read records
the variable's version in `g.guards`, and a plan whose guard fails is compiled again without folding it.
"""
from __future__ import annotations

import numpy as np

from ..ir import StepGraph
from ..opregistry import FuncAttr
from ..resources import Variable

WRITERS = {"AssignVariableOp", "AssignAddVariableOp", "AssignSubVariableOp", "ResourceStridedSliceAssign",
           "DestroyResourceOp", "RngSkip", "RngReadAndSkip"}
WRITER_PREFIXES = ("ResourceApply", "ResourceSparseApply", "ResourceScatter", "StatefulUniform",
                   "StatefulStandardNormal", "StatefulTruncatedNormal", "StatefulRandom")


def is_writer(op: str) -> bool:
    return op in WRITERS or op.startswith(WRITER_PREFIXES)


def _func_names(value) -> list:
    out = []
    for v in (value if isinstance(value, list) else [value]):
        if isinstance(v, FuncAttr):
            out.append(v.name)
    return out


def _proto_funcs(attr_map) -> list:
    out = []
    for a in attr_map.values():
        if a.WhichOneof("value") == "func":
            out.append(a.func.name)
        elif a.WhichOneof("value") == "list":
            out.extend(f.name for f in a.list.func)
    return out


def library_writes(library: dict, roots: list) -> bool:
    """Whether any function reachable from `roots` (names) contains a variable-writing op."""
    seen, stack = set(), list(roots)
    while stack:
        name = stack.pop()
        if name in seen or name not in library:
            continue
        seen.add(name)
        for nd in library[name].node_def:
            if is_writer(nd.op):
                return True
            stack.extend(_proto_funcs(nd.attr))
            if nd.op in library:
                stack.append(nd.op)
    return False


def _variable(g: StepGraph, ref) -> Variable | None:
    h = g.const(ref)
    obj = h[()] if isinstance(h, np.ndarray) and h.dtype == object and h.ndim == 0 else None
    return obj if isinstance(obj, Variable) else None


def written(g: StepGraph, library: dict) -> set | None:
    """Variables this plan may write; None when unknown (a writer through a non-constant handle)."""
    out, roots = set(), []
    for s in g.steps:
        for v in s.attrs.values():
            roots.extend(_func_names(v))
        if is_writer(s.op):
            var = _variable(g, s.inputs[0]) if s.inputs else None
            if var is None:
                return None
            out.add(var)
    return None if library_writes(library, roots) else out


def _foldable(g: StepGraph, s, skip: set, unstable: set) -> Variable | None:
    """The variable a step reads, when the read may become a plan constant."""
    var = _variable(g, s.inputs[0]) if s.op == "ReadVariableOp" and s.fn is None and s.inputs else None
    if var is None or var in skip or var in unstable or not var.initialized:
        return None
    return var


def _prefetch(rt, keys: list) -> None:
    """Announce every checkpoint tensor the plan folds before reading them one by one (a hosted model
    fetches them in a few coalesced range requests, and only these)."""
    prefetch = getattr(getattr(rt, "model", None), "prefetch_variables", None)
    if keys and prefetch is not None:
        prefetch(keys)


def run(g: StepGraph, ctx) -> None:
    rt = ctx.compiler.rt
    skip = written(g, rt.library)
    if skip is None:
        return
    unstable = getattr(rt, "unstable_variables", set())
    folds = [_foldable(g, s, skip, unstable) for s in g.steps]
    _prefetch(rt, [v.key for v in folds if v is not None and v.key is not None and not v.loaded])
    kept = []
    for s, var in zip(g.steps, folds):
        if var is None:
            kept.append(s)
            continue
        try:
            value = var.read()
        except Exception:  # noqa: BLE001 - left to the read at run time (and its message)
            kept.append(s)
            continue
        g.consts[(s.name, 0)] = value
        g.guards.append((var, var.version))
    g.steps = kept
