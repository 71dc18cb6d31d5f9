"""Graph JSON for the UI's graph view: nodes (op, device, name scope, decoded attrs), edges, and for a
FunctionDef its arguments and results as pseudo-nodes.

    graph_json(meta_graph)                 # the MetaGraph's GraphDef
    graph_json(meta_graph, "fn_name")      # one function of its library

Node names and strings from the model are returned as data; the UI escapes them.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .. import dtypes, optable, tensors
from ..errors import NotFoundError, SmlensError
from ..kernels.registry import decode_attr

MAX_TENSOR_PREVIEW = 16       # tensor attrs with more elements are described, not printed
MAX_STRING = 300


def _dtype_name(enum: int) -> str:
    try:
        return dtypes.from_enum(enum).name
    except SmlensError:
        return f"dtype({enum})"


def _shape_text(shape) -> str:
    if shape.unknown_rank:
        return "<unknown rank>"
    return "[" + ", ".join("?" if d.size < 0 else str(d.size) for d in shape.dim) + "]"


def _string(b: bytes) -> str:
    text = b.decode("utf-8", "backslashreplace")
    return text if len(text) <= MAX_STRING else text[:MAX_STRING] + "…"


def _tensor_text(t) -> str:
    dt = _dtype_name(t.dtype)
    shape = tensors.shape_from_proto(t.tensor_shape) or ()
    head = f"{dt}[{', '.join(str(d) for d in shape)}]"
    try:
        n = tensors.num_elements(shape)
    except SmlensError:
        return head
    if n > MAX_TENSOR_PREVIEW:
        return f"{head} ({n} values)"
    try:
        a = tensors.to_numpy(t)
    except SmlensError as e:
        return f"{head} (unreadable: {e})"
    if a.dtype == object:
        vals = [_string(x) if isinstance(x, bytes) else str(x) for x in a.reshape(-1)]
        return f"{head} {vals!r}" if shape else f"{head} {vals[0]!r}"
    with np.printoptions(threshold=MAX_TENSOR_PREVIEW, linewidth=120):
        return f"{head} {np.array2string(a, separator=', ')}"


def _func_text(f, funcs: list[str]) -> str:
    funcs.append(f.name)
    if not f.attr:
        return f.name
    inner = ", ".join(f"{k}={_attr_text(v, funcs)}" for k, v in sorted(f.attr.items()))
    return f"{f.name}[{inner}]"


def _attr_text(v, funcs: list[str]) -> str:
    kind = v.WhichOneof("value")
    if kind == "s":
        return repr(_string(v.s))
    if kind == "i":
        return str(v.i)
    if kind == "f":
        return repr(float(v.f))
    if kind == "b":
        return "true" if v.b else "false"
    if kind == "type":
        return _dtype_name(v.type)
    if kind == "shape":
        return _shape_text(v.shape)
    if kind == "tensor":
        return _tensor_text(v.tensor)
    if kind == "func":
        return _func_text(v.func, funcs)
    if kind == "placeholder":
        return f"${v.placeholder}"
    if kind == "list":
        lst = v.list
        items: list[str] = []
        items += [repr(_string(x)) for x in lst.s]
        items += [str(x) for x in lst.i]
        items += [repr(float(x)) for x in lst.f]
        items += ["true" if x else "false" for x in lst.b]
        items += [_dtype_name(x) for x in lst.type]
        items += [_shape_text(x) for x in lst.shape]
        items += [_tensor_text(x) for x in lst.tensor]
        items += [_func_text(x, funcs) for x in lst.func]
        return "[" + ", ".join(items) + "]"
    return ""


def decode_attrs(attr_map, op: str | None = None) -> list[dict]:
    """[{key, text, funcs, default}] sorted by key; funcs: the library functions the attr refers to;
    default: the value is the default of TensorFlow's OpDef of `op` (the view can hide it)."""
    op_def = optable.get(op) if op else None
    out = []
    for key in sorted(attr_map):
        funcs: list[str] = []
        text = _attr_text(attr_map[key], funcs)
        out.append({"key": key, "text": text, "funcs": funcs, "default": _is_default(op_def, key, attr_map[key])})
    return out


def _is_default(op_def, key: str, value) -> bool:
    if op_def is None or key not in op_def.attrs or value.WhichOneof("value") == "placeholder":
        return False
    try:
        return optable.is_default(op_def, key, decode_attr(value))
    except Exception:  # noqa: BLE001 - a corrupt value is shown as is, never hidden
        return False


def op_summaries(nodes: list[dict]) -> dict[str, str]:
    """{op: TensorFlow's one-line summary} for the ops of these nodes that TF registers."""
    out = {}
    for op in sorted({n["op"] for n in nodes}):
        op_def = optable.get(op)
        if op_def is not None and op_def.summary:
            out[op] = op_def.summary
    return out


MAX_SCOPE_DEPTH = 32       # deeper name scopes are collapsed into one "…" scope: the page's work stays bounded
MAX_SCOPE_PART = 200       # characters kept of each scope component


def _scope(name: str) -> str:
    if "/" not in name:
        return ""
    scope = name.rsplit("/", 1)[0]
    if scope.count("/") < MAX_SCOPE_DEPTH and len(scope) <= MAX_SCOPE_DEPTH * MAX_SCOPE_PART:
        return scope
    parts = scope.split("/", MAX_SCOPE_DEPTH)[:MAX_SCOPE_DEPTH - 1]
    return "/".join(p[:MAX_SCOPE_PART] for p in parts) + "/…"


def _parse_graph_input(inp: str) -> tuple[str, str, bool]:
    """GraphDef input 'node', 'node:2' or '^node' -> (node, output, is_control)."""
    if inp.startswith("^"):
        return inp[1:], "", True
    node, _, port = inp.partition(":")
    return node, port or "0", False


def _graph_def_json(graph_def) -> dict:
    nodes, edges = [], []
    names = {n.name for n in graph_def.node}
    for n in graph_def.node:
        ins = []
        for i, inp in enumerate(n.input):
            src, port, control = _parse_graph_input(inp)
            ins.append({"node": src, "output": port, "control": control, "text": inp})
            if src in names:
                edges.append({"source": src, "target": n.name, "output": port, "input": i, "control": control})
        kind = "input" if n.op in ("Placeholder", "PlaceholderWithDefault") else "op"
        nodes.append({"name": n.name, "op": n.op, "device": n.device, "scope": _scope(n.name), "kind": kind,
                      "inputs": ins, "attrs": decode_attrs(n.attr, n.op)})
    return {"nodes": nodes, "edges": edges}


def _function_json(fdef) -> dict:
    sig = fdef.signature
    node_names = {n.name for n in fdef.node_def}

    def unique(name: str, prefix: str) -> str:
        return name if name not in node_names else f"{prefix}:{name}"

    arg_node = {a.name: unique(a.name, "arg") for a in sig.input_arg}
    nodes, edges = [], []
    for i, a in enumerate(sig.input_arg):
        dt = _dtype_name(a.type) if a.type else (f"${a.type_attr}" if a.type_attr else "")
        attrs = [{"key": "dtype", "text": dt, "funcs": []}, {"key": "index", "text": str(i), "funcs": []}]
        if a.description:
            attrs.append({"key": "description", "text": a.description, "funcs": []})
        nodes.append({"name": arg_node[a.name], "op": "_Arg", "device": "", "scope": "", "kind": "input",
                      "inputs": [], "attrs": attrs})
    for n in fdef.node_def:
        ins = []
        for i, inp in enumerate(n.input):
            control = inp.startswith("^")
            body = inp[1:] if control else inp
            parts = body.split(":")
            if parts[0] in node_names:
                src, port = parts[0], ":".join(parts[1:])
            elif parts[0] in arg_node:
                src, port = arg_node[parts[0]], "0"
            else:
                src, port = parts[0], ":".join(parts[1:])
            ins.append({"node": src, "output": port, "control": control, "text": inp})
            if src in node_names or src in arg_node.values():
                edges.append({"source": src, "target": n.name, "output": port, "input": i, "control": control})
        nodes.append({"name": n.name, "op": n.op, "device": n.device, "scope": _scope(n.name), "kind": "op",
                      "inputs": ins, "attrs": decode_attrs(n.attr, n.op)})
    taken = node_names | set(arg_node.values())
    for i, out in enumerate(sig.output_arg):
        name = out.name if out.name not in taken else f"ret:{out.name}"
        ref = fdef.ret.get(out.name, "")
        parts = ref.split(":")
        src = parts[0] if parts[0] in node_names else arg_node.get(parts[0], parts[0])
        port = ":".join(parts[1:]) or "0"
        dt = _dtype_name(out.type) if out.type else (f"${out.type_attr}" if out.type_attr else "")
        nodes.append({"name": name, "op": "_Retval", "device": "", "scope": "", "kind": "output",
                      "inputs": [{"node": src, "output": port, "control": False, "text": ref}],
                      "attrs": [{"key": "dtype", "text": dt, "funcs": []},
                                {"key": "index", "text": str(i), "funcs": []}]})
        if src in node_names or src in arg_node.values():
            edges.append({"source": src, "target": name, "output": port, "input": 0, "control": False})
    for ctrl_name, node_name in sorted(fdef.control_ret.items()):
        if node_name in node_names:
            cname = f"ctrl:{ctrl_name}"
            nodes.append({"name": cname, "op": "_ControlRet", "device": "", "scope": "", "kind": "output",
                          "inputs": [{"node": node_name, "output": "", "control": True, "text": "^" + node_name}],
                          "attrs": []})
            edges.append({"source": node_name, "target": cname, "output": "", "input": 0, "control": True})
    return {"nodes": nodes, "edges": edges,
            "signature": {
                "inputs": [{"name": a.name, "type": _dtype_name(a.type) if a.type else a.type_attr}
                           for a in sig.input_arg],
                "outputs": [{"name": a.name, "type": _dtype_name(a.type) if a.type else a.type_attr}
                            for a in sig.output_arg],
                "attrs": decode_attrs(fdef.attr),
                "is_stateful": bool(sig.is_stateful)}}


def graph_json(meta_graph, function: str | None = None) -> dict[str, Any]:
    """The GraphDef of `meta_graph` (function None) or one library function, as JSON-ready data."""
    funcs = sorted(meta_graph.functions)
    if function:
        fdef = meta_graph.functions.get(function)
        if fdef is None:
            raise NotFoundError(f"no function {function!r} in the graph's library")
        body = _function_json(fdef)
        kind, name = "function", function
    else:
        body = _graph_def_json(meta_graph.graph_def)
        kind, name = "graph", ",".join(meta_graph.tags) or "graph"
    called: dict[str, int] = {}
    for n in body["nodes"]:
        for a in n["attrs"]:
            for f in a["funcs"]:
                called[f] = called.get(f, 0) + 1
    return {"kind": kind, "name": name, "functions": funcs, "called_functions": sorted(called),
            "op_summaries": op_summaries(body["nodes"]), **body}
