"""Building a DataflowProgram (TF1 control flow) from the shared lowering: each node lowered to a step,
constants folded where they depend on neither feeds nor anything inside control flow, the division
rewrite applied, then nodes and edges laid out for the dataflow scheduler. Steps run on NumPy."""
from __future__ import annotations

from functools import partial

from .dataflow import KIND_OF, NORMAL, DataflowProgram, DNode
from .graphs import ARG_OP
from .ir import Step
from .lower import _identity, host_fn, lower_node
from .passes.div_by_constant import DIV_BY_CONSTANT, _reciprocal
from .passes.fold_constants import evaluate


def _lowered(c, nodes: list) -> dict:
    steps = {}
    for node in nodes:
        if node.op == ARG_OP or node.op == "Const":
            continue
        c.placeholder_check(node)
        if node.op in KIND_OF or node.op == "LoopCond":
            steps[node.name] = Step(node.name, node.op, {}, list(node.inputs), c.body.where, fn=_identity, node=node)
        else:
            steps[node.name] = lower_node(c, node, node.inputs)  # the scheduler dereferences (DNode.deref)
    return steps


def _fold(c, nodes: list, steps: dict, consts: dict) -> set:
    """Fold what does not depend on feeds or on anything inside control flow; the folded node names."""
    folded: set = set()
    for node in c.acyclic_prefix(nodes):
        if node.op == "Const" and not node.controls:
            consts[(node.name, 0)] = c.const_value(node)
            folded.add(node.name)
            continue
        if node.op in (ARG_OP, "Const") or node.op in KIND_OF or "fold_constants" in c.options.disabled():
            continue
        step = steps[node.name]
        if not step.foldable or c.deref_positions(node) or not all(x in folded for x in node.controls):
            continue
        if not all(r in consts and r not in c.feeds for r in node.inputs):
            continue
        r = evaluate(step, [consts[x] for x in node.inputs])
        if r is None:
            continue
        for port, v in enumerate(r):
            consts[(node.name, port)] = v
        folded.add(node.name)
    return folded


def _node_fn(c, node, steps: dict, consts: dict):
    if node.op == "Const":
        return partial(_identity, c.const_value(node))
    step = steps[node.name]
    fn = host_fn(step)
    if node.op in DIV_BY_CONSTANT and step.fn is None and len(node.inputs) == 2 and not c.deref_positions(node):
        x, d = node.inputs
        if d in consts and d not in c.feeds and x not in consts:
            recip = _reciprocal(step, consts[d])
            if recip is not None:
                return _reciprocal_mul(node.op, recip, step.attrs["T"])
    return fn


def _reciprocal_mul(op: str, recip, T):
    from .opregistry import KERNELS
    if op == "Xdivy":
        mul_no_nan = KERNELS["MulNoNan"].fn
        return lambda x, _c: mul_no_nan(recip, x, T=T)
    mul = KERNELS["Mul"].fn
    return lambda x, _c: mul(x, recip, T=T)


def _dnodes(c, live: list, steps: dict, consts: dict) -> list:
    out = []
    for node in live:
        d = DNode(_node_fn(c, node, steps, consts), KIND_OF.get(node.op, NORMAL), len(node.inputs),
                  sum(1 for x in node.controls if x in c._live_index), c.info(node))
        d.deref = c.deref_positions(node)
        if node.op in ("Enter", "RefEnter"):
            d.frame_name = node.attrs.get("frame_name", "")
            d.const_enter = bool(node.attrs.get("is_constant", False))
        out.append(d)
    return out


def _edges(c, live: list, dnodes: list, consts: dict) -> list:
    index = c._live_index
    initial = []
    for i, node in enumerate(live):
        back = set()
        for k, ref in enumerate(node.inputs):
            if ref in c.feeds:
                initial.append((i, k, None, c.feeds[ref]))
            elif ref in consts:
                initial.append((i, k, consts[ref], None))
            else:
                src = index[ref[0]]
                dnodes[src].add_edge(ref[1], i, k)
                if live[src].op in ("NextIteration", "RefNextIteration"):
                    back.add(k)
        dnodes[i].back_slots = frozenset(back)
        for x in node.controls:
            if x in index:
                dnodes[index[x]].ctrl_out.append(i)
    return initial


def build_dataflow(c, nodes: list) -> DataflowProgram:
    consts = dict(c.overrides)
    steps = _lowered(c, nodes)
    folded = _fold(c, nodes, steps, consts)
    live = [n for n in nodes if n.name not in folded and n.op != ARG_OP]
    c._live_index = {n.name: i for i, n in enumerate(live)}
    dnodes = _dnodes(c, live, steps, consts)
    initial = _edges(c, live, dnodes, consts)
    fetches = []
    for ref in c.fetches:
        if ref in c.feeds:
            fetches.append(("feed", c.feeds[ref]))
        elif ref in consts:
            fetches.append(("value", consts[ref]))
        else:
            fetches.append(("node", c._live_index[ref[0]], ref[1]))
    prog = DataflowProgram(dnodes, initial, fetches, c.body.where)
    for idx, lst in prog.fetch_map.items():  # send() iterates over out_edges: fetched ports must exist
        d = dnodes[idx]
        for port, _ in lst:
            while len(d.out_edges) <= port:
                d.out_edges.append([])
    return prog
