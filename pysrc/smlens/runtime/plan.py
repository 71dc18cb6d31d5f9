"""Signature -> execution plan.

    plan = compile_signature(signature)      # once per signature (Signature.plan() caches it)
    outputs = plan.run({"x": array, ...})    # {output key: ndarray}

Compiling prunes the graph to what the signature's outputs need, folds constants, compiles every function
it calls (once per name and attrs, shared by the MetaGraph's signatures), and raises UnsupportedError
listing every op without a kernel (in the signature and in the init op) before anything runs.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import InputError, UnsupportedError
from .feeds import convert, expected
from .graphs import parse_graph_input
from .options import CompileOptions
from .resources import Variable
from .state import Runtime, get_runtime, missing_message


class SignaturePlan:
    def __init__(self, signature, rt: Runtime, program, inputs: list, outputs: list):
        self.signature = signature
        self.runtime = rt
        self.program = program
        self._inputs = inputs      # [(key, spec, n feeds)]
        self._outputs = outputs    # [(key, kind, fetch positions)]: kind name | sparse | composite | target

    @property
    def num_steps(self) -> int:
        return len(self.program)

    def feed_values(self, inputs: dict[str, Any]) -> list:
        specs = self.signature.inputs
        unknown = [k for k in inputs if k not in specs]
        if unknown:
            raise InputError(f"signature {self.signature.key!r} has no input {', '.join(map(repr, unknown))}; "
                             f"it expects: {expected(specs)}")
        absent = [k for k in specs if k not in inputs]
        if absent:
            raise InputError(f"signature {self.signature.key!r}: missing input "
                             f"{', '.join(map(repr, absent))}; it expects: {expected(specs)}")
        feeds: list = []
        for key, spec, n in self._inputs:
            value = inputs[key]
            if n == 1:
                feeds.append(convert(key, value, spec))
                continue
            if isinstance(value, dict) and spec.encoding == "coo_sparse":
                try:
                    value = (value["indices"], value["values"], value["dense_shape"])
                except KeyError as e:
                    raise InputError(f"sparse input {key!r} needs 'indices', 'values' and 'dense_shape' "
                                     f"(missing {e.args[0]!r})") from None
            if not isinstance(value, (tuple, list)) or len(value) != n:
                raise InputError(f"input {key!r} is {spec.encoding}: give a tuple of its {n} component tensors")
            feeds.extend(np.asarray(v) for v in value)
        return feeds

    def run(self, inputs: dict[str, Any]) -> dict[str, Any]:
        feeds = self.feed_values(inputs)
        rt = self.runtime
        rt.ensure_initialized()
        rt.begin_run()
        values = self.program.run(feeds)
        out: dict[str, Any] = {}
        for key, kind, positions in self._outputs:
            if kind == "target":
                out[key] = None
            elif kind == "name":
                out[key] = _output(values[positions[0]])
            else:
                out[key] = tuple(_output(values[p]) for p in positions)
        return out


def _output(v: Any) -> Any:
    if isinstance(v, Variable):
        v = v.read()
    return v if isinstance(v, np.ndarray) else np.asarray(v)


def compile_signature(signature, options: CompileOptions | None = None) -> SignaturePlan:
    """`options`: which passes run and which backends the plan may use (default: the runtime's)."""
    rt = get_runtime(signature.meta_graph)
    feeds: list = []
    inputs = []
    for key, spec in signature.inputs.items():
        names = [spec.name] if spec.encoding == "name" else list(spec.components)
        if not names or not all(names):
            raise UnsupportedError(f"signature {signature.key!r}: input {key!r} has no tensor name")
        feeds.extend(parse_graph_input(n) for n in names)
        inputs.append((key, spec, len(names)))
    fetches: list = []
    targets: list[str] = []
    outputs = []
    for key, spec in signature.outputs.items():
        if spec.encoding == "name" and spec.dtype is None and spec.name and ":" not in spec.name:
            targets.append(spec.name)
            outputs.append((key, "target", []))
            continue
        names = [spec.name] if spec.encoding == "name" else list(spec.components)
        if not names or not all(names):
            raise UnsupportedError(f"signature {signature.key!r}: output {key!r} has no tensor name")
        outputs.append((key, spec.encoding, list(range(len(fetches), len(fetches) + len(names)))))
        fetches.extend(parse_graph_input(n) for n in names)
    for ref in feeds + fetches:
        if ref[0] not in rt.graph.nodes:
            raise UnsupportedError(f"signature {signature.key!r} names tensor {ref[0]}:{ref[1]}, "
                                   "which is not in the graph")
    compiled = rt.compile_graph(feeds, fetches, targets, options=options)
    missing = list(compiled.missing)
    missing.extend(m for m in rt.init_missing() if m not in missing)
    if missing:
        raise UnsupportedError(missing_message(missing, f"signature {signature.key!r}"))
    return SignaturePlan(signature, rt, compiled.program, inputs, outputs)


class GraphPlan:
    """Tensors of a graph fetched by name, given values for other tensors (by name): how graphs without
    signatures (frozen GraphDefs, `.meta` graphs) are run, like TF1's Session.run."""

    def __init__(self, rt: Runtime, program, feeds: list, fetch_count: int):
        self.runtime = rt
        self.program = program
        self._feeds = feeds        # [(tensor name, spec)]
        self._fetch_count = fetch_count

    def run(self, feeds: dict[str, Any]) -> list:
        values = [convert(name, feeds[name], spec) for name, spec in self._feeds]
        rt = self.runtime
        rt.ensure_initialized()
        rt.begin_run()
        out = self.program.run(values)
        return [_output(out[i]) for i in range(self._fetch_count)]


def tensor_ref(name: str, what: str) -> tuple[str, int]:
    """'node:port' or 'node' (port 0) -> (node, port)."""
    if not isinstance(name, str) or not name or name.startswith("^"):
        raise InputError(f"{what} {name!r} is not a tensor name ('node' or 'node:port')")
    return parse_graph_input(name)


def compile_names(meta_graph, feeds: list[str], fetches: list[str], targets: list[str],
                  options: CompileOptions | None = None) -> GraphPlan:
    """A plan computing `fetches` (tensor names) from values fed for `feeds` (tensor names), after running
    the nodes named in `targets`. A fed placeholder's dtype and shape are checked like a signature input."""
    from ..model import TensorSpec
    rt = get_runtime(meta_graph)
    nodes = rt.graph.nodes
    feed_refs = [tensor_ref(n, "feed") for n in feeds]
    fetch_refs = [tensor_ref(n, "fetch") for n in fetches]
    for what, names, refs in (("feed", feeds, feed_refs), ("fetch", fetches, fetch_refs)):
        for name, (node, _) in zip(names, refs):
            if node not in nodes:
                raise InputError(f"{what} {name!r}: the graph has no node {node!r}")
    for t in targets:
        if t not in nodes:
            raise InputError(f"target {t!r}: the graph has no node of that name")
    if len(set(feed_refs)) != len(feed_refs):
        raise InputError("the same tensor is fed twice")
    specs = []
    for name, (node, port) in zip(feeds, feed_refs):
        n = nodes[node]
        dt = n.attrs.get("dtype") if n.op in ("Placeholder", "PlaceholderWithDefault") and port == 0 else None
        shape = n.attrs.get("shape") if dt is not None else None
        specs.append((name, TensorSpec(name, name, dt, shape)))
    compiled = rt.compile_graph(feed_refs, fetch_refs, list(targets), options=options)
    missing = list(compiled.missing)
    missing.extend(m for m in rt.init_missing() if m not in missing)
    if missing:
        raise UnsupportedError(missing_message(missing, "the graph"))
    return GraphPlan(rt, compiled.program, specs, len(fetch_refs))
